import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { AwsRuntime } from './aws-runtime.ts';

export interface PowertoolsOptions {
  /** Emit the ColdStart metric on the first invocation (the probe cycle's dashboard graphs it). @default false */
  readonly captureColdStartMetric?: boolean;
}

/**
 * A control-plane handler wrapped in the Powertools middleware every Lambda carries: the Lambda context on the
 * logger, metrics flushed after each invocation, and the handler traced.
 */
export function withPowertools<E, R>(
  runtime: AwsRuntime,
  fn: (event: E, context: Context) => Promise<R>,
  options: PowertoolsOptions = {},
) {
  return middy(fn)
    .use(injectLambdaContext(runtime.logger))
    .use(logMetrics(runtime.metrics, options.captureColdStartMetric ? { captureColdStartMetric: true } : undefined))
    .use(captureLambdaHandler(runtime.tracer));
}
