import { applyProbeResult, type TargetHealth, type TargetState } from '../core/health-state.ts';
import type { ProbeResult } from '../core/probe-evaluation.ts';
import type { ControlPlaneContext } from './context.ts';

export interface HealthChange {
  readonly targetId: string;
  readonly from: TargetHealth;
  readonly to: TargetHealth;
  readonly flapping?: 'started' | 'stopped';
  readonly at: number;
}

export interface RecordedHealth {
  readonly states: Map<string, TargetState>;
  readonly changes: readonly HealthChange[];
  readonly writes: number;
}

/**
 * Folds one cycle's probe results into the stored target states: one batch read, and a write only for the states
 * that changed (a steady fleet costs no write at all).
 */
export async function recordHealth(ctx: ControlPlaneContext, results: readonly ProbeResult[]): Promise<RecordedHealth> {
  const now = ctx.clock.now();
  const previous = await ctx.states.loadTargetStates(results.map((r) => r.targetId));
  const states = new Map<string, TargetState>();
  const changed: TargetState[] = [];
  const changes: HealthChange[] = [];
  for (const result of results) {
    const update = applyProbeResult(previous.get(result.targetId), result, ctx.health, now);
    states.set(result.targetId, update.state);
    if (update.changed) changed.push(update.state);
    if (update.transition || update.flapping) {
      changes.push({
        targetId: result.targetId,
        from: update.transition?.from ?? update.state.health,
        to: update.transition?.to ?? update.state.health,
        ...(update.flapping ? { flapping: update.flapping } : {}),
        at: now,
      });
    }
  }
  if (changed.length > 0) await ctx.states.saveTargetStates(changed);
  for (const s of changed) states.set(s.targetId, { ...s, version: s.version + 1 });
  return { states, changes, writes: changed.length };
}
