import type { Tracer } from '@aws-lambda-powertools/tracer';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { SsmTarget } from '../adapters/aws/ssm-command-runner.ts';
import { commandTargetFor } from '../core/command-target.ts';
import type { FleetConfig } from '../core/config-schema.ts';
import type { HandlerEnvironment } from '../core/handler-environment.ts';
import { CONTROL_PLANE_METRICS } from '../core/metrics.ts';
import { type Clock, type CommandRequest, systemClock } from '../ports.ts';
import { withIncidentReports } from './incident-report-store.ts';
import { type ClientSource, clientOf, lazyCommandRunner, lazyObjectStore } from './lazy-adapters.ts';
import { type AwsRuntime, type BaseClients, coldRuntime, createRuntime, jsonRecord } from './runtime-base.ts';

export {
  type AwsRuntime,
  jsonRecord,
  parseHandlerEnvironment,
  withBackupInstance,
  withoutReservedKeys,
} from './runtime-base.ts';

/** AWS SDK clients of a Lambda that sends commands, injectable so tests point them at moto. */
export interface AwsClients extends BaseClients {
  readonly ssm: SSMClient;
}

/** Where a command runs: exactly the instance of its service, or the database host (`commandTargetFor`). */
export function commandTarget(config: FleetConfig): (request: CommandRequest) => SsmTarget {
  return (request) => commandTargetFor(config, request);
}

/** How a waiting runner polls: tests pass a sleep that moves a manual clock. */
export interface WaitOptions {
  readonly pollIntervalMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * Commands through SSM Run Command, targets chosen per request. `dispatch` (the scheduled Lambdas): sent, their
 * outcome arriving by the status-change event. `wait` (the operator API): followed until they end, or their timeout
 * (then cancelled), so a procedure is answered with its final outcome. `ssm` may be a factory: a Lambda loads the SSM
 * client with its first command (lazy-adapters.ts).
 */
export function ssmCommands(
  config: FleetConfig,
  env: HandlerEnvironment,
  ssm: ClientSource<SSMClient>,
  clock: Clock = systemClock,
  mode: 'dispatch' | 'wait' = 'dispatch',
  wait: WaitOptions = {},
) {
  const documentNames = jsonRecord('ACGS_DOCUMENT_NAMES', env.ACGS_DOCUMENT_NAMES);
  return lazyCommandRunner(async () => {
    const [{ SsmCommandRunner }, client] = await Promise.all([import('./on-demand/ssm.ts'), clientOf(ssm)]);
    return new SsmCommandRunner(client, {
      mode,
      documentNames,
      target: commandTarget(config),
      logGroupName: env.ACGS_COMMAND_LOG_GROUP,
      clock,
      ...(mode === 'wait' ? wait : {}),
    });
  });
}

/** The operator API's runtime: its commands are waited for (`ssmCommands` in wait mode). */
export function createOperatorApiRuntime(
  config: FleetConfig,
  env: HandlerEnvironment,
  clients: AwsClients,
  clock: Clock = systemClock,
  wait: WaitOptions = {},
  tracer?: Tracer,
): AwsRuntime {
  return createRuntime(config, env, clients, ssmCommands(config, env, clients.ssm, clock, 'wait', wait), clock, tracer);
}

/**
 * How long the operator API waits for a drill, or for each database step of a restore (a third of it each): its
 * function's timeout is at least 870 s (lib/control-plane-stack.ts operatorApiTimeoutSeconds), and the answer, the
 * window's end and the incident's page need the rest.
 */
export const OPERATOR_BACKUP_WAIT_MS = 780_000;

/**
 * The operator API's backup routes in AWS: the backup bucket (its S3 client loaded with the first backup request), a
 * dispatching runner for POST /backups (a dump may outlast the Lambda; its end arrives by the command's status event,
 * as the daily backup's does), and a bound on what the API waits for. Without a backups section or bucket, as it is.
 */
export function withOperatorBackups(runtime: AwsRuntime): AwsRuntime {
  const { env } = runtime;
  const { config } = runtime.ctx;
  const bucket = env.ACGS_BACKUP_BUCKET;
  const backups = config.backups;
  if (!backups || bucket === undefined) return runtime;
  const kmsKeyId = env.ACGS_BACKUP_KMS_KEY;
  const objects = lazyObjectStore(async () => {
    const { S3HttpClient, S3ObjectStore } = await import('./on-demand/s3.ts');
    return new S3ObjectStore(new S3HttpClient(), {
      bucket,
      prefix: backups.s3Prefix,
      ...(kmsKeyId ? { kmsKeyId } : {}),
    });
  });
  const dispatch = ssmCommands(config, env, async () =>
    runtime.tracer.captureAWSv3Client(new (await import('./on-demand/ssm.ts')).SSMClient({})),
  );
  return {
    ...runtime,
    ctx: {
      ...runtime.ctx,
      backups: { objects, bucket, ...(kmsKeyId ? { kmsKeyId } : {}), dispatch, waitBudgetMs: OPERATOR_BACKUP_WAIT_MS },
    },
  };
}

/**
 * The operator API Lambda's runtime, once per cold start: procedures answered with their outcome; a resolution writes
 * its incident report (withIncidentReports); the backup routes reach the bucket and the database host
 * (withOperatorBackups).
 */
export function operatorApiRuntime(): AwsRuntime {
  return withOperatorBackups(
    withIncidentReports(
      coldRuntime((config, env, tracer) =>
        ssmCommands(
          config,
          env,
          async () => tracer.captureAWSv3Client(new (await import('./on-demand/ssm.ts')).SSMClient({})),
          systemClock,
          'wait',
        ),
      ),
    ),
  );
}

/** The runtime of a Lambda that sends commands and leaves them running (probe, backups). */
export function createAwsRuntime(
  config: FleetConfig,
  env: HandlerEnvironment,
  clients: AwsClients,
  clock: Clock = systemClock,
  tracer?: Tracer,
): AwsRuntime {
  return createRuntime(config, env, clients, ssmCommands(config, env, clients.ssm, clock), clock, tracer);
}

/**
 * The runtime of this Lambda instance, with SSM commands dispatched: once per cold start. These Lambdas resolve
 * incidents, so their context writes incident reports where the stack says (withIncidentReports).
 */
export function awsRuntime(): AwsRuntime {
  return withIncidentReports(
    coldRuntime((config, env, tracer) =>
      ssmCommands(config, env, async () =>
        tracer.captureAWSv3Client(new (await import('./on-demand/ssm.ts')).SSMClient({})),
      ),
    ),
  );
}

export { CONTROL_PLANE_METRICS };
