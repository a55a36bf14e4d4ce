import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { type ExclusiveRun, runExclusive } from '../use-cases/run-exclusive.ts';
import type { AwsRuntime } from './runtime-base.ts';

/**
 * A control-plane handler wrapped in the Powertools middleware every Lambda carries: the Lambda context on the
 * logger, metrics flushed after each invocation (no ColdStart metric: each custom series costs $0.30 a month, and
 * cold starts show in the REPORT lines and traces), and the handler traced.
 */
export function withPowertools<E, R>(runtime: AwsRuntime, fn: (event: E, context: Context) => Promise<R>) {
  return middy(fn)
    .use(injectLambdaContext(runtime.logger))
    .use(logMetrics(runtime.metrics))
    .use(captureLambdaHandler(runtime.tracer));
}

/**
 * `work` under the lease `name`, held by this invocation (its request id) for as long as it may still run: what the
 * scheduled Lambdas do instead of reserving concurrency (see `runExclusive`).
 */
export function exclusiveInvocation<T>(
  runtime: AwsRuntime,
  context: Context,
  name: string,
  work: () => Promise<T>,
): Promise<ExclusiveRun<T>> {
  return runExclusive(
    runtime.ctx,
    { name, holder: context.awsRequestId, maxRunMs: context.getRemainingTimeInMillis() },
    work,
  );
}
