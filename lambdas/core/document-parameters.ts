import type { BackupManifest } from './backup-records.ts';
import type { BackupConfig, FleetConfig } from './config-schema.ts';
import { ControlPlaneError, NotFoundError } from './errors.ts';
import { encodeServiceList, serviceCommandSpec } from './service-list.ts';

/**
 * The parameters each ACGS document (`ssm-documents/*.yaml`) is given, built from the fleet config: one table per
 * family of documents (checked against the files by a test) and one builder per procedure. The documents themselves
 * (model, validation, substitution) are `ssm-document.ts`.
 */

// ---------------------------------------------------------------------------------------------------------------
// Parameters for the ACGS documents, derived from the fleet config.

/** The documents that act on one service, and the parameters each declares (checked against the files by a test). */
export const SERVICE_DOCUMENT_PARAMETERS = {
  'acgs-start-service': [
    'ServiceName',
    'Port',
    'Directory',
    'StartCommand',
    'LogFile',
    'HealthUrl',
    'TimeoutSeconds',
    'StateDirectory',
    'Force',
  ],
  'acgs-restart-service': [
    'ServiceName',
    'Port',
    'Directory',
    'StartCommand',
    'LogFile',
    'HealthUrl',
    'TimeoutSeconds',
    'GraceSeconds',
    'StateDirectory',
    'Force',
  ],
  'acgs-stop-service': ['ServiceName', 'Port', 'GraceSeconds'],
  'acgs-isolate-service': ['ServiceName', 'Port', 'GraceSeconds', 'StateDirectory'],
  'acgs-release-service': ['ServiceName', 'StateDirectory'],
  'acgs-collect-diagnostics': [
    'ServiceName',
    'Port',
    'LogFile',
    'HealthUrl',
    'LogLines',
    'DatabaseHost',
    'DatabasePort',
    'RedisHost',
    'RedisPort',
  ],
} as const;

/** The documents that act on a list of services, and their parameters. */
export const FLEET_DOCUMENT_PARAMETERS = {
  'acgs-start-all': ['Services', 'TimeoutSeconds', 'StateDirectory'],
  'acgs-stop-all': ['Services', 'GraceSeconds'],
} as const;

export type ServiceDocumentName = keyof typeof SERVICE_DOCUMENT_PARAMETERS;
export type FleetDocumentName = keyof typeof FLEET_DOCUMENT_PARAMETERS;

export const DEFAULT_GRACE_SECONDS = 10;
/** Matches the documents' default: host-level state such as isolation markers. */
export const DEFAULT_STATE_DIRECTORY = '/var/lib/acgs-ops';
/** Room left in the command timeout for the stop's SIGKILL wait and the last health probe. */
const TIMEOUT_MARGIN_SECONDS = 10;

export interface ServiceCommandOptions {
  /** @default 'acgs-restart-service' */
  readonly document?: ServiceDocumentName;
  /** Seconds to wait for health after a start. @default fits the restart in remediation.restartTimeout */
  readonly timeoutSeconds?: number;
  /** @default 10 */
  readonly graceSeconds?: number;
  /** @default '/var/lib/acgs-ops' */
  readonly stateDirectory?: string;
  /** Start an isolated service anyway, releasing its isolation. @default false */
  readonly force?: boolean;
  /** Log lines in diagnostics. @default 100 */
  readonly logLines?: number;
}

/**
 * The full parameter map of a service document for one service of the fleet (by default `acgs-restart-service`).
 * A config that loads yields values the documents accept (the config and the documents share the patterns of
 * lambdas/core/document-patterns.ts); the runner still validates them, as it does the options given here.
 * @throws NotFoundError when the fleet has no such service.
 */
export function serviceCommandParameters(
  config: FleetConfig,
  serviceName: string,
  options: ServiceCommandOptions = {},
): Record<string, string> {
  const service = config.services.find((s) => s.name === serviceName);
  if (!service) throw new NotFoundError(`service "${serviceName}" in fleet ${config.fleet.name}`);
  const spec = serviceCommandSpec(config, service);
  const grace = options.graceSeconds ?? DEFAULT_GRACE_SECONDS;
  const all: Record<string, string> = {
    ServiceName: spec.name,
    Port: String(spec.port),
    Directory: spec.directory,
    StartCommand: spec.startCommand,
    LogFile: spec.logFile,
    HealthUrl: spec.healthUrl,
    TimeoutSeconds: String(options.timeoutSeconds ?? defaultTimeoutSeconds(config, grace)),
    GraceSeconds: String(grace),
    StateDirectory: options.stateDirectory ?? DEFAULT_STATE_DIRECTORY,
    Force: String(options.force ?? false),
    LogLines: String(options.logLines ?? 100),
    ...dependencyEndpoints(config),
  };
  return pick(all, SERVICE_DOCUMENT_PARAMETERS[options.document ?? 'acgs-restart-service']);
}

