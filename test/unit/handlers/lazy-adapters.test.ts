import { describe, expect, it } from 'vitest';
import { lazyCommandRunner, lazyNotifier, once } from '../../../lambdas/handlers/lazy-adapters.ts';
import { createRuntime, NO_COMMANDS } from '../../../lambdas/handlers/runtime-base.ts';
import type { Notifier } from '../../../lambdas/ports.ts';
import { loadShippedConfig, ManualClock } from '../../support/harness.ts';
import { UNUSED_DYNAMODB } from '../../support/unused-dynamodb.ts';

/*
 * A Lambda loads the SNS, EventBridge and SSM adapters on first use (lazy-adapters.ts): once per instance, shared by
 * concurrent first calls, tried again after a failed load; and what the adapter would refuse at construction (the
 * topic map) is still refused when the runtime is built, not at the first page.
 */

const ENV = {
  ACGS_TABLE_NAME: 'table',
  ACGS_EVENT_BUS_NAME: 'bus',
  ACGS_TOPIC_ARNS: '{"1":"arn:aws:sns:us-east-1:123456789012:level-1"}',
  ACGS_DOCUMENT_NAMES: '{}',
  ACGS_COMMAND_LOG_GROUP: 'commands',
  POWERTOOLS_SERVICE_NAME: 'acgs-1-control-plane',
  POWERTOOLS_METRICS_NAMESPACE: 'ACGS/OpsControlPlane',
};

const REQUEST = { document: 'acgs-restart-service', parameters: {}, timeoutMs: 1_000 };

describe('adapters loaded on first use', () => {
  it('loads once, the concurrent first calls sharing the load', async () => {
    let loads = 0;
    const runner = lazyCommandRunner(async () => {
      loads++;
      return NO_COMMANDS;
    });
    expect(loads).toBe(0);
    const results = await Promise.all([runner.run(REQUEST), runner.run(REQUEST), runner.run(REQUEST)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(loads).toBe(1);
  });

  it('does not keep a failed load: the next call loads again', async () => {
    let loads = 0;
    const load = once(async () => {
      loads++;
      if (loads === 1) throw new Error('module not found');
      return 'adapter';
    });
    await expect(load()).rejects.toThrow('module not found');
    await expect(load()).resolves.toBe('adapter');
    await expect(load()).resolves.toBe('adapter');
    expect(loads).toBe(2);
  });

  it('a notifier answers its delivery bound before its adapter is loaded', async () => {
    const delivered: string[] = [];
    const inner: Notifier = {
      deliveryTimeoutMs: 10_000,
      notify: async (n) => {
        delivered.push(n.incident.id);
      },
      noticeChannels: () => [],
      sendNotice: async () => {},
    };
    let loaded = false;
    const notifier = lazyNotifier(
      10_000,
      () => [],
      async () => {
        loaded = true;
        return inner;
      },
    );
    expect(notifier.deliveryTimeoutMs).toBe(10_000);
    expect(loaded).toBe(false);
    await notifier.notify({ incident: { id: 'INC-1' } } as Parameters<Notifier['notify']>[0]);
    expect(delivered).toEqual(['INC-1']);
  });

  it('refuses a bad topic map when the runtime is built, as the SNS notifier did, without loading SNS', () => {
    const clients = {
      dynamodb: UNUSED_DYNAMODB,
      sns: async () => {
        throw new Error('SNS must not be loaded to check the topics');
      },
      events: async () => {
        throw new Error('EventBridge must not be loaded');
      },
    };
    const build = (topics: string) =>
      createRuntime(loadShippedConfig(), { ...ENV, ACGS_TOPIC_ARNS: topics }, clients, NO_COMMANDS, new ManualClock());
    expect(() => build('{"one":"arn:aws:sns:us-east-1:123456789012:level-1"}')).toThrow(
      'SnsNotifier: "one" is not an escalation level (1, 2, 3...)',
    );
    expect(() => build('{"1":"arn:aws:sns:us-east-1:123456789012:pages.fifo"}')).toThrow(
      'is not a standard SNS topic ARN',
    );
    expect(build(ENV.ACGS_TOPIC_ARNS).ctx.notifier.deliveryTimeoutMs).toBe(10_000);
  });

  it('routes the snsEvents notices to the Updates topic without loading SNS, and none without the topic', () => {
    const clients = {
      dynamodb: UNUSED_DYNAMODB,
      sns: async () => {
        throw new Error('SNS must not be loaded to route a notice');
      },
      events: async () => {
        throw new Error('EventBridge must not be loaded');
      },
    };
    const config = loadShippedConfig();
    const withTopic = { ...ENV, ACGS_UPDATES_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:updates' };
    const routed = createRuntime(config, withTopic, clients, NO_COMMANDS, new ManualClock()).ctx.notifier;
    expect(routed.noticeChannels('resolved')).toEqual(['sns-updates']);
    expect(routed.noticeChannels('escalated')).toEqual([]);
    expect(routed.noticeChannels('test')).toEqual([]);
    const onlyResolved = { ...config, notifications: { ...config.notifications, snsEvents: ['resolved' as const] } };
    const narrow = createRuntime(onlyResolved, withTopic, clients, NO_COMMANDS, new ManualClock()).ctx.notifier;
    expect(narrow.noticeChannels('opened')).toEqual([]);
    expect(narrow.noticeChannels('resolved')).toEqual(['sns-updates']);
    const none = createRuntime(config, ENV, clients, NO_COMMANDS, new ManualClock()).ctx.notifier;
    expect(none.noticeChannels('resolved')).toEqual([]);
    expect(() =>
      createRuntime(config, { ...ENV, ACGS_UPDATES_TOPIC_ARN: 'updates' }, clients, NO_COMMANDS, new ManualClock()),
    ).toThrow('updates topic "updates" is not a standard SNS topic ARN');
  });
});
