import { stringify } from 'yaml';
import { parseFleetConfig } from '../../core/config.ts';
import type { Severity } from '../../core/config-schema.ts';
import type { SimulatedFleetSpec } from './plan.ts';

/** The fleet config text (the schema of config/acgs-1.yaml) for a planned simulated fleet, with fast demo timings. */

/** A duration as the config writes it (`500ms`, `2s`, `1m`) or a number of milliseconds. */
export type DurationInput = string | number;

export interface DemoTimings {
  readonly probeEvery: DurationInput;
  readonly escalationSweepEvery: DurationInput;
  readonly probeTimeout: DurationInput;
  readonly probeLatency: DurationInput;
  readonly failuresToDown: number;
  readonly successesToUp: number;
  readonly flappingWindow: DurationInput;
  readonly breaker: { readonly maxRestarts: number; readonly window: DurationInput };
  readonly restartTimeout: DurationInput;
  readonly severities: Readonly<
    Record<Severity, { readonly responseTime: DurationInput; readonly ackTimeout: DurationInput }>
  >;
  /** Response times of the four escalation levels (Operations, Engineering, Architecture, Executive). */
  readonly levelResponseTimes: readonly [LevelTimes, LevelTimes, LevelTimes, LevelTimes];
  /** The schema's minimum is 1m. */
  readonly repeatEvery: DurationInput;
}
export type LevelTimes = Partial<Readonly<Record<Severity, DurationInput>>>;

/** Fast timings: a down service pages within seconds and escalates within a minute. */
export const DEMO_TIMINGS: DemoTimings = {
  probeEvery: '2s',
  escalationSweepEvery: '2s',
  probeTimeout: '1s',
  probeLatency: '500ms',
  failuresToDown: 2,
  successesToUp: 2,
  flappingWindow: '1m',
  breaker: { maxRestarts: 2, window: '5m' },
  restartTimeout: '10s',
  severities: {
    P1: { responseTime: '20s', ackTimeout: '1m' },
    P2: { responseTime: '30s', ackTimeout: '2m' },
    P3: { responseTime: '45s', ackTimeout: '3m' },
  },
  levelResponseTimes: [
    { P1: '15s', P2: '20s', P3: '30s' },
    { P1: '15s', P2: '20s', P3: '30s' },
    { P1: '15s', P2: '20s' },
    { P1: '15s' },
  ],
  repeatEvery: '1m',
};

export interface SimulatedPostgres {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly passwordEnv?: string;
  /** Check name, also what the services depend on. @default 'postgresql' */
  readonly name?: string;
}

export interface FleetConfigOptions extends Partial<DemoTimings> {
  /** @default 'acgs-1-demo' */
  readonly fleetName?: string;
  /** @default 'demo' */
  readonly environment?: string;
  /** A postgres check every service depends on. */
  readonly postgres?: SimulatedPostgres;
  /** `fleet.hostStateDirectory`. @default spec.hostStateDir */
  readonly hostStateDirectory?: string;
  /** @default true */
  readonly remediationEnabled?: boolean;
  /** The jsonl channel's file (relative: inside the daemon's state directory). @default 'pages.jsonl' */
  readonly pagesFile?: string;
  /** Channels after the console and the pages file (stakeholder channels, webhooks), as the config writes them. */
  readonly extraChannels?: readonly Record<string, unknown>[];
  /** Lifecycle notices the console prints (its `events`). @default none */
  readonly consoleEvents?: readonly string[];
  /** `notifications.noticeRetry`: short backoffs for tests. */
  readonly noticeRetry?: { readonly backoff: string; readonly maxBackoff: string; readonly attempts: number };
}

const LEVELS = [
  {
    name: 'Operations',
    scope: 'Routine issues, service restarts, monitoring',
    contacts: [
      { name: 'Primary on-call (demo)', role: 'primary', email: 'ops-primary@acgs-demo.example' },
      { name: 'Secondary on-call (demo)', role: 'secondary', email: 'infra-oncall@acgs-demo.example' },
    ],
  },
  {
    name: 'Engineering',
    scope: 'Code issues, complex troubleshooting',
    contacts: [{ name: 'Engineering Team (demo)', email: 'engineering@acgs-demo.example' }],
  },
  {
    name: 'Architecture',
    scope: 'System design issues, major outages',
    contacts: [{ name: 'System Architecture Team (demo)', email: 'architecture@acgs-demo.example' }],
  },
  {
    name: 'Executive',
    scope: 'Business impact, security incidents',
    immediateFor: ['security'],
    contacts: [{ name: 'Executive Team (demo)', email: 'executive@acgs-demo.example' }],
  },
] as const;

function duration(value: DurationInput): string {
  return typeof value === 'number' ? `${Math.round(value)}ms` : value;
}

function levelTimes(times: LevelTimes): Record<string, string> {
  const out: Record<string, string> = {};
  for (const sev of ['P1', 'P2', 'P3'] as const) {
    const value = times[sev];
    if (value !== undefined) out[sev] = duration(value);
  }
  return out;
}

