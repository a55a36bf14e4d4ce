import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Context } from 'aws-lambda';
import { S3ObjectStore } from '../adapters/aws/s3-object-store.ts';
import { SsmCommandRunner } from '../adapters/aws/ssm-command-runner.ts';
import { backupTaskSchema } from '../core/backup-task.ts';
import { ControlPlaneError } from '../core/errors.ts';
import type { CommandRequest, CommandRunner, ObjectStore } from '../ports.ts';
import { applyRetention, type BackupDestination, monitorBackups, runBackup, runDrill } from '../use-cases/backups.ts';
import { type AwsRuntime, awsRuntime, CONTROL_PLANE_METRICS, jsonRecord } from './aws-runtime.ts';
import { lazyHandler } from './lazy-handler.ts';
import { withPowertools } from './middleware.ts';

/** Time kept back from the Lambda's deadline after the drill's wait: recording the report and the incident. */
export const DRILL_MARGIN_MS = 60_000;

export interface BackupWiring {
  readonly destination: BackupDestination;
  /** Waits for the drill document's result (the drill's report is its output). */
  readonly drillRunner: CommandRunner;
}

/**
 * The backup schedules' Lambda: take the daily backup (dispatched to the database host by SSM; the document
 * publishes to S3), judge what was published hourly, prune weekly, and run the restore drill (waiting for it).
 */
export function createBackupsHandler(runtime: AwsRuntime, wiring: BackupWiring) {
  const { ctx } = runtime;
  return withPowertools(runtime, async (event: unknown, context: Context) => {
    const parsed = backupTaskSchema.safeParse(event);
    if (!parsed.success)
      throw new ControlPlaneError('INVALID_EVENT', `expected {"task": "backup"|"monitor"|"retention"|"drill"}`);
    switch (parsed.data.task) {
      case 'backup': {
        const run = await runBackup(ctx, wiring.destination);
        return { task: 'backup', id: run.id, status: run.result.status, commandId: run.result.commandId ?? null };
      }
      case 'monitor': {
        const judgement = await monitorBackups(ctx, wiring.destination.objects);
        if (judgement.dataAgeMs !== undefined)
          runtime.metrics.addMetric(
            CONTROL_PLANE_METRICS.backupAgeHours,
            MetricUnit.NoUnit,
            judgement.dataAgeMs / 3_600_000,
          );
        return { task: 'monitor', status: judgement.status, drill: judgement.drillStatus, reasons: judgement.reasons };
      }
      case 'retention': {
        const run = await applyRetention(ctx, wiring.destination.objects);
        return { task: 'retention', refused: run.plan.refused ?? null, deleted: run.deleted };
      }
      case 'drill': {
        const runner = withinDeadline(wiring.drillRunner, context.getRemainingTimeInMillis() - DRILL_MARGIN_MS);
        const run = await runDrill(ctx, wiring.destination, runner);
        return { task: 'drill', backup: run.manifest.id, status: run.result.status, met: run.judgement?.met ?? false };
      }
    }
  });
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

function awsBackupWiring(runtime: AwsRuntime): BackupWiring {
  const { env } = runtime;
  const { config } = runtime.ctx;
  if (!config.backups) throw new ControlPlaneError('BACKUPS_NOT_CONFIGURED', 'the fleet config has no backups section');
  if (!env.ACGS_BACKUP_BUCKET) throw new ControlPlaneError('ENVIRONMENT', 'ACGS_BACKUP_BUCKET is not set');
  const instanceId = config.backups.instanceId;
  if (!instanceId)
    throw new ControlPlaneError('BACKUPS_NOT_CONFIGURED', 'backups.instanceId is required to run backups through SSM');
  const objects: ObjectStore = new S3ObjectStore(runtime.tracer.captureAWSv3Client(new S3Client({})), {
    bucket: env.ACGS_BACKUP_BUCKET,
    prefix: config.backups.s3Prefix,
    ...(env.ACGS_BACKUP_KMS_KEY ? { kmsKeyId: env.ACGS_BACKUP_KMS_KEY } : {}),
  });
  const drillRunner = new SsmCommandRunner(runtime.tracer.captureAWSv3Client(new SSMClient({})), {
    mode: 'wait',
    documentNames: jsonRecord('ACGS_DOCUMENT_NAMES', env.ACGS_DOCUMENT_NAMES),
    target: { instanceIds: [instanceId] },
    logGroupName: env.ACGS_COMMAND_LOG_GROUP,
  });
  return {
    destination: {
      objects,
      bucket: env.ACGS_BACKUP_BUCKET,
      ...(env.ACGS_BACKUP_KMS_KEY ? { kmsKeyId: env.ACGS_BACKUP_KMS_KEY } : {}),
    },
    drillRunner,
  };
}

export const handler = lazyHandler(() => {
  const runtime = awsRuntime();
  return createBackupsHandler(runtime, awsBackupWiring(runtime));
});
