import {
  type ArchiveBucket,
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
import { errorMessage } from '../core/errors.ts';
import {
  achievedRpoMs,
  judgePitrDrill,
  type PitrDrillEvidence,
  type PitrDrillRecord,
  parseDrillEvidence,
  pitrDrillKey,
  pitrReportKey,
} from '../core/pitr-drill.ts';
import type { CommandResult, CommandRunner, ObjectStore } from '../ports.ts';
import { problem } from './backup-problems.ts';
import { type ControlPlaneContext, mutingWindows } from './context.ts';
import { raiseProblem } from './problems.ts';

/**
 * WAL archiving and point-in-time recovery, as the operator asks for them on the database host: the documents do
 * the work (acgs-wal-archiving, acgs-pitr-restore) and say what happened in a JSON line; these read it back.
 * The hourly monitor reads the status report (`monitorBackups` in backups.ts, judged by core/archive-judgement.ts).
 */

export interface ArchivingRun {
  readonly action: ArchivingAction;
  /**
   * `active`, `restart-needed`, `off`, `foreign-command` (status, enable), `published` (base-backup), `written`
   * (canary), `pending` (sent and not waited for), `failed`.
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
export interface ArchivingOptions extends ArchiveBucket {
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

export interface StatusOptions extends ArchivingOptions {
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
  options: ArchivingOptions & { baseBackupId?: string } = {},
): Promise<BaseBackupRun> {
  const run = await runArchiving(ctx, 'base-backup', options);
  const manifest = baseBackupManifestOf(run.result.output);
  return manifest && run.result.status === 'succeeded' ? { ...run, state: 'published', manifest } : run;
}

/**
 * Writes a canary row into the application's database (the `canary` schedule, and before each base backup the
 * document writes one itself): a restore's newest canary says how recent its data is.
 */
export function writeCanary(ctx: ControlPlaneContext, options: { pgBinDir?: string } = {}): Promise<ArchivingRun> {
  return runArchiving(ctx, 'canary', options);
}

const REPORT_KINDS: Record<ArchivingAction, string> = {
  enable: 'acgs-ops.wal-archiving',
  status: 'acgs-ops.wal-archiving',
  'base-backup': 'acgs-ops.base-backup',
  canary: 'acgs-ops.canary',
};

async function runArchiving(
  ctx: ControlPlaneContext,
  action: ArchivingAction,
  options: ArchivingOptions & { restart?: boolean; baseBackupId?: string; commands?: CommandRunner },
): Promise<ArchivingRun> {
  const { commands = ctx.commands, ...rest } = options;
  const parameters = archivingCommandParameters(ctx.config, action, { ...archiveBucketOf(ctx.backups), ...rest });
  ctx.log('wal-archiving-started', { action });
  const result = await commands.run({
    document: WAL_ARCHIVING_DOCUMENT,
    parameters,
    timeoutMs: (Number(parameters.TimeoutSeconds) + 60) * 1000,
  });
  const report = lastReport(result.output, REPORT_KINDS[action]);
  const restartNeeded = result.exitCode === RESTART_NEEDED_EXIT && report?.state === 'restart-needed';
  // A dispatched document (AWS, base-backup) is still running: its outcome is the host's to publish.
  const state =
    result.status === 'succeeded'
      ? typeof report?.state === 'string'
        ? report.state
        : action === 'canary' && report
          ? 'written'
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

/**
 * Restores the newest base backup before the target and replays the archive up to it, into a scratch cluster.
 * `commands`: the runner that waits for the document (the backups Lambda's, bounded to its time). @default ctx.commands
 */
export async function restoreToPoint(
  ctx: ControlPlaneContext,
  request: Omit<PitrRestoreRequest, 'port'> & { port: number },
  commands: CommandRunner = ctx.commands,
): Promise<PitrRestoreRun> {
  archivingOf(ctx.config);
  const parameters = pitrRestoreParameters(ctx.config, { ...archiveBucketOf(ctx.backups), ...request });
  ctx.log('pitr-restore-started', { target: parameters.TargetTime, scratch: parameters.ScratchDirectory });
  const result = await commands.run({
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

export interface PitrDrillRequest extends ArchiveBucket {
  /** `latest` (the default), or a recent instant (epoch ms). */
  readonly target: 'latest' | number;
  readonly scratchDirectory: string;
  readonly port: number;
  readonly pgBinDir?: string;
  readonly timeoutSeconds?: number;
}

export interface PitrDrillRun {
  readonly record: PitrDrillRecord;
  /** Where the record is, next to the dump records; absent when the store refused it (`unrecorded` says why). */
  readonly key?: string;
  readonly unrecorded?: string;
  readonly restore: PitrRestoreRun;
  readonly evidence?: PitrDrillEvidence;
}

/**
 * The point-in-time restore drill: restores the archive to `target` into a scratch cluster (acgs-pitr-restore with
 * Drill=yes: the document inventories the restored data, then stops and removes the scratch cluster, on failure
 * too), checks the data against the base backup's snapshot and canary, measures RTO and the achieved RPO, and
 * records the outcome next to the dump records (`*.pitr-drill.json`), where the monitor and `backup status` read it.
 * A drill that fails (the restore, the data or an objective) raises the drill incident with its reasons; the monitor
 * keeps the drill failed until a newer one passes.
 */
export async function runPitrDrill(
  ctx: ControlPlaneContext,
  objects: ObjectStore,
  request: PitrDrillRequest,
  commands: CommandRunner = ctx.commands,
): Promise<PitrDrillRun> {
  const { backups, archiving } = archivingOf(ctx.config);
  const startedAt = ctx.clock.now();
  // In AWS (a bucket) the document also writes its whole report next to the backups: SSM keeps only the start of a
  // command's output, and a drill's inventory names every table.
  const reportKey = request.bucket === undefined ? undefined : pitrReportKey(startedAt);
  const restore = await withWrittenReport(
    ctx,
    objects,
    reportKey,
    await restoreToPoint(ctx, { ...request, drill: true, ...(reportKey ? { reportKey } : {}) }, commands),
  );
  const finishedAt = Math.max(startedAt, ctx.clock.now());
  const parsed = restore.report ? parseDrillEvidence(restore.report) : undefined;
  const evidence = parsed?.ok ? parsed.value : undefined;
  const measures = restore.report && {
    rtoMs: restore.report.rtoMs,
    unpackMs: restore.report.unpackMs,
    replayMs: restore.report.replayMs,
  };
  // For latest, the moment recovery finished by the host's clock; a document that does not say: when it returned.
  const recoveredAt = Date.parse(restore.report?.recoveredAt ?? '');
  const rpoMs =
    evidence && achievedRpoMs(evidence, request.target, Number.isNaN(recoveredAt) ? finishedAt : recoveredAt);
  const verdict =
    evidence && measures
      ? judgePitrDrill(evidence, { ...measures, ...(rpoMs === undefined ? {} : { rpoMs }) }, ctx.config.recovery, {
          tablesAllowedToShrink: archiving.drill?.tablesAllowedToShrink ?? [],
        })
      : {
          passed: false,
          reasons: [
            restore.report
              ? `the restore printed no drill inventory: ${parsed && !parsed.ok ? parsed.error : 'none'}`
              : restore.result.status === 'succeeded'
                ? `the restore succeeded but its report was not found: not in its output${reportKey ? ` (SSM keeps only its start), nor in ${reportKey}` : ''}`
                : `the restore failed: ${restore.error ?? `the document ${restore.result.status}`}`,
          ],
        };
  const record: PitrDrillRecord = {
    kind: 'acgs-ops.pitr-drill',
    version: 1,
    outcome: verdict.passed ? 'passed' : 'failed',
    target: request.target === 'latest' ? 'latest' : new Date(request.target).toISOString(),
    baseBackup: restore.report?.baseBackup ?? null,
    startedAt,
    finishedAt,
    rtoMs: measures?.rtoMs ?? null,
    rpoMs: rpoMs ?? null,
    newestCanaryAt: evidence?.canary?.newestAt ?? null,
    tables: evidence ? Object.keys(evidence.inventory.rowCounts).length : null,
    reasons: verdict.reasons.map((r) => r.slice(0, 2_000)),
  };
  const key = pitrDrillKey(record.baseBackup, startedAt);
  const stored = {
    ...record,
    startedAt: new Date(startedAt).toISOString(),
    finishedAt: new Date(finishedAt).toISOString(),
    newestCanaryAt: record.newestCanaryAt === null ? null : new Date(record.newestCanaryAt).toISOString(),
  };
  let unrecorded: string | undefined;
  try {
    await objects.put(key, JSON.stringify(stored), { contentType: 'application/json' });
  } catch (error) {
    unrecorded = `the drill could not be recorded as ${key}: ${errorMessage(error)}`;
    ctx.log('pitr-drill-unrecorded', { key, error: errorMessage(error) });
  }
  if (!verdict.passed || unrecorded) {
    const title = `Point-in-time restore drill of ${backups.database} failed`;
    const reasons = [...verdict.reasons, ...(unrecorded ? [unrecorded] : [])];
    await raiseProblem(
      ctx,
      problem(ctx, 'drill', 'P3', title, reasons),
      undefined,
      await mutingWindows(ctx, ctx.clock.now()),
    );
  }
  ctx.log('pitr-drill-finished', { outcome: record.outcome, rtoMs: record.rtoMs, rpoMs: record.rpoMs, key });
  return {
    record,
    restore,
    ...(unrecorded ? { unrecorded } : { key }),
    ...(evidence ? { evidence } : {}),
  };
}

/**
 * The restore with the report the document wrote whole to `reportKey` (read, then deleted: it has served), or as it
 * was when there is none (the report then comes from the command's output, which SSM may have cut, and is said so).
 */
async function withWrittenReport(
  ctx: ControlPlaneContext,
  objects: ObjectStore,
  reportKey: string | undefined,
  restore: PitrRestoreRun,
): Promise<PitrRestoreRun> {
  if (reportKey === undefined || restore.result.status !== 'succeeded') return restore;
  const written = await objects.get(reportKey).catch((error: unknown) => {
    ctx.log('pitr-report-unread', { key: reportKey, error: errorMessage(error) });
    return undefined;
  });
  if (!written) {
    ctx.log('pitr-report-inline', {
      key: reportKey,
      why: "the report object is missing: the report is read from the command's inline output, which SSM cuts after ~2,400 characters",
    });
    return restore;
  }
  const report = pitrReportOf(Buffer.from(written.body).toString('utf8'));
  if (!report) ctx.log('pitr-report-unreadable', { key: reportKey, why: 'not a point-in-time restore report' });
  await objects.delete(reportKey).catch((error: unknown) => {
    ctx.log('pitr-report-not-deleted', { key: reportKey, error: errorMessage(error) });
  });
  return report ? { ...restore, report } : restore;
}

/** A destination's backup bucket and key (AWS): an S3 archive (archiving.s3Prefix) lives there. */
export function archiveBucketOf(destination: { bucket?: string; kmsKeyId?: string } | undefined): ArchiveBucket {
  return {
    ...(destination?.bucket === undefined ? {} : { bucket: destination.bucket }),
    ...(destination?.kmsKeyId === undefined ? {} : { kmsKeyId: destination.kmsKeyId }),
  };
}
