import { appendFile, mkdir } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import nodemailer, { type Transporter } from 'nodemailer';
import type { ChannelConfig } from '../../core/config-schema.ts';
import { ControlPlaneError } from '../../core/errors.ts';
import type { FormattedNotice } from '../../core/notice-message.ts';
import type { NoticeMessage } from '../../core/notices.ts';
import type { PageMessage } from '../../core/page-message.ts';
import type { Notification } from '../../ports.ts';
import { httpChannelFrom } from './http-channels.ts';
import {
  type Channel,
  type ChannelRouting,
  channelRouting,
  LOCAL_CHANNEL_TIMEOUT_MS,
  RoutedChannel,
} from './routing-notifier.ts';
import { WebhookChannel } from './webhook-channel.ts';

// The router and the webhook channel live in modules without nodemailer (the AWS Lambdas use them); re-exported here
// for the daemon and the tests that import them from this module.
export {
  type Channel,
  type ChannelRouting,
  channelRouting,
  PAGE_ATTEMPTS_PER_CHANNEL,
  RoutingNotifier,
} from './routing-notifier.ts';
export { WebhookChannel } from './webhook-channel.ts';

/** The SMTP conversation as a whole (nodemailer's own timeouts bound each phase, not their sum). */
const SMTP_TIMEOUT_MS = 30_000;

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
