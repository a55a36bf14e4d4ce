import type { BackupConfig, FleetConfig } from './config-schema.ts';
import { backupTarget, connectionParameters, s3BackupPrefix } from './document-parameters.ts';
import { ControlPlaneError, UsageError } from './errors.ts';
import type { MaintenanceWindow } from './escalation.ts';

/**
 * Continuous WAL archiving and point-in-time recovery on the database host: the parameters of the
 * `acgs-wal-archiving` and `acgs-pitr-restore` documents from the config's `backups.archiving`, the operator's
 * input checked before anything runs, and the documents' JSON reports read back. Pure.
 */

export type ArchivingAction = 'enable' | 'status' | 'base-backup' | 'canary';
export type ArchivingSettings = NonNullable<BackupConfig['archiving']>;

/** The documents' exit status when enabling has set everything but archive_mode, which waits for a restart. */
export const RESTART_NEEDED_EXIT = 4;

/** `backups.archiving`, or a usage error naming what is missing. */
export function archivingOf(config: FleetConfig): { backups: BackupConfig; archiving: ArchivingSettings } {
  const { backups } = config;
  if (!backups) throw new UsageError('the config has no backups section');
  if (!backups.archiving)
    throw new UsageError('the config has no backups.archiving section: WAL archiving is not configured');
  return { backups, archiving: backups.archiving };
}

/** Where the archive is: the stack's backup bucket and key (AWS), used when `backups.archiving.s3Prefix` is set. */
export interface ArchiveBucket {
  readonly bucket?: string;
  readonly kmsKeyId?: string;
}

export interface ArchivingCommandOptions extends ArchiveBucket {
  readonly pgBinDir?: string;
  /** enable: restart PostgreSQL if a changed setting needs it (the operator confirmed, inside a window). */
  readonly restart?: boolean;
  readonly baseBackupId?: string;
  readonly timeoutSeconds?: number;
}

/** The parameter map of `acgs-wal-archiving` for `action`. */
export function archivingCommandParameters(
  config: FleetConfig,
  action: ArchivingAction,
  options: ArchivingCommandOptions = {},
): Record<string, string> {
  const { archiving } = archivingOf(config);
  const { backups, database } = backupTarget(config, {});
  const connection = connectionParameters(database, backups, {
    ...(options.pgBinDir === undefined ? {} : { pgBinDir: options.pgBinDir }),
    ...(options.timeoutSeconds === undefined ? {} : { timeoutSeconds: options.timeoutSeconds }),
  });
  const { DatabaseHost, DatabasePort, DatabaseUser, PgpassFile, PasswordSecretId, PasswordSecretField } = connection;
  return {
    Action: action,
    DatabaseHost: DatabaseHost ?? '',
    DatabasePort: DatabasePort ?? '',
    DatabaseName: database.database,
    DatabaseUser: DatabaseUser ?? '',
    PgpassFile: PgpassFile ?? '',
    PasswordSecretId: PasswordSecretId ?? '',
    PasswordSecretField: PasswordSecretField ?? '',
    ArchiveDirectory: trimSlashes(archiving.directory),
    ...s3ArchiveParameters(archiving, options),
    ScriptDirectory: trimSlashes(archiving.scriptDirectory),
    ArchiveTimeoutSeconds: String(archiveTimeoutSeconds(archiving)),
    Restart: options.restart ? 'yes' : 'no',
    ServiceUnit: archiving.serviceUnit ?? '',
    BaseBackupId: options.baseBackupId ?? '',
    PgBinDir: connection.PgBinDir ?? '',
    TimeoutSeconds: connection.TimeoutSeconds ?? '3600',
  };
}

/**
 * S3Archive and KmsKeyId: `s3://<bucket>/<archiving.s3Prefix>` and the key, or both empty for the local archive.
 * @throws UsageError when `s3Prefix` is set but no bucket is known (the archive would silently stay local).
 */
export function s3ArchiveParameters(
  archiving: ArchivingSettings,
  where: ArchiveBucket,
): { S3Archive: string; KmsKeyId: string } {
  if (archiving.s3Prefix === undefined) return { S3Archive: '', KmsKeyId: '' };
  if (where.bucket === undefined)
    throw new UsageError(
      `backups.archiving.s3Prefix is ${archiving.s3Prefix}, but this runtime has no backup bucket: archiving to S3 runs in AWS (remove s3Prefix to archive to ${archiving.directory})`,
    );
  return { S3Archive: `s3://${where.bucket}/${archiving.s3Prefix}`, KmsKeyId: where.kmsKeyId ?? '' };
}

/** archive_timeout in whole seconds (1-3600), as PostgreSQL and the document take it. */
export function archiveTimeoutSeconds(archiving: ArchivingSettings): number {
  return Math.min(3600, Math.max(1, Math.ceil(archiving.archiveTimeout / 1000)));
}