/**
 * A complete fleet config (the schema of config/acgs-1.yaml) for this simulated fleet, with fast demo timings.
 * @throws Error listing the problems when the result would not pass `parseFleetConfig` (e.g. a bad duration).
 */
export function fleetConfigYaml(spec: SimulatedFleetSpec, options: FleetConfigOptions = {}): string {
  const t: DemoTimings = { ...DEMO_TIMINGS, ...stripUndefined(options) };
  const pg = options.postgres;
  const pgName = pg?.name ?? 'postgresql';
  const config = {
    version: 1,
    fleet: {
      name: options.fleetName ?? 'acgs-1-demo',
      environment: options.environment ?? 'demo',
      root: spec.dir,
      hostStateDirectory: options.hostStateDirectory ?? spec.hostStateDir,
    },
    services: spec.services.map((s) => ({
      name: s.name,
      displayName: s.displayName,
      host: s.host,
      port: s.port,
      healthPath: s.healthPath,
      critical: s.critical,
      directory: relativeTo(spec.dir, s.directory),
      start: s.start,
      logFile: relativeTo(spec.dir, s.logFile),
      ...(pg ? { dependsOn: [pgName] } : {}),
    })),
    checks: pg
      ? [
          {
            name: pgName,
            kind: 'postgres',
            critical: true,
            host: pg.host,
            port: pg.port,
            database: pg.database,
            user: pg.user,
            ...(pg.passwordEnv === undefined ? {} : { passwordEnv: pg.passwordEnv }),
          },
        ]
      : [],
    thresholds: {
      latencyP95Ms: 500,
      errorRatePercent: 1,
      cpuPercent: 80,
      memoryPercent: 85,
      probeLatency: duration(t.probeLatency),
      probeTimeout: duration(t.probeTimeout),
      probeConcurrency: 64,
      failuresToDown: t.failuresToDown,
      successesToUp: t.successesToUp,
      flapping: { window: duration(t.flappingWindow), enterRatio: 0.5, exitRatio: 0.25 },
    },
    grouping: { outageQuorumPercent: 50, hostMinServices: 2 },
    schedules: {
      timeZone: 'UTC',
      probe: { every: duration(t.probeEvery) },
      escalationSweep: { every: duration(t.escalationSweepEvery) },
      backup: { cron: '0 2 * * *' },
      backupMonitor: { cron: '0 * * * *' },
      cleanup: { cron: '0 3 * * 0' },
    },
    severities: {
      P1: {
        label: 'critical',
        responseTime: duration(t.severities.P1.responseTime),
        ackTimeout: duration(t.severities.P1.ackTimeout),
      },
      P2: {
        label: 'high',
        responseTime: duration(t.severities.P2.responseTime),
        ackTimeout: duration(t.severities.P2.ackTimeout),
      },
      P3: {
        label: 'medium',
        responseTime: duration(t.severities.P3.responseTime),
        ackTimeout: duration(t.severities.P3.ackTimeout),
      },
    },
    escalation: {
      levels: LEVELS.map((level, i) => ({
        level: i + 1,
        name: level.name,
        scope: level.scope,
        ...('immediateFor' in level ? { immediateFor: [...level.immediateFor] } : {}),
        responseTime: levelTimes(t.levelResponseTimes[i] ?? {}),
        contacts: level.contacts,
      })),
      firstPage: {
        P1: { throughLevel: 3, roles: ['primary', 'secondary', 'member'] },
        P2: { throughLevel: 1, roles: ['primary', 'secondary'] },
        P3: { throughLevel: 1, roles: ['primary'] },
      },
      repeatEvery: duration(t.repeatEvery),
    },
    notifications: {
      acknowledgeHint: 'acgs-ops incident ack {id}',
      channels: [
        { name: 'console', kind: 'console', ...(options.consoleEvents ? { events: [...options.consoleEvents] } : {}) },
        { name: 'pages-file', kind: 'jsonl', path: options.pagesFile ?? 'pages.jsonl' },
        ...(options.extraChannels ?? []),
      ],
      ...(options.noticeRetry ? { noticeRetry: options.noticeRetry } : {}),
    },
    remediation: {
      enabled: options.remediationEnabled ?? true,
      restartTimeout: duration(t.restartTimeout),
      breaker: { maxRestarts: t.breaker.maxRestarts, window: duration(t.breaker.window) },
    },
    recovery: { rto: '5m', rpo: '1m', serviceRestart: duration(t.restartTimeout), healthCheck: '5s' },
  };
  const text = `# Simulated ACGS-1 fleet (lambdas/demo/fleet-sim): real processes on 127.0.0.1, demo timings.\n${stringify(config, { lineWidth: 0 })}`;
  const parsed = parseFleetConfig(text);
  if (!parsed.ok)
    throw new Error(
      `fleet config for the simulated fleet is invalid: ${parsed.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
    );
  return text;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function relativeTo(root: string, path: string): string {
  return path.startsWith(`${root}/`) ? path.slice(root.length + 1) : path;
}
