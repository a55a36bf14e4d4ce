import { describe, expect, it } from 'vitest';
import { parseFleetConfig } from '../../../lambdas/core/config.ts';
import {
  cycleFailed,
  MAX_PING_TEXT,
  pingDestination,
  pingRequest,
  pingUrlProblem,
} from '../../../lambdas/core/dead-mans-switch.ts';
import { shippedConfigWith } from '../../support/shipped-config.ts';

const UUID = '5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278';

describe('pingUrlProblem', () => {
  it('takes https URLs, and http only to the loopback interface', () => {
    for (const url of [
      `https://hc-ping.com/${UUID}`,
      'https://hc-ping.com/ping-key/acgs-1-control-plane',
      `http://127.0.0.1:8000/ping/${UUID}`,
      `http://localhost/ping/${UUID}`,
      `http://[::1]:9/ping/${UUID}`,
    ])
      expect(pingUrlProblem(url), url).toBeUndefined();
  });

  it('refuses plain HTTP over a network, credentials, fragments and what is not a URL, never repeating the URL', () => {
    const cases: [string, RegExp][] = [
      [`http://hc-ping.com/${UUID}`, /must be an https:\/\/ URL/],
      [`http://10.0.0.5/${UUID}`, /must be an https:\/\/ URL/],
      [`ftp://hc-ping.com/${UUID}`, /must be an https:\/\/ URL/],
      [`https://user:pw@hc-ping.com/${UUID}`, /user name or password/],
      [`https://hc-ping.com/${UUID}#x`, /fragment/],
      [UUID, /is not a URL/],
    ];
    for (const [url, problem] of cases) {
      const found = pingUrlProblem(url);
      expect(found, url).toMatch(problem);
      expect(found).not.toContain(UUID);
    }
  });
});

describe('pingRequest', () => {
  it('POSTs success to the URL and failure to <url>/fail, keeping a query and dropping a trailing slash', () => {
    expect(pingRequest(`https://hc-ping.com/${UUID}`, { ok: true, text: 'fine' })).toEqual({
      url: `https://hc-ping.com/${UUID}`,
      method: 'POST',
      body: 'fine',
    });
    expect(pingRequest(`https://hc-ping.com/${UUID}/`, cycleFailed('disk full')).url).toBe(
      `https://hc-ping.com/${UUID}/fail`,
    );
    expect(pingRequest(`https://hc.example/k/acgs?create=1`, cycleFailed('x')).url).toBe(
      'https://hc.example/k/acgs/fail?create=1',
    );
  });

  it('sends one short line: whitespace folded, long reasons cut', () => {
    const body = pingRequest(`https://hc-ping.com/${UUID}`, cycleFailed(`a\n  b\t${'x'.repeat(5_000)}`)).body;
    expect(body.startsWith('probe cycle failed: a b x')).toBe(true);
    expect(body).toHaveLength(MAX_PING_TEXT);
    expect(body.endsWith('...')).toBe(true);
  });

  it('names the destination for logs by scheme and host, without the secret path', () => {
    expect(pingDestination(`https://hc-ping.com/${UUID}`)).toBe('https://hc-ping.com');
  });
});

describe('config deadMansSwitch', () => {
  const parsed = (value: unknown) => parseFleetConfig(shippedConfigWith('deadMansSwitch', value));

  it('is absent by default, and takes a URL, a variable or a secret with a 5 s default timeout', () => {
    const none = parseFleetConfig(shippedConfigWith('aws.reservedConcurrency', false));
    if (!none.ok) throw new Error(JSON.stringify(none.problems));
    expect(none.config.deadMansSwitch).toBeUndefined();
    for (const value of [
      { url: `https://hc-ping.com/${UUID}` },
      { urlEnv: 'ACGS_PING_URL' },
      { urlSecret: { id: 'acgs-1/dead-mans-switch', field: 'url' } },
      { urlEnv: 'ACGS_PING_URL', urlSecret: { id: 'acgs-1/dead-mans-switch' } },
    ]) {
      const result = parsed(value);
      if (!result.ok) throw new Error(JSON.stringify(result.problems));
      expect(result.config.deadMansSwitch).toEqual({ ...value, timeout: 5_000 });
    }
  });

  it('refuses a plain-HTTP URL, a URL beside a variable, nothing at all and a long timeout, naming the field', () => {
    const cases: [unknown, string, RegExp][] = [
      [{ url: `http://hc-ping.com/${UUID}` }, 'deadMansSwitch.url', /https/],
      [{ url: `https://hc-ping.com/${UUID}`, urlEnv: 'PING' }, 'deadMansSwitch.url', /either url, or urlEnv/],
      [{ timeout: '5s' }, 'deadMansSwitch', /needs url, or urlEnv/],
      [{ url: `https://hc-ping.com/${UUID}`, timeout: '1m' }, 'deadMansSwitch.timeout', /between/],
      [{ urlEnv: 'ping-url' }, 'deadMansSwitch.urlEnv', /environment variable name/],
    ];
    for (const [value, path, message] of cases) {
      const result = parsed(value);
      expect(result.ok, JSON.stringify(value)).toBe(false);
      if (result.ok) continue;
      expect(result.problems).toEqual([expect.objectContaining({ path, message: expect.stringMatching(message) })]);
    }
  });
});
