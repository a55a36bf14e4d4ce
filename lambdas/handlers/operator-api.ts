import type { APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { handleApiRequest } from '../use-cases/operator-api.ts';
import { type AwsRuntime, awsRuntime } from './aws-runtime.ts';
import { lazyHandler } from './lazy-handler.ts';
import { withPowertools } from './middleware.ts';

/**
 * The operators' API behind a Function URL with AWS_IAM auth: the caller is the IAM principal that signed the
 * request (never a field of the body), and it is what the timeline records as having acknowledged or resolved.
 */
export function createOperatorApiHandler(runtime: AwsRuntime) {
  return withPowertools(
    runtime,
    async (event: APIGatewayProxyEventV2WithIAMAuthorizer): Promise<APIGatewayProxyStructuredResultV2> => {
      const caller = event.requestContext.authorizer?.iam?.userArn;
      if (!caller) return json(403, { error: 'the request is not IAM-authenticated' });
      const body =
        event.body === undefined
          ? undefined
          : event.isBase64Encoded
            ? Buffer.from(event.body, 'base64').toString('utf8')
            : event.body;
      const response = await handleApiRequest(runtime.ctx, {
        method: event.requestContext.http.method,
        path: event.rawPath,
        query: event.queryStringParameters ?? {},
        body,
        caller,
      });
      runtime.logger.info('operator request', {
        caller,
        method: event.requestContext.http.method,
        path: event.rawPath,
        status: response.statusCode,
      });
      return json(response.statusCode, response.body);
    },
  );
}

function json(statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

export const handler = lazyHandler(() => createOperatorApiHandler(awsRuntime()));
