import type { ChannelConfig } from '../../core/config-schema.ts';
import { ControlPlaneError, errorMessage } from '../../core/errors.ts';
import { type FormattedNotice, formatNotice } from '../../core/notice-message.ts';
import type { NoticeKind, NoticeMessage } from '../../core/notices.ts';
import { formatPage, type MessageOptions, type PageMessage } from '../../core/page-message.ts';
import type { Notification, Notifier } from '../../ports.ts';
import { runWithDeadline } from '../../probes/deadline.ts';

/*
 * The channel router, without any channel that needs a library of its own (SMTP's nodemailer is in notifiers.ts):
 * the AWS Lambdas route pages and notices through it to SNS and the HTTP channels without loading nodemailer.
 */

/**
 * One delivery channel; `deliver` (a page) and `deliverNotice` (a lifecycle notice) throw when the message did not
 * get through. `formatted` is the plain wording (`core/notice-message.ts`); a channel with its own format (PagerDuty,
 * Slack, Teams) builds it from `message`. A notice is retried with the same `message.key`: a channel that can make
 * it idempotent (an Idempotency-Key header, a dedup key, a Message-ID) does.
 */
export interface Channel {
  readonly name: string;
  readonly levels?: readonly number[] | undefined;
  /** false: a stakeholder channel, never given pages (only the notices of `events`). @default true */
  readonly pages?: boolean | undefined;
  /** Lifecycle notices this channel carries; none when absent. */
  readonly events?: readonly NoticeKind[] | undefined;
  /** How long a delivery may take; past it the page counts as not delivered through this channel. */
  readonly timeoutMs: number;
  deliver(message: PageMessage, notification: Notification): Promise<void>;
  deliverNotice(message: NoticeMessage, formatted: FormattedNotice): Promise<void>;
}

/** Which pages and notices a channel carries, from its config (`levels`, `pages`, `events`). */
export interface ChannelRouting {
  readonly levels?: readonly number[] | undefined;
  readonly pages?: boolean | undefined;
  readonly events?: readonly NoticeKind[] | undefined;
}

export function channelRouting(c: ChannelConfig): ChannelRouting {
  return { levels: c.levels, pages: c.pages, events: c.events };
}

/** Writing a line to the terminal or to a local file: anything slower is a hung disk or a blocked pipe. */
export const LOCAL_CHANNEL_TIMEOUT_MS = 2_000;
/**
 * Tries at a page per channel, all within the channel's one timeout. A page counts as delivered once any channel
 * took it, and is then never sent again: a channel that failed it (a 503 from PagerDuty while Slack took it) would
 * otherwise never get it, and PagerDuty would never open the incident its acknowledge and resolve are meant for.
 */
export const PAGE_ATTEMPTS_PER_CHANNEL = 3;

/**
 * Routes each page to the channels that carry its level. Every channel is tried; the page counts as delivered when
 * at least one channel took it (an operator got it), and a failing channel is reported, never silently dropped.
 * Channels run side by side, each within its own timeout, so a page takes at most the slowest channel's timeout.
 * Stakeholder channels (`pages: false`) get no pages; lifecycle notices go to the channels whose `events` name
 * their kind, one channel at a time (`sendNotice`), so the deliverer retries each channel on its own.
 */
export class RoutingNotifier implements Notifier {
  readonly deliveryTimeoutMs: number;

  constructor(
    private readonly channels: readonly Channel[],
    private readonly options: MessageOptions,
    private readonly onChannelError: (channel: string, error: unknown) => void,
  ) {
    this.deliveryTimeoutMs = Math.max(LOCAL_CHANNEL_TIMEOUT_MS, ...channels.map((c) => c.timeoutMs));
  }

  async notify(notification: Notification): Promise<void> {
    const message = formatPage(notification.page, notification.incident, notification.recent, this.options);
    const targets =
      notification.onlyChannel === undefined
        ? this.channels.filter((c) => c.pages !== false && (!c.levels || c.levels.includes(notification.page.level)))
        : [this.channel(notification.onlyChannel)];
    if (targets.length === 0) {
      throw new ControlPlaneError('NO_CHANNEL', `no notification channel carries level ${notification.page.level}`);
    }
    const results = await Promise.allSettled(
      targets.map((c) => within(c, () => c.deliver(message, notification), PAGE_ATTEMPTS_PER_CHANNEL)),
    );
    const failed = results.flatMap((r, i) =>
      r.status === 'rejected' ? [{ channel: targets[i], reason: r.reason }] : [],
    );
    for (const f of failed) this.onChannelError(f.channel?.name ?? '?', f.reason);
    if (failed.length === targets.length) {
      throw new ControlPlaneError(
        'PAGE_UNDELIVERED',
        `no channel delivered the page: ${failed.map((f) => `${f.channel?.name}: ${errorMessage(f.reason)}`).join('; ')}`,
      );
    }
  }

  noticeChannels(kind: NoticeKind): readonly string[] {
    return this.channels.filter((c) => c.events?.includes(kind)).map((c) => c.name);
  }

  async sendNotice(channel: string, message: NoticeMessage): Promise<void> {
    const target = this.channel(channel);
    const formatted = formatNotice(message, this.options);
    await within(target, () => target.deliverNotice(message, formatted));
  }

  private channel(name: string): Channel {
    const found = this.channels.find((c) => c.name === name);
    if (!found) {
      throw new ControlPlaneError(
        'NO_CHANNEL',
        `no notification channel named ${name} (channels: ${this.channels.map((c) => c.name).join(', ') || 'none'})`,
      );
    }
    return found;
  }
}

/**
 * The channel's delivery, tried up to `attempts` times while it fails in a way a retry may cure and time is left;
 * rejected with the last error, or when it has not finished within the channel's timeout (all attempts together).
 */
async function within(channel: Channel, delivery: () => Promise<void>, attempts = 1): Promise<void> {
  const deadline = Date.now() + channel.timeoutMs;
  const failure = await runWithDeadline<Error | undefined>(
    async (signal) => {
      for (let attempt = 1; ; attempt++) {
        try {
          await delivery();
          return undefined;
        } catch (error) {
          if (attempt >= attempts || signal.aborted || Date.now() >= deadline || refused(error)) throw error;
        }
      }
    },
    channel.timeoutMs,
    {
      onTimeout: () => new Error(`no answer within ${channel.timeoutMs} ms`),
      onError: (error) => (error instanceof Error ? error : new Error(String(error))),
    },
  );
  if (failure) throw failure;
}

/** A request the service refused (an HTTP channel's `retryable: false`, e.g. a 400): the same again would be too. */
function refused(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'retryable' in error && error.retryable === false;
}

/** What every channel built from a config entry carries: its routing (`levels`, `pages`, `events`). */
export abstract class RoutedChannel {
  readonly levels: readonly number[] | undefined;
  readonly pages: boolean | undefined;
  readonly events: readonly NoticeKind[] | undefined;
  constructor(routing: ChannelRouting) {
    this.levels = routing.levels;
    this.pages = routing.pages;
    this.events = routing.events;
  }
}
