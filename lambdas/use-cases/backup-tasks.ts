import { defaultPitrDrillScratch } from '../core/backup-archiving.ts';
import type { BackupTask } from '../core/backup-task.ts';
import { HOUR_MS, SECOND_MS } from '../core/duration.ts';
import { ControlPlaneError } from '../core/errors.ts';
import type { CommandRequest, CommandRunner } from '../ports.ts';
import { applyRetention, type BackupDestination, monitorBackups, runBackup, runDrill } from './backups.ts';
import type { ControlPlaneContext } from './context.ts';
import { archiveBucketOf, runPitrDrill, takeBaseBackup, writeCanary } from './wal-archiving.ts';

/** Time kept back from the Lambda's deadline after the drill's wait: recording the report and the incident. */
export const DRILL_MARGIN_MS = 60_000;

export interface BackupTaskWiring {
  readonly destination: BackupDestination;
  /** Waits for the drill document's result (the drill's report is its output), and for the archive's status. */
  readonly drillRunner: CommandRunner;
}

/** What the invocation running the task has to work with. */
export interface BackupTaskInvocation {
  /** Time left before the invocation is killed; the drill's wait is bounded by it, less DRILL_MARGIN_MS. */
  readonly remainingMs: number;
}

export type BackupTaskSummary =
  | { readonly task: 'backup'; readonly id: string; readonly status: string; readonly commandId: string | null }
  | {
      readonly task: 'monitor';
      readonly status: string;
      readonly drill: string;
      readonly reasons: readonly string[];
    }
  | { readonly task: 'retention'; readonly refused: string | null; readonly deleted: readonly string[] }
  | {
      readonly task: 'drill';
      readonly backup: string;
      readonly status: string;
      /** Every objective met. */
      readonly met: boolean;
      /** What the drill proves passed (an RPO only the dump schedule breaks is the monitor's standing verdict). */
      readonly passed: boolean;
    }
  | {
      readonly task: 'base-backup' | 'canary';
      readonly state: string;
      readonly status: string;
      readonly commandId: string | null;
    }
  | { readonly task: 'config-archive'; readonly status: string; readonly commandId: string | null }
  | {
      readonly task: 'pitr-drill';
      readonly outcome: 'passed' | 'failed';
      /** The `.pitr-drill.json` record; null when the store refused it (the drill incident says so). */
      readonly record: string | null;
      readonly rtoMs: number | null;
      readonly rpoMs: number | null;
      readonly reasons: readonly string[];
    };

export interface BackupTaskOutcome {
  readonly summary: BackupTaskSummary;
  /** Age of the newest good backup, in hours (monitor only, when there is one): the caller's metric. */
  readonly backupAgeHours?: number;
  /**
   * The archive's lag, in seconds: the current RPO (age of the newest restorable point), monitor only, with
   * `backups.archiving`, when the archive's status was read and bounds it (the caller's metric). Absent when the lag
   * was not measured (status unreadable, no base backup, nothing archived): the monitor's incident says why.
   */
  readonly archiveLagSeconds?: number;
}

/**
 * One backup schedule's task: take the daily backup (dispatched; the document publishes it), judge what was
 * published, prune, run the restore drill, waiting for it within the time the invocation has left, or take the
 * weekly base backup of WAL archiving (dispatched like the daily backup where the runtime dispatches), or run the
 * point-in-time restore drill (waited for, like the restore drill).
 */
