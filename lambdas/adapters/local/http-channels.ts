import type { ChannelInput } from '../../core/channel-payloads/common.ts';
import { type PagerDutyEvent, type PagerDutySeverity, pagerDutyEvent } from '../../core/channel-payloads/pagerduty.ts';
import { slackMessage } from '../../core/channel-payloads/slack.ts';
import { teamsMessage } from '../../core/channel-payloads/teams.ts';
import type { ChannelConfig, Severity } from '../../core/config-schema.ts';
import { ControlPlaneError, errorCode, errorMessage } from '../../core/errors.ts';
import type { FormattedNotice } from '../../core/notice-message.ts';
import type { NoticeKind, NoticeMessage } from '../../core/notices.ts';
import type { PageMessage } from '../../core/page-message.ts';
import type { SecretRef } from '../../core/secret-ref.ts';
import type { Notification, SecretSource } from '../../ports.ts';

/**
 * The channels people already run: PagerDuty (Events API v2), Slack (incoming webhook, Block Kit) and Microsoft Teams
 * (Workflows webhook, Adaptive Card). Each POSTs one JSON document per page or notice, within its timeout, drains
 * the answer, and throws a `ChannelDeliveryError` naming the channel and the HTTP status on anything but 2xx, so the
 * caller retries (the outbox with backoff, the escalation on its next step). The error never holds the URL: a Slack
 * or Teams webhook URL is itself the credential.
 */

export interface HttpChannelOptions {
  readonly name: string;
  readonly url: string;
  readonly timeoutMs: number;
  readonly levels?: readonly number[] | undefined;
  /** false: a stakeholder channel, given notices but no pages. */
  readonly pages?: boolean;
  /** The notice kinds it carries. */
  readonly events?: readonly NoticeKind[];
}

/** A channel's endpoint did not take a message. `retryable` follows the API's advice (PagerDuty: 429 and 5xx). */
export class ChannelDeliveryError extends ControlPlaneError {
  readonly channel: string;
  readonly status: number | undefined;
  readonly retryable: boolean;
  /** How long the service asked to be left alone (`Retry-After`, Slack's and others' answer to 429), if it said. */
  readonly retryAfterMs: number | undefined;

  constructor(
    channel: string,
    message: string,
    details: { status?: number; retryable: boolean; retryAfterMs?: number | undefined },
    options?: { cause?: unknown },
  ) {
    super('CHANNEL_DELIVERY', message, options);
    this.channel = channel;
    this.status = details.status;
    this.retryable = details.retryable;
    this.retryAfterMs = details.retryAfterMs;
  }
}

/** The first characters of an error answer: enough to tell `invalid_payload` from `no_service`. */
const ANSWER_EXCERPT_CHARS = 300;

/**
 * The `Channel` of notifiers.ts, structurally: notifiers.ts imports this file, so it cannot import back without an
 * import circle; `channelFrom` returning these classes as `Channel` is the compile-time check.
 */
export abstract class HttpChannel {
  readonly name: string;
  readonly levels?: readonly number[] | undefined;
  readonly timeoutMs: number;
  readonly pages: boolean;
  readonly events: readonly NoticeKind[];
  protected abstract readonly kind: string;
  readonly #url: string;

  constructor(options: HttpChannelOptions) {
    this.name = options.name;
    this.#url = options.url;
    this.timeoutMs = options.timeoutMs;
    this.levels = options.levels;
    this.pages = options.pages ?? true;
    this.events = options.events ?? [];
  }

  deliver(message: PageMessage, notification: Notification): Promise<void> {
    return this.send({ page: { message, page: notification.page, incident: notification.incident } });
  }

  deliverNotice(message: NoticeMessage, formatted: FormattedNotice): Promise<void> {
    return this.send({ notice: message, formatted });
  }

  protected abstract send(input: ChannelInput): Promise<void>;

