import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseFleetConfig } from '../lambdas/core/config.ts';
import type { FleetConfig } from '../lambdas/core/config-schema.ts';
import { SEVERITIES } from '../lambdas/core/config-schema.ts';
import { CONTROL_PLANE_METRICS, emittedMetricSeries } from '../lambdas/core/metrics.ts';
import type { ScheduleName } from '../lambdas/core/schedules.ts';
import { targetsFromConfig } from '../lambdas/core/targets.ts';
import { schedulePeriodSeconds } from './schedule-period.ts';
import { synthesizeWithoutBundling } from './synth-without-bundling.ts';

/**
 * us-east-1 list prices (USD) as of December 2026, no free tier except the permanent allowances named below. The
 * estimate below multiplies these by counts read from the synthesized template, so the README's cost table is the
 * template's, not a guess that drifts from it.
 */
export const PRICES = {
  customMetricMonth: 0.3,
  standardAlarmMonth: 0.1,
  kmsKeyMonth: 1,
  lambdaArmGbSecond: 0.0000133334,
  lambdaRequestPerMillion: 0.2,
  logsIngestedGb: 0.5,
  logsStoredGbMonth: 0.03,
  dynamoReadPerMillion: 0.125,
  dynamoWritePerMillion: 0.625,
  s3StandardGbMonth: 0.023,
  /** Dashboards beyond the account's first three. */
  dashboardMonth: 3,
  /** Permanent free allowances that this volume stays within. */
  schedulerFreeInvocations: 14_000_000,
  xrayFreeTraces: 100_000,
} as const;

const DAYS_PER_MONTH = 30;
const SECONDS_PER_MONTH = DAYS_PER_MONTH * 86_400;

/**
 * What the estimate assumes and cannot read from the template: how long an invocation runs and what it logs and
 * reads. Probe cycles of a healthy fleet take 0.2-0.5 s here (`npm run bench`); one second leaves room for slow
 * targets. Each invocation logs its START/END/REPORT lines and the Powertools metric line (about 1.5 KB); each probe
 * result is one structured line (about 350 bytes). A probe cycle reads the target states and the open incidents
 * (about 10 read units); a steady fleet writes nothing but the run leases.
 */
export const ASSUMPTIONS = {
  durationMs: { probe: 1_000, escalationSweep: 300, backups: 2_000, drill: 300_000 } as Record<string, number>,
  invocationLogBytes: 1_500,
  probeResultLogBytes: 350,
  probeCycleReadUnits: 10,
  sweepReadUnits: 2,
  /** Every scheduled run takes and gives back its lease in the control table (runExclusive): two writes. */
  leaseWritesPerRun: 2,
  /** Backups kept per dumped GB: 7 daily, 4 weekly, 6 monthly (the default retention), tiered down after 30 days. */
  backupCopiesKept: 17,
} as const;

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation properties are arbitrary JSON.
type Json = any;
interface Resource {
  readonly Type: string;
  readonly Properties?: Json;
}

export interface CostLine {
  readonly item: string;
  readonly basis: string;
  readonly monthly: number;
}

export interface CostEstimate {
  readonly lines: readonly CostLine[];
  readonly total: number;
  /** The counts read from the template, for the test that checks them against the stack. */
  readonly counts: {
    readonly customMetrics: number;
    readonly alarms: number;
    readonly kmsKeys: number;
    readonly schedules: number;
    readonly functions: number;
    readonly invocations: number;
    readonly gbSeconds: number;
  };
}

