import { type AddressScope, hostScope } from '../lambdas/core/address-scope.ts';
import type { FleetConfig } from '../lambdas/core/config-schema.ts';

/** A reason the probe Lambda cannot reach the fleet as configured, at the config field that says so. */
export interface ReachabilityProblem {
  /** The config field, as the config problems name fields: `services.2.host`, `checks.4.url`, `aws.vpc`. */
  readonly path: string;
  readonly message: string;
}

/** How many private targets the `aws.vpc` problem names before it only counts the rest. */
const NAMED_PRIVATE_TARGETS = 3;

/**
 * Why the probe Lambda could not reach the configured fleet from AWS, read from the hosts alone (no DNS):
 *
 * - a target on a loopback or unspecified address (127.0.0.0/8, ::1, `localhost`, 0.0.0.0) or a link-local one
 *   (169.254.0.0/16, fe80::/10) is the Lambda's own sandbox, never a fleet host: every probe would fail or, worse,
 *   succeed against something else. That is the single-host config (`config/acgs-1.yaml`), which runs with the daemon;
 * - targets on private addresses or names (RFC 1918, 100.64.0.0/10, fc00::/7, `.internal`, `.local`, a single label)
 *   are reachable only from inside their network, so the fleet needs `aws.vpc` to put the probe there.
 *
 * Empty when the fleet can be probed from AWS as configured.
 */
export function awsReachabilityProblems(config: FleetConfig): ReachabilityProblem[] {
  const problems: ReachabilityProblem[] = [];
  const privateTargets: string[] = [];
  for (const { path, host } of probeHosts(config)) {
    const { scope, what } = hostScope(host);
    const where = UNREACHABLE[scope];
    if (where !== undefined)
      problems.push({
        path,
        message:
          `${host} is ${what}: the probe Lambda would probe ${where}, not a fleet host; name the host by its ` +
          'private DNS name or address (a single-host config runs with the daemon, not on AWS)',
      });
    else if (scope === 'private') privateTargets.push(`${path} ${host} (${what})`);
  }
  if (privateTargets.length > 0 && config.aws.vpc === undefined) {
    const named = privateTargets.slice(0, NAMED_PRIVATE_TARGETS).join(', ');
    const more = privateTargets.length - NAMED_PRIVATE_TARGETS;
    problems.push({
      path: 'aws.vpc',
      message:
        `is required: ${privateTargets.length} probe target${privateTargets.length === 1 ? ' is' : 's are'} private ` +
        `(${named}${more > 0 ? ` and ${more} more` : ''}) and the probe Lambda reaches them only from inside ` +
        'their VPC; add aws.vpc with its vpcId, subnetIds, securityGroupIds and availabilityZones',
    });
  }
  return problems;
}

/** The problems as one message: a heading, then one line per field. */
export function formatReachabilityProblems(source: string, problems: readonly ReachabilityProblem[]): string {
  const count = `${problems.length} problem${problems.length === 1 ? '' : 's'}`;
  return `${source} cannot be probed from AWS (${count}):\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`;
}

/** The stack's guard: throws the formatted problems, naming each field, when the probe could not reach the fleet. */
export function assertReachableFromAws(config: FleetConfig, source = 'the fleet config'): void {
  const problems = awsReachabilityProblems(config);
  if (problems.length > 0) throw new Error(formatReachabilityProblems(source, problems));
}

/** What the probe Lambda would reach instead of the host, by scope; absent: it reaches the host (given a route). */
const UNREACHABLE: Partial<Record<AddressScope, string>> = {
  loopback: 'its own sandbox',
  unspecified: 'its own sandbox',
  'link-local': 'its own network link',
};

/** Every host the probe connects to, with the config field naming it. */
function probeHosts(config: FleetConfig): { path: string; host: string }[] {
  return [
    ...config.services.map((s, i) => ({ path: `services.${i}.host`, host: s.host })),
    ...config.checks.map((c, i) =>
      'url' in c ? { path: `checks.${i}.url`, host: urlHost(c.url) } : { path: `checks.${i}.host`, host: c.host },
    ),
  ];
}

/** The host of a URL as written (an IPv6 address keeps its brackets, as a host field may too). */
function urlHost(url: string): string {
  return new URL(url).hostname;
}
