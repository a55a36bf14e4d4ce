import { describe, expect, it } from 'vitest';
import { type AddressScope, hostScope } from '../../../lambdas/core/address-scope.ts';

const scopeOf = (host: string): AddressScope => hostScope(host).scope;

describe('hostScope', () => {
  it.each([
    '127.0.0.1',
    '127.12.0.9',
    '127.1',
    '0x7f.0.0.1',
    '2130706433',
    '::1',
    '[::1]',
    '0:0:0:0:0:0:0:1',
    '::ffff:127.0.0.1',
    'localhost',
    'LOCALHOST.',
    'grafana.localhost',
    'localhost.localdomain',
  ])('reads %s as loopback', (host) => {
    expect(scopeOf(host)).toBe('loopback');
  });

  it.each(['0.0.0.0', '0.1.2.3', '0', '::', '[::]'])(
    'reads %s as unspecified (it connects to the local machine)',
    (host) => {
      expect(scopeOf(host)).toBe('unspecified');
    },
  );

  it.each(['169.254.169.254', '169.254.0.1', 'fe80::1', '[fe80::abcd:1]', 'febf::1', '::ffff:169.254.1.1'])(
    'reads %s as link-local',
    (host) => {
      expect(scopeOf(host)).toBe('link-local');
    },
  );

  it.each([
    ['10.0.0.1', 'RFC 1918'],
    ['10.255.255.255', 'RFC 1918'],
    ['172.16.0.1', 'RFC 1918'],
    ['172.31.255.1', 'RFC 1918'],
    ['192.168.1.20', 'RFC 1918'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.127.255.254', 'carrier-grade NAT'],
    ['fd12:3456:789a::1', 'fc00::/7'],
    ['fc00::1', 'fc00::/7'],
    ['::ffff:10.1.2.3', 'RFC 1918'],
    ['auth.acgs.internal', '.internal'],
    ['ip-10-0-1-5.ec2.internal', '.internal'],
    ['db.local', '.local'],
    ['Printer.LAN.', '.lan'],
    ['nas.home.arpa', '.home.arpa'],
    ['db', 'single-label'],
  ])('reads %s as private (%s)', (host, why) => {
    const scope = hostScope(host);
    expect(scope.scope).toBe('private');
    expect(scope.what).toContain(why);
  });

  it.each([
    '8.8.8.8',
    '172.15.0.1',
    '172.32.0.1',
    '100.63.255.255',
    '100.128.0.1',
    '169.253.0.1',
    '192.169.0.1',
    '11.0.0.1',
    '2001:db8::1',
    'fe00::1',
    'fec0::1',
    'auth.acgs.example',
    'internal.example.com',
    'localhost.example.com',
  ])('reads %s as public', (host) => {
    expect(scopeOf(host)).toBe('public');
  });

  it('says what the host is, for the messages that name it', () => {
    expect(hostScope('127.0.0.1').what).toBe('a loopback address (127.0.0.0/8)');
    expect(hostScope('::1').what).toBe('the loopback address (::1)');
    expect(hostScope('169.254.169.254').what).toBe('a link-local address (169.254.0.0/16)');
    expect(hostScope('auth.acgs.internal').what).toBe('a name under .internal, which public DNS does not answer');
  });
});