/** The monthly cost of one deployed control plane, from its synthesized template and its fleet config. */
export function estimateMonthlyCost(
  template: { Resources?: Record<string, Resource> },
  config: FleetConfig,
): CostEstimate {
  const resources = Object.entries(template.Resources ?? {});
  const ofType = (type: string) => resources.filter(([, r]) => r.Type === type);

  const customMetrics = referencedCustomMetrics(resources);
  const alarms = ofType('AWS::CloudWatch::Alarm').length;
  const kmsKeys = ofType('AWS::KMS::Key').length;
  const functions = new Map(ofType('AWS::Lambda::Function').map(([id, r]) => [id, r.Properties ?? {}]));

  // Invocations per function and per task, from the schedules that target it.
  let invocations = 0;
  let gbSeconds = 0;
  let logBytes = 0;
  let readUnits = 0;
  let writeUnits = 0;
  const schedules = ofType('AWS::Scheduler::Schedule');
  const targets = targetsFromConfig(config).length;
  for (const [, schedule] of schedules) {
    const name = String(schedule.Properties?.Description ?? '').split(':')[0] as ScheduleName;
    const declared = config.schedules[name];
    if (declared === undefined) throw new Error(`schedule "${name}" of the template is not in the config`);
    const runs = SECONDS_PER_MONTH / schedulePeriodSeconds(declared, config.schedules.timeZone);
    const fnId = schedule.Properties?.Target?.Arn?.['Fn::GetAtt']?.[0];
    const fn = functions.get(fnId);
    if (!fn)
      throw new Error(`schedule "${name}" targets ${JSON.stringify(schedule.Properties?.Target?.Arn)}, not a function`);
    // The probe and the sweep have schedules of their own name; the backup tasks share the backups Lambda.
    const handler =
      name === 'probe' || name === 'escalationSweep' ? name : name === 'escalationTest' ? 'escalationSweep' : 'backups';
    // Both drills wait for their restore on the host.
    const task = name === 'drill' || name === 'pitrDrill' ? 'drill' : handler;
    const duration = ASSUMPTIONS.durationMs[task];
    if (duration === undefined) throw new Error(`no duration assumed for the ${task} invocations`);
    invocations += runs;
    writeUnits += runs * ASSUMPTIONS.leaseWritesPerRun;
    gbSeconds += (runs * duration * (fn.MemorySize ?? 128)) / 1_000 / 1_024;
    logBytes += runs * ASSUMPTIONS.invocationLogBytes;
    if (handler === 'probe') {
      logBytes += runs * targets * ASSUMPTIONS.probeResultLogBytes;
      readUnits += runs * ASSUMPTIONS.probeCycleReadUnits;
    }
    if (handler === 'escalationSweep') readUnits += runs * ASSUMPTIONS.sweepReadUnits;
  }
  const logGb = logBytes / 1e9;
  const retentionMonths = config.aws.retentionDays / DAYS_PER_MONTH;

  const lines: CostLine[] = [
    {
      item: 'CloudWatch custom metrics',
      basis: `${customMetrics} metrics (heartbeat, unhealthy targets, open incidents per severity, failed notices${config.backups ? ', backup age' : ''}${config.backups?.archiving ? ', archive lag' : ''}); per-target detail is in the logs`,
      monthly: customMetrics * PRICES.customMetricMonth,
    },
    {
      item: 'CloudWatch alarms',
      basis: `${alarms} standard alarms (heartbeat, Lambda errors, dead-letter queues${config.backups?.archiving ? ', archive lag' : ''})`,
      monthly: alarms * PRICES.standardAlarmMonth,
    },
    {
      item: 'KMS keys',
      basis: `${kmsKeys} customer-managed key (escalation topics and backups)`,
      monthly: kmsKeys * PRICES.kmsKeyMonth,
    },
    {
      item: 'Lambda',
      basis: `~${thousands(invocations)} invocations, ~${thousands(gbSeconds)} GB-s on arm64`,
      monthly: gbSeconds * PRICES.lambdaArmGbSecond + (invocations / 1e6) * PRICES.lambdaRequestPerMillion,
    },
    {
      item: 'CloudWatch Logs',
      basis: `~${logGb.toFixed(2)} GB ingested (one line per probed target), ${config.aws.retentionDays}-day retention`,
      monthly: logGb * PRICES.logsIngestedGb + logGb * retentionMonths * PRICES.logsStoredGbMonth,
    },
    {
      item: 'DynamoDB',
      basis: `~${(readUnits / 1e6).toFixed(1)} M read units on demand; a steady fleet writes only the run leases (~${(writeUnits / 1e6).toFixed(2)} M write units)`,
      monthly: (readUnits / 1e6) * PRICES.dynamoReadPerMillion + (writeUnits / 1e6) * PRICES.dynamoWritePerMillion,
    },
    {
      item: 'Scheduler, SNS, SQS, EventBridge, X-Ray',
      basis: `${schedules.length} schedules, ~${thousands(invocations)} traces: within the free allowances`,
      monthly: 0,
    },
  ];
  if (invocations > PRICES.xrayFreeTraces || invocations > PRICES.schedulerFreeInvocations)
    throw new Error(`~${Math.round(invocations)} invocations a month exceed a free allowance the table assumes`);
  const total = lines.reduce((sum, l) => sum + l.monthly, 0);
  return {
    lines,
    total,
    counts: {
      customMetrics,
      alarms,
      kmsKeys,
      schedules: schedules.length,
      functions: functions.size,
      invocations,
      gbSeconds,
    },
  };
}

/** The README's table: one row per line, then the backups per GB and the total. */
export function costTableMarkdown(estimate: CostEstimate): string {
  const rows: [string, string, string][] = estimate.lines.map((l) => [l.item, l.basis, dollars(l.monthly)]);
  rows.push([
    'S3 backups',
    `per GB of dump: ~${ASSUMPTIONS.backupCopiesKept} kept (7 daily, 4 weekly, 6 monthly), tiered to IA/Glacier IR`,
    `~${dollars(ASSUMPTIONS.backupCopiesKept * PRICES.s3StandardGbMonth * 0.6)} per GB dumped`,
  ]);
  rows.push([
    '**total**',
    `(+${dollars(PRICES.dashboardMonth)} if the account already has three dashboards)`,
    `**${dollars(estimate.total)} + backups**`,
  ]);
  const header: [string, string, string] = ['item', 'basis', 'per month'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(line)].join('\n');
}

