import {
  type ArchivingAction,
  archivingCommandParameters,
  archivingOf,
  type BaseBackupManifest,
  baseBackupManifestOf,
  lastOutputLine,
  lastReport,
  type PitrRestoreReport,
  type PitrRestoreRequest,
  pitrReportOf,
  pitrRestoreParameters,
  RESTART_NEEDED_EXIT,
  restartWindow,
} from '../core/backup-archiving.ts';
import { PITR_RESTORE_DOCUMENT, WAL_ARCHIVING_DOCUMENT } from '../core/document-names.ts';
import type { CommandResult, CommandRunner } from '../ports.ts';
import type { ControlPlaneContext } from './context.ts';

/**
 * WAL archiving and point-in-time recovery, as the operator asks for them on the database host: the documents do
 * the work (acgs-wal-archiving, acgs-pitr-restore) and say what happened in a JSON line; these read it back.
 * The hourly monitor reads the status report (`monitorBackups` in backups.ts, judged by core/archive-judgement.ts).
 */

export interface ArchivingRun {
  readonly action: ArchivingAction;
  /** `active`, `restart-needed`, `off`, `foreign-command` (status, enable), `published` (base-backup), `failed`. */
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
  return runArchiving(ctx, 'enable', {
    ...(options.restart ? { restart: true } : {}),
    ...(options.pgBinDir === undefined ? {} : { pgBinDir: options.pgBinDir }),
  });
}

export interface StatusOptions {
  readonly pgBinDir?: string;
  /** How long the document may take (seconds). @default 3600 */
  readonly timeoutSeconds?: number;
  /** Runs the document and waits for it (the monitor in AWS: SSM in wait mode). @default ctx.commands */
  readonly commands?: CommandRunner;
}

export function archivingStatus(ctx: ControlPlaneContext, options: StatusOptions = {}): Promise<ArchivingRun> {
  return runArchiving(ctx, 'status', options);
}

export interface BaseBackupRun extends ArchivingRun {
  readonly manifest?: BaseBackupManifest;
}

export async function takeBaseBackup(
  ctx: ControlPlaneContext,
  options: { pgBinDir?: string; baseBackupId?: string } = {},
): Promise<BaseBackupRun> {
  const run = await runArchiving(ctx, 'base-backup', options);
  const manifest = baseBackupManifestOf(run.result.output);
  return manifest && run.result.status === 'succeeded' ? { ...run, state: 'published', manifest } : run;
}

async function runArchiving(
  ctx: ControlPlaneContext,
  action: ArchivingAction,
  options: {
    restart?: boolean;
    pgBinDir?: string;
    baseBackupId?: string;
    timeoutSeconds?: number;
    commands?: CommandRunner;
  },
): Promise<ArchivingRun> {
  const { commands = ctx.commands, ...rest } = options;
  const parameters = archivingCommandParameters(ctx.config, action, rest);
  ctx.log('wal-archiving-started', { action });
  const result = await commands.run({
    document: WAL_ARCHIVING_DOCUMENT,
    parameters,
    timeoutMs: (Number(parameters.TimeoutSeconds) + 60) * 1000,
  });
  const report = lastReport(
    result.output,
    action === 'base-backup' ? 'acgs-ops.base-backup' : 'acgs-ops.wal-archiving',
  );
  const restartNeeded = result.exitCode === RESTART_NEEDED_EXIT && report?.state === 'restart-needed';
  const state =
    result.status === 'succeeded'
      ? typeof report?.state === 'string'
        ? report.state
        : 'done'
      : restartNeeded
        ? 'restart-needed'
        : 'failed';
  ctx.log('wal-archiving-finished', { action, status: result.status, state });
  return {
    action,
    state,
    result,
    ...(report ? { report } : {}),
    ...(result.status === 'succeeded'
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
