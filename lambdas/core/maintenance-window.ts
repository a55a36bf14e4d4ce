import { type DurationBounds, formatDuration } from './duration.ts';
import { UsageError } from './errors.ts';
import { MAINTENANCE_WINDOW_DELAY, MAINTENANCE_WINDOW_LENGTH, type MaintenanceWindow } from './escalation.ts';

export interface MaintenanceWindowSpec {
  /** Service or check names covered; `*` covers the whole fleet. */
  readonly subjects: readonly string[];
  /** How long the window lasts from its start, in ms. */
  readonly lengthMs: number;
  /** How long after `now` the window starts, in ms. @default 0 */
  readonly delayMs?: number;
  readonly reason: string;
  readonly by: string;
}

/**
 * The one way a maintenance window is built, whoever opens it (an operator, a stop, a rolling update): its id is the
 * moment it was opened. Lengths are not checked here: an operator's are (checkWindowTiming), a rollout's are derived.
 */
export function maintenanceWindow(spec: MaintenanceWindowSpec, now: number): MaintenanceWindow {
  const startsAt = now + (spec.delayMs ?? 0);
  return {
    id: `mw-${now.toString(36)}`,
    subjects: [...spec.subjects],
    startsAt,
    endsAt: startsAt + spec.lengthMs,
    reason: spec.reason,
    createdBy: spec.by,
  };
}

/**
 * The window ended at `now` (a window not started yet ends at its start, so it never covers anything). Ending it
 * early must be followed by unmuting the incidents it muted.
 */
export function endedWindow(window: MaintenanceWindow, now: number): MaintenanceWindow {
  return { ...window, endsAt: Math.max(window.startsAt, now) };
}

/**
 * A window an operator asks for lasts MAINTENANCE_WINDOW_LENGTH and starts within MAINTENANCE_WINDOW_DELAY.
 * @throws UsageError naming the bound.
 */
export function checkWindowTiming(spec: Pick<MaintenanceWindowSpec, 'lengthMs' | 'delayMs'>): void {
  const within = (ms: number, bounds: DurationBounds) => Number.isFinite(ms) && ms >= bounds.min && ms <= bounds.max;
  const range = (bounds: DurationBounds) => `between ${formatDuration(bounds.min)} and ${formatDuration(bounds.max)}`;
  // Exact: a rounded duration could look inside the bounds (7d and 1 ms shows as 7d).
  const shown = (ms: number) => `${formatDuration(ms)} (${ms} ms)`;
  if (!within(spec.lengthMs, MAINTENANCE_WINDOW_LENGTH))
    throw new UsageError(`a maintenance window lasts ${range(MAINTENANCE_WINDOW_LENGTH)}, got ${shown(spec.lengthMs)}`);
  const delay = spec.delayMs ?? 0;
  if (!within(delay, MAINTENANCE_WINDOW_DELAY))
    throw new UsageError(
      `a maintenance window starts ${range(MAINTENANCE_WINDOW_DELAY)} from now, got ${shown(delay)}`,
    );
}
