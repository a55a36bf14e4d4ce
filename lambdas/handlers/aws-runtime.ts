import type { Tracer } from '@aws-lambda-powertools/tracer';
import { SSMClient } from '@aws-sdk/client-ssm';
import { SsmCommandRunner, type SsmTarget } from '../adapters/aws/ssm-command-runner.ts';
import { commandTargetFor } from '../core/command-target.ts';
import type { FleetConfig } from '../core/config-schema.ts';
import type { HandlerEnvironment } from '../core/handler-environment.ts';
import { CONTROL_PLANE_METRICS } from '../core/metrics.ts';
import { type Clock, type CommandRequest, systemClock } from '../ports.ts';
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

/** Commands through SSM Run Command: dispatched, their outcome arriving by the status-change event. */
export function ssmCommands(config: FleetConfig, env: HandlerEnvironment, ssm: SSMClient, clock: Clock = systemClock) {
  return new SsmCommandRunner(ssm, {
    mode: 'dispatch',
    documentNames: jsonRecord('ACGS_DOCUMENT_NAMES', env.ACGS_DOCUMENT_NAMES),
    target: commandTarget(config),
    logGroupName: env.ACGS_COMMAND_LOG_GROUP,
    clock,
  });
}

/** How a waiting runner polls: tests pass a sleep that moves a manual clock. */
export interface WaitOptions {
  readonly pollIntervalMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * Commands through SSM Run Command, followed until they end (or their timeout, then cancelled): the operator API
 * answers each procedure with its final outcome. Targets are chosen per request as for the other handlers.
 */
export function waitingSsmCommands(
  config: FleetConfig,
  env: HandlerEnvironment,
  ssm: SSMClient,
  clock: Clock = systemClock,
  wait: WaitOptions = {},
) {
  return new SsmCommandRunner(ssm, {
    mode: 'wait',
    documentNames: jsonRecord('ACGS_DOCUMENT_NAMES', env.ACGS_DOCUMENT_NAMES),
    target: commandTarget(config),
    logGroupName: env.ACGS_COMMAND_LOG_GROUP,
    clock,
    ...wait,
  });
}

/** The operator API's runtime: its commands are waited for (`waitingSsmCommands`). */
export function createOperatorApiRuntime(
  config: FleetConfig,
  env: HandlerEnvironment,
  clients: AwsClients,
  clock: Clock = systemClock,
  wait: WaitOptions = {},
  tracer?: Tracer,
): AwsRuntime {
  return createRuntime(config, env, clients, waitingSsmCommands(config, env, clients.ssm, clock, wait), clock, tracer);
}

/** The operator API Lambda's runtime, once per cold start: procedures answered with their outcome. */
export function operatorApiRuntime(): AwsRuntime {
  return coldRuntime((config, env, tracer) =>
    waitingSsmCommands(config, env, tracer.captureAWSv3Client(new SSMClient({}))),
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

/** The runtime of this Lambda instance, with SSM commands dispatched: once per cold start. */
export function awsRuntime(): AwsRuntime {
  return coldRuntime((config, env, tracer) => ssmCommands(config, env, tracer.captureAWSv3Client(new SSMClient({}))));
}

export { CONTROL_PLANE_METRICS };
