import type { ProbeReason, ProbeResult, ProbeStatus } from './probe-evaluation.ts';

/**
 * Per-target health, derived from consecutive probe results:
 * - a target goes to a worse health only after `failuresToDown` consecutive results at least that bad;
 * - it comes back to a better one only after `successesToUp` consecutive results at least that good;
 * - flapping is judged on raw result changes over a time window, with hysteresis (enter/exit ratios), so that a
 *   service alternating 200/503 faster than the thresholds can follow still raises one incident.
 * Streak counters stop counting once they reach the thresholds, so a steady target produces no state change and
 * therefore no state write.
 */
export type TargetHealth = 'unknown' | 'up' | 'degraded' | 'down';

export interface TargetState {
  readonly targetId: string;
  readonly health: TargetHealth;
  /** When `health` last changed. */
  readonly since: number;
  /**
   * Start of the current trouble (the failure start, for MTTD and MTTR): set by the first non-healthy result and
   * kept until the target is up again on a healthy result, so a recovery that relapses keeps its first failure.
   */
  readonly failingSince?: number;
  readonly streaks: Streaks;
  readonly lastStatus?: ProbeStatus;
  readonly lastReason?: ProbeReason;
  /** Detail and reason of the last non-healthy result, kept until the target is up again (what the trouble is). */
  readonly lastProblem?: string;
  readonly problemReason?: ProbeReason;
  /** Times of raw status changes inside the flapping window. */
  readonly changes: readonly number[];
  readonly flapping: boolean;
  /** Optimistic-concurrency version: 0 for a state never stored. */
  readonly version: number;
}

interface Streaks {
  readonly unhealthy: number;
  readonly notHealthy: number;
  readonly healthy: number;
  readonly notUnhealthy: number;
}

export interface HealthPolicy {
  readonly failuresToDown: number;
  readonly successesToUp: number;
  /** The probe interval: with the window it gives the number of results a window holds. */
  readonly probeIntervalMs: number;
  readonly flapping: { readonly window: number; readonly enterRatio: number; readonly exitRatio: number };
}

export interface HealthUpdate {
  readonly state: TargetState;
  /** True when anything stored changed: only then does the state need a write. */
  readonly changed: boolean;
  readonly transition?: { readonly from: TargetHealth; readonly to: TargetHealth };
  readonly flapping?: 'started' | 'stopped';
}

const MIN_FLAP_CHANGES = 3;

export function initialTargetState(targetId: string, now: number): TargetState {
  return {
    targetId,
    health: 'unknown',
    since: now,
    streaks: { unhealthy: 0, notHealthy: 0, healthy: 0, notUnhealthy: 0 },
    changes: [],
    flapping: false,
    version: 0,
  };
}

export function applyProbeResult(
  previous: TargetState | undefined,
  result: Pick<ProbeResult, 'targetId' | 'status' | 'reason' | 'detail'>,
  policy: HealthPolicy,
  now: number,
): HealthUpdate {
  const prev = previous ?? initialTargetState(result.targetId, now);
  const cap = Math.max(policy.failuresToDown, policy.successesToUp);
  const bump = (n: number, hit: boolean) => (hit ? Math.min(n + 1, cap) : 0);
  const s = result.status;
  const streaks: Streaks = {
    unhealthy: bump(prev.streaks.unhealthy, s === 'unhealthy'),
    notHealthy: bump(prev.streaks.notHealthy, s !== 'healthy'),
    healthy: bump(prev.streaks.healthy, s === 'healthy'),
    notUnhealthy: bump(prev.streaks.notUnhealthy, s !== 'unhealthy'),
  };

  const health = nextHealth(prev.health, streaks, policy);

  const windowStart = now - policy.flapping.window;
  const statusChanged = prev.lastStatus !== undefined && prev.lastStatus !== s;
  const keptChanges = prev.changes.filter((t) => t > windowStart);
  const changes = statusChanged ? [...keptChanges, now] : keptChanges;
  const expectedResults = Math.max(2, Math.floor(policy.flapping.window / policy.probeIntervalMs));
  const ratio = changes.length / (expectedResults - 1);
  const flapping = prev.flapping
    ? ratio > policy.flapping.exitRatio
    : changes.length >= MIN_FLAP_CHANGES && ratio >= policy.flapping.enterRatio;

  const clear = s === 'healthy' && health === 'up';
  const failingSince = clear ? undefined : (prev.failingSince ?? (s === 'healthy' ? undefined : now));
  const lastProblem = clear ? undefined : s === 'healthy' ? prev.lastProblem : result.detail;
  const problemReason = clear ? undefined : s === 'healthy' ? prev.problemReason : result.reason;

  const state: TargetState = {
    targetId: prev.targetId,
    health,
    since: health === prev.health ? prev.since : now,
    ...(failingSince === undefined ? {} : { failingSince }),
    streaks,
    lastStatus: s,
    lastReason: result.reason,
    ...(lastProblem === undefined ? {} : { lastProblem }),
    ...(problemReason === undefined ? {} : { problemReason }),
    // Expired change times are only dropped when something else changes: pruning alone is not worth a write.
    changes: statusChanged || flapping !== prev.flapping ? changes : prev.changes,
    flapping,
    version: prev.version,
  };
  const changed =
    previous === undefined ||
    health !== prev.health ||
    flapping !== prev.flapping ||
    statusChanged ||
    result.reason !== prev.lastReason ||
    // A new wording of the same problem ("answered in 612 ms" after "in 598 ms") is not worth a write on its own.
    (lastProblem === undefined) !== (prev.lastProblem === undefined) ||
    problemReason !== prev.problemReason ||
    failingSince !== prev.failingSince ||
    !sameStreaks(streaks, prev.streaks);
  return {
    state,
    changed,
    ...(health === prev.health ? {} : { transition: { from: prev.health, to: health } }),
    ...(flapping === prev.flapping ? {} : { flapping: flapping ? ('started' as const) : ('stopped' as const) }),
  };
}

function nextHealth(current: TargetHealth, k: Streaks, policy: HealthPolicy): TargetHealth {
  const n = policy.failuresToDown;
  const m = policy.successesToUp;
  switch (current) {
    case 'unknown':
      // A first healthy answer is believed at once; trouble still needs N results, as everywhere.
      if (k.healthy >= 1) return 'up';
      if (k.unhealthy >= n) return 'down';
      if (k.notHealthy >= n) return 'degraded';
      return 'unknown';
    case 'up':
      if (k.unhealthy >= n) return 'down';
      if (k.notHealthy >= n) return 'degraded';
      return 'up';
    case 'degraded':
      if (k.unhealthy >= n) return 'down';
      if (k.healthy >= m) return 'up';
      return 'degraded';
    case 'down':
      if (k.healthy >= m) return 'up';
      if (k.notUnhealthy >= m) return 'degraded';
      return 'down';
  }
}

function sameStreaks(a: Streaks, b: Streaks): boolean {
  return (
    a.unhealthy === b.unhealthy &&
    a.notHealthy === b.notHealthy &&
    a.healthy === b.healthy &&
    a.notUnhealthy === b.notUnhealthy
  );
}

/** A target is in trouble when it is not up, or flapping. */
export function isTroubled(state: TargetState | undefined): boolean {
  return state !== undefined && (state.health === 'down' || state.health === 'degraded' || state.flapping);
}
