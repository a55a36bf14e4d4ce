import * as z from 'zod';
import { hostScope } from './address-scope.ts';
import { PAGERDUTY_EVENTS_URL, PAGERDUTY_SEVERITIES } from './channel-payloads/pagerduty-constants.ts';
import { checkDependencies, dependencyCycle } from './check-dependencies.ts';
import { pingUrlProblem } from './dead-mans-switch.ts';
import {
  CONFIG_ARCHIVE_LIST_MAX_CHARS,
  CONFIG_PATTERN_HINTS,
  CONFIG_PATTERNS,
  MAX_BYTE_COUNT,
  MAX_JOB_COUNT,
} from './document-patterns.ts';
import { DAY_MS, HOUR_MS, MINUTE_MS, parseBoundedDuration, SECOND_MS } from './duration.ts';
import {
  DEFAULT_ESCALATION_TEST_CRON,
  DEFAULT_ESCALATION_TEST_WAIT_MS,
  ESCALATION_TEST_WAIT,
  testRoutingProblem,
} from './escalation-test-routing.ts';
import { NOTICE_KINDS, SEVERITIES, type Severity, SIGNALS, type Signal } from './fleet-constants.ts';
import { DEFAULT_BASE_BACKUP_CRON, SCHEDULE_NAMES, type Schedule, scheduleProblem } from './schedules.ts';
import { secretRefSchema } from './secret-ref.ts';
import { encodeServiceList, SERVICE_LIST_MAX_CHARS, serviceCommandSpec } from './service-list.ts';

/**
 * The fleet config: one file drives the CDK stack, the Lambdas and the local daemon.
 * Every object is strict (unknown keys are errors: a typo must not silently fall back to a default).
 */

export { CONFIG_ARCHIVE_LIST_MAX_CHARS };

/**
 * A string matching one of the patterns the SSM documents share (lambdas/core/document-patterns.ts): a value the
 * config accepts is one the documents can run.
 */
const matching = (kind: keyof typeof CONFIG_PATTERNS) =>
  z.string().regex(new RegExp(CONFIG_PATTERNS[kind]), CONFIG_PATTERN_HINTS[kind]);

/*
 * Lengths keep what the documents are given within their maxChars: fleet.root + '/' + directory within 512, and a
 * health URL (scheme, host, port and path) within 512.
 */
const name = matching('serviceName');
const host = matching('host').max(253);
const absolutePath = matching('absolutePath').max(255);
const servicePath = matching('servicePath').max(255);
const postgresName = matching('postgresName');
const port = z.int().min(1).max(65_535);
const percent = z.number().gt(0).max(100);
const instanceId = z
  .string()
  .regex(
    /^(i-[0-9a-f]{8}|i-[0-9a-f]{17}|mi-[0-9a-f]{17})$/,
    'must be an EC2 instance id (i-...) or a managed node id (mi-...)',
  );

/**
 * A duration written as `500ms`, `30s`, `5m`, `1h` or `1d`, parsed to milliseconds, within `[min, max]` (both in ms,
 * both included). Every duration has an upper bound: a window or timeout of years is a typo, and one beyond Date's
 * range breaks every command that shows it.
 */
const duration = (min: number, max: number) =>
  z.string().transform((text, ctx) => {
    const parsed = parseBoundedDuration(text, { min, max });
    if (parsed.ok) return parsed.ms;
    ctx.addIssue({ code: 'custom', message: parsed.message });
    return z.NEVER;
  });

export { SEVERITIES, type Severity, SIGNALS, type Signal };

/** The default `aws.hostTagKey`: the tag whose value is the host name a fleet instance answers to. */
export const DEFAULT_HOST_TAG_KEY = 'acgs:host';

const serviceSchema = z.strictObject({
  name,
  displayName: z.string().min(1).max(80),
  host,
  port,
  healthPath: matching('healthPath').min(1).max(240).default('/health'),
  scheme: z.enum(['http', 'https']).default('http'),
  critical: z.boolean().default(true),
  directory: servicePath,
  /** Run without a shell by the service documents: split on single spaces, no quotes, commas or operators. */
  start: matching('startCommand').max(1024),
  logFile: servicePath,
  dependsOn: z.array(name).default([]),
  /**
   * The EC2 instance (or SSM managed node) running the service, for SSM Run Command in AWS. Without it, commands
   * target the instances tagged with both the fleet tag and the host tag (`aws.hostTagKey`, default `acgs:host`) = the
   * service's host.
   */
  instanceId: instanceId.optional(),
});

const httpExpect = z.strictObject({
  status: z.array(z.int().min(100).max(599)).min(1).optional(),
  bodyContains: z.string().min(1).optional(),
});

const checkBase = {
  name,
  critical: z.boolean().default(false),
  description: z.string().max(200).optional(),
  /**
   * Checks this one depends on: while one of them is down, this check's trouble is part of that incident (inhibited)
   * instead of one of its own. A `prometheus` check also depends on the `http` check of its server (same origin).
   */
  dependsOn: z.array(name).optional(),
};

const httpCheck = z.strictObject({
  ...checkBase,
  kind: z.literal('http'),
  url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }),
  expect: httpExpect.optional(),
});

