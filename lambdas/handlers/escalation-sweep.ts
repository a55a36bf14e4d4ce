import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { ESCALATION_TEST_TASK } from '../core/escalation-test.ts';
import { CONTROL_PLANE_METRICS } from '../core/metrics.ts';
import { runScheduledEscalationTest } from '../use-cases/escalation-test.ts';
import { RUN_LEASES } from '../use-cases/run-exclusive.ts';
import { sweepEscalations } from '../use-cases/sweep-escalations.ts';
import { lazyHandler } from './lazy-handler.ts';
import { exclusiveInvocation, withPowertools } from './middleware.ts';
import { type AwsRuntime, awsRuntimeWithoutCommands } from './runtime-base.ts';

/**
 * Scheduled escalation sweep: every incident whose timer is due takes its next step; stuck restarts expire. The
 * scheduled escalation test (`{"task": "escalation-test"}`) opens and pages a test incident instead, which a later
 * sweep closes at its deadline.
 */
export function createEscalationSweepHandler(runtime: AwsRuntime) {
  return withPowertools(runtime, async (event: unknown, context: Context) => {
    if (isTask(event, ESCALATION_TEST_TASK)) {
      const started = await runScheduledEscalationTest(runtime.ctx);
      return started
        ? { escalationTest: started.incident.id, paged: started.pageError === undefined }
        : { escalationTest: null, why: 'schedules.escalationTest is not configured' };
    }
    const run = await exclusiveInvocation(runtime, context, RUN_LEASES.escalationSweep, () =>
      // The channel and notice of each failure are in the log line `notice-failed`; the metric is one series.
      sweepEscalations(runtime.ctx, {
        onFailure: () => runtime.metrics.addMetric(CONTROL_PLANE_METRICS.noticeFailures, MetricUnit.Count, 1),
      }),
    );
    if (!run.ran) return { skipped: run.skipped, heldBy: run.heldBy, until: run.until };
    return { advanced: run.value.map((i) => ({ id: i.id, level: i.escalation.level, status: i.status })) };
  });
}

export const handler = lazyHandler(() => createEscalationSweepHandler(awsRuntimeWithoutCommands()));

function isTask(event: unknown, task: string): boolean {
  return typeof event === 'object' && event !== null && (event as { task?: unknown }).task === task;
}
