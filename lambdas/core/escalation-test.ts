import type { ChannelConfig, FleetConfig } from './config-schema.ts';
import { DAY_MS, type DurationBounds, formatDuration, MINUTE_MS, SECOND_MS } from './duration.ts';
import { UsageError } from './errors.ts';
import type { Incident } from './incident.ts';

/**
 * `acgs-ops escalation test`: a synthetic P3 incident of kind `test`, paged once through the page channels (or one),
 * that passes when someone acknowledges it before its deadline and fails otherwise. It never escalates, is never
 * muted by maintenance, never restarts anything, and its dedup key is unique per run, so it never folds into a real
 * incident. The deadline is the incident's `escalation.nextAt`: the sweep closes it there (a scheduled run does not
 * wait), and an acknowledgement brings it in to the acknowledgement itself.
 */

/** How long a test waits for its acknowledgement: 10 s to a day; 10 minutes unless told. */
export const ESCALATION_TEST_WAIT: DurationBounds = { min: 10 * SECOND_MS, max: DAY_MS };
export const DEFAULT_ESCALATION_TEST_WAIT_MS = 10 * MINUTE_MS;
/** The weekly default of `schedules.escalationTest` when it names no time: Mondays at 10:00 in the config's zone. */
export const DEFAULT_ESCALATION_TEST_CRON = '0 10 * * 1';

/** What is paged: a level, through every page channel carrying it or through one channel. */
export interface TestRouting {
  readonly level: number;
  readonly levelName: string;
  /** The one channel named (`--channel`); absent: every page channel carrying `level`. */
  readonly channel?: string;
  /** The page channels the page goes to (by config). */
  readonly channels: readonly string[];
}

/** The config's page channels (`pages` not false). */
export function pageChannels(config: Pick<FleetConfig, 'notifications'>): readonly ChannelConfig[] {
  return config.notifications.channels.filter((c) => c.pages !== false);
}

/**
 * Where a test pages, from `--channel` and `--level`: a named channel must be a page channel (else the list of
 * them), and carry the level asked for (else the levels it carries); without a level it is paged at the lowest
 * level it carries. Without a channel, the level (1 unless told) must exist and some page channel must carry it.
 * @throws UsageError naming `channel` or `level`
 */
export function testRouting(
  config: Pick<FleetConfig, 'notifications' | 'escalation'>,
  asked: { readonly channel?: string | undefined; readonly level?: number | undefined },
): TestRouting {
  const channels = pageChannels(config);
  const levels = config.escalation.levels;
  if (asked.level !== undefined && !levels.some((l) => l.level === asked.level))
    throw new UsageError(`level: there is no escalation level ${asked.level} (levels 1-${levels.length})`);
  const carries = (c: ChannelConfig, level: number) => c.levels === undefined || c.levels.includes(level);
  if (asked.channel !== undefined) {
    const channel = channels.find((c) => c.name === asked.channel);
    if (!channel)
      throw new UsageError(
        `channel: no page channel named "${asked.channel}" (page channels: ${channels.map((c) => c.name).join(', ') || 'none'})`,
      );
    const level = asked.level ?? Math.min(...(channel.levels ?? [1]));
    if (!carries(channel, level))
      throw new UsageError(
        `level: channel ${channel.name} carries level(s) ${channel.levels?.join(', ')}, not level ${level}`,
      );
    return { level, levelName: levelName(config, level), channel: channel.name, channels: [channel.name] };
  }
  const level = asked.level ?? 1;
  const carrying = channels.filter((c) => carries(c, level)).map((c) => c.name);
  if (carrying.length === 0)
    throw new UsageError(
      `level: no page channel carries level ${level} (page channels: ${channels.map((c) => c.name).join(', ') || 'none'})`,
    );
  return { level, levelName: levelName(config, level), channels: carrying };
}

function levelName(config: Pick<FleetConfig, 'escalation'>, level: number): string {
  return config.escalation.levels.find((l) => l.level === level)?.name ?? `level ${level}`;
}

/** How a test incident ends: passed once acknowledged, failed once its deadline passed unacknowledged. */
export interface TestVerdict {
  readonly passed: boolean;
  readonly resolution: string;
}

/** The resolution of a test nobody acknowledged in time. */
export const TEST_NOT_ACKNOWLEDGED = 'escalation test failed: not acknowledged';

/** The verdict on a test incident at `now`; undefined while it is still waiting (or not a test, or resolved). */
export function testVerdict(incident: Incident, now: number): TestVerdict | undefined {
  if (incident.kind !== 'test' || incident.status === 'resolved') return undefined;
  if (incident.acknowledgedAt !== undefined)
    return {
      passed: true,
      resolution: `escalation test passed: acknowledged by ${incident.acknowledgedBy ?? 'someone'} after ${formatDuration(
        incident.acknowledgedAt - incident.openedAt,
      )}`,
    };
  const deadline = incident.escalation.nextAt;
  if (deadline !== undefined && now >= deadline) return { passed: false, resolution: TEST_NOT_ACKNOWLEDGED };
  return undefined;
}

/** Whether a resolved test incident passed (its resolution says so). */
export function testPassed(incident: Pick<Incident, 'kind' | 'resolution'>): boolean {
  return incident.kind === 'test' && (incident.resolution ?? '').startsWith('escalation test passed');
}
