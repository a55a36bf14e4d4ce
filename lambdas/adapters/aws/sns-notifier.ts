import { type MessageAttributeValue, PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { ControlPlaneError } from '../../core/errors.ts';
import type { NoticeKind, NoticeMessage } from '../../core/notices.ts';
import { formatPage, type MessageOptions, type PageMessage } from '../../core/page-message.ts';
import type { Notification, Notifier } from '../../ports.ts';
import { DEFAULT_DELIVERY_TIMEOUT_MS, parseSnsTopics } from './sns-topics.ts';

/** SNS subjects: printable ASCII, no line breaks, fewer than 100 characters. */
const MAX_SUBJECT = 99;

export interface SnsNotifierOptions extends MessageOptions {
  /**
   * How long one page may take to publish, the SDK's retries included; past it the publish is aborted and fails.
   * @default 10 seconds
   */
  readonly deliveryTimeoutMs?: number;
}

/**
 * Pages through SNS, one topic per escalation level: who is on a level is the topic's subscriptions (email, SMS,
 * chat webhooks, queues), managed outside the control plane.
 *
 * Messages are published with `MessageStructure: 'json'`, one message per kind of subscriber: people (email, SMS,
 * the default) read the page's text; machines (SQS, Lambda, HTTP(S), Firehose, email-json) get the page's JSON body,
 * the same body the webhook and JSON-lines channels carry. Plain text would give machines nothing to parse, and a
 * JSON body would give people braces to read. Message attributes (severity, incidentId, level, why) let a
 * subscription filter pages without parsing them.
 */
export class SnsNotifier implements Notifier {
  readonly deliveryTimeoutMs: number;
  private readonly topics: ReadonlyMap<number, string>;

  /** @param topics escalation level -> topic ARN (keys as numbers or as the strings "1".."9" of a JSON object) */
  constructor(
    private readonly client: SNSClient,
    topics: Readonly<Record<string, string>>,
    private readonly options: SnsNotifierOptions,
  ) {
    this.deliveryTimeoutMs = options.deliveryTimeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS;
    this.topics = parseSnsTopics(topics);
  }

  async notify(notification: Notification): Promise<void> {
    const { page, incident, recent } = notification;
    const topic = this.topics.get(page.level);
    if (topic === undefined)
      throw new ControlPlaneError(
        'NO_TOPIC',
        `no SNS topic for escalation level ${page.level} (${page.levelName}); page for ${incident.id} not sent`,
      );
    const message = formatPage(page, incident, recent, this.options);
    await this.client.send(
      new PublishCommand({
        TopicArn: topic,
        Subject: snsSubject(message.subject),
        MessageStructure: 'json',
        Message: JSON.stringify(perProtocol(message)),
        MessageAttributes: {
          severity: text(page.severity),
          incidentId: text(incident.id),
          level: text(String(page.level)),
          why: text(page.why),
        },
      }),
      { abortSignal: AbortSignal.timeout(this.deliveryTimeoutMs) },
    );
  }

  /** Lifecycle notices in AWS: not routed yet (issue 11). */
  noticeChannels(_kind: NoticeKind): readonly string[] {
    return [];
  }

  async sendNotice(channel: string, message: NoticeMessage): Promise<void> {
    throw new ControlPlaneError('NO_CHANNEL', `no notice channel ${channel} in AWS (notice ${message.key})`);
  }
}

function perProtocol(message: PageMessage): Record<string, string> {
  const body = JSON.stringify(message.body);
  return {
    default: message.text,
    email: message.text,
    sms: `${message.subject} - ${message.body.acknowledge}`,
    'email-json': body,
    sqs: body,
    lambda: body,
    http: body,
    https: body,
    firehose: body,
  };
}

function text(value: string): MessageAttributeValue {
  return { DataType: 'String', StringValue: value };
}

/**
 * A subject SNS accepts: printable ASCII only (accents dropped, other characters as `?`), whitespace runs and line
 * breaks as one space, starting with a visible character, at most 99 characters.
 */
export function snsSubject(subject: string): string {
  const ascii = subject
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/\s+/gu, ' ')
    .replace(/[^\x20-\x7E]/gu, '?')
    .trim();
  if (ascii === '') return 'ACGS ops page';
  return ascii.length <= MAX_SUBJECT ? ascii : `${ascii.slice(0, MAX_SUBJECT - 3).trimEnd()}...`;
}
