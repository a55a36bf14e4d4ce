import { ControlPlaneError } from '../../core/errors.ts';
import type { NoticeKind } from '../../core/notices.ts';

/*
 * What SnsNotifier checks of its topics, apart from the SNS client: a Lambda checks them at cold start while it loads
 * the client only for its first page (handlers/lazy-adapters.ts).
 */

/** Standard (not FIFO) SNS topic ARNs: FIFO topics cannot deliver to email or SMS, which pages need. */
const TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;

/** One publish, the SDK's own retries included. */
export const DEFAULT_DELIVERY_TIMEOUT_MS = 10_000;

/** @param topics escalation level -> topic ARN (keys as numbers or as the strings "1".."9" of a JSON object) */
export function parseSnsTopics(topics: Readonly<Record<string, string>>): ReadonlyMap<number, string> {
  const parsed = new Map<number, string>();
  for (const [level, arn] of Object.entries(topics)) {
    if (!/^[1-9][0-9]*$/.test(level))
      throw new ControlPlaneError('CONFIG', `SnsNotifier: "${level}" is not an escalation level (1, 2, 3...)`);
    if (!TOPIC_ARN.test(arn))
      throw new ControlPlaneError('CONFIG', `SnsNotifier: level ${level}: "${arn}" is not a standard SNS topic ARN`);
    parsed.set(Number(level), arn);
  }
  return parsed;
}

/** The notice channel of the stack's `Updates` topic, as `noticeChannels` names it. */
export const SNS_UPDATES_CHANNEL = 'sns-updates';

/** The Updates topic's ARN, checked like the level topics' (a standard topic: people subscribe by email). */
export function parseUpdatesTopic(arn: string): string {
  if (!TOPIC_ARN.test(arn))
    throw new ControlPlaneError('CONFIG', `SnsNotifier: updates topic "${arn}" is not a standard SNS topic ARN`);
  return arn;
}

/**
 * Where lifecycle notices go in AWS: the kinds of `notifications.snsEvents` to the Updates topic, when the Lambda
 * has one; nothing otherwise (no notice is then stored for delivery).
 */
export function snsNoticeRouting(
  events: readonly NoticeKind[],
  updatesTopic: string | undefined,
): (kind: NoticeKind) => readonly string[] {
  const routed = new Set(updatesTopic === undefined ? [] : events);
  const channels = [SNS_UPDATES_CHANNEL] as const;
  return (kind) => (routed.has(kind) ? channels : []);
}