const tcpCheck = z.strictObject({ ...checkBase, kind: z.literal('tcp'), host, port });

const postgresCheck = z.strictObject({
  ...checkBase,
  kind: z.literal('postgres'),
  host,
  port: port.default(5432),
  database: postgresName,
  user: postgresName,
  /**
   * On one host: the environment variable holding the password; without it (or when it is unset), the pgpass file
   * (PGPASSFILE or ~/.pgpass), as libpq reads it. Never the password itself.
   */
  passwordEnv: z
    .string()
    .regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name')
    .optional(),
  /** In AWS: the Secrets Manager secret holding the password (the probe Lambda and the backup host read it). */
  passwordSecret: z.optional(secretRefSchema),
  query: z.string().min(1).default('SELECT 1'),
});

const redisCheck = z.strictObject({ ...checkBase, kind: z.literal('redis'), host, port: port.default(6379) });

const prometheusCheck = z.strictObject({
  ...checkBase,
  kind: z.literal('prometheus'),
  url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }),
  /** PromQL returning one value in the unit of the signal's threshold (ms, percent). */
  query: z.string().min(1).max(2000),
  signal: z.enum(SIGNALS),
  /** The service whose performance this reads; incidents are attributed to it. */
  service: name.optional(),
  /** Overrides `thresholds[signal]` for this check. */
  max: z.number().optional(),
});

const checkSchema = z.discriminatedUnion('kind', [httpCheck, tcpCheck, postgresCheck, redisCheck, prometheusCheck]);

const CRON = /^\S+( \S+){4}$/;
const SCHEDULE_SHAPE = 'must be either { every: <duration> } or { cron: "<5-field cron>" }';

/**
 * A schedule: `every` within `[min, max]`, or a 5-field cron expression. One object rather than a union, so that a
 * bad `every` is reported at `every` with its range instead of as "neither form".
 */
const scheduleSchema = (min: number, max: number) =>
  z
    .strictObject(
      {
        every: duration(min, max).optional(),
        cron: z
          .string()
          .regex(CRON, 'must be a 5-field cron expression: minute hour day-of-month month day-of-week')
          .optional(),
      },
      { error: SCHEDULE_SHAPE },
    )
    .transform((s, ctx): Schedule => {
      if (s.every !== undefined && s.cron === undefined) return { every: s.every };
      if (s.cron !== undefined && s.every === undefined) return { cron: s.cron };
      ctx.addIssue({ code: 'custom', message: SCHEDULE_SHAPE });
      return z.NEVER;
    });

/** Probes and escalation sweeps: every second (local) up to hourly. */
const frequentSchedule = scheduleSchema(SECOND_MS, HOUR_MS);
/** Backups, their monitor, cleanup and drills: at most once a minute, at least once a month. */
const routineSchedule = scheduleSchema(MINUTE_MS, 31 * DAY_MS);

/**
 * `acgs-ops escalation test` on a schedule (`core/escalation-test.ts`): off unless configured; `{}` runs weekly
 * (Mondays 10:00 in the config's time zone). It does not wait: the test incident's deadline is `wait` after it opens,
 * and the sweep resolves it there as failed unless acknowledged. `channel` and `level` as for the command.
 */
const escalationTestSchedule = z
  .strictObject({
    every: duration(DAY_MS, 31 * DAY_MS).optional(),
    cron: z
      .string()
      .regex(CRON, 'must be a 5-field cron expression: minute hour day-of-month month day-of-week')
      .optional(),
    wait: duration(ESCALATION_TEST_WAIT.min, ESCALATION_TEST_WAIT.max).default(DEFAULT_ESCALATION_TEST_WAIT_MS),
    channel: name.optional(),
    level: z.int().min(1).max(9).optional(),
  })
  .transform((s, ctx) => {
    const { every, cron, ...test } = s;
    if (every !== undefined && cron !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'give either every or cron (or neither: weekly), not both' });
      return z.NEVER;
    }
    const when: Schedule = every !== undefined ? { every } : { cron: cron ?? DEFAULT_ESCALATION_TEST_CRON };
    return { ...when, ...test };
  });

/** How long a severity (or a level, per severity) has to respond or acknowledge: a second up to a week. */
const responseTime = duration(SECOND_MS, 7 * DAY_MS);

const severitySchema = z.strictObject({ label: z.string().min(1), responseTime, ackTimeout: responseTime });

const perSeverityDuration = z.strictObject({ P1: responseTime, P2: responseTime, P3: responseTime }).partial();

const contactSchema = z.strictObject({
  name: z.string().min(1).max(120),
  role: z.enum(['primary', 'secondary', 'member']).default('member'),
  email: z.email().optional(),
});

const levelSchema = z.strictObject({
  level: z.int().min(1).max(9),
  name: z.string().min(1).max(60),
  scope: z.string().max(200).optional(),
  /**
   * Incident kinds whose first page reaches this level at once (with every level below it), whatever their
   * severity's `firstPage` says: the runbook's Executive level, whose scope names security incidents.
   */
  immediateFor: z.array(z.enum(['security'])).optional(),
  /** How long this level has to acknowledge, per severity; a severity missing here never escalates to this level. */
  responseTime: perSeverityDuration,
  contacts: z.array(contactSchema).min(1),
});

