import { describe, expect, it } from 'vitest';
import { applyProbeResult, type HealthPolicy, type TargetState } from '../../../lambdas/core/health-state.ts';
import type { ProbeStatus } from '../../../lambdas/core/probe-evaluation.ts';

const T0 = Date.UTC(2026, 11, 1, 2, 0, 0);
const MINUTE = 60_000;
const policy: HealthPolicy = {
  failuresToDown: 3,
  successesToUp: 2,
  probeIntervalMs: MINUTE,
  flapping: { window: 20 * MINUTE, enterRatio: 0.5, exitRatio: 0.25 },
};

const REASON = { healthy: 'ok', degraded: 'body-status', unhealthy: 'refused' } as const;

/** Feeds a sequence of statuses, one per probe interval, and returns every update. */
function feed(statuses: readonly ProbeStatus[], start?: TargetState, from = T0) {
  let state = start;
  return statuses.map((status, i) => {
    const update = applyProbeResult(
      state,
      { targetId: 'auth:health@127.0.0.1', status, reason: REASON[status], detail: `saw ${status}` },
      policy,
      from + i * MINUTE,
    );
    state = update.state;
    return update;
  });
}

describe('target health state', () => {
  it('goes down only after N consecutive failures when a healthy target starts failing', () => {
    // Prepare / Act
    const updates = feed(['healthy', 'unhealthy', 'unhealthy', 'unhealthy']);
    // Assess
    expect(updates.map((u) => u.state.health)).toEqual(['up', 'up', 'up', 'down']);
    expect(updates[3]?.transition).toEqual({ from: 'up', to: 'down' });
    expect(updates[3]?.state.failingSince).toBe(T0 + MINUTE);
  });

  it('resets the failure streak when one success comes in between', () => {
    const updates = feed(['healthy', 'unhealthy', 'unhealthy', 'healthy', 'unhealthy', 'unhealthy']);
    expect(updates.every((u) => u.state.health === 'up')).toBe(true);
  });

  it('comes back up only after M consecutive successes when a down target recovers', () => {
    const down = feed(['healthy', 'unhealthy', 'unhealthy', 'unhealthy']).at(-1)?.state;
    const updates = feed(['healthy', 'unhealthy', 'healthy', 'healthy'], down, T0 + 10 * MINUTE);
    expect(updates.map((u) => u.state.health)).toEqual(['down', 'down', 'down', 'up']);
    expect(updates[3]?.state.failingSince).toBeUndefined();
    expect(updates[3]?.state.lastProblem).toBeUndefined();
  });

  it('becomes degraded, not down, when the failures are degraded answers', () => {
    const updates = feed(['healthy', 'degraded', 'degraded', 'degraded']);
    expect(updates.map((u) => u.state.health)).toEqual(['up', 'up', 'up', 'degraded']);
  });

  it('moves from degraded to down when the answers turn into failures', () => {
    const updates = feed(['healthy', 'degraded', 'degraded', 'degraded', 'unhealthy', 'unhealthy', 'unhealthy']);
    expect(updates.map((u) => u.state.health).at(-1)).toBe('down');
    expect(updates[6]?.transition).toEqual({ from: 'degraded', to: 'down' });
  });

  it('stays unknown until N failures when the first results are failures', () => {
    const updates = feed(['unhealthy', 'unhealthy', 'unhealthy']);
    expect(updates.map((u) => u.state.health)).toEqual(['unknown', 'unknown', 'down']);
  });

  it('needs no state write when a steady healthy target is probed again', () => {
    const updates = feed(['healthy', 'healthy', 'healthy', 'healthy', 'healthy']);
    // The first result creates the state and the streak saturates at max(N, M) = 3.
    expect(updates.map((u) => u.changed)).toEqual([true, true, true, false, false]);
  });

  it('starts flapping, without ever going down, when a service alternates 200/503 faster than N', () => {
    const alternating: ProbeStatus[] = Array.from({ length: 14 }, (_, i) => (i % 2 === 0 ? 'healthy' : 'unhealthy'));
    const updates = feed(alternating);
    const started = updates.findIndex((u) => u.flapping === 'started');
    // 20 results fit the window; the ratio reaches 0.5 after 10 changes (result index 10).
    expect(started).toBe(10);
    expect(updates.every((u) => u.state.health !== 'down')).toBe(true);
    expect(updates.filter((u) => u.flapping === 'started')).toHaveLength(1);
  });

  it('stops flapping only below the exit ratio when the service settles', () => {
    const alternating: ProbeStatus[] = Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? 'healthy' : 'unhealthy'));
    const flapping = feed(alternating).at(-1)?.state;
    expect(flapping?.flapping).toBe(true);
    const settled = feed(Array<ProbeStatus>(20).fill('healthy'), flapping, T0 + 12 * MINUTE);
    const stopped = settled.findIndex((u) => u.flapping === 'stopped');
    // 11 changes in the window; it takes until fewer than 0.25 * 19 = 4.75 of them remain inside the 20 minutes.
    expect(stopped).toBeGreaterThan(0);
    expect(settled[stopped]?.state.changes.length).toBeLessThanOrEqual(4);
    expect(settled[stopped - 1]?.state.flapping).toBe(true);
    expect(settled.at(-1)?.state.flapping).toBe(false);
  });

  it('does not call two changes flapping when the window is short of results', () => {
    const updates = feed(['healthy', 'unhealthy', 'healthy']);
    expect(updates.some((u) => u.state.flapping)).toBe(false);
  });

  it('keeps the first failure time and the problem while a recovering target relapses', () => {
    const updates = feed([
      'healthy',
      'unhealthy',
      'unhealthy',
      'unhealthy',
      'healthy',
      'unhealthy',
      'healthy',
      'healthy',
    ]);
    // Down at index 3; one healthy answer (index 4) is not a recovery; relapse at 5; up at 7.
    expect(updates.map((u) => u.state.health)).toEqual(['up', 'up', 'up', 'down', 'down', 'down', 'down', 'up']);
    expect(updates[4]?.state).toMatchObject({
      failingSince: T0 + MINUTE,
      lastProblem: 'saw unhealthy',
      problemReason: 'refused',
    });
    expect(updates[6]?.state.failingSince).toBe(T0 + MINUTE);
    expect(updates[7]?.state.failingSince).toBeUndefined();
    expect(updates[7]?.state.problemReason).toBeUndefined();
  });

  it('writes nothing while a slow target stays slow at changing latencies', () => {
    let state: TargetState | undefined;
    const changed = [612, 598, 640, 605, 633, 617].map((ms, i) => {
      const update = applyProbeResult(
        state,
        { targetId: 'gs:health@h', status: 'degraded', reason: 'latency', detail: `answered in ${ms} ms` },
        policy,
        T0 + i * MINUTE,
      );
      state = update.state;
      return update.changed;
    });
    // Streaks fill up over the first three results; after that, only the wording changes.
    expect(changed).toEqual([true, true, true, false, false, false]);
  });
});
