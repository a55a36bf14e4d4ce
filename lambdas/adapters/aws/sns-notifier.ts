import { type MessageAttributeValue, PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { ControlPlaneError } from '../../core/errors.ts';
import { formatNotice } from '../../core/notice-message.ts';
import type { NoticeKind, NoticeMessage } from '../../core/notices.ts';
import { formatPage, type MessageOptions } from '../../core/page-message.ts';
import type { Notification, Notifier } from '../../ports.ts';
import {
  DEFAULT_DELIVERY_TIMEOUT_MS,
  parseSnsTopics,
  parseUpdatesTopic,
  SNS_UPDATES_CHANNEL,
  snsNoticeRouting,
} from './sns-topics.ts';

/** SNS subjects: printable ASCII, no line breaks, fewer than 100 characters. */
const MAX_SUBJECT = 99;

export interface SnsNotifierOptions extends MessageOptions {
  /**
   * How long one page may take to publish, the SDK's retries included; past it the publish is aborted and fails.
   * @default 10 seconds
   */
  readonly deliveryTimeoutMs?: number;
  /**
   * The stack's Updates topic and the lifecycle notices it carries (`notifications.snsEvents`); without it no notice
   * is routed in AWS.
   */
  readonly updates?: { readonly topicArn: string; readonly events: readonly NoticeKind[] };
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
 *
 * Lifecycle notices (opened, acknowledged, update, resolved...) go to one more topic, Updates, for stakeholders, in
 * the same shape: text for people, a JSON body carrying the notice's idempotency `key` for machines (SNS standard
 * topics do not deduplicate, so a receiver that must see each notice once drops repeated keys), and attributes
 * (kind, incidentId or windowId, severity) to filter on.
 */
export class SnsNotifier implements Notifier {
  readonly deliveryTimeoutMs: number;
  private readonly topics: ReadonlyMap<number, string>;
  private readonly updatesTopic: string | undefined;
  readonly noticeChannels: (kind: NoticeKind) => readonly string[];

  /** @param topics escalation level -> topic ARN (keys as numbers or as the strings "1".."9" of a JSON object) */
  constructor(
    private readonly client: SNSClient,
    topics: Readonly<Record<string, string>>,
    private readonly options: SnsNotifierOptions,
  ) {
    this.deliveryTimeoutMs = options.deliveryTimeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS;
    this.topics = parseSnsTopics(topics);
    this.updatesTopic = options.updates && parseUpdatesTopic(options.updates.topicArn);
    this.noticeChannels = snsNoticeRouting(options.updates?.events ?? [], this.updatesTopic);
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
        Message: JSON.stringify(
          perProtocol(message.text, `${message.subject} - ${message.body.acknowledge}`, message.body),
        ),
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

  /** Publishes one notice to the Updates topic, within the delivery timeout; throws when SNS did not take it. */
  async sendNotice(channel: string, message: NoticeMessage): Promise<void> {
    if (channel !== SNS_UPDATES_CHANNEL || this.updatesTopic === undefined)
      throw new ControlPlaneError(
        'NO_CHANNEL',
        `no notice channel ${channel} in AWS (${this.updatesTopic === undefined ? 'no Updates topic' : `only ${SNS_UPDATES_CHANNEL}`}); notice ${message.key} not sent`,
      );
    const notice = formatNotice(message, this.options);
    const severity = message.incident?.severity;
    await this.client.send(
      new PublishCommand({
        TopicArn: this.updatesTopic,
        Subject: snsSubject(notice.subject),
        MessageStructure: 'json',
        Message: JSON.stringify(perProtocol(notice.text, notice.subject, notice.body)),
        MessageAttributes: {
          kind: text(message.notice.kind),
          ...(message.incident ? { incidentId: text(message.incident.id) } : {}),
          ...(message.window ? { windowId: text(message.window.id) } : {}),
          ...(severity === undefined ? {} : { severity: text(severity) }),
        },
      }),
      { abortSignal: AbortSignal.timeout(this.deliveryTimeoutMs) },
    );
  }
}

/** One message per kind of subscriber: people read `forPeople` (SMS the short `sms`), machines parse `body`. */
function perProtocol(forPeople: string, sms: string, body: unknown): Record<string, string> {
  const json = JSON.stringify(body);
  return {
    default: forPeople,
    email: forPeople,
    sms,
    'email-json': json,
    sqs: json,
    lambda: json,
    http: json,
    https: json,
    firehose: json,
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