/** Where to restore, and to when. */
export interface PitrRestoreRequest extends ArchiveBucket {
  /** `latest`, or an instant (epoch ms). */
  readonly target: 'latest' | number;
  readonly scratchDirectory: string;
  readonly port: number;
  readonly baseBackupId?: string;
  readonly pgBinDir?: string;
  readonly timeoutSeconds?: number;
  /** The drill: inventory the restored data, then stop and remove the scratch cluster (also on failure). */
  readonly drill?: boolean;
  /**
   * AWS (with `bucket`): the key under backups.s3Prefix the document also writes its report to, whole (SSM keeps only
   * the start of a command's output). Absent: printed only.
   */
  readonly reportKey?: string;
}

/**
 * Where the PITR drill restores when nobody says: `<archiving.directory>-pitr-drill` (beside the archive, on its
 * disk), and the database's port + 10000 (or - 10000 above 55535), never the production port.
 */
export function defaultPitrDrillScratch(config: FleetConfig): { scratchDirectory: string; port: number } {
  const { archiving } = archivingOf(config);
  const { database } = backupTarget(config, {});
  return {
    scratchDirectory: `${trimSlashes(archiving.directory)}-pitr-drill`,
    port: defaultDrillPort(database.port),
  };
}

/** The drill's scratch port when none is given: the database's port + 10000 (or - 10000 above 55535). */
export function defaultDrillPort(productionPort: number): number {
  return productionPort + 10_000 <= 65_535 ? productionPort + 10_000 : productionPort - 10_000;
}

/** The parameter map of `acgs-pitr-restore`. */
export function pitrRestoreParameters(config: FleetConfig, request: PitrRestoreRequest): Record<string, string> {
  const { backups, archiving } = archivingOf(config);
  const { database } = backupTarget(config, {});
  return {
    ArchiveDirectory: trimSlashes(archiving.directory),
    S3Archive: s3ArchiveParameters(archiving, request).S3Archive,
    TargetTime: request.target === 'latest' ? 'latest' : new Date(request.target).toISOString(),
    Mode: 'scratch',
    ScratchDirectory: trimSlashes(request.scratchDirectory),
    ScratchPort: String(request.port),
    DataDirectory: '',
    SafetyDirectory: '',
    ServiceUnit: '',
    DatabaseUser: database.user,
    DatabaseName: database.database,
    Drill: request.drill ? 'yes' : 'no',
    BaseBackupId: request.baseBackupId ?? '',
    PgBinDir: request.pgBinDir ?? '',
    TimeoutSeconds: String(request.timeoutSeconds ?? 3600),
    ReportLocation:
      request.reportKey === undefined || request.bucket === undefined
        ? ''
        : `${s3BackupPrefix(backups, request.bucket)}${request.reportKey}`,
  };
}

export type PitrProductionMode = 'plan' | 'production';

/** A point-in-time restore of the production cluster (or its plan). */
export interface PitrProductionRequest extends ArchiveBucket {
  readonly mode: PitrProductionMode;
  /** `latest`, or an instant (epoch ms). */
  readonly target: 'latest' | number;
  readonly pgBinDir?: string;
  readonly timeoutSeconds?: number;
}

/**
 * The parameter map of `acgs-pitr-restore` in Mode plan or production: the data directory, the safety copy's directory
 * and the server's unit from `backups.archiving`.
 * @throws UsageError when `backups.archiving.dataDirectory` is not set.
 */
export function pitrProductionParameters(config: FleetConfig, request: PitrProductionRequest): Record<string, string> {
  const { archiving } = archivingOf(config);
  if (archiving.dataDirectory === undefined)
    throw new UsageError(
      'backups.archiving.dataDirectory is not set: a point-in-time restore into production needs the data directory of the production cluster',
    );
  const { mode, ...rest } = request;
  return {
    ...pitrRestoreParameters(config, { ...rest, scratchDirectory: '', port: 0 }),
    Mode: mode,
    ScratchDirectory: '',
    ScratchPort: '',
    DataDirectory: trimSlashes(archiving.dataDirectory),
    SafetyDirectory: archiving.safetyDirectory === undefined ? '' : trimSlashes(archiving.safetyDirectory),
    ServiceUnit: archiving.serviceUnit ?? '',
  };
}

/** The plan a production restore prints first (Mode plan): what it would use. */
export interface PitrPlanReport {
  readonly baseBackup: string;
  readonly baseBackupFinishedAt: string;
  readonly baseBackupSizeBytes: number | null;
  readonly target: string;
  readonly walSegments: number;
  readonly dataDirectory: string;
  readonly dataDirectorySizeBytes: number | null;
  readonly freeBytes: number | null;
}

export function pitrPlanOf(output: string): PitrPlanReport | undefined {
  return lastReport(output, 'acgs-ops.pitr-plan') as PitrPlanReport | undefined;
}

