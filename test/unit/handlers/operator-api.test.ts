import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import {
  AutomationExecutionNotFoundException,
  type GetAutomationExecutionCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import { SsmAutomationExecutions } from '../../../lambdas/adapters/aws/ssm-automation-executions.ts';
import type { AutomationExecutionFacts } from '../../../lambdas/core/automation-invocation.ts';
import { CONTROL_PLANE_METRICS } from '../../../lambdas/core/metrics.ts';
import type { AwsRuntime } from '../../../lambdas/handlers/aws-runtime.ts';
import { createOperatorApiHandler, OperatorApiError } from '../../../lambdas/handlers/operator-api.ts';
import { createHarness } from '../../support/harness.ts';
import { lambdaContext } from '../../support/lambda-context.ts';

/**
 * The operator Lambda invoked directly by an Automation runbook step. moto (5.2) implements no Automation execution
 * API (StartAutomationExecution / GetAutomationExecution), so SSM is a fake here that answers as
 * GetAutomationExecution does; the adapter's mapping of the real response is tested on a stubbed client below.
 */
const RUNBOOK = 'acgs-1-ops-control-plane-runbook-acgs-declare-incident';
const EXECUTION = '4c7b1a52-9f0e-4b7d-8a51-0d6f3c2e1a90';
const ALICE = 'arn:aws:sts::123456789012:assumed-role/Operators/alice';
const context = lambdaContext('acgs-operator-api');

function setup(executions: Record<string, AutomationExecutionFacts> = {}) {
  const h = createHarness();
  const serviceName = 'acgs-1-control-plane';
  const runtime = {
    ctx: h.ctx,
    logger: new Logger({ serviceName, logLevel: 'SILENT' }),
    metrics: new Metrics({ namespace: CONTROL_PLANE_METRICS.namespace, serviceName }),
    tracer: new Tracer({ serviceName, enabled: false }),
    env: {} as AwsRuntime['env'],
  } satisfies AwsRuntime;
  const asked: string[] = [];
  const handler = createOperatorApiHandler(runtime, {
    runbookNames: [RUNBOOK],
    executions: {
      describe: async (id) => {
        asked.push(id);
        return executions[id];
      },
    },
  });
  return { h, handler, asked };
}

const declare = (extra: Record<string, unknown> = {}) => ({
  automation: { executionId: EXECUTION },
  method: 'POST',
  path: '/incidents',
  body: { type: 'manual', severity: 'P3', title: 'Slow answers', services: ['auth'] },
  ...extra,
});

const running = { [EXECUTION]: { documentName: RUNBOOK, status: 'InProgress', executedBy: ALICE } };

describe('operator API, invoked by a runbook step', () => {
  it('acts as the principal who started the execution, through that runbook, and answers {statusCode, body}', async () => {
    const { h, handler, asked } = setup(running);
    const response = (await handler(declare() as never, context)) as { statusCode: number; body: { id: string } };
    expect(response.statusCode).toBe(201);
    expect(asked).toEqual([EXECUTION]);
    const timeline = JSON.stringify(await h.store.getTimeline(response.body.id));
    expect(timeline).toContain(`${ALICE} via runbook ${RUNBOOK} ${EXECUTION}`);
  });

  it('throws for a status >= 400, so the step fails and its onFailure runs', async () => {
    const { handler } = setup(running);
    const bad = declare({ body: { type: 'manual', severity: 'P3', title: 'x', services: ['nosuch'] } });
    const error = await handler(bad as never, context).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OperatorApiError);
    expect((error as OperatorApiError).statusCode).toBe(400);
    expect((error as Error).message).toMatch(/^the operator API answered 400: /);
  });

  it.each([
    ['an execution SSM does not know', {}, 'does not exist'],
    [
      'an execution of another document',
      { [EXECUTION]: { ...running[EXECUTION], documentName: 'AWS-RestartEC2Instance' } },
      'not a runbook of this stack',
    ],
    [
      'a finished execution',
      { [EXECUTION]: { ...running[EXECUTION], status: 'Success' } },
      'is Success, not InProgress',
    ],
  ] as const)('refuses %s (403) and changes nothing', async (_what, executions, message) => {
    const { h, handler } = setup(executions as Record<string, AutomationExecutionFacts>);
    await expect(handler(declare() as never, context)).rejects.toThrow(message);
    await expect(handler(declare() as never, context)).rejects.toMatchObject({ statusCode: 403 });
    expect(await h.store.listOpenIncidents()).toEqual([]);
  });

  it('never takes the caller from the payload: a payload naming one is refused', async () => {
    const { h, handler, asked } = setup(running);
    await expect(handler(declare({ caller: 'arn:aws:iam::123456789012:user/root' }) as never, context)).rejects.toThrow(
      'payload: Unrecognized key: "caller"',
    );
    expect(asked).toEqual([]);
    expect(await h.store.listOpenIncidents()).toEqual([]);
  });

  it('refuses a malformed execution id before asking SSM', async () => {
    const { handler, asked } = setup(running);
    await expect(handler(declare({ automation: { executionId: '../../x' } }) as never, context)).rejects.toThrow(
      'automation.executionId: must be an Automation execution id',
    );
    expect(asked).toEqual([]);
  });

  it('still serves Function URL requests, whose caller is the IAM signer', async () => {
    const { handler } = setup(running);
    const response = await handler(
      {
        rawPath: '/incidents',
        body: undefined,
        isBase64Encoded: false,
        requestContext: { http: { method: 'GET' } },
      } as never,
      context,
    );
    expect(response).toMatchObject({ statusCode: 403 });
  });
});

describe('SsmAutomationExecutions', () => {
  it('maps GetAutomationExecution to the runbook, status and ExecutedBy; an unknown id is undefined', async () => {
    const sent: unknown[] = [];
    const client = {
      send: async (command: GetAutomationExecutionCommand) => {
        sent.push(command.input);
        if (command.input.AutomationExecutionId === 'gone')
          throw new AutomationExecutionNotFoundException({ $metadata: {}, message: 'not found' });
        return {
          AutomationExecution: { DocumentName: RUNBOOK, AutomationExecutionStatus: 'InProgress', ExecutedBy: ALICE },
        };
      },
    } as unknown as SSMClient;
    const executions = new SsmAutomationExecutions(client);
    expect(await executions.describe(EXECUTION)).toEqual({
      documentName: RUNBOOK,
      status: 'InProgress',
      executedBy: ALICE,
    });
    expect(await executions.describe('gone')).toBeUndefined();
    expect(sent).toEqual([{ AutomationExecutionId: EXECUTION }, { AutomationExecutionId: 'gone' }]);
  });
});
