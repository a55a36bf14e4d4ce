import { describe, expect, it } from 'vitest';
import {
  DAY_MS,
  formatDuration,
  formatInstant,
  MAX_DURATION_MS,
  parseBoundedDuration,
  parseDuration,
} from '../../../lambdas/core/duration.ts';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['1.5m', 90_000],
    ['2h', 7_200_000],
    [' 1d ', 86_400_000],
  ])('reads %s as %d ms', (text, ms) => {
    // Act & Assess
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '5', 'm', '-5m', '1e3s', '5 m', '5min', 'Infinitys'])('refuses %j, which is not a duration', (text) => {
    // Act & Assess
    expect(parseDuration(text)).toBeUndefined();
  });

  it.each(['99999999999999999999d', `${'9'.repeat(400)}ms`, '3651d', '100000h'])(
    'refuses %s, longer than any duration the control plane can use',
    (text) => {
      // Act & Assess
      expect(parseDuration(text)).toBeUndefined();
    },
  );

  it('accepts the longest duration, so that now plus it is still a date', () => {
    // Act
    const ms = parseDuration('3650d');
    // Assess
    expect(ms).toBe(MAX_DURATION_MS);
    expect(new Date(Date.UTC(2026, 11, 3) + (ms ?? 0)).toISOString()).toBe('2036-11-30T00:00:00.000Z');
  });
});

describe('parseBoundedDuration', () => {
  const bounds = { min: 60_000, max: 7 * DAY_MS };

  it('returns the milliseconds of a duration within the bounds, both ends included', () => {
    // Act & Assess
    expect(parseBoundedDuration('1m', bounds)).toEqual({ ok: true, ms: 60_000 });
    expect(parseBoundedDuration('7d', bounds)).toEqual({ ok: true, ms: 7 * DAY_MS });
  });

  it.each(['59s', '0ms', '8d', '99999999999999999999d'])('says the range when %s is outside it', (text) => {
    // Act
    const result = parseBoundedDuration(text, bounds);
    // Assess
    expect(result).toEqual({ ok: false, message: `must be between 1m and 7d, got "${text}"` });
  });

  it('says how to write a duration when the text is not one', () => {
    // Act
    const result = parseBoundedDuration('soon', bounds);
    // Assess
    expect(result).toEqual({
      ok: false,
      message: '"soon" is not a duration: write one between 1m and 7d, such as 30s, 5m, 1h or 1d',
    });
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [1_500, '1.5s'],
    [90_000, '1m 30s'],
    [7 * DAY_MS, '7d'],
    [Number.POSITIVE_INFINITY, '-'],
  ])('writes %d ms as %s', (ms, text) => {
    // Act & Assess
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('formatInstant', () => {
  it('writes an instant as ISO 8601', () => {
    // Act & Assess
    expect(formatInstant(Date.UTC(2026, 11, 3, 9, 0))).toBe('2026-12-03T09:00:00.000Z');
  });

  it.each([
    [8.64e27, 'never (end beyond year 275760)'],
    [Number.POSITIVE_INFINITY, 'never (end beyond year 275760)'],
    [-8.64e27, 'before year -271821'],
    [Number.NaN, 'unknown'],
  ])('writes %d, which is no date, without throwing', (ms, text) => {
    // Act & Assess
    expect(formatInstant(ms)).toBe(text);
  });
});
