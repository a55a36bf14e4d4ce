import type { Context } from 'aws-lambda';
import { RUN_LEASES } from '../use-cases/run-exclusive.ts';
import { sweepEscalations } from '../use-cases/sweep-escalations.ts';
import { lazyHandler } from './lazy-handler.ts';
import { exclusiveInvocation, withPowertools } from './middleware.ts';
import { type AwsRuntime, awsRuntimeWithoutCommands } from './runtime-base.ts';

/** Scheduled escalation sweep: every incident whose timer is due takes its next step; stuck restarts expire. */
export function createEscalationSweepHandler(runtime: AwsRuntime) {
  return withPowertools(runtime, async (_event: unknown, context: Context) => {
    const run = await exclusiveInvocation(runtime, context, RUN_LEASES.escalationSweep, () =>
      sweepEscalations(runtime.ctx),
    );
    if (!run.ran) return { skipped: run.skipped, heldBy: run.heldBy, until: run.until };
    return { advanced: run.value.map((i) => ({ id: i.id, level: i.escalation.level, status: i.status })) };
  });
}

export const handler = lazyHandler(() => createEscalationSweepHandler(awsRuntimeWithoutCommands()));
