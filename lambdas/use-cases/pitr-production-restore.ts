import {
  archivingOf,
  notRestorable,
  type PitrPlanReport,
  type PitrProductionMode,
  type PitrRestoreReport,
  pitrPlanOf,
  pitrProductionParameters,
  pitrReportOf,
} from '../core/backup-archiving.ts';
import { PITR_RESTORE_DOCUMENT } from '../core/document-names.ts';
import { ControlPlaneError, UsageError } from '../core/errors.ts';
import type { CommandResult, CommandRunner } from '../ports.ts';
import type { BackupDestination, ControlPlaneContext } from './context.ts';
import {
  documentOutcome,
  type RecoveryDependencies,
  type RecoveryOutcome,
  runOneRestore,
  runRecovery,
} from './database-recovery.ts';
import { backupsOf, dependents, maxStepSeconds, windowLength } from './restore-database.ts';
import { archiveBucketOf, takeBaseBackup } from './wal-archiving.ts';

/*
 * Point-in-time recovery INTO PRODUCTION: the Recovery Procedure's skeleton (database-recovery.ts: window, stop the
 * dependent services, the database step, start, health, end the window) around acgs-pitr-restore in Mode production,
 * which stops PostgreSQL, keeps the data directory as it was by renaming it (the safety copy), unpacks the newest base
 * backup before the target, replays the archive up to it and promotes, rolling back by itself when anything fails
 * before promotion. Once the services are healthy a fresh base backup is taken (acgs-wal-archiving base-backup, the
 * scheduled path): the new timeline is restorable from then on. The plan (Mode plan) always runs first: a target no
 * base backup precedes is refused before anything stops, and without confirmation the plan is what the operator sees.
 */

/** The audit trail's and the timeline's name of the procedure. */
export const PITR_PRODUCTION_ACTION = 'backup.pitr-restore-production';
/** The refusal (HTTP 409) of a target no base backup finished before. */
export const PITR_NOT_RESTORABLE = 'PITR_NOT_RESTORABLE';

export interface PitrProductionRequest {
  /** `latest`, or an instant (epoch ms). */
  readonly target: 'latest' | number;
  readonly by: string;
  /** The operator said yes (`--yes`, `{"confirm": true}`): nothing but the plan runs without it. */
  readonly confirm: boolean;
  /** Seconds the restore document (and the base backup after it) may take. @default 3600 */
  readonly timeoutSeconds?: number;
}

export interface PitrProductionRun extends RecoveryOutcome {
  readonly target: string;
  readonly services: readonly string[];
  readonly plan: PitrPlanReport;
  /** The document's report, once the restore step ran and printed one. */
  readonly report?: PitrRestoreReport;
  /** The data directory as it was, kept on the database host (remove it by hand once satisfied). */
  readonly safetyCopy?: string;
  /** The fresh base backup taken on the new timeline. */
  readonly baseBackup?: string;
}

/** What a confirmed restore would do, for the operator who has not confirmed (`--yes`, `{"confirm": true}`). */
export function unconfirmedPitrRestore(plan: PitrPlanReport, services: readonly string[]): string {
  const gb = (bytes: number | null) => (bytes === null ? '?' : `${(bytes / 1e9).toFixed(2)} GB`);
  return (
    `restoring production to ${plan.target} would open a maintenance window, stop ${services.join(', ') || 'no service'} ` +
    `and PostgreSQL, rename ${plan.dataDirectory} (${gb(plan.dataDirectorySizeBytes)}) to a safety copy ` +
    `${plan.dataDirectory}.before-pitr-<UTC time>, unpack base backup ${plan.baseBackup} (finished ` +
    `${plan.baseBackupFinishedAt}) and replay ${plan.walSegments} archived WAL segments, start PostgreSQL and the ` +
    `services, wait for their health checks and take a fresh base backup; ${gb(plan.freeBytes)} free beside the data ` +
    'directory. Nothing was done. Confirm with --yes (API: {"confirm": true})'
  );
}

/**
 * The plan of a point-in-time restore of production (acgs-pitr-restore, Mode plan): which base backup, how many WAL
 * segments, the data directory's size. Changes nothing.
 * @throws ControlPlaneError `PITR_NOT_RESTORABLE` when no base backup finished before the target
 */
export async function planPitrProduction(
  ctx: ControlPlaneContext,
  destination: BackupDestination,
  request: Pick<PitrProductionRequest, 'target' | 'timeoutSeconds'>,
  commands: CommandRunner = ctx.commands,
): Promise<PitrPlanReport> {
  const result = await runPitrDocument(ctx, destination, 'plan', request, commands);
  const plan = pitrPlanOf(result.output);
  if (result.status === 'succeeded' && plan) return plan;
  const why = documentOutcome(result, '').detail;
  if (notRestorable(result.output)) throw new ControlPlaneError(PITR_NOT_RESTORABLE, `nothing was done: ${why}`);
  throw new ControlPlaneError('PITR_PLAN_FAILED', `the plan of the point-in-time restore failed: ${why}`);
}

/**
 * Restores production to `target` (see the module comment). Refused before anything stops: bad input, no archiving or
 * data directory configured, a target no base backup precedes (`PITR_NOT_RESTORABLE`), no confirmation (the plan),
 * another restore of the database running (`RESTORE_RUNNING`).
 */