const firstPageSchema = z.strictObject({
  throughLevel: z.int().min(1).max(9),
  roles: z
    .array(z.enum(['primary', 'secondary', 'member']))
    .min(1)
    .default(['primary', 'secondary', 'member']),
});

const channelBase = {
  name,
  /** Escalation levels this channel carries; all levels when absent. */
  levels: z.array(z.int().min(1).max(9)).min(1).optional(),
  /** false: a stakeholder channel, given lifecycle notices (`events`) but no pages. */
  pages: z.boolean().default(true),
  /** Lifecycle notices this channel carries (`core/notices.ts`); none when absent. */
  events: z.array(z.enum(NOTICE_KINDS)).optional(),
};

const channelSchema = z.discriminatedUnion('kind', [
  z.strictObject({ ...channelBase, kind: z.literal('console') }),
  z.strictObject({
    ...channelBase,
    kind: z.literal('jsonl'),
    /** Relative paths are inside the daemon's state directory. */
    path: z.string().min(1).max(512),
  }),
  z.strictObject({
    ...channelBase,
    kind: z.literal('webhook'),
    url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }),
    /** Environment variable holding a bearer token, if the endpoint wants one. */
    tokenEnv: z
      .string()
      .regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name')
      .optional(),
    timeout: duration(100, MINUTE_MS).default(5_000),
  }),
  z.strictObject({
    ...channelBase,
    kind: z.literal('smtp'),
    host,
    port: port.default(587),
    /** true: TLS from the start (465); false: STARTTLS when offered. */
    secure: z.boolean().default(false),
    from: z.email(),
    /** Where lifecycle notices go; the incident's level-1 contacts when absent (pages always go to the contacts). */
    to: z.array(z.email()).min(1).optional(),
    userEnv: z
      .string()
      .regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name')
      .optional(),
    passwordEnv: z
      .string()
      .regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name')
      .optional(),
  }),
  /*
   * PagerDuty, Slack and Teams (adapters/local/http-channels.ts). Their secret (the routing key; the webhook URL,
   * which is the credential) comes from exactly one place: `*Env`, an environment variable on one host, or `*Secret`,
   * a Secrets Manager secret in AWS.
   */
  exactlyOneSecret(
    z.strictObject({
      ...channelBase,
      kind: z.literal('pagerduty'),
      routingKeyEnv: envName().optional(),
      routingKeySecret: z.optional(secretRefSchema),
      /** Events API v2 endpoint of the account's service region (EU: https://events.eu.pagerduty.com/v2/enqueue). */
      url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).default(PAGERDUTY_EVENTS_URL),
      /** PagerDuty severity per severity; default P1 critical, P2 error, P3 warning. */
      severityMap: z.partialRecord(z.enum(SEVERITIES), z.enum(PAGERDUTY_SEVERITIES)).optional(),
      /** PagerDuty's incident follows ours: acknowledged and resolved by default (pages trigger it). */
      events: z.array(z.enum(NOTICE_KINDS)).default(['acknowledged', 'resolved']),
      timeout: duration(100, MINUTE_MS).default(10_000),
    }),
    'routingKey',
  ),
  exactlyOneSecret(
    z.strictObject({
      ...channelBase,
      kind: z.literal('slack'),
      urlEnv: envName().optional(),
      urlSecret: z.optional(secretRefSchema),
      timeout: duration(100, MINUTE_MS).default(10_000),
    }),
    'url',
  ),
  exactlyOneSecret(
    z.strictObject({
      ...channelBase,
      kind: z.literal('teams'),
      urlEnv: envName().optional(),
      urlSecret: z.optional(secretRefSchema),
      timeout: duration(100, MINUTE_MS).default(10_000),
    }),
    'url',
  ),
]);

function envName() {
  return z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name');
}

/** `<field>Env` or `<field>Secret`, exactly one of them, with an error naming both. */
function exactlyOneSecret<T extends z.ZodObject>(schema: T, field: 'routingKey' | 'url'): T {
  return schema.superRefine((channel, ctx) => {
    const fromEnv = (channel as Record<string, unknown>)[`${field}Env`] !== undefined;
    const fromSecret = (channel as Record<string, unknown>)[`${field}Secret`] !== undefined;
    if (fromEnv !== fromSecret) return;
    ctx.addIssue({
      code: 'custom',
      path: [fromEnv ? `${field}Secret` : `${field}Env`],
      message: `give exactly one of ${field}Env (an environment variable, on one host) and ${field}Secret (a Secrets Manager secret, in AWS)${fromEnv ? ', not both' : ''}`,
    });
  });
}

/**
 * The notices the Updates topic carries in AWS by default: all but `escalated` (the level topics page for that) and
 * `test` (an escalation test is for the on-call people, not for stakeholders).
 */
export const DEFAULT_SNS_EVENTS = NOTICE_KINDS.filter((kind) => kind !== 'escalated' && kind !== 'test');

