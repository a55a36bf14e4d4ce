import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { parseCommandStatusEvent } from '../adapters/aws/ssm-command-runner.ts';
import { finishRemediation } from '../use-cases/remediate.ts';
import { type AwsRuntime, awsRuntime } from './aws-runtime.ts';
import { lazyHandler } from './lazy-handler.ts';

/**
 * SSM command status change (EventBridge, default bus): a restart sent by the probe cycle has ended; record how on
 * the remediation ledger and the incident's timeline. Recovery itself is still proven by the probes.
 */
export function createCommandStatusHandler(runtime: AwsRuntime) {
  const { ctx, logger } = runtime;
  return middy(async (event: unknown) => {
    const change = parseCommandStatusEvent(event);
    if (change.status === 'pending') return { commandId: change.commandId, recorded: false, why: 'not final' };
    const attempt = await ctx.control.findAttemptByCommand(change.commandId);
    if (!attempt) {
      logger.info('command not sent by the control plane', { commandId: change.commandId });
      return { commandId: change.commandId, recorded: false, why: 'unknown command' };
    }
    await finishRemediation(ctx, attempt, {
      status: change.status,
      output: `SSM status ${change.ssmStatus} (command ${change.commandId}${change.instanceId ? ` on ${change.instanceId}` : ''})`,
    });
    return { commandId: change.commandId, recorded: true, outcome: change.status };
  })
    .use(injectLambdaContext(runtime.logger))
    .use(logMetrics(runtime.metrics))
    .use(captureLambdaHandler(runtime.tracer));
}

export const handler = lazyHandler(() => createCommandStatusHandler(awsRuntime()));