export async function restoreProductionToPoint(
  ctx: ControlPlaneContext,
  destination: BackupDestination,
  request: PitrProductionRequest,
  deps: RecoveryDependencies = {},
): Promise<PitrProductionRun> {
  archivingOf(ctx.config);
  // Where the runtime bounds its wait (the operator Lambda), the document must give up, and roll back, before it does.
  const most = maxStepSeconds(destination);
  if (request.timeoutSeconds !== undefined && !(request.timeoutSeconds >= 1 && request.timeoutSeconds <= most))
    throw new UsageError(`timeoutSeconds: must be from 1 to ${most} here`);
  const backups = backupsOf(ctx);
  const services = dependents(ctx, backups);
  const plan = await planPitrProduction(ctx, destination, request);
  if (request.confirm !== true) throw new UsageError(unconfirmedPitrRestore(plan, services));
  const timeoutSeconds = request.timeoutSeconds ?? Math.min(3600, most);
  return runOneRestore(
    ctx,
    { database: backups.database, by: request.by, maxRunMs: windowLength(ctx, services.length, timeoutSeconds) },
    () => runProductionRestore(ctx, destination, { ...request, timeoutSeconds }, services, plan, deps),
  );
}

async function runProductionRestore(
  ctx: ControlPlaneContext,
  destination: BackupDestination,
  request: PitrProductionRequest & { readonly timeoutSeconds: number },
  services: readonly string[],
  plan: PitrPlanReport,
  deps: RecoveryDependencies,
): Promise<PitrProductionRun> {
  const backups = backupsOf(ctx);
  const target = request.target === 'latest' ? 'latest' : new Date(request.target).toISOString();
  let report: PitrRestoreReport | undefined;
  let baseBackup: string | undefined;
  let restoreOutput: string | undefined;
  const outcome = await runRecovery(
    ctx,
    {
      action: PITR_PRODUCTION_ACTION,
      subject: `pitr to ${target}`,
      by: request.by,
      services,
      database: backups.database,
      windowLengthMs: windowLength(ctx, services.length, request.timeoutSeconds),
      windowReason: `acgs-ops backup restore --to ${target} --production by ${request.by}`,
      startAfterFailure: true,
      databaseSteps: [
        {
          name: 'pitr-restore',
          run: async () => {
            const result = await runPitrDocument(ctx, destination, 'production', request);
            report = pitrReportOf(result.output);
            if (result.status !== 'succeeded') restoreOutput = result.output;
            if (result.status === 'succeeded' && !report)
              return { status: 'failed', detail: 'the document printed no report', output: result.output };
            return documentOutcome(
              result,
              `restored ${plan.dataDirectory} to ${target} from ${report?.baseBackup}: PostgreSQL down ${report?.downMs} ms; safety copy ${report?.safetyCopy}`,
            );
          },
        },
      ],
      afterHealthSteps: [
        {
          name: 'base-backup',
          run: async () => {
            // Dispatched where the runtime says a base backup outlasts its wait (AWS), as POST .../base-backup does.
            const run = await takeBaseBackup(destination.dispatch ? { ...ctx, commands: destination.dispatch } : ctx, {
              ...archiveBucketOf(destination),
              ...(destination.pgBinDir === undefined ? {} : { pgBinDir: destination.pgBinDir }),
              timeoutSeconds: request.timeoutSeconds,
            });
            baseBackup = run.manifest?.id;
            // Sent, not waited for (AWS): its outcome is the host's to publish, as a scheduled base backup's.
            if (run.result.status === 'pending') return { status: 'succeeded', detail: 'base backup sent' };
            return documentOutcome(run.result, `fresh base backup ${baseBackup} on the new timeline`);
          },
        },
      ],
      incidentTitle: (failed) => `Point-in-time restore of production to ${target} failed at ${failed.name}`,
      succeeded: (summary) =>
        `restored production to ${target}: ${summary}; safety copy kept at ${report?.safetyCopy} (remove it by hand once satisfied)`,
      failed: (failed) => {
        const way =
          restoreOutput !== undefined
            ? /rolled back: /.test(restoreOutput)
              ? 'the document rolled back: the data directory is as it was and PostgreSQL as it was'
              : "the document's last line above says where the data directory and its safety copy are"
            : report?.safetyCopy
              ? `production is restored to ${target}; the data directory as it was is ${report.safetyCopy} on the database host`
              : 'the database was not touched';
        return `point-in-time restore of production to ${target} stopped at ${failed.name} (${failed.status}): ${failed.detail}; ${way}`;
      },
    },
    deps,
  );
  return {
    ...outcome,
    target,
    services,
    plan,
    ...(report ? { report } : {}),
    ...(report?.safetyCopy ? { safetyCopy: report.safetyCopy } : {}),
    ...(baseBackup ? { baseBackup } : {}),
  };
}

function runPitrDocument(
  ctx: ControlPlaneContext,
  destination: BackupDestination,
  mode: PitrProductionMode,
  request: Pick<PitrProductionRequest, 'target' | 'timeoutSeconds'>,
  commands: CommandRunner = ctx.commands,
): Promise<CommandResult> {
  const parameters = pitrProductionParameters(ctx.config, {
    mode,
    target: request.target,
    ...archiveBucketOf(destination),
    ...(destination.pgBinDir === undefined ? {} : { pgBinDir: destination.pgBinDir }),
    ...(request.timeoutSeconds === undefined ? {} : { timeoutSeconds: request.timeoutSeconds }),
  });
  return commands.run({
    document: PITR_RESTORE_DOCUMENT,
    parameters,
    timeoutMs: (Number(parameters.TimeoutSeconds) + 60) * 1000,
  });
}
