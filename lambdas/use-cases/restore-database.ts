import type { CataloguedBackup } from '../core/backup-catalogue.ts';
import type { BackupConfig } from '../core/config-schema.ts';
import { RESTORE_DOCUMENT } from '../core/document-names.ts';
import {
  DEFAULT_BACKUP_TIMEOUT_SECONDS,
  type RestoreAction,
  restoreCommandParameters,
  safetyDumpLocation,
} from '../core/document-parameters.ts';
import { DOCUMENT_PATTERNS } from '../core/document-patterns.ts';
import { MINUTE_MS } from '../core/duration.ts';
import { ControlPlaneError, NotFoundError, UsageError } from '../core/errors.ts';
import { MAINTENANCE_WINDOW_LENGTH, type MaintenanceWindow } from '../core/escalation.ts';
import type { Incident } from '../core/incident.ts';
import { checkInput } from '../core/operator-input.ts';
import * as z from '../core/zod-mini.ts';
import type { CommandResult } from '../ports.ts';
import { type BackupDestination, loadCatalogue } from './backups.ts';
import type { ControlPlaneContext } from './context.ts';
import {
  documentOutcome,
  type RecoveryDependencies,
  type RecoveryStatus,
  type RecoveryStep,
  type RecoveryStepName,
  runOneRestore,
  runRecovery,
} from './database-recovery.ts';

/*
 * The runbook's Recovery Procedure ("1. Stop all services, 2. Restore database, 3. Restart services, 4. Validate
 * recovery"), made safe: a maintenance window first (so the stops are neither paged about nor undone), a safety dump
 * of the current database before anything is overwritten, the restore in one transaction, then the services started
 * in config order and every health check waited for. Each step is timed; the first that fails stops the procedure,
 * which then ends the window (what is down must be seen and paged about), declares a P1 incident that pages, and says
 * how to go back: the safety dump and the exact pg_restore command. The skeleton (window, stop, start, health, end
 * the window, the failure path) is database-recovery.ts, shared with the point-in-time restore of production.
 */

/** The audit trail's and the timeline's name of the procedure. */
export const RESTORE_ACTION = 'backup.restore';

/** A backup id as an operator types it: the documents' BackupId pattern. */
export const backupIdInput = z
  .string()
  .check(z.regex(new RegExp(DOCUMENT_PATTERNS.backupId), 'must be a backup id such as acgs_pgp_db-20261201T020000Z'));

export type RestoreStepName = RecoveryStepName;
export type RestoreStatus = RecoveryStatus;
export type RestoreStep = RecoveryStep;

export interface RestoreRequest {
  /** The published backup to restore (`acgs-ops backup list`). */
  readonly backupId: string;
  /** Who acts: on the window, the timeline and the incident a failure declares. */
  readonly by: string;
  /** The operator said yes (`--yes`, `{"confirm": true}`): nothing runs without it. */
  readonly confirm: boolean;
  /** Seconds each database step (safety dump, restore) may take. @default 3600 */
  readonly timeoutSeconds?: number;
}

export interface RestoreRun {
  readonly backupId: string;
  /** The services stopped and started again: those whose `dependsOn` names the database. */
  readonly services: readonly string[];
  readonly status: RestoreStatus;
  readonly steps: readonly RestoreStep[];
  readonly window?: MaintenanceWindow;
  /** Where the safety dump of the database as it was is (on the database host), once the step ran. */
  readonly safetyDump: string;
  /** The command that puts the safety dump back, with the services stopped. */
  readonly goBack: string;
  /** The last lines of the documents' output. */
  readonly output: string;
  /** Why it stopped, when it did not succeed. */
  readonly error?: string;
  /** The P1 incident a failure declared (it pages). */
  readonly incident?: Incident;
}

export type RestoreDependencies = RecoveryDependencies;

/**
 * What a restore would do, checked before anything runs: the request (confirmation, id, timeout), the backup (it
 * exists and is verified: good, and its SHA-256 checked by the store or a drill restored it).
 * @throws UsageError for bad input or a missing confirmation, NotFoundError for an unknown backup, ControlPlaneError
 * `BACKUP_NOT_VERIFIED` for a backup that is not known good.
 */