export async function runBackupTask(
  ctx: ControlPlaneContext,
  task: BackupTask,
  wiring: BackupTaskWiring,
  invocation: BackupTaskInvocation,
): Promise<BackupTaskOutcome> {
  switch (task) {
    case 'backup': {
      const run = await runBackup(ctx, wiring.destination);
      return {
        summary: { task: 'backup', id: run.id, status: run.result.status, commandId: run.result.commandId ?? null },
      };
    }
    case 'monitor': {
      // The archive's status document is waited for, within the invocation's time.
      const archiveRunner = withinDeadline(wiring.drillRunner, invocation.remainingMs - DRILL_MARGIN_MS);
      const judgement = await monitorBackups(ctx, wiring.destination.objects, {
        archiveRunner,
        archive: archiveBucketOf(wiring.destination),
      });
      const summary: BackupTaskSummary = {
        task: 'monitor',
        status: judgement.status,
        drill: judgement.drillStatus,
        reasons: judgement.reasons,
      };
      const { recovery } = judgement;
      const lossMs = recovery.archiving ? recovery.point.lossMs : undefined;
      return {
        summary,
        ...(judgement.dataAgeMs === undefined ? {} : { backupAgeHours: judgement.dataAgeMs / HOUR_MS }),
        ...(lossMs === undefined ? {} : { archiveLagSeconds: lossMs / SECOND_MS }),
      };
    }
    case 'retention': {
      const run = await applyRetention(ctx, wiring.destination.objects);
      return { summary: { task: 'retention', refused: run.plan.refused ?? null, deleted: run.deleted } };
    }
    case 'drill': {
      const runner = withinDeadline(wiring.drillRunner, invocation.remainingMs - DRILL_MARGIN_MS);
      const run = await runDrill(ctx, wiring.destination, runner);
      return {
        summary: {
          task: 'drill',
          backup: run.manifest.id,
          status: run.result.status,
          met: run.judgement?.met ?? false,
          passed: run.judgement?.passed ?? false,
        },
      };
    }
    case 'base-backup': {
      const { pgBinDir } = wiring.destination;
      const run = await takeBaseBackup(ctx, {
        ...archiveBucketOf(wiring.destination),
        ...(pgBinDir === undefined ? {} : { pgBinDir }),
      });
      // As the canary and the configuration archive: a base backup that could not be sent fails the task, so the
      // Lambda's error alarm says so now rather than the stale-base-backup incident a week later.
      if (run.state === 'failed') throw new ControlPlaneError('BASE_BACKUP_FAILED', `base backup: ${run.error}`);
      return {
        summary: {
          task: 'base-backup',
          state: run.state,
          status: run.result.status,
          commandId: run.result.commandId ?? null,
        },
      };
    }
    case 'canary': {
      const { pgBinDir } = wiring.destination;
      const run = await writeCanary(ctx, pgBinDir === undefined ? {} : { pgBinDir });
      if (run.state === 'failed') throw new ControlPlaneError('CANARY_FAILED', `canary: ${run.error}`);
      return {
        summary: {
          task: 'canary',
          state: run.state,
          status: run.result.status,
          commandId: run.result.commandId ?? null,
        },
      };
    }
    case 'pitr-drill': {
      // As the dump drill: waited for within the invocation's time, its verdict recorded next to the backups (the
      // monitor and `backup status` read it) and a failure raised as the drill incident, not thrown.
      const runner = withinDeadline(wiring.drillRunner, invocation.remainingMs - DRILL_MARGIN_MS);
      const { pgBinDir } = wiring.destination;
      const run = await runPitrDrill(
        ctx,
        wiring.destination.objects,
        {
          target: 'latest',
          ...defaultPitrDrillScratch(ctx.config),
          ...archiveBucketOf(wiring.destination),
          ...(pgBinDir === undefined ? {} : { pgBinDir }),
        },
        runner,
      );
      return {
        summary: {
          task: 'pitr-drill',
          outcome: run.record.outcome,
          record: run.key ?? null,
          rtoMs: run.record.rtoMs,
          rpoMs: run.record.rpoMs,
          reasons: run.record.reasons,
        },
      };
    }
    case 'config-archive': {
      // Copied beside the dumps (backups.configArchive.s3Prefix of the backup bucket), encrypted with the backups' key.
      const { bucket, kmsKeyId } = wiring.destination;
      // Loaded for this daily task only: its parameters are checked against the config schema (classic zod), which
      // the hourly monitor's cold start does not load.
      const { takeConfigArchive } = await import('./config-archive.ts');
      const run = await takeConfigArchive(ctx, {
        ...(bucket === undefined ? {} : { bucket }),
        ...(kmsKeyId === undefined ? {} : { kmsKeyId }),
      });
      if (run.error !== undefined)
        throw new ControlPlaneError('CONFIG_ARCHIVE_FAILED', `configuration archive: ${run.error}`);
      return {
        summary: { task: 'config-archive', status: run.result.status, commandId: run.result.commandId ?? null },
      };
    }
  }
}

/**
 * The drill runner, bounded to the time the Lambda has left: the document's own TimeoutSeconds and the wait are cut
 * to `budgetMs`, so a drill that cannot finish in time ends as `timed-out` (and is reported as a failed drill)
 * instead of the Lambda being killed mid-wait with nothing recorded.
 */
export function withinDeadline(runner: CommandRunner, budgetMs: number): CommandRunner {
  return {
    run: (request: CommandRequest) => {
      const seconds = Math.floor(budgetMs / 1000);
      if (seconds < 1)
        return Promise.resolve({ status: 'rejected', output: `no time left for the drill (${budgetMs} ms)` });
      const declared = Number(request.parameters.TimeoutSeconds);
      if (Number.isFinite(declared) && declared > 0 && declared * 1000 <= budgetMs && request.timeoutMs <= budgetMs)
        return runner.run(request);
      const bounded = Math.min(seconds, Number.isFinite(declared) && declared > 0 ? declared : seconds);
      return runner.run({
        ...request,
        parameters: { ...request.parameters, TimeoutSeconds: String(bounded) },
        timeoutMs: Math.min(request.timeoutMs, budgetMs),
      });
    },
  };
}