const DEFAULT_NOTIFICATIONS = {
  acknowledgeHint: 'acgs-ops incident ack {id}',
  snsEvents: DEFAULT_SNS_EVENTS,
  channels: [
    { name: 'console', kind: 'console' as const, pages: true },
    { name: 'pages-file', kind: 'jsonl' as const, path: 'pages.jsonl', pages: true },
  ],
};

export const fleetConfigSchema = z
  .strictObject({
    version: z.literal(1),
    fleet: z.strictObject({
      name,
      environment: z.string().regex(/^[a-z][a-z0-9-]{0,29}$/, 'must be lower-case letters, digits and dashes'),
      /** Base directory of the services' `directory` and `logFile` paths. */
      root: absolutePath,
      /** Directory on each host where the service documents keep host-level state (isolation markers). */
      hostStateDirectory: matching('absolutePath').max(512).default('/var/lib/acgs-ops'),
    }),
    services: z.array(serviceSchema).min(1),
    checks: z.array(checkSchema).default([]),
    thresholds: z.strictObject({
      latencyP95Ms: z.number().positive(),
      errorRatePercent: percent,
      cpuPercent: percent,
      memoryPercent: percent,
      /** A health probe slower than this makes the target degraded. */
      probeLatency: duration(1, MINUTE_MS),
      probeTimeout: duration(100, 2 * MINUTE_MS),
      probeConcurrency: z.int().min(1).max(1_000).default(64),
      failuresToDown: z.int().min(1).max(100),
      successesToUp: z.int().min(1).max(100),
      flapping: z.strictObject({
        window: duration(SECOND_MS, DAY_MS),
        enterRatio: z.number().gt(0).max(1),
        exitRatio: z.number().min(0).lt(1),
      }),
    }),
    grouping: z
      .strictObject({
        /** At least this share of critical services down at once is a complete outage (one P1). */
        outageQuorumPercent: percent.default(50),
        /** All services of one host down, and at least this many, is one host incident. */
        hostMinServices: z.int().min(2).default(2),
      })
      .default({ outageQuorumPercent: 50, hostMinServices: 2 }),
    schedules: z.strictObject({
      timeZone: z.string().refine(isTimeZone, 'must be an IANA time zone such as UTC or Europe/Berlin'),
      probe: frequentSchedule,
      escalationSweep: frequentSchedule,
      backup: routineSchedule,
      backupMonitor: routineSchedule,
      cleanup: routineSchedule,
      drill: routineSchedule.optional(),
      /** The base backup of WAL archiving; run only with backups.archiving. @default weekly, Sundays 01:00 */
      baseBackup: routineSchedule.default({ cron: DEFAULT_BASE_BACKUP_CRON }),
      escalationTest: escalationTestSchedule.optional(),
      /**
       * Writes a canary row into the backed-up database (needs backups.archiving; the daemon, or the backups Lambda in
       * AWS): the newest canary a point-in-time restore holds says how recent its data is. E.g. every minute.
       */
      canary: frequentSchedule.optional(),
      configArchive: routineSchedule.optional(),
      /**
       * The point-in-time restore drill (needs backups.archiving): restores the archive to latest into a scratch
       * cluster on the database host, checks the data and records the verdict (the daemon, or the backups Lambda in
       * AWS). Off unless set: it unpacks a whole base backup and replays the WAL since on the production host. E.g.
       * weekly, a few hours after the base backup.
       */
      pitrDrill: routineSchedule.optional(),
    }),
    severities: z.strictObject({
      P1: severitySchema,
      P2: severitySchema,
      P3: severitySchema,
    }),
    escalation: z.strictObject({
      levels: z.array(levelSchema).min(1),
      firstPage: z.strictObject({ P1: firstPageSchema, P2: firstPageSchema, P3: firstPageSchema }),
      /** At the last level a severity reaches, re-page this often while nobody acknowledges. */
      repeatEvery: duration(5 * SECOND_MS, DAY_MS),
    }),
    notifications: z
      .strictObject({
        /** How a page tells the operator to acknowledge; `{id}` is the incident id. */
        acknowledgeHint: z.string().includes('{id}').default(DEFAULT_NOTIFICATIONS.acknowledgeHint),
        /** Retries of a lifecycle notice a channel failed (`core/notices.ts`): 30 s doubling to 30 min, 8 rounds. */
        noticeRetry: z
          .strictObject({
            backoff: duration(100, HOUR_MS),
            maxBackoff: duration(100, DAY_MS),
            attempts: z.int().min(1).max(100),
          })
          .optional(),
        channels: z.array(channelSchema).min(1),
        /** AWS: the lifecycle notices published to the stack's Updates SNS topic (stakeholders subscribe to it). */
        snsEvents: z.array(z.enum(NOTICE_KINDS)).default(DEFAULT_SNS_EVENTS),
      })
      .default(DEFAULT_NOTIFICATIONS),
    /**
     * A dead man's switch: after every probe cycle the daemon and the probe Lambda ping this URL (Healthchecks.io's
     * convention: `<url>` on success, `<url>/fail` with the reason), so an outside service pages when the control
     * plane stops. The URL carries a secret: give it as `url`, or as `urlEnv` (one host) and/or `urlSecret` (AWS).
     */
    deadMansSwitch: z
      .strictObject({
        url: z
          .string()
          .superRefine((url, ctx) => {
            const problem = pingUrlProblem(url);
            if (problem) ctx.addIssue({ code: 'custom', message: problem });
          })
          .optional(),
        urlEnv: envName().optional(),
        urlSecret: z.optional(secretRefSchema),
        /** One ping, answer included; a ping that takes longer is given up (and logged), never the cycle. */
        timeout: duration(100, 30 * SECOND_MS).default(5_000),
      })
      .superRefine((d, ctx) => {
        const elsewhere = d.urlEnv !== undefined || d.urlSecret !== undefined;
        if (d.url !== undefined && elsewhere)
          ctx.addIssue({ code: 'custom', path: ['url'], message: 'give either url, or urlEnv and/or urlSecret' });
        if (d.url === undefined && !elsewhere)
          ctx.addIssue({ code: 'custom', message: 'needs url, or urlEnv (one host) and/or urlSecret (AWS)' });
      })
      .optional(),
    remediation: z.strictObject({
      enabled: z.boolean(),
      restartTimeout: duration(SECOND_MS, HOUR_MS),
      breaker: z.strictObject({ maxRestarts: z.int().min(0).max(100), window: duration(SECOND_MS, 7 * DAY_MS) }),
    }),
    /**
     * Database backups: what is dumped, where it goes, when a backup counts as missing or suspicious, how long each
     * is kept (grandfather-father-son), and the restore drill that proves them. Absent: no backups are taken.
     */
    backups: z
      .strictObject({
        /** The `postgres` check (in `checks`) naming the database to dump: host, port, database, user. */
        database: name,
        /** The database host's EC2 instance (or managed node), where SSM runs the backup and drill documents. */
        instanceId: instanceId.optional(),
        /** Where dumps are published on a single host (absolute path on the database host). */
        localDirectory: matching('absolutePath').max(500).default('/var/backups/acgs-ops'),
        /** Key prefix in the stack's backup bucket (AWS). */
        s3Prefix: matching('s3Prefix').max(400).default('backups/'),
        /** A `.pgpass` file on the database host holding the password; never the password itself. */
        pgpassFile: matching('absolutePath').max(512).optional(),
        /** The newest good backup may be this old before the monitor raises an incident. */
        maxAge: duration(MINUTE_MS, 31 * DAY_MS),
        /** Smaller than this is not a backup of a real database. */
        minSizeBytes: z.int().min(1).max(MAX_BYTE_COUNT).default(1024),
        /**
         * pg_dump workers. 1: the custom format, one process. N > 1: the directory format dumped N tables at a time
         * (pg_dump --jobs; the server needs N + 1 free connections), published as one tar. Faster on a host with cores
         * to spare.
         */
        parallelJobs: z.int().min(1).max(MAX_JOB_COUNT).default(1),
        /**
         * Tables the drill and the restore procedure restore at once (pg_restore --jobs). 1: in one transaction, so a
         * failed production restore leaves the database as it was; N > 1 is faster but not one transaction.
         */
        restoreJobs: z.int().min(1).max(MAX_JOB_COUNT).default(1),
        /** A backup this much smaller than the previous good one is suspicious (percent). */
        maxShrinkPercent: z.number().gt(0).max(100).default(50),
        retention: z.strictObject({
          daily: z.int().min(1).max(366),
          weekly: z.int().min(0).max(260),
          monthly: z.int().min(0).max(120),
        }),
        drill: z
          .strictObject({
            /** Scratch database the drill restores into (created and dropped by the drill). */
            scratchDatabase: postgresName,
            /** A drill older than this is reported as overdue by the monitor. */
            maxAge: duration(MINUTE_MS, 366 * DAY_MS),
          })
          .optional(),
        /**
         * Continuous WAL archiving for point-in-time recovery (acgs-wal-archiving, acgs-pitr-restore), on the database
         * host. Absent: dumps only. `acgs-ops backup archiving enable` sets it up.
         */
        archiving: z
          .strictObject({
            /**
             * The archive on the database host: wal/ (segments) and base/ (base backups). Not inside localDirectory:
             * the dump catalogue lists that directory.
             */
            directory: matching('absolutePath').max(400).default('/var/backups/acgs-ops-archive'),
            /**
             * AWS: the archive is s3://<backup bucket>/<s3Prefix> (wal/, base/; beside, not under, backups.s3Prefix),
             * written with the database host's instance role and the backup KMS key; `directory` then only stages base
             * backups. Absent: the archive is `directory`.
             */
            s3Prefix: matching('s3Prefix').max(400).optional(),
            /** Where the archive script (PostgreSQL's archive_command) is installed. */
            scriptDirectory: matching('absolutePath').max(400).default('/usr/local/lib/acgs-ops'),
            /**
             * The production cluster's data directory on the database host: what `backup restore --to TIME
             * --production` replaces (kept as `<dataDirectory>.before-pitr-<UTC stamp>`). Absent: no production PITR.
             */
            dataDirectory: matching('absolutePath').max(400).optional(),
            /** Where that safety copy is renamed into (the data directory's filesystem). @default beside it */
            safetyDirectory: matching('absolutePath').max(400).optional(),
            /** archive_timeout: a segment is archived at least this often while anything is written (the RPO's bound). */
            archiveTimeout: duration(SECOND_MS, HOUR_MS).default(60_000),
            /**
             * The newest base backup may be this old before the monitor raises an incident: the weekly schedule plus a
             * day to take it, by default.
             */
            baseBackupMaxAge: duration(HOUR_MS, 90 * DAY_MS).default(8 * DAY_MS),
            /** The point-in-time restore drill (`acgs-ops backup drill --pitr`, schedules.pitrDrill in AWS). */
            drill: z
              .strictObject({
                /**
                 * Tables (schema.table, as the drill's inventory names them) that legitimately lose rows between a
                 * base backup and a later point (sessions, queues, pruned logs): the drill reports their shrinking
                 * and passes. Any other table restored with fewer rows than the base backup's snapshot counted fails
                 * the drill; a listed table that is missing fails it too.
                 */
                tablesAllowedToShrink: z
                  .array(
                    z
                      .string()
                      .regex(
                        /^[A-Za-z_][A-Za-z0-9_$]{0,62}\.[A-Za-z_][A-Za-z0-9_$]{0,62}$/,
                        'must be schema.table, e.g. public.sessions (PostgreSQL names: letters, digits, _ and $)',
                      ),
                  )
                  .max(200)
                  .refine((tables) => new Set(tables).size === tables.length, 'must not list a table twice')
                  .default([]),
              })
              .optional(),
            /** The server's systemd unit, for the restart enabling needs; absent: pg_ctl restart. */
            serviceUnit: z
              .string()
              .regex(/^[A-Za-z0-9][A-Za-z0-9:_.@-]{0,127}$/, 'must be a systemd unit name, e.g. postgresql@15-main')
              .optional(),
          })
          .optional(),
        /**
         * The second archive: the fleet's configuration and service state (acgs-config-archive, on the database
         * host), every secret left out. Absent: not taken. `acgs-ops backup config archive` takes one now;
         * schedules.configArchive takes one daily with the daemon.
         */
        configArchive: z
          .strictObject({
            /** Files or directories archived whole (secrets left out): by default the control plane's own directory. */
            paths: z.array(matching('absolutePath').max(400)).max(64).default(['/etc/acgs-ops']),
            /** The configuration files of every service's directory (fleet.root + directory). */
            serviceDirectories: z.boolean().default(true),
            /** Where the fleet's systemd units are, and the prefix of their names (empty: no units). */
            unitDirectory: matching('absolutePath').max(400).default('/etc/systemd/system'),
            unitPrefix: z
              .string()
              .regex(/^([A-Za-z0-9][A-Za-z0-9_.@-]{0,63})?$/, 'must be the start of a systemd unit name, e.g. acgs-')
              .default('acgs-'),
            /** The archives on the database host; not inside localDirectory, which the dump catalogue lists. */
            directory: matching('absolutePath').max(400).default('/var/backups/acgs-ops-config'),
            /** How many archives to keep; older ones are deleted once a new one is written. */
            keep: z.int().min(1).max(999).default(14),
            /** AWS: key prefix in the backup bucket the archives are copied to (beside, not under, s3Prefix). */
            s3Prefix: matching('s3Prefix').max(400).default('config-archives/'),
          })
          .optional(),
      })
      .optional(),
    /** How the fleet is deployed to and reached on AWS; absent: defaults, no VPC. */
    aws: z
      .strictObject({
        /** SSM Run Command targets instances carrying this tag; the IAM policy allows no others. */
        fleetTag: z
          .strictObject({
            key: z.string().regex(/^[A-Za-z0-9 _.:/=+@-]{1,128}$/, 'must be a valid EC2 tag key'),
            value: z.string().regex(/^[A-Za-z0-9 _.:/=+@-]{0,256}$/, 'must be a valid EC2 tag value'),
          })
          .default({ key: 'acgs:fleet', value: 'acgs-1' }),
        /**
         * The tag naming each instance's host: a service without `instanceId` is commanded on the instances carrying
         * both the fleet tag and this tag with the service's `host` as its value.
         */
        hostTagKey: z
          .string()
          .regex(/^[A-Za-z0-9 _.:/=+@-]{1,128}$/, 'must be a valid EC2 tag key')
          .default(DEFAULT_HOST_TAG_KEY),
        /** Run the probe Lambda inside the fleet's VPC to reach private hosts. */
        vpc: z
          .strictObject({
            vpcId: z.string().regex(/^vpc-[0-9a-f]{8,17}$/, 'must be a VPC id (vpc-...)'),
            subnetIds: z.array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, 'must be a subnet id (subnet-...)')).min(1),
            securityGroupIds: z
              .array(z.string().regex(/^sg-[0-9a-f]{8,17}$/, 'must be a security group id (sg-...)'))
              .min(1),
            availabilityZones: z
              .array(z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d[a-z]$/, 'must be an availability zone'))
              .min(1),
          })
          .optional(),
        /** Days to keep incident timelines and probe-cycle logs. */
        retentionDays: z.int().min(1).max(3650).default(90),
        /**
         * Reserve one concurrent execution each for the probe, the escalation sweep and the backups Lambda (a hard
         * cap on top of the lease that already keeps their runs apart). Off by default: an account whose Lambda
         * concurrency quota is the default of 10 cannot reserve any, and the deploy fails.
         */
        reservedConcurrency: z.boolean().default(false),
      })
      .default({
        fleetTag: { key: 'acgs:fleet', value: 'acgs-1' },
        hostTagKey: DEFAULT_HOST_TAG_KEY,
        retentionDays: 90,
        reservedConcurrency: false,
      }),
    recovery: z.strictObject({
      rto: duration(SECOND_MS, 30 * DAY_MS),
      rpo: duration(SECOND_MS, 30 * DAY_MS),
      serviceRestart: duration(SECOND_MS, HOUR_MS),
      healthCheck: duration(SECOND_MS, HOUR_MS),
    }),
  })
  .superRefine((config, ctx) => {
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });

    const seen = new Map<string, string>();
    const claim = (key: string, path: (string | number)[]) => {
      const previous = seen.get(key);
      if (previous) issue(path, `name "${key}" is already used by ${previous}`);
      else seen.set(key, path.join('.'));
    };
    config.services.forEach((s, i) => {
      claim(s.name, ['services', i, 'name']);
    });
    config.checks.forEach((c, i) => {
      claim(c.name, ['checks', i, 'name']);
    });

    // The service documents find a service by its port on its host: two services on one port of one host collide,
    // whatever names the config gives that host.
    const endpoints = new Map<string, number>();
    config.services.forEach((s, i) => {
      const key = `${hostIdentity(s.host)}:${s.port}`;
      const other = endpoints.get(key);
      const otherHost = other === undefined ? undefined : config.services[other]?.host;
      if (other === undefined) endpoints.set(key, i);
      else
        issue(
          ['services', i, 'port'],
          `${s.host}:${s.port} is already used by services.${other}` +
            (otherHost === s.host ? '' : ` (${otherHost}:${s.port}: both name this host)`),
        );
    });

    const serviceList = encodeServiceList(config.services.map((s) => serviceCommandSpec(config, s)));
    if (serviceList.length > SERVICE_LIST_MAX_CHARS)
      issue(
        ['services'],
        `together make a Services list of ${serviceList.length} characters for acgs-start-all, stop-all and ` +
          `rolling-update, more than the ${SERVICE_LIST_MAX_CHARS} characters they take: shorten directories, ` +
          'log files or start commands (a start command can be a script)',
      );

    const checkNames = new Set(config.checks.map((c) => c.name));
    const serviceNames = new Set(config.services.map((s) => s.name));
    config.services.forEach((s, i) => {
      s.dependsOn.forEach((dep, j) => {
        if (!checkNames.has(dep))
          issue(['services', i, 'dependsOn', j], `"${dep}" is not the name of a check in checks`);
      });
    });
    config.checks.forEach((c, i) => {
      if (c.kind === 'prometheus' && c.service !== undefined && !serviceNames.has(c.service))
        issue(['checks', i, 'service'], `"${c.service}" is not the name of a service`);
      c.dependsOn?.forEach((dep, j) => {
        if (dep === c.name)
          issue(['checks', i, 'dependsOn', j], `"${dep}" is this check: a check cannot depend on itself`);
        else if (!checkNames.has(dep))
          issue(['checks', i, 'dependsOn', j], `"${dep}" is not the name of a check in checks`);
      });
    });
    const cycle = dependencyCycle(checkDependencies(config.checks));
    const cycleStart = cycle ? config.checks.findIndex((c) => c.name === cycle[0]) : -1;
    if (cycle)
      issue(
        ['checks', cycleStart, 'dependsOn'],
        `checks must not depend on each other in a cycle: ${cycle.join(' -> ')}`,
      );

    const { levels, firstPage } = config.escalation;
    levels.forEach((l, i) => {
      if (l.level !== i + 1) issue(['escalation', 'levels', i, 'level'], `levels must be numbered 1, 2, 3... in order`);
    });
    for (const sev of SEVERITIES) {
      const page = firstPage[sev];
      if (page.throughLevel > levels.length)
        issue(['escalation', 'firstPage', sev, 'throughLevel'], `there are only ${levels.length} levels`);
      const first = levels[page.throughLevel - 1];
      if (first && first.responseTime[sev] === undefined)
        issue(
          ['escalation', 'levels', page.throughLevel - 1, 'responseTime', sev],
          `${sev} is first paged through level ${page.throughLevel}, so that level needs a ${sev} response time`,
        );
    }
    for (const name of SCHEDULE_NAMES) {
      const schedule = config.schedules[name];
      const problem = schedule && scheduleProblem(schedule, config.schedules.timeZone);
      if (problem) issue(['schedules', name, 'cron'], problem);
    }
    const test = config.schedules.escalationTest;
    const routing = test && testRoutingProblem(config, test);
    if (routing) issue(['schedules', 'escalationTest', routing.field], routing.message);
    if (config.backups) {
      const db = config.checks.find((c) => c.name === config.backups?.database);
      if (db?.kind !== 'postgres')
        issue(['backups', 'database'], `"${config.backups.database}" is not the name of a postgres check in checks`);
      if (config.backups.drill && db?.kind === 'postgres' && config.backups.drill.scratchDatabase === db.database)
        issue(['backups', 'drill', 'scratchDatabase'], 'must not be the production database: the drill drops it');
      const archive = config.backups.configArchive;
      if (archive && archive.paths.join(',').length > CONFIG_ARCHIVE_LIST_MAX_CHARS)
        issue(
          ['backups', 'configArchive', 'paths'],
          `together must be at most ${CONFIG_ARCHIVE_LIST_MAX_CHARS} characters`,
        );
      const serviceDirectories = archive?.serviceDirectories
        ? [...new Set(config.services.map((s) => serviceCommandSpec(config, s).directory))].join(',')
        : '';
      if (serviceDirectories.length > CONFIG_ARCHIVE_LIST_MAX_CHARS)
        issue(
          ['backups', 'configArchive', 'serviceDirectories'],
          `the services' directories together exceed ${CONFIG_ARCHIVE_LIST_MAX_CHARS} characters: set it to false and list the directories in paths`,
        );
    }
    if (config.schedules.configArchive && !config.backups?.configArchive)
      issue(['schedules', 'configArchive'], 'there is no backups.configArchive to take on this schedule');
    // A schedule whose task has nothing to work on is deployed nowhere and run by nobody: refused, not ignored.
    if (config.schedules.canary && !config.backups?.archiving)
      issue(
        ['schedules', 'canary'],
        'there is no backups.archiving: the canary dates point-in-time restores, and nothing writes it without an archive',
      );
    if (config.schedules.pitrDrill && !config.backups?.archiving)
      issue(
        ['schedules', 'pitrDrill'],
        'there is no backups.archiving: the point-in-time restore drill restores the WAL archive',
      );
    if (config.schedules.drill && !config.backups?.drill)
      issue(['schedules', 'drill'], 'there is no backups.drill (its scratch database) to run the restore drill with');
    for (const problem of s3PrefixOverlaps(config.backups)) issue(['backups', ...problem.path], problem.message);
    const { flapping } = config.thresholds;
    if (flapping.exitRatio >= flapping.enterRatio)
      issue(['thresholds', 'flapping', 'exitRatio'], 'must be lower than enterRatio (hysteresis)');
  });

