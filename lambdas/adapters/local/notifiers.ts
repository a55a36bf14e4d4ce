import { appendFile, mkdir } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import nodemailer, { type Transporter } from 'nodemailer';
import type { ChannelConfig } from '../../core/config-schema.ts';
import { ControlPlaneError, errorMessage } from '../../core/errors.ts';
import { type FormattedNotice, formatNotice } from '../../core/notice-message.ts';
import type { NoticeKind, NoticeMessage } from '../../core/notices.ts';
import { formatPage, type MessageOptions, type PageMessage } from '../../core/page-message.ts';
import type { Notification, Notifier } from '../../ports.ts';
import { runWithDeadline } from '../../probes/deadline.ts';
import { ChannelDeliveryError, httpChannelFrom } from './http-channels.ts';

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
const LOCAL_CHANNEL_TIMEOUT_MS = 2_000;
/** The SMTP conversation as a whole (nodemailer's own timeouts bound each phase, not their sum). */
const SMTP_TIMEOUT_MS = 30_000;
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
          const refused = error instanceof ChannelDeliveryError && !error.retryable;
          if (attempt >= attempts || signal.aborted || Date.now() >= deadline || refused) throw error;
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

abstract class RoutedChannel {
  readonly levels: readonly number[] | undefined;
  readonly pages: boolean | undefined;
  readonly events: readonly NoticeKind[] | undefined;
  constructor(routing: ChannelRouting) {
    this.levels = routing.levels;
    this.pages = routing.pages;
    this.events = routing.events;
  }
}

export class ConsoleChannel extends RoutedChannel implements Channel {
  readonly timeoutMs = LOCAL_CHANNEL_TIMEOUT_MS;
  constructor(
    readonly name: string,
    private readonly write: (text: string) => void,
    routing: ChannelRouting = {},
  ) {
    super(routing);
  }
  async deliver(message: PageMessage): Promise<void> {
    this.block('PAGE', message.subject, message.text);
  }
  async deliverNotice(_message: NoticeMessage, formatted: FormattedNotice): Promise<void> {
    this.block('NOTICE', formatted.subject, formatted.text);
  }
  private block(label: string, subject: string, text: string): void {
    const bar = '-'.repeat(Math.min(100, subject.length + label.length + 2));
    this.write(`${bar}\n${label}  ${subject}\n${text}\n${bar}\n`);
  }
}

export class JsonLinesChannel extends RoutedChannel implements Channel {
  readonly timeoutMs = LOCAL_CHANNEL_TIMEOUT_MS;
  constructor(
    readonly name: string,
    private readonly file: string,
    routing: ChannelRouting = {},
  ) {
    super(routing);
  }
  async deliver(message: PageMessage): Promise<void> {
    await this.append(message.body);
  }
  async deliverNotice(_message: NoticeMessage, formatted: FormattedNotice): Promise<void> {
    await this.append(formatted.body);
  }
  private async append(body: object): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true });
    await appendFile(this.file, `${JSON.stringify(body)}\n`, { encoding: 'utf8', mode: 0o600 });
  }
}

export class WebhookChannel extends RoutedChannel implements Channel {
  constructor(
    readonly name: string,
    private readonly url: string,
    readonly timeoutMs: number,
    private readonly token: string | undefined,
    routing: ChannelRouting = {},
  ) {
    super(routing);
  }
  async deliver(message: PageMessage): Promise<void> {
    await this.post({ subject: message.subject, text: message.text, ...message.body });
  }
  /** The notice's JSON body; `Idempotency-Key` (and `key` in the body) is the same on every retry. */
  async deliverNotice(message: NoticeMessage, formatted: FormattedNotice): Promise<void> {
    await this.post({ subject: formatted.subject, text: formatted.text, ...formatted.body }, message.key);
  }
  private async post(body: object, idempotencyKey?: string): Promise<void> {
    const response = await fetch(this.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey }),
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
      },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    // Drain the body so the connection is released.
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`webhook ${this.name} answered HTTP ${response.status}`);
  }
}

