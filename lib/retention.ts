import { RetentionDays } from 'aws-cdk-lib/aws-logs';

const SUPPORTED = Object.values(RetentionDays)
  .filter((v): v is RetentionDays => typeof v === 'number' && v !== RetentionDays.INFINITE)
  .sort((a, b) => a - b);

/**
 * CloudWatch Logs accepts only some retention periods (1, 3, 5, 7, 14, 30, ... 3653 days); the config may say any
 * number of days. Rounds up: logs are never kept shorter than the config asks.
 */
export function logRetention(days: number): RetentionDays {
  const fit = SUPPORTED.find((d) => d >= days);
  if (fit === undefined) throw new Error(`retention of ${days} days exceeds the CloudWatch Logs maximum`);
  return fit;
}
