import type { FormattedNotice } from '../../core/notice-message.ts';
import type { NoticeMessage } from '../../core/notices.ts';
import type { PageMessage } from '../../core/page-message.ts';
import { type Channel, type ChannelRouting, RoutedChannel } from './routing-notifier.ts';

/**
 * The generic JSON webhook: the page's or notice's JSON body, POSTed, with an optional bearer token. Used by the
 * daemon and, without nodemailer, by the AWS Lambdas.
 */
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
