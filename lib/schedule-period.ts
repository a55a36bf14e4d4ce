import { Cron } from 'croner';
import type { Schedule } from '../lambdas/core/schedules.ts';
import { toCroner } from '../lambdas/core/schedules.ts';

/**
 * The shortest time between two runs of a schedule, in seconds: `every` is its own period; a cron schedule's is the
 * smallest gap among its next runs (a year's worth is plenty to find it for 5-field cron). Used to size what must fit
 * between two runs: event ages, Lambda timeouts, the heartbeat alarm's period.
 */
export function schedulePeriodSeconds(schedule: Schedule, timeZone: string): number {
  if ('every' in schedule) return Math.round(schedule.every / 1_000);
  const local = toCroner(schedule, timeZone);
  const runs = new Cron(local.pattern, { timezone: timeZone, paused: true }).nextRuns(
    400,
    new Date(Date.UTC(2025, 0, 1)),
  );
  let shortest = Number.POSITIVE_INFINITY;
  for (let i = 1; i < runs.length; i++) {
    const a = runs[i - 1];
    const b = runs[i];
    if (a && b) shortest = Math.min(shortest, (b.getTime() - a.getTime()) / 1_000);
  }
  if (!Number.isFinite(shortest)) throw new Error(`cron "${schedule.cron}" does not run at least twice a year`);
  return shortest;
}

export function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
