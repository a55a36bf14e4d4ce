import { LocalSecretSource } from '../adapters/local/local-secret-source.ts';
import type { FleetConfig } from '../core/config-schema.ts';
import { formatDuration } from '../core/duration.ts';
import { EXIT_CODE, type HealthSummary, type ProbeResult, summarizeHealth } from '../core/probe-evaluation.ts';
import { type Target, targetsFromConfig } from '../core/targets.ts';
import { formatTable } from '../core/text-table.ts';
import type { Clock, Prober } from '../ports.ts';
import { NetworkProber } from '../probes/network-prober.ts';
import { startStopwatch } from '../probes/probe-outcome.ts';
import { runProbes } from '../probes/run-probes.ts';
import { parseCommandArgs } from './args.ts';
import type { CliCommand } from './command.ts';
import { HEALTH_WAIT_USAGE, runHealthWait } from './health-wait-command.ts';
import { loadFleetConfig } from './load-config.ts';
import { formatJson } from './output.ts';

const USAGE = `Usage: acgs-ops health [--config FILE] [--json]

Probes every service and check of the fleet once, concurrently, and prints the result.

Options:
  -c, --config FILE  fleet config (default: config/acgs-1.yaml in this repository)
      --json         print a JSON object instead of a table
  -h, --help         show this help

Exit status: 0 healthy, 1 degraded, 2 critical, 64 usage or config error.
${HEALTH_WAIT_USAGE}`;

export const healthCommand: CliCommand = {
  name: 'health',
  summary: 'probe every service and check once and print the health of the fleet',
  usage: USAGE,
  async run(args, context) {
    if (args[0] === 'wait') return runHealthWait(args.slice(1), context);
    const options = parseCommandArgs('health', args, {
      config: { type: 'string', short: 'c' },
      json: { type: 'boolean', default: false },
    });
    const config = await loadFleetConfig(options.config);
    const report = await checkHealth(config, new NetworkProber(context.clock, new LocalSecretSource()), context.clock);
    context.stdout(options.json ? formatJson(healthJson(report)) : renderHealth(report));
    return EXIT_CODE[report.summary.overall];
  },
};

/** One snapshot of the fleet's health. */
export interface HealthReport {
  readonly config: FleetConfig;
  readonly targets: readonly Target[];
  readonly results: readonly ProbeResult[];
  readonly summary: HealthSummary;
  readonly checkedAt: number;
  readonly durationMs: number;
}

export async function checkHealth(config: FleetConfig, prober: Prober, clock: Clock): Promise<HealthReport> {
  const targets = targetsFromConfig(config);
  const checkedAt = clock.now();
  const elapsed = startStopwatch();
  const results = await runProbes(
    targets,
    prober,
    {
      timeoutMs: config.thresholds.probeTimeout,
      slowAfterMs: config.thresholds.probeLatency,
      concurrency: config.thresholds.probeConcurrency,
    },
    clock,
  );
  const durationMs = Math.round(elapsed());
  return { config, targets, results, summary: summarizeHealth(targets, results), checkedAt, durationMs };
}

export function healthJson(report: HealthReport) {
  const { summary } = report;
  return {
    fleet: report.config.fleet.name,
    overall: summary.overall,
    checkedAt: new Date(report.checkedAt).toISOString(),
    durationMs: report.durationMs,
    servicesHealthy: summary.servicesHealthy,
    servicesTotal: summary.servicesTotal,
    criticalDown: summary.criticalDown,
    targets: report.results.map((r) => ({
      name: r.name,
      kind: r.kind,
      status: r.status,
      reason: r.reason,
      detail: r.detail,
      httpStatus: r.httpStatus ?? null,
      latencyMs: r.latencyMs,
      ...(r.value === undefined ? {} : { value: r.value }),
    })),
  };
}

export function renderHealth(report: HealthReport): string {
  const { config, results } = report;
  const heading =
    `${config.fleet.name} (${config.fleet.environment}): ${results.length} targets probed in ` +
    `${formatDuration(report.durationMs)} (timeout ${formatDuration(config.thresholds.probeTimeout)}, ` +
    `slow above ${formatDuration(config.thresholds.probeLatency)})`;
  const table = formatTable(
    ['NAME', 'KIND', 'STATUS', 'REASON', 'HTTP', 'LATENCY', 'DETAIL'],
    results.map((r) => [
      r.name,
      r.kind,
      r.status,
      r.reason,
      r.httpStatus === undefined ? '-' : String(r.httpStatus),
      `${Math.round(r.latencyMs)}ms`,
      r.detail,
    ]),
  );
  return `${heading}\n\n${table}\n${verdict(report)}\n`;
}

/** One line an operator can read aloud: "CRITICAL: 0/7 services healthy, 0/10 checks healthy; ...". */
export function verdict(report: HealthReport): string {
  const { summary, targets, results } = report;
  const healthy = new Set(results.filter((r) => r.status === 'healthy').map((r) => r.targetId));
  const checks = targets.filter((t) => t.role !== 'service');
  const parts = [`${summary.servicesHealthy}/${summary.servicesTotal} services healthy`];
  if (checks.length > 0)
    parts.push(`${checks.filter((t) => healthy.has(t.id)).length}/${checks.length} checks healthy`);
  const down = summary.criticalDown.length > 0 ? `; critical dependency down: ${summary.criticalDown.join(', ')}` : '';
  return `${summary.overall.toUpperCase()}: ${parts.join(', ')}${down}`;
}
