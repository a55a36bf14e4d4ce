import { ControlPlaneError } from '../../core/errors.ts';

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