export async function planRestore(
  ctx: ControlPlaneContext,
  destination: BackupDestination,
  request: RestoreRequest,
): Promise<{ readonly backup: CataloguedBackup; readonly services: readonly string[] }> {
  const backupId = checkInput(backupIdInput, request.backupId, 'backup id');
  const most = maxStepSeconds(destination);
  if (request.timeoutSeconds !== undefined)
    checkInput(
      z
        .int()
        .check(
          z.gte(1),
          z.lte(most, `must be at most ${most} seconds here (the safety dump and the restore must both fit)`),
        ),
      request.timeoutSeconds,
      'timeoutSeconds',
    );
  const services = dependents(ctx, backupsOf(ctx));
  if (request.confirm !== true) throw new UsageError(unconfirmedRestore(ctx.config, backupId));
  const catalogue = await loadCatalogue(ctx, destination.objects);
  const backup = catalogue.backups.find((b) => b.manifest.id === backupId);
  if (!backup) throw new NotFoundError(`backup ${backupId} (see acgs-ops backup list)`);
  if (backup.verdict !== 'good')
    throw new ControlPlaneError(
      'BACKUP_NOT_VERIFIED',
      `backup ${backupId} is not good: ${backup.problems.join('; ')}; restore a good one (acgs-ops backup list)`,
    );
  if (!backup.verified && !backup.restorable)
    throw new ControlPlaneError(
      'BACKUP_NOT_VERIFIED',
      `backup ${backupId} is unproven: the store gave no SHA-256 of its dump and no drill restored it; drill it first (acgs-ops backup drill)`,
    );
  return { backup, services };
}

/**
 * The Recovery Procedure for one published backup. Every step is reported with its duration; the first that fails
 * ends it (see the module comment). Bad input and a backup that is not verified are refused before anything runs.
 */
export async function restoreDatabase(
  ctx: ControlPlaneContext,
  destination: BackupDestination,
  request: RestoreRequest,
  deps: RestoreDependencies = {},
): Promise<RestoreRun> {
  const planned = await planRestore(ctx, destination, request);
  const backups = backupsOf(ctx);
  const timeoutSeconds =
    request.timeoutSeconds ?? Math.min(DEFAULT_BACKUP_TIMEOUT_SECONDS, maxStepSeconds(destination));
  return runOneRestore(
    ctx,
    {
      database: backups.database,
      by: request.by,
      maxRunMs: windowLength(ctx, planned.services.length, timeoutSeconds),
    },
    () => runRestore(ctx, destination, { ...request, timeoutSeconds }, deps, planned),
  );
}

async function runRestore(
  ctx: ControlPlaneContext,
  destination: BackupDestination,
  request: RestoreRequest & { readonly timeoutSeconds: number },
  deps: RestoreDependencies,
  { backup, services }: { readonly backup: CataloguedBackup; readonly services: readonly string[] },
): Promise<RestoreRun> {
  const backups = backupsOf(ctx);
  const backupId = backup.manifest.id;
  const started = ctx.clock.now();
  const safetyDump = safetyDumpLocation(ctx.config, new Date(started));
  const database = databaseOf(ctx, backups);
  const tools = destination.pgBinDir === undefined ? '' : `${destination.pgBinDir}/`;
  const goBack =
    `${tools}pg_restore --clean --if-exists --no-owner --no-privileges --exit-on-error --single-transaction ` +
    `--host=${database.host} --port=${database.port} --username=${database.user} --dbname=${database.database} ${safetyDump}`;
  const { timeoutSeconds } = request;
  let safetyTaken = false;
  const outcome = await runRecovery(
    ctx,
    {
      action: RESTORE_ACTION,
      subject: backupId,
      by: request.by,
      services,
      database: backups.database,
      windowLengthMs: windowLength(ctx, services.length, timeoutSeconds),
      windowReason: `acgs-ops backup restore ${backupId} by ${request.by}`,
      databaseSteps: [
        {
          name: 'safety-dump',
          run: async () => {
            const result = await runRestoreDocument(
              ctx,
              destination,
              backup,
              'safety-dump',
              safetyDump,
              timeoutSeconds,
            );
            safetyTaken = result.status === 'succeeded';
            return documentOutcome(result, `safety dump of ${database.database} at ${safetyDump}`);
          },
        },
        {
          name: 'restore',
          run: async () =>
            documentOutcome(
              await runRestoreDocument(ctx, destination, backup, 'restore', safetyDump, timeoutSeconds),
              `restored ${backupId} over ${database.database}`,
            ),
        },
      ],
      incidentTitle: (failed) => `Database restore of ${backupId} failed at ${failed.name}`,
      succeeded: (summary) =>
        `restored ${backupId} over ${database.database}: ${summary}; safety dump kept at ${safetyDump}`,
      failed: (failed) => {
        const way = safetyTaken
          ? `the database as it was is in the safety dump ${safetyDump} on the database host; to go back (services stopped): ${goBack}`
          : `no safety dump was taken (${failed.name} came first or failed): the database was not touched`;
        return `restore of ${backupId} stopped at ${failed.name} (${failed.status}): ${failed.detail}; ${way}`;
      },
    },
    deps,
  );
  return { backupId, services, ...outcome, safetyDump, goBack };
}