export class SmtpChannel extends RoutedChannel implements Channel {
  readonly timeoutMs = SMTP_TIMEOUT_MS;
  private readonly transport: Transporter;
  private readonly to: readonly string[] | undefined;
  constructor(
    readonly name: string,
    private readonly from: string,
    options: { host: string; port: number; secure: boolean; user?: string; password?: string; to?: readonly string[] },
    routing: ChannelRouting = {},
  ) {
    super(routing);
    this.to = options.to;
    this.transport = nodemailer.createTransport({
      host: options.host,
      port: options.port,
      secure: options.secure,
      ...(options.user ? { auth: { user: options.user, pass: options.password ?? '' } } : {}),
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 20_000,
    });
  }
  async deliver(message: PageMessage, notification: Notification): Promise<void> {
    const to = notification.page.contacts.flatMap((c) => (c.email ? [c.email] : []));
    if (to.length === 0) throw new Error(`no contact at level ${notification.page.level} has an email address`);
    await this.transport.sendMail({ from: this.from, to, subject: message.subject, text: message.text });
  }
  /**
   * To the channel's `to` list, else the incident's level-1 contacts. The Message-ID comes from the notice's key,
   * so a mail resent after a crash is the same message to the receiving systems.
   */
  async deliverNotice(message: NoticeMessage, formatted: FormattedNotice): Promise<void> {
    const to =
      this.to && this.to.length > 0
        ? [...this.to]
        : (message.incident?.escalation.policy.levels[0]?.contacts ?? []).flatMap((c) => (c.email ? [c.email] : []));
    if (to.length === 0) {
      throw new Error(
        `smtp channel ${this.name} has no \`to\` list and ${message.incident ? 'no level-1 contact of the incident has an email address' : 'a maintenance notice has no incident contacts'}`,
      );
    }
    await this.transport.sendMail({
      from: this.from,
      to,
      subject: formatted.subject,
      text: formatted.text,
      messageId: noticeMessageId(message.key, this.from),
    });
  }
}

/** A Message-ID made only of the notice key (RFC 5322 atext) and the sender's domain: the same on every retry. */
export function noticeMessageId(key: string, from: string): string {
  const left = key.replace(/[^A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]/g, '-').replace(/^\.+|\.+$/g, '');
  const domain = from.slice(from.lastIndexOf('@') + 1) || 'acgs-ops.invalid';
  return `<${left}@${domain}>`;
}

/** Builds the channels the config declares. Secrets come from the environment named in the config. */
export function channelsFromConfig(
  channels: readonly ChannelConfig[],
  stateDir: string,
  env: Readonly<Record<string, string | undefined>>,
  write: (text: string) => void,
): Channel[] {
  return channels.map((c) => channelFrom(c, stateDir, env, write));
}

function channelFrom(
  c: ChannelConfig,
  stateDir: string,
  env: Readonly<Record<string, string | undefined>>,
  write: (text: string) => void,
): Channel {
  const routing = channelRouting(c);
  switch (c.kind) {
    case 'console':
      return new ConsoleChannel(c.name, write, routing);
    case 'jsonl':
      return new JsonLinesChannel(c.name, isAbsolute(c.path) ? c.path : join(stateDir, c.path), routing);
    case 'webhook':
      return new WebhookChannel(
        c.name,
        c.url,
        c.timeout,
        c.tokenEnv ? requireEnv(env, c.tokenEnv, c.name) : undefined,
        routing,
      );
    case 'smtp':
      return new SmtpChannel(
        c.name,
        c.from,
        {
          host: c.host,
          port: c.port,
          secure: c.secure,
          ...(c.userEnv ? { user: requireEnv(env, c.userEnv, c.name) } : {}),
          ...(c.passwordEnv ? { password: requireEnv(env, c.passwordEnv, c.name) } : {}),
          ...(c.to ? { to: c.to } : {}),
        },
        routing,
      );
    case 'pagerduty':
    case 'slack':
    case 'teams':
      return httpChannelFrom(c, env);
  }
}

function requireEnv(env: Readonly<Record<string, string | undefined>>, key: string, channel: string): string {
  const value = env[key];
  if (value === undefined || value === '')
    throw new ControlPlaneError(
      'CONFIG_ENV',
      `channel ${channel} needs the environment variable ${key}, which is not set`,
    );
  return value;
}
