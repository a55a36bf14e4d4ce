import { sweepEscalations } from '../use-cases/sweep-escalations.ts';
import { type AwsRuntime, awsRuntime } from './aws-runtime.ts';
import { lazyHandler } from './lazy-handler.ts';
import { withPowertools } from './middleware.ts';

/** Scheduled escalation sweep: every incident whose timer is due takes its next step; stuck restarts expire. */
export function createEscalationSweepHandler(runtime: AwsRuntime) {
  return withPowertools(runtime, async () => {
    const advanced = await sweepEscalations(runtime.ctx);
    return { advanced: advanced.map((i) => ({ id: i.id, level: i.escalation.level, status: i.status })) };
  });
}

export const handler = lazyHandler(() => createEscalationSweepHandler(awsRuntime()));
