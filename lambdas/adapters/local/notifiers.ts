import { appendFile, mkdir } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import nodemailer, { type Transporter } from 'nodemailer';
import type { ChannelConfig } from '../../core/config-schema.ts';
import { ControlPlaneError, errorMessage } from '../../core/errors.ts';
import type { NoticeKind, NoticeMessage } from '../../core/notices.ts';
import { formatPage, type MessageOptions, type PageMessage } from '../../core/page-message.ts';
import type { Notification, Notifier } from '../../ports.ts';
import { runWithDeadline } from '../../probes/deadline.ts';
import { httpChannelFrom } from './http-channels.ts';

/** One delivery channel; `deliver` throws when the message did not get through. */
export interface Channel {
  readonly name: string;
  readonly levels?: readonly number[] | undefined;
  /** How long a delivery may take; past it the page counts as not delivered through this channel. */
  readonly timeoutMs: number;
  deliver(message: PageMessage, notification: Notification): Promise<void>;
}

/** Writing a line to the terminal or to a local file: anything slower is a hung disk or a blocked pipe. */
const LOCAL_CHANNEL_TIMEOUT_MS = 2_000;
/** The SMTP conversation as a whole (nodemailer's own timeouts bound each phase, not their sum). */
const SMTP_TIMEOUT_MS = 30_000;

/**
 * Routes each page to the channels that carry its level. Every channel is tried; the page counts as delivered when
 * at least one channel took it (an operator got it), and a failing channel is reported, never silently dropped.
 * Channels run side by side, each within its own timeout, so a page takes at most the slowest channel's timeout.
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
    const targets = this.channels.filter((c) => !c.levels || c.levels.includes(notification.page.level));
    if (targets.length === 0) {
      throw new ControlPlaneError('NO_CHANNEL', `no notification channel carries level ${notification.page.level}`);
    }
    const results = await Promise.allSettled(targets.map((c) => deliverWithin(c, message, notification)));
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

  /** Lifecycle notices: not routed yet (issue 11). */
  noticeChannels(_kind: NoticeKind): readonly string[] {
    return [];
  }

  async sendNotice(channel: string, message: NoticeMessage): Promise<void> {
    throw new ControlPlaneError('NO_CHANNEL', `no notice channel ${channel} (notice ${message.key})`);
  }
}

/** The channel's delivery, rejected when it has not finished within the channel's timeout. */
async function deliverWithin(channel: Channel, message: PageMessage, notification: Notification): Promise<void> {
  const failure = await runWithDeadline<Error | undefined>(
    async () => {
      await channel.deliver(message, notification);
      return undefined;
    },
    channel.timeoutMs,
    {
      onTimeout: () => new Error(`no answer within ${channel.timeoutMs} ms`),
      onError: (error) => (error instanceof Error ? error : new Error(String(error))),
    },
  );
  if (failure) throw failure;
}

export class ConsoleChannel implements Channel {
  readonly timeoutMs = LOCAL_CHANNEL_TIMEOUT_MS;
  constructor(
    readonly name: string,
    private readonly write: (text: string) => void,
    readonly levels?: readonly number[],
  ) {}
  async deliver(message: PageMessage): Promise<void> {
    const bar = '-'.repeat(Math.min(100, message.subject.length + 8));
    this.write(`${bar}\nPAGE  ${message.subject}\n${message.text}\n${bar}\n`);
  }
}

export class JsonLinesChannel implements Channel {
  readonly timeoutMs = LOCAL_CHANNEL_TIMEOUT_MS;
  constructor(
    readonly name: string,
    private readonly file: string,
    readonly levels?: readonly number[],
  ) {}
  async deliver(message: PageMessage): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true });
    await appendFile(this.file, `${JSON.stringify(message.body)}\n`, { encoding: 'utf8', mode: 0o600 });
  }
}

export class WebhookChannel implements Channel {
  constructor(
    readonly name: string,
    private readonly url: string,
    readonly timeoutMs: number,
    private readonly token: string | undefined,
    readonly levels?: readonly number[],
  ) {}
  async deliver(message: PageMessage): Promise<void> {
    const response = await fetch(this.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
      },
      body: JSON.stringify({ subject: message.subject, text: message.text, ...message.body }),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    // Drain the body so the connection is released.
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`webhook ${this.name} answered HTTP ${response.status}`);
  }
}

export class SmtpChannel implements Channel {
  readonly timeoutMs = SMTP_TIMEOUT_MS;
  private readonly transport: Transporter;
  constructor(
    readonly name: string,
    private readonly from: string,
    options: { host: string; port: number; secure: boolean; user?: string; password?: string },
    readonly levels?: readonly number[],
  ) {
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
  const levels = c.levels;
  switch (c.kind) {
    case 'console':
      return new ConsoleChannel(c.name, write, levels);
    case 'jsonl':
      return new JsonLinesChannel(c.name, isAbsolute(c.path) ? c.path : join(stateDir, c.path), levels);
    case 'webhook':
      return new WebhookChannel(
        c.name,
        c.url,
        c.timeout,
        c.tokenEnv ? requireEnv(env, c.tokenEnv, c.name) : undefined,
        levels,
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
        },
        levels,
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