/** Distinct series of the control plane's namespace that alarms and the dashboard read (what CloudWatch bills). */
function referencedCustomMetrics(resources: [string, Resource][]): number {
  const series = new Set<string>();
  for (const [, r] of resources) {
    if (r.Type === 'AWS::CloudWatch::Alarm' && r.Properties?.Namespace === CONTROL_PLANE_METRICS.namespace)
      series.add(seriesKey(r.Properties.MetricName, dimensionsOf(r.Properties.Dimensions)));
    if (r.Type === 'AWS::CloudWatch::Dashboard') {
      const body = dashboardBody(r.Properties?.DashboardBody);
      for (const widget of body.widgets ?? [])
        for (const metric of widget.properties?.metrics ?? []) {
          if (!Array.isArray(metric) || metric[0] !== CONTROL_PLANE_METRICS.namespace) continue;
          // [namespace, name, dimension, value, ..., { stat, label }]; tokens were read as "?" (never a metric name).
          const [, name, ...rest] = metric.filter((part: unknown): part is string => typeof part === 'string');
          if (name === undefined) continue;
          const dimensions: Record<string, string> = {};
          for (let i = 0; i + 1 < rest.length; i += 2) dimensions[String(rest[i])] = String(rest[i + 1]);
          series.add(seriesKey(name, dimensions));
        }
    }
  }
  return series.size;
}

function dimensionsOf(dimensions: { Name: string; Value: unknown }[] | undefined): Record<string, string> {
  return Object.fromEntries((dimensions ?? []).map((d) => [d.Name, typeof d.Value === 'string' ? d.Value : '?']));
}

function seriesKey(name: string, dimensions: Record<string, string>): string {
  const { [CONTROL_PLANE_METRICS.dimensions.service]: _service, ...rest } = dimensions;
  return `${name}|${Object.entries(rest)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',')}`;
}

/** A dashboard body is a string or an Fn::Join of strings and tokens; tokens become "?" (they are never metric names). */
function dashboardBody(body: Json): { widgets?: { properties?: { metrics?: unknown[][] } }[] } {
  if (typeof body === 'string') return JSON.parse(body);
  const parts = body?.['Fn::Join']?.[1];
  if (!Array.isArray(parts)) return {};
  return JSON.parse(parts.map((p: unknown) => (typeof p === 'string' ? p : '?')).join(''));
}

/** The custom series the handlers of this config emit (checked against the template's by the cost test). */
export function expectedCustomMetrics(config: FleetConfig): number {
  return emittedMetricSeries({
    severities: SEVERITIES,
    backups: config.backups !== undefined,
    archiving: config.backups?.archiving !== undefined,
  }).length;
}

function dollars(amount: number): string {
  return `$${amount.toFixed(2)}`;
}

function thousands(n: number): string {
  return n >= 10_000 ? `${Math.round(n / 1_000).toLocaleString('en-US')},000` : Math.round(n).toLocaleString('en-US');
}

/** Where the README keeps the table `npm run cost -- --write` writes and the cost test compares. */
export const README_COST_TABLE = { begin: '<!-- cost-table: npm run cost -- --write -->', end: '<!-- /cost-table -->' };

/** The README with its cost table replaced by `table`; throws when the markers are missing. */
export function withCostTable(readme: string, table: string): string {
  const begin = readme.indexOf(README_COST_TABLE.begin);
  const end = readme.indexOf(README_COST_TABLE.end);
  if (begin < 0 || end < begin)
    throw new Error(`README.md has no ${README_COST_TABLE.begin} ... ${README_COST_TABLE.end}`);
  return `${readme.slice(0, begin + README_COST_TABLE.begin.length)}\n\n${table}\n\n${readme.slice(end)}`;
}

/** The table as it stands in the README (between the markers), or undefined. */
export function readmeCostTable(readme: string): string | undefined {
  const begin = readme.indexOf(README_COST_TABLE.begin);
  const end = readme.indexOf(README_COST_TABLE.end);
  if (begin < 0 || end < begin) return undefined;
  return readme.slice(begin + README_COST_TABLE.begin.length, end).trim();
}

/** Synthesizes the stack of `configPath` without bundling and estimates its monthly cost from the template. */
export function costOfConfig(
  configPath: string,
  repositoryRoot: string,
): { estimate: CostEstimate; template: { Resources?: Record<string, Resource> }; config: FleetConfig } {
  const synth = synthesizeWithoutBundling(configPath, repositoryRoot);
  try {
    const template = synth.app.synth().getStackByName(synth.stack.stackName).template;
    const parsed = parseFleetConfig(readFileSync(configPath, 'utf8'));
    if (!parsed.ok) throw new Error(`${configPath} is not a valid fleet config`);
    return { estimate: estimateMonthlyCost(template, parsed.config), template, config: parsed.config };
  } finally {
    synth.dispose();
  }
}

/** The fleet config cdk.json deploys by default, as an absolute path. */
export function defaultConfigPath(projectRoot: string): string {
  const cdk = JSON.parse(readFileSync(join(projectRoot, 'cdk.json'), 'utf8')) as { context: { config?: unknown } };
  if (typeof cdk.context.config !== 'string') throw new Error('cdk.json names no context.config');
  return join(projectRoot, cdk.context.config);
}
