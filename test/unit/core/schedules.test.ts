import { readFileSync } from 'node:fs';
import { Cron } from 'croner';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseFleetConfig } from '../../../lambdas/core/config.ts';
import { DAY_MS, HOUR_MS } from '../../../lambdas/core/duration.ts';
import type { Schedule } from '../../../lambdas/core/schedules.ts';
import { declaredSchedules, longestInterval, toCroner, toScheduler } from '../../../lambdas/core/schedules.ts';
import { loadShippedConfig } from '../../support/harness.ts';

/**
 * An independent reading of EventBridge cron expressions (minute hour day-of-month month day-of-week year, with
 * weekdays 1-7 from Sunday and "?"), brute-forced minute by minute: what AWS would fire, to hold croner against.
 */
function eventBridgeRuns(expression: string, timezone: string, from: Date, count: number): Date[] {
  const match = /^cron\((.+)\)$/.exec(expression);
  if (!match?.[1]) throw new Error(`not a cron expression: ${expression}`);
  const [minute, hour, dom, month, dow, year] = match[1].split(' ');
  if (!minute || !hour || !dom || !month || !dow || !year) throw new Error('need 6 fields');
  const days = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
  const fits = (field: string, value: number, names: string[] = [], base = 0) =>
    field === '*' ||
    field === '?' ||
    field.split(',').some((part) => {
      const [range = '', step = '1'] = part.split('/');
      const num = (t: string) => (names.includes(t) ? names.indexOf(t) + base : Number(t));
      const [lo, hi] =
        range === '*'
          ? [-Infinity, Infinity]
          : range.includes('-')
            ? range.split('-').map(num)
            : [num(range), step === '1' ? num(range) : Infinity];
      if (lo === undefined || hi === undefined) return false;
      const start = lo === -Infinity ? 0 : lo;
      return value >= start && value <= hi && (value - start) % Number(step) === 0;
    });
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: timezone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    weekday: 'short',
  });
  const runs: Date[] = [];
  // With a fixed minute (and whole-hour zone offsets, as in the zones tested) only one minute an hour can fire.
  const fixedMinute = /^\d+$/.test(minute) ? Number(minute) : undefined;
  const step = fixedMinute === undefined ? 60_000 : 3_600_000;
  let first = Math.floor(from.getTime() / 60_000) * 60_000 + 60_000;
  if (fixedMinute !== undefined) while (new Date(first).getUTCMinutes() !== fixedMinute) first += 60_000;
  const horizon = from.getTime() + 400 * 86_400_000;
  for (let t = first; runs.length < count && t < horizon; t += step) {
    const p = Object.fromEntries(parts.formatToParts(new Date(t)).map((x) => [x.type, x.value]));
    const weekday = days.indexOf(String(p.weekday).toUpperCase()) + 1;
    if (
      fits(minute, Number(p.minute)) &&
      fits(hour, Number(p.hour)) &&
      fits(dom, Number(p.day)) &&
      fits(month, Number(p.month)) &&
      fits(dow, weekday, days, 1)
    )
      runs.push(new Date(t));
  }
  return runs;
}

const FROM = new Date(Date.UTC(2026, 11, 1, 0, 30));