export type FleetConfigInput = z.input<typeof fleetConfigSchema>;
export type FleetConfig = z.output<typeof fleetConfigSchema>;
export type ServiceConfig = FleetConfig['services'][number];
export type CheckConfig = FleetConfig['checks'][number];
export type EscalationLevel = FleetConfig['escalation']['levels'][number];
export type Contact = EscalationLevel['contacts'][number];
export type ChannelConfig = FleetConfig['notifications']['channels'][number];
export type BackupConfig = NonNullable<FleetConfig['backups']>;

/**
 * One name per host for comparing endpoints: host names are case-insensitive, and every name of the loopback
 * interface (localhost, 127.0.0.0/8, ::1) or of "all interfaces" (0.0.0.0, ::) reaches the host the caller runs on.
 */
function hostIdentity(host: string): string {
  const { scope } = hostScope(host);
  return scope === 'loopback' || scope === 'unspecified' ? 'this host' : host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
}

/**
 * The backup bucket's prefixes are apart: the dumps' catalogue lists backups.s3Prefix whole (a WAL segment or a
 * configuration archive under it is an unknown object there, and retention deletes in it), and the database host may
 * delete under backups.s3Prefix but never under the WAL archive's. A prefix equal to, inside or around another breaks
 * both.
 */
function s3PrefixOverlaps(backups: BackupConfig | undefined): { path: string[]; message: string }[] {
  if (!backups) return [];
  const others: [string[], string][] = [[['s3Prefix'], backups.s3Prefix]];
  if (backups.configArchive) others.push([['configArchive', 's3Prefix'], backups.configArchive.s3Prefix]);
  const checked: [string[], string][] = [];
  if (backups.archiving?.s3Prefix !== undefined) checked.push([['archiving', 's3Prefix'], backups.archiving.s3Prefix]);
  if (backups.configArchive) checked.push([['configArchive', 's3Prefix'], backups.configArchive.s3Prefix]);
  const problems: { path: string[]; message: string }[] = [];
  for (const [path, prefix] of checked)
    for (const [otherPath, other] of others) {
      if (otherPath.join('.') === path.join('.')) continue;
      const relation =
        prefix === other ? 'is' : prefix.startsWith(other) ? 'is inside' : other.startsWith(prefix) ? 'contains' : '';
      if (relation)
        problems.push({
          path,
          message: `${prefix} ${relation} backups.${otherPath.join('.')} (${other}): each kind of object needs a prefix of its own, beside the others`,
        });
    }
  return problems;
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
