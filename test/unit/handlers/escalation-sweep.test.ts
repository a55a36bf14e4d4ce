import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { FleetConfig } from '../../../lambdas/core/config-schema.ts';
import { ESCALATION_TEST_TASK } from '../../../lambdas/core/escalation-test.ts';
import type { AwsRuntime } from '../../../lambdas/handlers/aws-runtime.ts';
import { createEscalationSweepHandler } from '../../../lambdas/handlers/escalation-sweep.ts';
import { createHarness, loadShippedConfig, MINUTE, T0 } from '../../support/harness.ts';
import { lambdaContext } from '../../support/lambda-context.ts';

/*
 * The sweep Lambda's scheduled escalation test: EventBridge Scheduler invokes it with {"task": "escalation-test"} (see
 * lib/control-plane-stack.ts); it opens and pages the test, and a later ordinary sweep closes it at its deadline.
 */

beforeEach(() => {
  vi.stubEnv('POWERTOOLS_DEV', 'true');
  vi.spyOn(console, 'log').mockImplementation(() => {});
  vi.spyOn(console, 'info').mockImplementation(() => {});
  vi.spyOn(console, 'warn').mockImplementation(() => {});
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

function sweepLambda(config: FleetConfig) {
  const h = createHarness(config);
  const serviceName = 'acgs-1-control-plane';
  const runtime = {
    ctx: h.ctx,
    logger: new Logger({ serviceName }),
    metrics: new Metrics({ namespace: 'AcgsOps', serviceName }),
    tracer: new Tracer({ serviceName, enabled: false }),
    env: {} as AwsRuntime['env'],
  } satisfies AwsRuntime;
  return { h, handler: createEscalationSweepHandler(runtime) };
}

const withEscalationTest = (config: FleetConfig): FleetConfig => ({
  ...config,
  schedules: { ...config.schedules, escalationTest: { cron: '0 10 * * 1', wait: 15 * MINUTE } },
});

describe('escalation sweep Lambda', () => {
  it('opens and pages the scheduled escalation test when invoked with its task, and a later sweep fails it unacknowledged', async () => {
    // Prepare
    const { h, handler } = sweepLambda(withEscalationTest(loadShippedConfig()));
    // Act
    const started = (await handler({ task: ESCALATION_TEST_TASK }, lambdaContext('sweep'))) as {
      escalationTest: string;
      paged: boolean;
    };
    h.clock.set(T0 + 15 * MINUTE);
    await handler({}, lambdaContext('sweep'));
    // Assess
    expect(started.paged).toBe(true);
    expect(h.notifier.sent.map((n) => [n.page.why, n.incident.id])).toEqual([['test', started.escalationTest]]);
    expect(await h.store.getIncident(started.escalationTest)).toMatchObject({
      kind: 'test',
      status: 'resolved',
      resolvedAt: T0 + 15 * MINUTE,
      resolution: 'escalation test failed: not acknowledged',
    });
  });

  it('opens nothing for the task when no escalation test is configured', async () => {
    // Prepare
    const { h, handler } = sweepLambda(loadShippedConfig());
    // Act
    const answer = await handler({ task: ESCALATION_TEST_TASK }, lambdaContext('sweep'));
    // Assess
    expect(answer).toMatchObject({ escalationTest: null });
    expect(await h.store.listIncidents({ limit: 10 })).toEqual([]);
  });
});
