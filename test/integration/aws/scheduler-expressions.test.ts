import { CreateScheduleCommand, GetScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { declaredSchedules, toScheduler } from '../../../lambdas/core/schedules.ts';
import { loadShippedConfig } from '../../support/harness.ts';
import { awsClientConfig, useMotoServer } from '../../support/moto.ts';

/**
 * The schedule expressions the stack deploys, created through EventBridge Scheduler's API (moto): each one the
 * config declares is accepted and read back unchanged, with its time zone, retry policy and dead-letter queue.
 */
const moto = useMotoServer();
let scheduler: SchedulerClient;

beforeAll(() => {
  scheduler = new SchedulerClient(awsClientConfig(moto.endpoint));
});
afterAll(() => scheduler.destroy());

describe('EventBridge Scheduler expressions from the config', () => {
  const config = loadShippedConfig();
  for (const [name, schedule] of declaredSchedules(config)) {
    it(`creates the ${name} schedule with the expression and time zone the config declares`, async () => {
      const { expression, timezone } = toScheduler(schedule, config.schedules.timeZone);
      await scheduler.send(
        new CreateScheduleCommand({
          Name: `acgs-1-${name}`,
          ScheduleExpression: expression,
          ScheduleExpressionTimezone: timezone,
          FlexibleTimeWindow: { Mode: 'OFF' },
          Target: {
            Arn: 'arn:aws:lambda:us-east-1:123456789012:function:acgs-1-probe',
            RoleArn: 'arn:aws:iam::123456789012:role/acgs-1-scheduler',
            Input: JSON.stringify({ task: name }),
            RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 300 },
            DeadLetterConfig: { Arn: 'arn:aws:sqs:us-east-1:123456789012:acgs-1-schedules-dlq' },
          },
        }),
      );
      const stored = await scheduler.send(new GetScheduleCommand({ Name: `acgs-1-${name}` }));
      expect([stored.ScheduleExpression, stored.ScheduleExpressionTimezone]).toEqual([expression, timezone]);
      expect(stored.Target?.RetryPolicy).toEqual({ MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 300 });
      expect(stored.Target?.DeadLetterConfig?.Arn).toContain('schedules-dlq');
    });
  }
});