  /** POSTs `body` as JSON; resolves with the answer's text when the status is 2xx. */
  protected async post(body: unknown): Promise<string> {
    let response: Response;
    try {
      response = await fetch(this.#url, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      const timedOut = error instanceof Error && error.name === 'TimeoutError';
      const why = timedOut ? `no answer within ${this.timeoutMs} ms` : `cannot reach it: ${reason(error)}`;
      const message = `${this.kind} channel ${this.name}: ${why}`;
      throw new ChannelDeliveryError(this.name, message, { retryable: true }, { cause: error });
    }
    // Reading the whole answer releases the connection (and an error answer says why).
    const text = await response.text().catch(() => '');
    if (response.ok) return text;
    const throttled = response.status === 429;
    const retryable = throttled || response.status >= 500 || response.status === 408;
    const retryAfterMs = retryAfter(response.headers.get('retry-after'));
    const later = retryAfterMs === undefined ? 'retry later' : `retry after ${Math.ceil(retryAfterMs / 1_000)} s`;
    const excerpt = text.trim().slice(0, ANSWER_EXCERPT_CHARS);
    throw new ChannelDeliveryError(
      this.name,
      `${this.kind} channel ${this.name} answered HTTP ${response.status}${throttled ? ` (throttled: ${later})` : ''}${excerpt ? `: ${excerpt}` : ''}`,
      { status: response.status, retryable, retryAfterMs },
    );
  }
}

/**
 * A `Retry-After` header of seconds (what Slack sends with 429) in ms; undefined when absent, or an HTTP date (read
 * against this host's clock it would be a guess).
 */
function retryAfter(header: string | null): number | undefined {
  if (header === null || !/^\s*\d+\s*$/.test(header)) return undefined;
  return Number(header) * 1_000;
}

function reason(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  return cause === undefined ? errorMessage(error) : (errorCode(cause) ?? errorMessage(cause));
}

export interface PagerDutyChannelOptions extends HttpChannelOptions {
  readonly routingKey: string;
  readonly severityMap?: Partial<Record<Severity, PagerDutySeverity>> | undefined;
}

/**
 * PagerDuty Events API v2 (`core/channel-payloads/pagerduty.ts` says which message becomes which event action).
 * Idempotent by `dedup_key` and action: a page or notice sent twice (a retry after a lost answer, a redelivery after
 * a crash) folds into the same PagerDuty alert; acknowledge and resolve are states, so repeating them changes
 * nothing. A notice with no PagerDuty meaning (a maintenance window) is skipped and counts as delivered.
 */
export class PagerDutyChannel extends HttpChannel {
  protected readonly kind = 'pagerduty';
  readonly #routingKey: string;
  readonly #severityMap: Partial<Record<Severity, PagerDutySeverity>> | undefined;
  /** What was skipped and why, newest last (for tests and the demo); bounded. */
  readonly skipped: string[] = [];

  constructor(options: PagerDutyChannelOptions) {
    super(options);
    this.#routingKey = options.routingKey;
    this.#severityMap = options.severityMap;
  }

  protected async send(input: ChannelInput): Promise<void> {
    const decision = pagerDutyEvent(input, {
      routingKey: this.#routingKey,
      ...(this.#severityMap ? { severityMap: this.#severityMap } : {}),
    });
    if (decision.skip !== undefined) {
      this.skipped.push(decision.skip);
      if (this.skipped.length > 100) this.skipped.shift();
      return;
    }
    await this.post(decision.event satisfies PagerDutyEvent);
  }
}

/**
 * Slack incoming webhook. Slack has no idempotency key: a message posted twice shows twice. The outbox posts each
 * notice once per channel and records it as done right after; only a crash (or a lost answer) between Slack taking
 * the message and that record makes the retry post it again. Slack answers 200 `ok`; 429 when posting faster than
 * about one message a second (retryable); 400/403/404/410 (`invalid_payload`, `no_service`, `channel_is_archived`)
 * are config faults the retries will not cure, and the error says which.
 */
export class SlackChannel extends HttpChannel {
  protected readonly kind = 'slack';

  protected async send(input: ChannelInput): Promise<void> {
    await this.post(slackMessage(input));
  }
}

/**
 * Microsoft Teams Workflows webhook (Power Automate "When a Teams webhook request is received"), answering 202. Like
 * Slack, no idempotency key: what is said of Slack's duplicates holds here.
 */
export class TeamsChannel extends HttpChannel {
  protected readonly kind = 'teams';