/** The document's failure when no base backup finished before the target: that time cannot be restored. */
export function notRestorable(output: string): boolean {
  return /no base backup finished before|no base backup in /.test(lastOutputLine(output));
}

/** `--to`: `latest`, or a time with its zone (ISO 8601, e.g. 2026-12-03T19:00:00Z or +01:00). */
export function parseRestoreTarget(text: string, field = '--to'): 'latest' | number {
  if (text === 'latest') return 'latest';
  const iso = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})$/;
  const at = Date.parse(text);
  if (!iso.test(text) || Number.isNaN(at))
    throw new UsageError(
      `${field} must be latest or a time with its zone such as 2026-12-03T19:00:00Z, got "${text.slice(0, 80)}"`,
    );
  return at;
}

/** `--port`: the scratch cluster's port (1024-65535). */
export function parseScratchPort(text: string, productionPort: number, field = '--port'): number {
  const port = Number(text);
  if (!/^[1-9][0-9]{3,4}$/.test(text) || port < 1024 || port > 65535)
    throw new UsageError(`${field} must be a TCP port from 1024 to 65535, got "${text.slice(0, 80)}"`);
  if (port === productionPort) throw new UsageError(`${field} ${port} is the production database's port`);
  return port;
}

/** `--scratch`: an absolute directory of plain path segments (the documents' path pattern). */
export function parseScratchDirectory(text: string, field = '--scratch'): string {
  if (!/^(\/\.?[A-Za-z0-9_][A-Za-z0-9._-]*)+\/?$/.test(text) || text.length > 400)
    throw new UsageError(
      `${field} must be an absolute directory of letters, digits and . _ - (at most 400 characters), got "${text.slice(0, 80)}"`,
    );
  return trimSlashes(text);
}

/** The code of the refusal to restart PostgreSQL outside a maintenance window covering the database. */
export const NO_MAINTENANCE_WINDOW = 'NO_MAINTENANCE_WINDOW';

/**
 * An open maintenance window covering the database (its check's name, or `*`) at `now`, or a `NO_MAINTENANCE_WINDOW`
 * refusal naming the window to open: the restart enabling archiving may need is done only inside one.
 */
export function restartWindow(
  config: FleetConfig,
  windows: readonly MaintenanceWindow[],
  now: number,
): MaintenanceWindow {
  const { backups } = archivingOf(config);
  const open = windows.find(
    (w) => w.startsAt <= now && now < w.endsAt && (w.subjects.includes(backups.database) || w.subjects.includes('*')),
  );
  if (!open)
    throw new ControlPlaneError(
      NO_MAINTENANCE_WINDOW,
      `restarting PostgreSQL needs an open maintenance window covering ${backups.database}: open one (acgs-ops maintenance start --service ${backups.database} --for 30m --reason ...) and run this again`,
    );
  return open;
}

/** The last line of a document's output: its reason, or its manifest or report, by the documents' contract. */
export function lastOutputLine(output: string): string {
  return output.trim().split('\n').at(-1)?.trim() ?? '';
}

/** The last line of a document's output that is a JSON object of `kind`, parsed; undefined when there is none. */
export function lastReport(output: string, kind: string): Record<string, unknown> | undefined {
  const lines = output.split('\n').reverse();
  for (const line of lines) {
    const text = line.trim();
    if (!text.startsWith('{')) continue;
    try {
      const value: unknown = JSON.parse(text);
      if (typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === kind)
        return value as Record<string, unknown>;
    } catch {
      // Not a report: keep looking.
    }
  }
  return undefined;
}

export interface BaseBackupManifest {
  readonly id: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationMs: number;
  readonly sizeBytes: number;
  readonly sha256: string;
}

export interface PitrRestoreReport {
  readonly baseBackup: string;
  readonly baseBackupFinishedAt: string;
  readonly target: string;
  readonly scratchDirectory: string;
  readonly port: number;
  readonly unpackMs: number;
  readonly replayMs: number;
  readonly rtoMs: number;
  readonly newestTransactionAt: string | null;
  /** When recovery finished, by the database host's clock (absent from older documents). */
  readonly recoveredAt?: string;
  /** Drill=yes: the restored data's inventory and the base backup's manifest (`pitr-drill.ts` reads it). */
  readonly drill?: unknown;
  /** Mode=production: the safety copy (the data directory as it was), and how long PostgreSQL was down. */
  readonly safetyCopy?: string;
  readonly downMs?: number;
  readonly timeline?: string;
}

export function baseBackupManifestOf(output: string): BaseBackupManifest | undefined {
  return lastReport(output, 'acgs-ops.base-backup') as BaseBackupManifest | undefined;
}

export function pitrReportOf(output: string): PitrRestoreReport | undefined {
  return lastReport(output, 'acgs-ops.pitr-restore') as PitrRestoreReport | undefined;
}

function trimSlashes(path: string): string {
  return path.replace(/(.)\/+$/, '$1');
}
