import type { SSMClient } from '@aws-sdk/client-ssm';
import type { APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { AutomationExecutions } from '../adapters/aws/ssm-automation-executions.ts';
import { automationCaller, isAutomationInvocation, parseAutomationInvocation } from '../core/automation-invocation.ts';
import { ControlPlaneError, UsageError } from '../core/errors.ts';
import * as z from '../core/zod-mini.ts';
import { handleApiRequest } from '../use-cases/operator-api.ts';
import { type AwsRuntime, operatorApiRuntime } from './aws-runtime.ts';
import { type ClientSource, clientOf, once } from './lazy-adapters.ts';
import { lazyHandler } from './lazy-handler.ts';
import { withPowertools } from './middleware.ts';

/** Who may invoke the API directly: Automation executions of these runbooks, as SSM describes them. */
export interface AutomationAccess {
  readonly executions: AutomationExecutions;
  readonly runbookNames: readonly string[];
}

/** What a runbook step gets back; a status >= 400 is thrown instead, so the step fails and its onFailure runs. */
export interface DirectResponse {
  readonly statusCode: number;
  readonly body: unknown;
}

/** The error a runbook step sees (FunctionError, its message in the console) when the API refused or failed. */
export class OperatorApiError extends ControlPlaneError {
  constructor(
    readonly statusCode: number,
    readonly body: unknown,
  ) {
    const detail =
      typeof body === 'object' && body !== null && 'error' in body ? String(body.error) : JSON.stringify(body);
    super('OPERATOR_API', `the operator API answered ${statusCode}: ${detail.slice(0, 1000)}`);
  }
}

type OperatorEvent = APIGatewayProxyEventV2WithIAMAuthorizer | Record<string, unknown>;

/**
 * The operators' API, reached two ways. Behind a Function URL with AWS_IAM auth, the caller is the IAM principal
 * that signed the request. Invoked directly by an Automation runbook step (`aws:invokeLambdaFunction`), the caller
 * is the principal that started the execution the payload names (ssm:GetAutomationExecution, ExecutedBy), and only
 * while that execution of one of the stack's runbooks is in progress; never a field of the payload.
 */
export function createOperatorApiHandler(runtime: AwsRuntime, automation?: AutomationAccess) {
  return withPowertools(
    runtime,
    async (event: OperatorEvent): Promise<APIGatewayProxyStructuredResultV2 | DirectResponse> => {
      if (isAutomationInvocation(event)) return direct(runtime, automation, event);
      return functionUrl(runtime, event as APIGatewayProxyEventV2WithIAMAuthorizer);
    },
  );
}

async function direct(runtime: AwsRuntime, automation: AutomationAccess | undefined, event: unknown) {
  let invocation: ReturnType<typeof parseAutomationInvocation>;
  let caller: string;
  try {
    if (!automation) throw new UsageError('this operator API takes no direct invocations');
    invocation = parseAutomationInvocation(event);
    const { executionId } = invocation.automation;
    caller = automationCaller(executionId, await automation.executions.describe(executionId), automation.runbookNames);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    runtime.logger.warn('direct invocation refused', { reason: error.message });
    throw new OperatorApiError(403, { error: error.message });
  }
  const response = await handleApiRequest(runtime.ctx, {
    method: invocation.method,
    path: invocation.path,
    query: invocation.query ?? {},
    body: invocation.body === undefined ? undefined : JSON.stringify(invocation.body),
    caller,
  });
  runtime.logger.info('operator request', {
    caller,
    method: invocation.method,
    path: invocation.path,
    status: response.statusCode,
  });
  if (response.statusCode >= 400) throw new OperatorApiError(response.statusCode, response.body);
  return { statusCode: response.statusCode, body: response.body };
}

async function functionUrl(
  runtime: AwsRuntime,
  event: APIGatewayProxyEventV2WithIAMAuthorizer,
): Promise<APIGatewayProxyStructuredResultV2> {
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
}

function json(statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

const runbookNames = z.array(z.string().check(z.minLength(1)));

/**
 * The runbooks named by the stack (ACGS_RUNBOOK_NAMES) and SSM to ask about their executions: once per cold start.
 * The SSM client is loaded with the first direct invocation (lazy-adapters.ts), not at every cold start.
 */
export function awsAutomationAccess(
  runtime: AwsRuntime,
  ssm: ClientSource<SSMClient> = async () => new (await import('./on-demand/ssm.ts')).SSMClient({}),
): AutomationAccess {
  const text = runtime.env.ACGS_RUNBOOK_NAMES;
  let names: string[] = [];
  if (text !== undefined) {
    const parsed = runbookNames.safeParse(JSON.parse(text));
    if (!parsed.success) throw new ControlPlaneError('ENVIRONMENT', 'ACGS_RUNBOOK_NAMES must be a JSON array of names');
    names = parsed.data;
  }
  const executions = once(async (): Promise<AutomationExecutions> => {
    const [{ SsmAutomationExecutions }, client] = await Promise.all([import('./on-demand/ssm.ts'), clientOf(ssm)]);
    return new SsmAutomationExecutions(runtime.tracer.captureAWSv3Client(client));
  });
  return { executions: { describe: async (id) => (await executions()).describe(id) }, runbookNames: names };
}

export const handler = lazyHandler(() => {
  const runtime = operatorApiRuntime();
  return createOperatorApiHandler(runtime, awsAutomationAccess(runtime));
});