describe('schedules: one declaration, two runtimes', () => {
  it('derives the runbook schedules for both runtimes from the shipped config', () => {
    const config = loadShippedConfig();
    const derived = declaredSchedules(config).map(([name, s]) => [
      name,
      toScheduler(s, 'UTC').expression,
      toCroner(s, 'UTC'),
    ]);
    expect(derived).toEqual([
      ['probe', 'rate(1 minute)', { pattern: '0 */1 * * * *', timezone: 'UTC' }],
      ['escalationSweep', 'rate(1 minute)', { pattern: '0 */1 * * * *', timezone: 'UTC' }],
      ['backup', 'cron(0 2 * * ? *)', { pattern: '0 0 2 * * *', timezone: 'UTC' }],
      ['backupMonitor', 'cron(0 * * * ? *)', { pattern: '0 0 * * * *', timezone: 'UTC' }],
      ['cleanup', 'cron(0 3 ? * 1 *)', { pattern: '0 0 3 * * 0', timezone: 'UTC' }],
      ['drill', 'cron(0 4 ? * 2 *)', { pattern: '0 0 4 * * 1', timezone: 'UTC' }],
      ['baseBackup', 'cron(0 1 ? * 1 *)', { pattern: '0 0 1 * * 0', timezone: 'UTC' }],
      ['configArchive', 'cron(30 2 * * ? *)', { pattern: '0 30 2 * * *', timezone: 'UTC' }],
    ]);
  });

  it('declares the base backup weekly, Sundays 01:00, unless the config schedules it otherwise', () => {
    // Prepare
    const daily = parseFleetConfig(
      JSON.stringify({ ...rawShipped(), schedules: { ...rawShipped().schedules, baseBackup: { cron: '30 0 * * *' } } }),
    );
    const tooOften = parseFleetConfig(
      JSON.stringify({ ...rawShipped(), schedules: { ...rawShipped().schedules, baseBackup: { every: '30s' } } }),
    );
    // Assess
    expect(loadShippedConfig().schedules.baseBackup).toEqual({ cron: '0 1 * * 0' });
    if (!daily.ok) throw new Error('the daily config must parse');
    expect(daily.config.schedules.baseBackup).toEqual({ cron: '30 0 * * *' });
    expect(tooOften.ok ? [] : tooOften.problems.map((p) => p.path)).toEqual(['schedules.baseBackup.every']);
  });

  const crons = ['0 2 * * *', '0 * * * *', '0 3 * * 0', '0 4 * * 1', '*/15 9-17 * * 1-5', '30 1 1 * *', '5 0 * * 6,0'];
  for (const cron of crons) {
    for (const timezone of ['UTC', 'Europe/Berlin', 'America/New_York']) {
      it(`fires at the same 12 times in AWS and locally when the schedule is "${cron}" in ${timezone}`, () => {
        const schedule: Schedule = { cron };
        const local = toCroner(schedule, timezone);
        const job = new Cron(local.pattern, { timezone, paused: true });
        const expected = eventBridgeRuns(toScheduler(schedule, timezone).expression, timezone, FROM, 12);
        expect(job.nextRuns(12, FROM).map((d) => d.toISOString())).toEqual(expected.map((d) => d.toISOString()));
      });
    }
  }

  it('keeps the same period for every-schedules in both runtimes', () => {
    for (const [every, rate] of [
      [60_000, 'rate(1 minute)'],
      [300_000, 'rate(5 minutes)'],
      [420_000, 'rate(7 minutes)'],
      [7_200_000, 'rate(2 hours)'],
      [86_400_000, 'rate(1 day)'],
    ] as const) {
      const local = toCroner({ every }, 'UTC');
      const job = new Cron(local.pattern, {
        timezone: 'UTC',
        paused: true,
        ...(local.interval ? { interval: local.interval } : {}),
      });
      const [a, b] = job.nextRuns(2, FROM);
      expect(toScheduler({ every }, 'UTC').expression).toBe(rate);
      expect((b?.getTime() ?? 0) - (a?.getTime() ?? 0)).toBe(every);
    }
  });

  it('keeps an exact local cadence with a step pattern when the period divides the minute, hour or day', () => {
    expect(toCroner({ every: 2_000 }, 'UTC')).toEqual({ pattern: '*/2 * * * * *', timezone: 'UTC' });
    expect(toCroner({ every: 15 * 60_000 }, 'UTC')).toEqual({ pattern: '0 */15 * * * *', timezone: 'UTC' });
    expect(toCroner({ every: 7_000 }, 'UTC')).toEqual({ pattern: '* * * * * *', interval: 7, timezone: 'UTC' });
  });

  it('refuses a seconds rate for AWS with a message that says why', () => {
    expect(() => toScheduler({ every: 5_000 }, 'UTC')).toThrow(/whole minutes/);
  });

  it('rejects at config time a cron that is invalid or that EventBridge cannot express', () => {
    const text = (cron: string) =>
      JSON.stringify({ ...rawShipped(), schedules: { ...rawShipped().schedules, backup: { cron } } });
    const invalid = parseFleetConfig(text('61 2 * * *'));
    const both = parseFleetConfig(text('0 2 1 * 1'));
    expect(invalid.ok ? [] : invalid.problems.map((p) => p.path)).toEqual(['schedules.backup.cron']);
    expect(both.ok ? '' : both.problems[0]?.message).toMatch(/both day of month and day of week/);
  });
});

