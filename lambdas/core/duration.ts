/**
 * Durations in the config are written the way operators say them: `500ms`, `30s`, `5m`, `1h`, `1d`.
 * Internally every duration is milliseconds.
 */
export const SECOND_MS = 1_000;
export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

const UNIT_MS = { ms: 1, s: SECOND_MS, m: MINUTE_MS, h: HOUR_MS, d: DAY_MS } as const;

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/**
 * No duration the control plane uses comes near ten years; anything longer is a typo. The cap also keeps `now +
 * duration` a valid Date (which ends in the year 275760), so a window or deadline computed from it can be shown.
 */
export const MAX_DURATION_MS = 3_650 * DAY_MS;

/** Milliseconds of `text`, or undefined when it is not a duration or is longer than MAX_DURATION_MS. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  const [, amount, unit] = match;
  if (amount === undefined || unit === undefined) return undefined;
  const ms = Math.round(Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS]);
  return Number.isFinite(ms) && ms <= MAX_DURATION_MS ? ms : undefined;
}

export interface DurationBounds {
  /** Shortest accepted duration in ms, included. */
  readonly min: number;
  /** Longest accepted duration in ms, included; at most MAX_DURATION_MS. */
  readonly max: number;
}

export type BoundedDurationResult =
  | { readonly ok: true; readonly ms: number }
  | { readonly ok: false; readonly message: string };

/**
 * A duration within `[min, max]`. The message names the range and quotes the text, for the caller to prefix with
 * the field or option it came from.
 */
export function parseBoundedDuration(text: string, bounds: DurationBounds): BoundedDurationResult {
  const range = `between ${formatDuration(bounds.min)} and ${formatDuration(bounds.max)}`;
  const shown = JSON.stringify(text.length > 40 ? `${text.slice(0, 37)}...` : text);
  if (!DURATION.test(text.trim()))
    return { ok: false, message: `${shown} is not a duration: write one ${range}, such as 30s, 5m, 1h or 1d` };
  const ms = parseDuration(text);
  if (ms === undefined || ms < bounds.min || ms > bounds.max)
    return { ok: false, message: `must be ${range}, got ${shown}` };
  return { ok: true, ms };
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  const sign = ms < 0 ? '-' : '';
  let rest = Math.abs(Math.round(ms));
  if (rest < 1_000) return `${sign}${rest}ms`;
  if (rest < 60_000) return `${sign}${(rest / 1_000).toFixed(rest % 1_000 === 0 ? 0 : 1)}s`;
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', UNIT_MS.d],
    ['h', UNIT_MS.h],
    ['m', UNIT_MS.m],
    ['s', UNIT_MS.s],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return sign + parts.slice(0, 2).join(' ');
}

/** Date's range: ±1e8 days around the epoch. */
const MAX_INSTANT_MS = 8.64e15;

/**
 * An instant (epoch ms) as ISO 8601. Never throws: state written by an older version may hold an end no Date can
 * represent (a maintenance window "until" 8.6e27), and it must still be shown so that it can be ended.
 */
export function formatInstant(ms: number): string {
  if (Number.isNaN(ms)) return 'unknown';
  if (ms > MAX_INSTANT_MS) return 'never (end beyond year 275760)';
  if (ms < -MAX_INSTANT_MS) return 'before year -271821';
  return new Date(ms).toISOString();
}
