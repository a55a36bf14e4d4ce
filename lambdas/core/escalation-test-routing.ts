import { DAY_MS, type DurationBounds, MINUTE_MS, SECOND_MS } from './duration.ts';
import { UsageError } from './errors.ts';

/**
 * Where `acgs-ops escalation test` pages (`core/escalation-test.ts`), and its bounds: apart from the test incident's
 * rules because the config schema checks a scheduled test's channel and level with them (and the incident types
 * import the config's).
 */

/** What the routing reads of a fleet config (`FleetConfig` has this shape). */
export interface RoutingConfig {
  readonly notifications: {
    readonly channels: readonly {
      readonly name: string;
      readonly pages?: boolean | undefined;
      readonly levels?: readonly number[] | undefined;
    }[];
  };
  readonly escalation: { readonly levels: readonly { readonly level: number; readonly name: string }[] };
}

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
export function pageChannels(config: Pick<RoutingConfig, 'notifications'>): RoutingConfig['notifications']['channels'] {
  return config.notifications.channels.filter((c) => c.pages !== false);
}

/**
 * Where a test pages, from `--channel` and `--level`: a named channel must be a page channel (else the list of
 * them), and carry the level asked for (else the levels it carries); without a level it is paged at the lowest
 * level it carries. Without a channel, the level (1 unless told) must exist and some page channel must carry it.
 * @throws UsageError naming `channel` or `level`
 */
export function testRouting(
  config: RoutingConfig,
  asked: { readonly channel?: string | undefined; readonly level?: number | undefined },
): TestRouting {
  const channels = pageChannels(config);
  const levels = config.escalation.levels;
  if (asked.level !== undefined && !levels.some((l) => l.level === asked.level))
    throw new UsageError(`level: there is no escalation level ${asked.level} (levels 1-${levels.length})`);
  const carries = (c: RoutingConfig['notifications']['channels'][number], level: number) =>
    c.levels === undefined || c.levels.includes(level);
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

/** What is wrong with a test's channel or level for this config, naming the field; undefined when nothing is. */
export function testRoutingProblem(
  config: RoutingConfig,
  asked: { readonly channel?: string | undefined; readonly level?: number | undefined },
): { readonly field: 'channel' | 'level'; readonly message: string } | undefined {
  try {
    testRouting(config, asked);
    return undefined;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const [, field, message] = /^(channel|level): (.*)$/s.exec(error.message) ?? [];
    return { field: field === 'channel' ? 'channel' : 'level', message: message ?? error.message };
  }
}

/** The event the scheduled escalation test sends the sweep (AWS: EventBridge Scheduler's input). */
export const ESCALATION_TEST_TASK = 'escalation-test';

function levelName(config: Pick<RoutingConfig, 'escalation'>, level: number): string {
  return config.escalation.levels.find((l) => l.level === level)?.name ?? `level ${level}`;
}
