import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { sweepEscalations } from '../use-cases/sweep-escalations.ts';
import { type AwsRuntime, awsRuntime } from './aws-runtime.ts';
import { lazyHandler } from './lazy-handler.ts';

/** Scheduled escalation sweep: every incident whose timer is due takes its next step; stuck restarts expire. */
export function createEscalationSweepHandler(runtime: AwsRuntime) {
  return middy(async () => {
    const advanced = await sweepEscalations(runtime.ctx);
    return { advanced: advanced.map((i) => ({ id: i.id, level: i.escalation.level, status: i.status })) };
  })
    .use(injectLambdaContext(runtime.logger))
    .use(logMetrics(runtime.metrics))
    .use(captureLambdaHandler(runtime.tracer));
}

export const handler = lazyHandler(() => createEscalationSweepHandler(awsRuntime()));