  protected async send(input: ChannelInput): Promise<void> {
    await this.post(teamsMessage(input));
  }
}

type HttpChannelConfig = Extract<ChannelConfig, { kind: 'pagerduty' | 'slack' | 'teams' }>;

/**
 * The channel a `pagerduty`, `slack` or `teams` entry of the config declares, its secret read from the environment
 * variable the entry names (the daemon's path: synchronous, at startup). Throws, naming the channel and the variable,
 * when the variable is unset or empty, when a webhook URL is not an http(s) URL, or when the entry names only a
 * Secrets Manager secret (see `httpChannelWithSecrets`).
 */
export function httpChannelFrom(c: HttpChannelConfig, env: Readonly<Record<string, string | undefined>>): HttpChannel {
  const { field, variable } = secretPlace(c);
  if (variable === undefined)
    throw new ControlPlaneError(
      'CONFIG_ENV',
      `channel ${c.name} names ${field}Secret, a Secrets Manager secret the daemon does not read; on one host give ${field}Env, the environment variable holding it`,
    );
  const value = env[variable];
  if (value === undefined || value.trim() === '')
    throw new ControlPlaneError(
      'CONFIG_ENV',
      `channel ${c.name} needs the environment variable ${variable} (${field}Env), which is not set`,
    );
  return buildHttpChannel(c, value.trim(), `the environment variable ${variable}`);
}

/**
 * The same channel with its secret read through a `SecretSource`: the Secrets Manager secret (`*Secret`) in AWS, the
 * environment variable (`*Env`) on one host. For a runtime that reads secrets asynchronously (a Lambda at cold
 * start). Throws, naming the channel and the place, when the place holds nothing.
 */
export async function httpChannelWithSecrets(c: HttpChannelConfig, secrets: SecretSource): Promise<HttpChannel> {
  const { field, variable, secret } = secretPlace(c);
  const place = variable === undefined ? `the secret ${secret?.id ?? '?'}` : `the environment variable ${variable}`;
  const value = await secrets.get({
    purpose: `the ${field} of channel ${c.name}`,
    ...(variable === undefined ? {} : { env: variable }),
    ...(secret === undefined ? {} : { secret }),
  });
  if (value === undefined || value.trim() === '')
    throw new ControlPlaneError(
      'CONFIG_SECRET',
      `channel ${c.name} needs ${place} (${field}${variable === undefined ? 'Secret' : 'Env'}), which holds nothing`,
    );
  return buildHttpChannel(c, value.trim(), place);
}

function secretPlace(c: HttpChannelConfig): { field: 'routingKey' | 'url'; variable?: string; secret?: SecretRef } {
  if (c.kind === 'pagerduty')
    return {
      field: 'routingKey',
      ...(c.routingKeyEnv === undefined ? {} : { variable: c.routingKeyEnv }),
      ...(c.routingKeySecret === undefined ? {} : { secret: c.routingKeySecret }),
    };
  return {
    field: 'url',
    ...(c.urlEnv === undefined ? {} : { variable: c.urlEnv }),
    ...(c.urlSecret === undefined ? {} : { secret: c.urlSecret }),
  };
}

/** `secret` is the routing key (PagerDuty) or the webhook URL (Slack, Teams); `place` names where it came from. */
function buildHttpChannel(c: HttpChannelConfig, secret: string, place: string): HttpChannel {
  const common = {
    name: c.name,
    timeoutMs: c.timeout,
    levels: c.levels,
    pages: c.pages,
    ...(c.events === undefined ? {} : { events: c.events }),
  };
  if (c.kind === 'pagerduty')
    return new PagerDutyChannel({ ...common, url: c.url, routingKey: secret, severityMap: c.severityMap });
  if (!/^https?:\/\/[^\s/]/.test(secret) || !URL.canParse(secret))
    throw new ControlPlaneError(
      'CONFIG_ENV',
      `channel ${c.name}: ${place} must hold the ${c.kind} webhook's http(s) URL`,
    );
  return c.kind === 'slack'
    ? new SlackChannel({ ...common, url: secret })
    : new TeamsChannel({ ...common, url: secret });
}
