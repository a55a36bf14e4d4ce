/**
 * Where a host name or address can be reached from, read from the name alone (no DNS): what the AWS deployment needs
 * to know about the fleet's probe targets before it puts the probe in a Lambda.
 *
 * - `loopback` (127.0.0.0/8, ::1, `localhost`, `*.localhost`) and `unspecified` (0.0.0.0/8, ::, which connect to the
 *   local machine) reach the caller's own machine: from a Lambda, its sandbox, never a fleet host.
 * - `link-local` (169.254.0.0/16, fe80::/10) is the caller's own link: from a Lambda, the sandbox's metadata and
 *   nothing of the fleet.
 * - `private` is reachable only from inside the network: RFC 1918 (10/8, 172.16/12, 192.168/16), shared address
 *   space (100.64.0.0/10, carrier-grade NAT), unique local IPv6 (fc00::/7, which holds fd00::/8), and names under
 *   zones that public DNS never answers (`.internal` as in EC2's private DNS, `.local`, `.lan`, `.home.arpa`...) or
 *   with a single label (`db`), which only a search domain completes.
 * - `public`: anything else. A public name may still resolve to a private address; that is DNS's answer and cannot
 *   be read from the name.
 *
 * Addresses are read as a URL parser reads them (so `127.1`, `0x7f.0.0.1` and `2130706433` are 127.0.0.1, and
 * `::ffff:127.0.0.1` is the IPv4 address it maps), because that is how a connecting client reads them too.
 */
export type AddressScope = 'loopback' | 'unspecified' | 'link-local' | 'private' | 'public';

export interface HostScope {
  readonly scope: AddressScope;
  /** What the host is, in words, for error messages: "a loopback address", "a name under .internal"... */
  readonly what: string;
}

/** Zones that public DNS does not delegate (RFC 6762, RFC 8375, RFC 6761 and common private-use names). */
const PRIVATE_ZONES = ['internal', 'local', 'localdomain', 'lan', 'home', 'home.arpa', 'corp', 'intranet', 'private'];

export function hostScope(host: string): HostScope {
  const canonical = canonicalHost(host);
  if (canonical.startsWith('[')) {
    const groups = ipv6Groups(canonical.slice(1, -1));
    if (groups) return ipv6Scope(groups);
  }
  const ipv4 = ipv4Octets(canonical);
  if (ipv4) return ipv4Scope(ipv4);
  return nameScope(canonical);
}

/** The host as a URL parser normalises it: lower case, IPv4 in dotted decimal, IPv6 compressed and bracketed. */
function canonicalHost(host: string): string {
  const bare = host.trim().replace(/\.$/, '');
  const bracketed = bare.includes(':') && !bare.startsWith('[') ? `[${bare}]` : bare;
  try {
    return new URL(`http://${bracketed}/`).hostname.replace(/\.$/, '');
  } catch {
    return bare.toLowerCase();
  }
}

function ipv4Octets(host: string): number[] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return undefined;
  const octets = m.slice(1).map(Number);
  return octets.every((o) => o <= 255) ? octets : undefined;
}

function ipv4Scope([a = 0, b = 0]: readonly number[]): HostScope {
  if (a === 127) return { scope: 'loopback', what: 'a loopback address (127.0.0.0/8)' };
  if (a === 0)
    return { scope: 'unspecified', what: 'the unspecified address (0.0.0.0/8), which connects to the local machine' };
  if (a === 169 && b === 254) return { scope: 'link-local', what: 'a link-local address (169.254.0.0/16)' };
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168))
    return { scope: 'private', what: 'a private address (RFC 1918)' };
  if (a === 100 && b >= 64 && b <= 127)
    return { scope: 'private', what: 'a shared address (100.64.0.0/10, carrier-grade NAT)' };
  return { scope: 'public', what: 'a public address' };
}

/** The eight 16-bit groups of an IPv6 address in the compressed form a URL parser writes (no zone, no dotted tail). */
function ipv6Groups(address: string): number[] | undefined {
  const [head = '', tail, extra] = address.split('::');
  if (extra !== undefined) return undefined;
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return undefined;
  const groups = [...left, ...Array<number>(tail === undefined ? 0 : missing).fill(0), ...right];
  return groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}

function ipv6Scope(groups: readonly number[]): HostScope {
  const [g0 = 0, , , , , g5 = 0, g6 = 0, g7 = 0] = groups;
  const zeroUpTo = (n: number) => groups.slice(0, n).every((g) => g === 0);
  if (zeroUpTo(7) && g7 === 1) return { scope: 'loopback', what: 'the loopback address (::1)' };
  if (zeroUpTo(8))
    return { scope: 'unspecified', what: 'the unspecified address (::), which connects to the local machine' };
  // ::ffff:a.b.c.d is the IPv4 address it maps: a client connects to that.
  if (zeroUpTo(5) && g5 === 0xffff) return ipv4Scope([g6 >> 8, g6 & 0xff, g7 >> 8, g7 & 0xff]);
  if ((g0 & 0xffc0) === 0xfe80) return { scope: 'link-local', what: 'a link-local address (fe80::/10)' };
  if ((g0 & 0xfe00) === 0xfc00) return { scope: 'private', what: 'a unique local address (fc00::/7)' };
  return { scope: 'public', what: 'a public address' };
}

function nameScope(name: string): HostScope {
  if (name === 'localhost' || name.endsWith('.localhost') || name === 'localhost.localdomain')
    return { scope: 'loopback', what: 'a loopback name (localhost)' };
  if (!name.includes('.')) return { scope: 'private', what: 'a single-label name (only a search domain completes it)' };
  const zone = PRIVATE_ZONES.filter((z) => name.endsWith(`.${z}`)).sort((x, y) => y.length - x.length)[0];
  if (zone !== undefined) return { scope: 'private', what: `a name under .${zone}, which public DNS does not answer` };
  return { scope: 'public', what: 'a public name' };
}
