import type { Context } from 'aws-lambda';

/** A hand-made Lambda context: nothing here can run Lambda itself, so handlers are called directly with this. */
export function lambdaContext(functionName: string, remainingMs = 60_000): Context {
  return {
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: 'req-1',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'stream',
    getRemainingTimeInMillis: () => remainingMs,
  } as unknown as Context;
}