/**
 * The longest each database step may take: the documents' 9999 s, or, where the runtime bounds its wait (the operator
 * Lambda), a third of that bound (the safety dump, the restore, and the stops, starts and health wait around them).
 */
export function maxStepSeconds(destination: BackupDestination): number {
  if (destination.waitBudgetMs === undefined) return 9999;
  return Math.max(1, Math.min(9999, Math.floor(destination.waitBudgetMs / 3 / 1000)));
}

export function backupsOf(ctx: ControlPlaneContext): BackupConfig {
  const { backups } = ctx.config;
  if (!backups)
    throw new ControlPlaneError('BACKUPS_NOT_CONFIGURED', `fleet ${ctx.config.fleet.name} has no backups section`);
  return backups;
}

function databaseOf(ctx: ControlPlaneContext, backups: BackupConfig) {
  const check = ctx.config.checks.find((c) => c.name === backups.database);
  if (check?.kind !== 'postgres')
    throw new NotFoundError(
      `postgres check "${backups.database}" (backups.database) in fleet ${ctx.config.fleet.name}`,
    );
  return { ...check, host: check.host.replace(/^\[(.*)\]$/, '$1') };
}

/** What a restore would do, for the operator who has not confirmed it yet (`--yes`, `{"confirm": true}`). */
export function unconfirmedRestore(config: ControlPlaneContext['config'], backupId: string): string {
  const { backups } = config;
  if (!backups) return `fleet ${config.fleet.name} has no backups section: nothing to restore`;
  const services = config.services.filter((s) => s.dependsOn.includes(backups.database)).map((s) => s.name);
  const check = config.checks.find((c) => c.name === backups.database);
  const database = check?.kind === 'postgres' ? check.database : backups.database;
  return (
    `restoring ${backupId} overwrites database ${database}: it would open a maintenance window, stop ` +
    `${services.join(', ') || 'no service'}, take a safety dump of the database as it is, restore the backup with ` +
    'pg_restore --clean --if-exists, start the services and wait for their health checks; nothing was done. ' +
    'Confirm with --yes (API: {"confirm": true})'
  );
}

/** The services whose `dependsOn` names the database, in config order (the order they are started in). */
export function dependents(ctx: ControlPlaneContext, backups: BackupConfig): string[] {
  return ctx.config.services.filter((s) => s.dependsOn.includes(backups.database)).map((s) => s.name);
}

/** Stopping and starting every service, the two database steps and the health wait, with a margin; within bounds. */
export function windowLength(ctx: ControlPlaneContext, services: number, timeoutSeconds: number): number {
  const perService = ctx.config.remediation.restartTimeout * 2 * Math.max(1, services);
  const length = perService + 2 * timeoutSeconds * 1000 + ctx.config.remediation.restartTimeout + 5 * MINUTE_MS;
  return Math.min(MAINTENANCE_WINDOW_LENGTH.max, Math.max(MAINTENANCE_WINDOW_LENGTH.min, length));
}

function runRestoreDocument(
  ctx: ControlPlaneContext,
  destination: BackupDestination,
  backup: CataloguedBackup,
  action: RestoreAction,
  safetyDump: string,
  timeoutSeconds: number,
): Promise<CommandResult> {
  return ctx.commands.run({
    document: RESTORE_DOCUMENT,
    parameters: restoreCommandParameters(ctx.config, backup.manifest, {
      action,
      safetyDumpLocation: safetyDump,
      timeoutSeconds,
      ...(destination.bucket === undefined ? {} : { bucket: destination.bucket }),
      ...(destination.pgBinDir === undefined ? {} : { pgBinDir: destination.pgBinDir }),
    }),
    timeoutMs: (timeoutSeconds + 60) * 1000,
  });
}