export interface FleetCommandOptions {
  readonly timeoutSeconds?: number;
  readonly graceSeconds?: number;
  readonly stateDirectory?: string;
  /** Only these services, in this order. @default every service of the fleet */
  readonly services?: readonly string[];
}

/** The parameter map of `acgs-start-all` or `acgs-stop-all` for the fleet's services. */
export function fleetCommandParameters(
  config: FleetConfig,
  document: FleetDocumentName,
  options: FleetCommandOptions = {},
): Record<string, string> {
  const services = (options.services ?? config.services.map((s) => s.name)).map((name) => {
    const service = config.services.find((s) => s.name === name);
    if (!service) throw new NotFoundError(`service "${name}" in fleet ${config.fleet.name}`);
    return serviceCommandSpec(config, service);
  });
  const grace = options.graceSeconds ?? DEFAULT_GRACE_SECONDS;
  const all: Record<string, string> = {
    Services: encodeServiceList(services),
    TimeoutSeconds: String(options.timeoutSeconds ?? defaultTimeoutSeconds(config, grace)),
    GraceSeconds: String(grace),
    StateDirectory: options.stateDirectory ?? DEFAULT_STATE_DIRECTORY,
  };
  return pick(all, FLEET_DOCUMENT_PARAMETERS[document]);
}

/** A restart (stop with grace, then start and wait) must end within the remediation command timeout. */
function defaultTimeoutSeconds(config: FleetConfig, graceSeconds: number): number {
  const budget = Math.floor(Math.min(config.recovery.serviceRestart, config.remediation.restartTimeout) / 1000);
  return Math.max(1, budget - graceSeconds - TIMEOUT_MARGIN_SECONDS);
}

function dependencyEndpoints(config: FleetConfig): Record<string, string> {
  const postgres = config.checks.find((c) => c.kind === 'postgres');
  const redis = config.checks.find((c) => c.kind === 'redis');
  return {
    DatabaseHost: postgres ? clientHost(postgres.host) : '127.0.0.1',
    DatabasePort: String(postgres?.port ?? 5432),
    RedisHost: redis ? clientHost(redis.host) : '127.0.0.1',
    RedisPort: String(redis?.port ?? 6379),
  };
}

/** A host as clients take it (libpq, redis-cli): an IPv6 address without the brackets a URL would need. */
function clientHost(host: string): string {
  return host.replace(/^\[(.*)\]$/, '$1');
}

