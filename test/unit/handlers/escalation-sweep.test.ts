import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { FleetConfig } from '../../../lambdas/core/config-schema.ts';
import { ESCALATION_TEST_TASK } from '../../../lambdas/core/escalation-test.ts';
import { CONTROL_PLANE_METRICS } from '../../../lambdas/core/metrics.ts';
import type { AwsRuntime } from '../../../lambdas/handlers/aws-runtime.ts';
import { createEscalationSweepHandler } from '../../../lambdas/handlers/escalation-sweep.ts';
import { declareIncident } from '../../../lambdas/use-cases/operator-actions.ts';
import { createHarness, loadShippedConfig, MINUTE, SECOND, T0 } from '../../support/harness.ts';
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
    metrics: new Metrics({ namespace: CONTROL_PLANE_METRICS.namespace, serviceName }),
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

describe('escalation sweep Lambda: a failing notice channel', () => {
  it('counts each failed notice delivery as one NoticeFailures metric without a channel dimension; the log line names the channel', async () => {
    // Prepare: EMF and log lines captured from stdout
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    const lines: Record<string, unknown>[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: unknown) => {
      if (typeof line === 'string' && line.startsWith('{')) lines.push(JSON.parse(line) as Record<string, unknown>);
    });
    vi.spyOn(console, 'info').mockImplementation((line: unknown) => {
      if (typeof line === 'string' && line.startsWith('{')) lines.push(JSON.parse(line) as Record<string, unknown>);
    });
    const { h, handler } = sweepLambda(loadShippedConfig());
    h.notifier.noticeRoutes = { hook: ['opened'], file: ['opened'] };
    h.notifier.failNotices.hook = 2;
    await declareIncident(h.ctx, { kind: 'manual', title: 'checkout slow', severity: 'P3', services: [], by: 'alice' });
    // Act: the first attempt and the retry 30 s later fail, the third goes out
    await handler({}, lambdaContext('sweep'));
    h.clock.advance(30 * SECOND);
    await handler({}, lambdaContext('sweep'));
    h.clock.advance(60 * SECOND);
    await handler({}, lambdaContext('sweep'));
    // Assess
    const M = CONTROL_PLANE_METRICS;
    const emf = lines.filter((l) => M.noticeFailures in l);
    expect(emf.map((l) => l[M.noticeFailures])).toEqual([1, 1]);
    for (const line of emf) {
      const aws = line._aws as { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] };
      expect(aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: M.namespace, Dimensions: [[M.dimensions.service]] });
      expect(line).not.toHaveProperty('channel');
    }
    const failed = h.logs.filter((l) => l.event === 'notice-failed');
    expect(failed.map((l) => l.fields.channel)).toEqual(['hook', 'hook']);
    expect(h.notifier.notices.map((n) => n.channel).sort()).toEqual(['file', 'hook']);
  });
});
