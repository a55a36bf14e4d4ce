import { UsageError } from './errors.ts';
import { checkInput } from './operator-input.ts';
import * as z from './zod-mini.ts';

/**
 * How an Automation runbook step reaches the operator API: `aws:invokeLambdaFunction` with a JSON payload (a direct
 * invocation, not a Function URL request). The caller is never taken from the payload: the operator Lambda asks SSM
 * who started the execution the payload names (ExecutedBy), and the local interpreter knows its operator.
 */

/** The FunctionName every runbook file names; the stack replaces it with the operator function's ARN. */
export const OPERATOR_FUNCTION_PLACEHOLDER = 'acgs-operator-api';
/** The default of a runbook's `Services` list in the file; the stack and the local runtime put the fleet there. */
export const FLEET_SERVICES_PLACEHOLDER = 'acgs-fleet-services';
/** The default of `AutomationAssumeRole` in the file; the stack puts the role it creates there. */
export const ASSUME_ROLE_PLACEHOLDER = 'arn:aws:iam::123456789012:role/acgs-automation-role';

/** An Automation execution id (a UUID as SSM writes it). */
const EXECUTION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const automationInvocationSchema = z.strictObject({
  automation: z.strictObject({
    executionId: z.string().check(z.regex(EXECUTION_ID, 'must be an Automation execution id')),
  }),
  method: z.enum(['GET', 'POST', 'DELETE']),
  path: z.string().check(z.regex(/^\/[A-Za-z0-9/_.*-]{0,200}$/, 'must be an API path')),
  query: z.optional(z.record(z.string(), z.string())),
  body: z.optional(z.record(z.string(), z.unknown())),
});

export type AutomationInvocation = z.output<typeof automationInvocationSchema>;

/** Whether an event is a direct invocation from a runbook (rather than a Function URL request). */
export function isAutomationInvocation(event: unknown): boolean {
  return typeof event === 'object' && event !== null && 'automation' in event && !('requestContext' in event);
}

/** The payload of a runbook step, checked; a `UsageError` names the field. */
export function parseAutomationInvocation(event: unknown): AutomationInvocation {
  return checkInput(automationInvocationSchema, event, 'payload');
}

/** What SSM says of an execution (GetAutomationExecution). */
export interface AutomationExecutionFacts {
  readonly documentName: string;
  readonly status: string;
  readonly executedBy: string;
}

/**
 * Who a runbook step acts for: the principal that started the execution, and through which runbook. Refused
 * (`UsageError`) unless the execution runs one of `runbookNames` and is still in progress, so a payload naming an
 * old or foreign execution borrows nobody's identity.
 */
export function automationCaller(
  executionId: string,
  execution: AutomationExecutionFacts | undefined,
  runbookNames: readonly string[],
): string {
  if (!execution) throw new UsageError(`automation execution ${executionId} does not exist`);
  if (!runbookNames.includes(execution.documentName))
    throw new UsageError(
      `automation execution ${executionId} runs ${execution.documentName}, not a runbook of this stack`,
    );
  if (execution.status !== 'InProgress')
    throw new UsageError(`automation execution ${executionId} is ${execution.status}, not InProgress`);
  return `${execution.executedBy} via runbook ${execution.documentName} ${executionId}`;
}