/** `path` made absolute against `root`, without trailing slashes (the documents' path pattern has none). */
function pick(all: Readonly<Record<string, string>>, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = all[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Parameters for the backup documents, derived from the fleet config's `backups` section.

/** The documents that back up the database and prove a backup restores, and their parameters. */
export const BACKUP_DOCUMENT_PARAMETERS = {
  'acgs-backup-database': [
    'DatabaseHost',
    'DatabasePort',
    'DatabaseName',
    'DatabaseUser',
    'PgpassFile',
    'PasswordSecretId',
    'PasswordSecretField',
    'Destination',
    'BackupId',
    'MinSizeBytes',
    'KmsKeyId',
    'PgBinDir',
    'TimeoutSeconds',
    'StartedAt',
    'ParallelJobs',
  ],
  'acgs-restore-drill': [
    'Source',
    'ExpectedSha256',
    'ExpectedTableDataEntries',
    'DatabaseHost',
    'DatabasePort',
    'DatabaseUser',
    'PgpassFile',
    'PasswordSecretId',
    'PasswordSecretField',
    'ScratchDatabase',
    'ProductionDatabase',
    'PgBinDir',
    'TimeoutSeconds',
    'StartedAt',
    'ReportLocation',
    'KmsKeyId',
    'RestoreJobs',
  ],
  'acgs-wal-archiving': [
    'Action',
    'DatabaseHost',
    'DatabasePort',
    'DatabaseName',
    'DatabaseUser',
    'PgpassFile',
    'PasswordSecretId',
    'PasswordSecretField',
    'ArchiveDirectory',
    'S3Archive',
    'KmsKeyId',
    'ScriptDirectory',
    'ArchiveTimeoutSeconds',
    'Restart',
    'ServiceUnit',
    'BaseBackupId',
    'PgBinDir',
    'TimeoutSeconds',
  ],
  'acgs-pitr-restore': [
    'ArchiveDirectory',
    'S3Archive',
    'TargetTime',
    'Mode',
    'ScratchDirectory',
    'ScratchPort',
    'DataDirectory',
    'SafetyDirectory',
    'ServiceUnit',
    'DatabaseUser',
    'DatabaseName',
    'Drill',
    'BaseBackupId',
    'PgBinDir',
    'TimeoutSeconds',
    'ReportLocation',
  ],
} as const;

export type BackupDocumentName = keyof typeof BACKUP_DOCUMENT_PARAMETERS;

/** Matches the documents' default: the whole dump (or drill), checks and transfer included. */
export const DEFAULT_BACKUP_TIMEOUT_SECONDS = 3600;

export interface BackupCommandOptions {
  /** When the backup starts; names it (`<database>-20261201T020000Z`). */
  readonly at: Date;
  /** The stack's backup bucket: publish under `s3://<bucket>/<backups.s3Prefix>`. @default backups.localDirectory */
  readonly bucket?: string;
  /** KMS key of the S3 objects (aws:kms). @default SSE-S3 (AES256) */
  readonly kmsKeyId?: string;
  /** Directory holding the PostgreSQL client tools on the host. @default found on PATH */
  readonly pgBinDir?: string;
  /** @default 3600 */
  readonly timeoutSeconds?: number;
}

export interface DrillCommandOptions {
  /** When the drill starts: the report's times are this plus the time the drill ran. @default the host's clock */
  readonly at?: Date;
  /** The bucket the backup was published to. @default backups.localDirectory */
  readonly bucket?: string;
  /** @default found on PATH */
  readonly pgBinDir?: string;
  /** @default 3600 */
  readonly timeoutSeconds?: number;
  /**
   * The key, next to the backups (in the bucket under `backups.s3Prefix`, or in `backups.localDirectory`), the drill
   * writes its whole report to (`<name>.drill-report.json`). @default none: the report is only printed
   */
  readonly reportKey?: string;
  /** KMS key of the report object in S3 (aws:kms). @default SSE-S3 (AES256) */
  readonly kmsKeyId?: string;
}

/** What the drill takes from a published backup's manifest: the dump's name next to it, and what it must hold. */
export type DrillManifestFields = Pick<BackupManifest, 'dumpKey' | 'sha256' | 'tableDataEntries'>;

/** `2026-12-01T02:00:00Z`: the UTC second of `at`, as the documents' StartedAt takes it. */
function isoSecond(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A backup's name: the database and the UTC second it started, e.g. `acgs_pgp_db-20261201T020000Z`. */
export function backupId(database: string, at: Date): string {
  const stamp = at
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
  return `${database}-${stamp}`;
}

/**
 * The parameter map of `acgs-backup-database` for the database named by `backups.database`.
 * @throws ControlPlaneError `BACKUPS_NOT_CONFIGURED` without a `backups` section, or without a way to the password
 * (`backups.pgpassFile`, or in AWS the database check's `passwordSecret`).
 * @throws NotFoundError when `backups.database` names no postgres check.
 */
export function backupCommandParameters(config: FleetConfig, options: BackupCommandOptions): Record<string, string> {
  const { backups, database } = backupTarget(config, options);
  const all: Record<string, string> = {
    ...connectionParameters(database, backups, options),
    DatabaseName: database.database,
    Destination: options.bucket === undefined ? localBackupDirectory(backups) : s3BackupPrefix(backups, options.bucket),
    BackupId: backupId(database.database, options.at),
    StartedAt: isoSecond(options.at),
    MinSizeBytes: String(backups.minSizeBytes),
    KmsKeyId: options.kmsKeyId ?? '',
    ParallelJobs: String(backups.parallelJobs),
  };
  return pick(all, BACKUP_DOCUMENT_PARAMETERS['acgs-backup-database']);
}

/**
 * The parameter map of `acgs-restore-drill` for one published backup, restored into `backups.drill.scratchDatabase`
 * on the database's own server.
 * @throws ControlPlaneError `BACKUPS_NOT_CONFIGURED` without `backups`, `backups.drill`, or a way to the password.
 * @throws NotFoundError when `backups.database` names no postgres check.
 */
export function drillCommandParameters(
  config: FleetConfig,
  manifest: DrillManifestFields,
  options: DrillCommandOptions = {},
): Record<string, string> {
  const { backups, database } = backupTarget(config, options);
  if (!backups.drill)
    throw new ControlPlaneError(
      'BACKUPS_NOT_CONFIGURED',
      'backups.drill is not set: no scratch database to restore into',
    );
  const all: Record<string, string> = {
    ...connectionParameters(database, backups, options),
    Source:
      options.bucket === undefined
        ? `${localBackupDirectory(backups)}/${manifest.dumpKey}`
        : `${s3BackupPrefix(backups, options.bucket)}${manifest.dumpKey}`,
    ExpectedSha256: manifest.sha256,
    ExpectedTableDataEntries: String(manifest.tableDataEntries),
    ScratchDatabase: backups.drill.scratchDatabase,
    ProductionDatabase: database.database,
    StartedAt: options.at === undefined ? '' : isoSecond(options.at),
    ReportLocation:
      options.reportKey === undefined
        ? ''
        : options.bucket === undefined
          ? `${localBackupDirectory(backups)}/${options.reportKey}`
          : `${s3BackupPrefix(backups, options.bucket)}${options.reportKey}`,
    KmsKeyId: options.kmsKeyId ?? '',
    RestoreJobs: String(backups.restoreJobs),
  };
  return pick(all, BACKUP_DOCUMENT_PARAMETERS['acgs-restore-drill']);
}

type PostgresCheck = Extract<FleetConfig['checks'][number], { kind: 'postgres' }>;

export function backupTarget(
  config: FleetConfig,
  options: { readonly bucket?: string },
): { backups: BackupConfig; database: PostgresCheck } {
  const { backups } = config;
  if (!backups)
    throw new ControlPlaneError('BACKUPS_NOT_CONFIGURED', `fleet ${config.fleet.name} has no backups section`);
  const database = config.checks.find((c) => c.name === backups.database);
  if (database?.kind !== 'postgres')
    throw new NotFoundError(`postgres check "${backups.database}" (backups.database) in fleet ${config.fleet.name}`);
  if (backups.pgpassFile === undefined && passwordSecretOf(database, options) === undefined)
    throw new ControlPlaneError(
      'BACKUPS_NOT_CONFIGURED',
      options.bucket === undefined
        ? 'backups.pgpassFile is not set: on one host the backup documents read the password from a pgpass file'
        : `neither backups.pgpassFile nor the passwordSecret of check "${database.name}" is set: the backup host has no way to the password`,
    );
  return { backups, database };
}

/**
 * The secret the backup host reads the password from: the database check's `passwordSecret`, in AWS (backups go to
 * the stack's bucket); on one host (a local directory) the pgpass file serves, and no AWS call is made.
 */
function passwordSecretOf(database: PostgresCheck, options: { readonly bucket?: string }) {
  return options.bucket === undefined ? undefined : database.passwordSecret;
}

export function connectionParameters(
  database: PostgresCheck,
  backups: BackupConfig,
  options: { readonly bucket?: string; readonly pgBinDir?: string; readonly timeoutSeconds?: number },
): Record<string, string> {
  const secret = passwordSecretOf(database, options);
  return {
    DatabaseHost: clientHost(database.host),
    DatabasePort: String(database.port),
    DatabaseUser: database.user,
    PgpassFile: backups.pgpassFile ?? '',
    PasswordSecretId: secret?.id ?? '',
    PasswordSecretField: secret?.field ?? '',
    PgBinDir: options.pgBinDir ?? '',
    TimeoutSeconds: String(options.timeoutSeconds ?? DEFAULT_BACKUP_TIMEOUT_SECONDS),
  };
}

/** `backups.localDirectory` without trailing slashes (the documents' path pattern has none). */
function localBackupDirectory(backups: BackupConfig): string {
  return backups.localDirectory.replace(/(.)\/+$/, '$1');
}

/** `s3://<bucket>/<backups.s3Prefix>`, ending in `/`. */
export function s3BackupPrefix(backups: BackupConfig, bucket: string): string {
  return `s3://${bucket}/${backups.s3Prefix.replace(/^\/+/, '')}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Parameters for the rolling update document: the fleet's services restarted one at a time, in order.

/** The document that rolls an update through a list of services, and its parameters. */
export const ROLLING_UPDATE_DOCUMENT_PARAMETERS = {
  'acgs-rolling-update': ['Services', 'Update', 'Branch', 'TimeoutSeconds', 'GraceSeconds', 'StateDirectory'],
} as const;

export type RollingUpdateDocumentName = keyof typeof ROLLING_UPDATE_DOCUMENT_PARAMETERS;

/** How each service is updated before its restart: as it is, or fast-forwarded from its git origin. */
export type RollingUpdateMode = 'restart-only' | 'git-pull';

/** Matches the document's default branch. */
export const DEFAULT_ROLLING_UPDATE_BRANCH = 'main';

export interface RollingUpdateOptions extends FleetCommandOptions {
  /** @default 'restart-only' */
  readonly update?: RollingUpdateMode;
  /** Branch of origin to fast-forward to with `git-pull`. @default 'main' */
  readonly branch?: string;
}

/**
 * The parameter map of `acgs-rolling-update`: the services (by default every service of the fleet, in config order)
 * restarted one at a time, each given the per-restart health timeout fleetCommandParameters gives start-all.
 * @throws NotFoundError when the fleet has no such service.
 */
export function rollingUpdateParameters(
  config: FleetConfig,
  options: RollingUpdateOptions = {},
): Record<string, string> {
  const fleet = fleetCommandParameters(config, 'acgs-start-all', options);
  const all: Record<string, string> = {
    ...fleet,
    Update: options.update ?? 'restart-only',
    Branch: options.branch ?? DEFAULT_ROLLING_UPDATE_BRANCH,
    GraceSeconds: String(options.graceSeconds ?? DEFAULT_GRACE_SECONDS),
  };
  return pick(all, ROLLING_UPDATE_DOCUMENT_PARAMETERS['acgs-rolling-update']);
}

// ---------------------------------------------------------------------------------------------------------------
// Parameters for the restore document: the database steps of the runbook's Recovery Procedure.

/** The document that takes the safety dump and restores a published backup over the database, and its parameters. */
export const RESTORE_DOCUMENT_PARAMETERS = {
  'acgs-restore-database': [
    'Action',
    'Source',
    'ExpectedSha256',
    'ExpectedTableDataEntries',
    'DatabaseHost',
    'DatabasePort',
    'DatabaseName',
    'DatabaseUser',
    'PgpassFile',
    'PasswordSecretId',
    'PasswordSecretField',
    'SafetyDumpLocation',
    'PgBinDir',
    'TimeoutSeconds',
    'RestoreJobs',
  ],
} as const;

/** What the restore document does in one run. */
export type RestoreAction = 'safety-dump' | 'restore';

export interface RestoreCommandOptions {
  readonly action: RestoreAction;
  /** Absolute path on the database host of the safety dump (written by `safety-dump`, required by `restore`). */
  readonly safetyDumpLocation: string;
  /** The bucket the backup was published to. @default backups.localDirectory */
  readonly bucket?: string;
  /** @default found on PATH */
  readonly pgBinDir?: string;
  /** @default 3600 */
  readonly timeoutSeconds?: number;
}

/**
 * The parameter map of `acgs-restore-database` for one published backup and the database `backups.database` names.
 * @throws ControlPlaneError `BACKUPS_NOT_CONFIGURED` without `backups` or a way to the password.
 * @throws NotFoundError when `backups.database` names no postgres check.
 */
export function restoreCommandParameters(
  config: FleetConfig,
  manifest: DrillManifestFields,
  options: RestoreCommandOptions,
): Record<string, string> {
  const { backups, database } = backupTarget(config, options);
  const all: Record<string, string> = {
    ...connectionParameters(database, backups, options),
    Action: options.action,
    Source:
      options.bucket === undefined
        ? `${localBackupDirectory(backups)}/${manifest.dumpKey}`
        : `${s3BackupPrefix(backups, options.bucket)}${manifest.dumpKey}`,
    ExpectedSha256: manifest.sha256,
    ExpectedTableDataEntries: String(manifest.tableDataEntries),
    DatabaseName: database.database,
    SafetyDumpLocation: options.safetyDumpLocation,
    RestoreJobs: String(backups.restoreJobs),
  };
  return pick(all, RESTORE_DOCUMENT_PARAMETERS['acgs-restore-database']);
}

/**
 * Where a restore started at `at` leaves the safety dump of the current database on the database host: beside the
 * local backups, in `pre-restore/` (not a published backup: the catalogue and retention ignore it).
 */
export function safetyDumpLocation(config: FleetConfig, at: Date): string {
  const { backups } = config;
  if (!backups)
    throw new ControlPlaneError('BACKUPS_NOT_CONFIGURED', `fleet ${config.fleet.name} has no backups section`);
  const database = config.checks.find((c) => c.name === backups.database);
  const name = database?.kind === 'postgres' ? database.database : backups.database;
  return `${localBackupDirectory(backups)}/pre-restore/${backupId(`${name}-before-restore`, at)}.dump`;
}
