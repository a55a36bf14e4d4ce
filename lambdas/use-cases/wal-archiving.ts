import {
  type ArchivingAction,
  archivingCommandParameters,
  archivingOf,
  type BaseBackupManifest,
  baseBackupManifestOf,
  lastReport,
  type PitrRestoreReport,
  type PitrRestoreRequest,
  pitrReportOf,
  pitrRestoreParameters,
  RESTART_NEEDED_EXIT,
  restartWindow,
} from '../core/backup-archiving.ts';
import { PITR_RESTORE_DOCUMENT, WAL_ARCHIVING_DOCUMENT } from '../core/document-names.ts';
import type { CommandResult } from '../ports.ts';
import { lastOutputLine } from './backups.ts';
import type { ControlPlaneContext } from './context.ts';

/**
 * WAL archiving and point-in-time recovery, as the operator asks for them on the database host: the documents do
 * the work (acgs-wal-archiving, acgs-pitr-restore) and say what happened in a JSON line; these read it back.
 * Monitoring (pg_stat_archiver by the hourly monitor, incidents) is not here yet.
 */

export interface ArchivingRun {
  readonly action: ArchivingAction;
  /**
   * `active`, `restart-needed`, `off`, `foreign-command` (status, enable), `published` (base-backup), `pending` (sent
   * and not waited for), `failed`.
   */
  readonly state: string;
  readonly result: CommandResult;
  /** The document's JSON report, when it printed one. */
  readonly report?: Record<string, unknown>;
  /** The document's reason, when it failed. */
  readonly error?: string;
}

export interface EnableOptions {
  /** Restart PostgreSQL if archive_mode needs it: only inside an open maintenance window covering the database. */
  readonly restart?: boolean;
  readonly pgBinDir?: string;
  readonly timeoutSeconds?: number;
}

/** What every archiving action may be given: the host's PostgreSQL tools, and how long the document may take. */
export interface ArchivingOptions {
  readonly pgBinDir?: string;
  readonly timeoutSeconds?: number;
}

/**
 * Sets archiving up. Without `restart`, a server whose archive_mode was off is left waiting for a restart (state
 * `restart-needed`); with it, the restart is done, but only inside a maintenance window (checked before anything
 * runs).
 */
export async function enableArchiving(ctx: ControlPlaneContext, options: EnableOptions = {}): Promise<ArchivingRun> {
  if (options.restart) {
    const now = ctx.clock.now();
    const window = restartWindow(ctx.config, await ctx.control.listMaintenanceWindows(now), now);
    ctx.log('wal-archiving-restart-allowed', { window: window.id });
  }
  const { restart, ...rest } = options;
  return runArchiving(ctx, 'enable', { ...rest, ...(restart ? { restart: true } : {}) });
}

export function archivingStatus(ctx: ControlPlaneContext, options: ArchivingOptions = {}): Promise<ArchivingRun> {
  return runArchiving(ctx, 'status', options);
}

export interface BaseBackupRun extends ArchivingRun {
  readonly manifest?: BaseBackupManifest;
}

export async function takeBaseBackup(
  ctx: ControlPlaneContext,
  options: ArchivingOptions & { baseBackupId?: string } = {},
): Promise<BaseBackupRun> {
  const run = await runArchiving(ctx, 'base-backup', options);
  const manifest = baseBackupManifestOf(run.result.output);
  return manifest && run.result.status === 'succeeded' ? { ...run, state: 'published', manifest } : run;
}

async function runArchiving(
  ctx: ControlPlaneContext,
  action: ArchivingAction,
  options: ArchivingOptions & { restart?: boolean; baseBackupId?: string },
): Promise<ArchivingRun> {
  const parameters = archivingCommandParameters(ctx.config, action, options);
  ctx.log('wal-archiving-started', { action });
  const result = await ctx.commands.run({
    document: WAL_ARCHIVING_DOCUMENT,
    parameters,
    timeoutMs: (Number(parameters.TimeoutSeconds) + 60) * 1000,
  });
  const report = lastReport(
    result.output,
    action === 'base-backup' ? 'acgs-ops.base-backup' : 'acgs-ops.wal-archiving',
  );
  const restartNeeded = result.exitCode === RESTART_NEEDED_EXIT && report?.state === 'restart-needed';
  // A dispatched document (AWS, base-backup) is still running: its outcome is the host's to publish.
  const state =
    result.status === 'succeeded'
      ? typeof report?.state === 'string'
        ? report.state
        : 'done'
      : result.status === 'pending'
        ? 'pending'
        : restartNeeded
          ? 'restart-needed'
          : 'failed';
  ctx.log('wal-archiving-finished', { action, status: result.status, state });
  return {
    action,
    state,
    result,
    ...(report ? { report } : {}),
    ...(result.status === 'succeeded' || result.status === 'pending'
      ? {}
      : { error: lastOutputLine(result.output) || `the document ${result.status}` }),
  };
}

export interface PitrRestoreRun {
  readonly result: CommandResult;
  readonly report?: PitrRestoreReport;
  readonly error?: string;
}

/** Restores the newest base backup before the target and replays the archive up to it, into a scratch cluster. */
export async function restoreToPoint(
  ctx: ControlPlaneContext,
  request: Omit<PitrRestoreRequest, 'port'> & { port: number },
): Promise<PitrRestoreRun> {
  archivingOf(ctx.config);
  const parameters = pitrRestoreParameters(ctx.config, request);
  ctx.log('pitr-restore-started', { target: parameters.TargetTime, scratch: parameters.ScratchDirectory });
  const result = await ctx.commands.run({
    document: PITR_RESTORE_DOCUMENT,
    parameters,
    timeoutMs: (Number(parameters.TimeoutSeconds) + 60) * 1000,
  });
  const report = pitrReportOf(result.output);
  ctx.log('pitr-restore-finished', { status: result.status, rtoMs: report?.rtoMs });
  return {
    result,
    ...(report && result.status === 'succeeded' ? { report } : {}),
    ...(result.status === 'succeeded'
      ? {}
      : { error: lastOutputLine(result.output) || `the document ${result.status}` }),
  };
}
