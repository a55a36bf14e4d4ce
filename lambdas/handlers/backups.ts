import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { S3HttpClient } from '../adapters/aws/s3-http.ts';
import { S3ObjectStore } from '../adapters/aws/s3-object-store.ts';
import { backupTaskSchema } from '../core/backup-task.ts';
import { ControlPlaneError } from '../core/errors.ts';
import type { ObjectStore } from '../ports.ts';
import { type BackupTaskWiring, runBackupTask } from '../use-cases/backup-tasks.ts';
import { RUN_LEASES } from '../use-cases/run-exclusive.ts';
import { type AwsRuntime, awsRuntime, CONTROL_PLANE_METRICS, jsonRecord } from './aws-runtime.ts';
import { lazyCommandRunner } from './lazy-adapters.ts';
import { lazyHandler } from './lazy-handler.ts';
import { exclusiveInvocation, withPowertools } from './middleware.ts';

export { DRILL_MARGIN_MS } from '../use-cases/backup-tasks.ts';

/**
 * The backup schedules' Lambda: take the daily backup (dispatched to the database host by SSM; the document
 * publishes to S3), judge what was published hourly, prune weekly, and run the restore drill (waiting for it).
 */
export function createBackupsHandler(runtime: AwsRuntime, wiring: BackupTaskWiring) {
  return withPowertools(runtime, async (event: unknown, context: Context) => {
    const parsed = backupTaskSchema.safeParse(event);
    if (!parsed.success)
      throw new ControlPlaneError(
        'INVALID_EVENT',
        `expected {"task": ${backupTaskSchema.shape.task.options.map((t) => `"${t}"`).join('|')}}`,
      );
    const { task } = parsed.data;
    // One task of each kind at a time (a second delivery of the same schedule does nothing); kinds may overlap.
    const run = await exclusiveInvocation(runtime, context, RUN_LEASES.backup(task), () =>
      runBackupTask(runtime.ctx, task, wiring, { remainingMs: context.getRemainingTimeInMillis() }),
    );
    if (!run.ran) return { task, skipped: run.skipped, heldBy: run.heldBy, until: run.until };
    const outcome = run.value;
    if (outcome.backupAgeHours !== undefined)
      runtime.metrics.addMetric(CONTROL_PLANE_METRICS.backupAgeHours, MetricUnit.NoUnit, outcome.backupAgeHours);
    if (outcome.archiveLagSeconds !== undefined)
      runtime.metrics.addMetric(CONTROL_PLANE_METRICS.archiveLagSeconds, MetricUnit.Seconds, outcome.archiveLagSeconds);
    return outcome.summary;
  });
}

function awsBackupWiring(runtime: AwsRuntime): BackupTaskWiring {
  const { env } = runtime;
  const { config } = runtime.ctx;
  if (!config.backups) throw new ControlPlaneError('BACKUPS_NOT_CONFIGURED', 'the fleet config has no backups section');
  if (!env.ACGS_BACKUP_BUCKET) throw new ControlPlaneError('ENVIRONMENT', 'ACGS_BACKUP_BUCKET is not set');
  const instanceId = config.backups.instanceId;
  if (!instanceId)
    throw new ControlPlaneError('BACKUPS_NOT_CONFIGURED', 'backups.instanceId is required to run backups through SSM');
  const objects: ObjectStore = new S3ObjectStore(new S3HttpClient(), {
    bucket: env.ACGS_BACKUP_BUCKET,
    prefix: config.backups.s3Prefix,
    ...(env.ACGS_BACKUP_KMS_KEY ? { kmsKeyId: env.ACGS_BACKUP_KMS_KEY } : {}),
  });
  const documentNames = jsonRecord('ACGS_DOCUMENT_NAMES', env.ACGS_DOCUMENT_NAMES);
  // The SSM client is loaded for the drill only (the monitor, the hourly task, reads S3 alone).
  const drillRunner = lazyCommandRunner(async () => {
    const { SsmCommandRunner, SSMClient } = await import('./on-demand/ssm.ts');
    return new SsmCommandRunner(runtime.tracer.captureAWSv3Client(new SSMClient({})), {
      mode: 'wait',
      documentNames,
      target: { instanceIds: [instanceId] },
      logGroupName: env.ACGS_COMMAND_LOG_GROUP,
    });
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
