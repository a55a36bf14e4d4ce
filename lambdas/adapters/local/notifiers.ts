import { appendFile, mkdir } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import nodemailer, { type Transporter } from 'nodemailer';
import type { ChannelConfig } from '../../core/config-schema.ts';
import { ControlPlaneError } from '../../core/errors.ts';
import { formatPage, type MessageOptions, type PageMessage } from '../../core/page-message.ts';
import type { Notification, Notifier } from '../../ports.ts';

/** One delivery channel; `deliver` throws when the message did not get through. */
export interface Channel {
  readonly name: string;
  readonly levels?: readonly number[] | undefined;
  deliver(message: PageMessage, notification: Notification): Promise<void>;
}

/**
 * Routes each page to the channels that carry its level. Every channel is tried; the page counts as delivered when
 * at least one channel took it (an operator got it), and a failing channel is reported, never silently dropped.
 */
export class RoutingNotifier implements Notifier {
  constructor(
    private readonly channels: readonly Channel[],
    private readonly options: MessageOptions,
    private readonly onChannelError: (channel: string, error: unknown) => void,
  ) {}

  async notify(notification: Notification): Promise<void> {
    const message = formatPage(notification.page, notification.incident, notification.recent, this.options);
    const targets = this.channels.filter((c) => !c.levels || c.levels.includes(notification.page.level));
    if (targets.length === 0) {
      throw new ControlPlaneError('NO_CHANNEL', `no notification channel carries level ${notification.page.level}`);
    }
    const results = await Promise.allSettled(targets.map((c) => c.deliver(message, notification)));
    const failed = results.flatMap((r, i) =>
      r.status === 'rejected' ? [{ channel: targets[i], reason: r.reason }] : [],
    );
    for (const f of failed) this.onChannelError(f.channel?.name ?? '?', f.reason);
    if (failed.length === targets.length) {
      throw new ControlPlaneError(
        'PAGE_UNDELIVERED',
        `no channel delivered the page: ${failed.map((f) => `${f.channel?.name}: ${errorText(f.reason)}`).join('; ')}`,
      );
    }
  }
}

export class ConsoleChannel implements Channel {
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
    private readonly timeoutMs: number,
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

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
