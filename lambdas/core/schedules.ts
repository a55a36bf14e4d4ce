import { Cron } from 'croner';
import { ControlPlaneError, errorMessage } from './errors.ts';

/**
 * Schedules are declared once in the config and turned into both an EventBridge Scheduler expression (AWS) and a
 * croner pattern (local daemon) here, and only here. A test evaluates both forms and proves they fire at the same
 * times.
 */
export const SCHEDULE_NAMES = [
  'probe',
  'escalationSweep',
  'backup',
  'backupMonitor',
  'cleanup',
  'drill',
  'baseBackup',
  'escalationTest',
  'canary',
  'configArchive',
  'pitrDrill',
] as const;
export type ScheduleName = (typeof SCHEDULE_NAMES)[number];

/**
 * The periodic base backup of WAL archiving (pg_basebackup): weekly, Sundays 01:00 in the config's zone, before the
 * daily dump. Run only where `backups.archiving` is configured.
 */
export const DEFAULT_BASE_BACKUP_CRON = '0 1 * * 0';

/** A schedule as the config declares it (the config schema validates it): a period in ms, or a 5-field cron expression. */
export type Schedule = { readonly every: number } | { readonly cron: string };

/** The schedules of a fleet config (`FleetConfig['schedules']` has this shape). */
export type DeclaredSchedules = { readonly [name in ScheduleName]?: Schedule | undefined };

export interface CronerSchedule {
  /** A 6-field croner pattern (seconds first) in `timezone`. */
  readonly pattern: string;
  /** Minimum seconds between runs (for `every:` schedules). */
  readonly interval?: number;
  readonly timezone: string;
}

export interface SchedulerSchedule {
  /** `rate(...)` or `cron(...)` as EventBridge Scheduler takes it. */
  readonly expression: string;
  readonly timezone: string;
}

export function declaredSchedules(config: { readonly schedules: DeclaredSchedules }): [ScheduleName, Schedule][] {
  return SCHEDULE_NAMES.flatMap((name) => {
    const s = config.schedules[name];
    return s === undefined ? [] : [[name, s] as [ScheduleName, Schedule]];
  });
}

export function toCroner(schedule: Schedule, timezone: string): CronerSchedule {
  if ('every' in schedule) {
    const seconds = Math.round(schedule.every / 1_000);
    // A step pattern keeps an exact cadence; croner's `interval` option can slip a whole tick when its timer wakes a
    // millisecond early, so it is only the fallback for periods no step pattern expresses.
    if (seconds < 60 && 60 % seconds === 0) return { pattern: `*/${seconds} * * * * *`, timezone };
    if (seconds % 60 === 0) {
      const minutes = seconds / 60;
      if (minutes < 60 && 60 % minutes === 0) return { pattern: `0 */${minutes} * * * *`, timezone };
      if (minutes % 60 === 0 && 24 % (minutes / 60) === 0) return { pattern: `0 0 */${minutes / 60} * * *`, timezone };
    }
    return { pattern: '* * * * * *', interval: seconds, timezone };
  }
  return { pattern: `0 ${schedule.cron}`, timezone };
}

const RATE_UNITS = [
  [86_400_000, 'day'],
  [3_600_000, 'hour'],
  [60_000, 'minute'],
] as const;

export function toScheduler(schedule: Schedule, timezone: string): SchedulerSchedule {
  if ('every' in schedule) {
    for (const [size, unit] of RATE_UNITS) {
      if (schedule.every % size === 0) {
        const n = schedule.every / size;
        return { expression: `rate(${n} ${unit}${n === 1 ? '' : 's'})`, timezone };
      }
    }
    throw new ControlPlaneError(
      'SCHEDULE_UNSUPPORTED',
      `every ${schedule.every / 1_000}s cannot run on EventBridge Scheduler: rates are whole minutes, hours or days`,
    );
  }
  const fields = schedule.cron.trim().split(/\s+/);
  const [minute, hour, dom, month, dow] = fields;
  if (minute === undefined || hour === undefined || dom === undefined || month === undefined || dow === undefined) {
    throw new ControlPlaneError('SCHEDULE_INVALID', `"${schedule.cron}" is not a 5-field cron expression`);
  }
  // EventBridge wants exactly one of day-of-month / day-of-week as "?", and counts weekdays 1-7 from Sunday.
  let ebDom = dom;
  let ebDow = dow;
  if (dow === '*') ebDow = '?';
  else if (dom === '*') {
    ebDom = '?';
    ebDow = shiftWeekdays(dow);
  } else {
    throw new ControlPlaneError(
      'SCHEDULE_UNSUPPORTED',
      `"${schedule.cron}" restricts both day of month and day of week, which EventBridge cannot express`,
    );
  }
  return { expression: `cron(${minute} ${hour} ${ebDom} ${month} ${ebDow} *)`, timezone };
}

/** Cron weekdays 0-7 (0 and 7 Sunday) to EventBridge 1-7 (1 Sunday); names pass through. */
function shiftWeekdays(field: string): string {
  return field.replace(/\d+/g, (digits, offset: number, whole: string) => {
    const n = Number(digits);
    // A step (the number after "/") is a count, not a weekday.
    if (whole[offset - 1] === '/') return digits;
    if (n > 7) throw new ControlPlaneError('SCHEDULE_INVALID', `weekday ${n} is out of range 0-7`);
    if (n === 7 && whole[offset - 1] === '-')
      throw new ControlPlaneError('SCHEDULE_UNSUPPORTED', `weekday range ending in 7 (Sunday): write it as ...-6,0`);
    return String((n % 7) + 1);
  });
}

/**
 * Why a cron schedule cannot run, if it cannot: an invalid pattern, or one EventBridge cannot express. Used when
 * the config is parsed, so a bad schedule fails there and not at deploy time.
 */
export function scheduleProblem(schedule: Schedule, timezone: string): string | undefined {
  if ('every' in schedule) return undefined;
  try {
    const local = toCroner(schedule, timezone);
    new Cron(local.pattern, { timezone, paused: true });
    toScheduler(schedule, timezone);
    return undefined;
  } catch (error) {
    return errorMessage(error);
  }
}

/** How far apart a schedule's runs are at most: its period, or the longest gap between cron runs over a year. */
export function longestInterval(schedule: Schedule, timeZone: string, from: number): number {
  if ('every' in schedule) return schedule.every;
  // croner's time-zone arithmetic costs ~1.5 ms a run; UTC needs none (a fixed offset).
  const zone = timeZone === 'UTC' || timeZone === 'Etc/UTC' ? { utcOffset: 0 } : { timezone: timeZone };
  const { pattern } = toCroner(schedule, timeZone);
  const cron = new Cron(pattern, { ...zone, paused: true });
  // A year covers both clock changes; 1,000 runs bound the work for frequent schedules (whose gaps repeat daily).
  const until = from + 366 * 86_400_000;
  let previous = cron.nextRun(new Date(from));
  let longest = 0;
  for (let i = 0; previous && previous.getTime() < until && i < 1_000; i++) {
    const next = cron.nextRun(previous);
    if (!next) break;
    longest = Math.max(longest, next.getTime() - previous.getTime());
    previous = next;
  }
  return longest;
}