describe('the scheduled escalation test', () => {
  const withTest = (escalationTest: unknown) =>
    parseFleetConfig(JSON.stringify({ ...rawShipped(), schedules: { ...rawShipped().schedules, escalationTest } }));

  it('is off unless configured, and weekly on Mondays at 10:00 in the config zone, waiting 10m, when given as {}', () => {
    // Act
    const off = parseFleetConfig(JSON.stringify(rawShipped()));
    const weekly = withTest({});
    // Assess
    if (!off.ok || !weekly.ok) throw new Error('the configs must parse');
    expect(off.config.schedules.escalationTest).toBeUndefined();
    expect(declaredSchedules(off.config).map(([name]) => name)).not.toContain('escalationTest');
    const schedule = weekly.config.schedules.escalationTest;
    expect(schedule).toEqual({ cron: '0 10 * * 1', wait: 10 * 60_000 });
    if (!schedule) throw new Error('no schedule');
    expect(toScheduler(schedule, 'UTC').expression).toBe('cron(0 10 ? * 2 *)');
    expect(toCroner(schedule, 'UTC').pattern).toBe('0 0 10 * * 1');
    const job = new Cron(toCroner(schedule, 'Europe/Berlin').pattern, { timezone: 'Europe/Berlin', paused: true });
    const aws = eventBridgeRuns(toScheduler(schedule, 'Europe/Berlin').expression, 'Europe/Berlin', FROM, 3);
    expect(job.nextRuns(3, FROM).map((d) => d.toISOString())).toEqual(aws.map((d) => d.toISOString()));
  });

  it('takes a cron or an every of a day or more, a wait, a channel and a level, and refuses what cannot be paged', () => {
    // Act
    const custom = withTest({ every: '7d', wait: '30m', channel: 'pages-file', level: 1 });
    const problems = [
      withTest({ channel: 'slack' }),
      withTest({ level: 6 }),
      withTest({ every: '1h' }),
      withTest({ every: '7d', cron: '0 10 * * 1' }),
      withTest({ wait: '2d' }),
    ].map((parsed) => (parsed.ok ? [] : parsed.problems.map((p) => `${p.path}: ${p.message}`)));
    // Assess
    expect(custom.ok && custom.config.schedules.escalationTest).toEqual({
      every: 7 * 86_400_000,
      wait: 30 * 60_000,
      channel: 'pages-file',
      level: 1,
    });
    expect(problems[0]).toEqual([
      'schedules.escalationTest.channel: no page channel named "slack" (page channels: console, pages-file)',
    ]);
    expect(problems[1]).toEqual(['schedules.escalationTest.level: there is no escalation level 6 (levels 1-4)']);
    expect(problems[2]?.[0]).toMatch(/^schedules\.escalationTest\.every: /);
    expect(problems[3]?.[0]).toMatch(/^schedules\.escalationTest: give either every or cron/);
    expect(problems[4]?.[0]).toMatch(/^schedules\.escalationTest\.wait: /);
  });
});

function rawShipped(): { schedules: Record<string, unknown> } & Record<string, unknown> {
  return parse(readFileSync(new URL('../../../config/acgs-1.yaml', import.meta.url), 'utf8'));
}

describe('longestInterval', () => {
  it('finds the longest gap of an uneven cron schedule', () => {
    // Act / Assess: weekdays at 02:00: Friday to Monday is three days
    expect(longestInterval({ cron: '0 2 * * 1-5' }, 'UTC', Date.parse('2026-12-04T12:00:00Z'))).toBe(3 * DAY_MS);
    // 01:00 daily on Berlin's clock: the night the clocks go back, one day lasts 25 hours
    expect(longestInterval({ cron: '0 1 * * *' }, 'Europe/Berlin', Date.parse('2026-12-04T12:00:00Z'))).toBe(
      25 * HOUR_MS,
    );
    expect(longestInterval({ cron: '30 */6 * * *' }, 'UTC', Date.parse('2026-12-04T12:00:00Z'))).toBe(6 * HOUR_MS);
  });
});
