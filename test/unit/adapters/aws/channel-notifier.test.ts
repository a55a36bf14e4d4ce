import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsChannelNotifier } from '../../../../lambdas/adapters/aws/channel-notifier.ts';
import { awsHttpChannels } from '../../../../lambdas/core/aws-channels.ts';
import { parseFleetConfig } from '../../../../lambdas/core/config.ts';
import { errorMessage } from '../../../../lambdas/core/errors.ts';
import type { NoticeMessage } from '../../../../lambdas/core/notices.ts';
import type { Notification, Notifier, SecretSource } from '../../../../lambdas/ports.ts';
import { incidentLifecycle, MESSAGE_OPTIONS } from '../../../support/channel-lifecycle.ts';
import { type PagerDutySink, startPagerDutySink } from '../../../support/channel-sinks.ts';
import { shippedConfigWith } from '../../../support/shipped-config.ts';

/*
 * SNS beside the HTTP channels in AWS: a page counts when any channel took it, a channel that fails (SNS, or a
 * PagerDuty channel whose secret cannot be read) is reported and does not hold the others up, and notices go to the
 * channel they are routed to.
 */

const ROUTING_KEY = 'R0123456789abcdef0123456789abcd02';
let pagerDuty: PagerDutySink;
beforeAll(async () => {
  pagerDuty = await startPagerDutySink(ROUTING_KEY);
});
afterAll(async () => {
  await pagerDuty.close();
});

function httpChannels(url: string) {
  const parsed = parseFleetConfig(
    shippedConfigWith('notifications.channels', [
      { name: 'console', kind: 'console' },
      { name: 'pagerduty', kind: 'pagerduty', url, routingKeySecret: { id: 'acgs-1/pagerduty' }, events: ['resolved'] },
    ]),
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return awsHttpChannels(parsed.config.notifications.channels);
}

class FakeSns implements Notifier {
  readonly deliveryTimeoutMs = 1_000;
  readonly pages: Notification[] = [];
  readonly notices: string[] = [];
  failing = false;
  async notify(notification: Notification): Promise<void> {
    if (this.failing) throw new Error('SNS throttled');
    this.pages.push(notification);
  }
  noticeChannels = () => [];
  async sendNotice(channel: string, message: NoticeMessage): Promise<void> {
    this.notices.push(`${channel} ${message.key}`);
  }
}

function notifier(secret: string | undefined) {
  const sns = new FakeSns();
  const errors: string[] = [];
  let reads = 0;
  const secrets: SecretSource = {
    get: async () => {
      reads++;
      return secret;
    },
  };
  const routed = awsChannelNotifier({
    sns: async () => sns,
    snsTimeoutMs: 1_000,
    updatesEvents: ['opened', 'resolved'],
    channels: httpChannels(pagerDuty.url),
    secrets: async () => secrets,
    message: MESSAGE_OPTIONS,
    onChannelError: (channel, error) => errors.push(`${channel}: ${errorMessage(error)}`),
  });
  return { routed, sns, errors, reads: () => reads };
}

const steps = incidentLifecycle().steps;
const firstPage = () => {
  const page = steps[0]?.page;
  if (!page) throw new Error('no first page');
  return page.notification;
};

describe('awsChannelNotifier', () => {
  it('pages through SNS and PagerDuty (secret read once), and routes notices to sns-updates and pagerduty', async () => {
    const { routed, sns, errors, reads } = notifier(ROUTING_KEY);
    await routed.notify(firstPage());
    await routed.notify(firstPage());
    expect(sns.pages).toHaveLength(2);
    expect(pagerDuty.taken.filter((e) => e.routing_key === ROUTING_KEY).length).toBeGreaterThanOrEqual(2);
    expect(errors).toEqual([]);
    expect(reads()).toBe(1);
    expect(routed.noticeChannels('resolved')).toEqual(['sns-updates', 'pagerduty']);
    expect(routed.noticeChannels('opened')).toEqual(['sns-updates']);
    expect(routed.noticeChannels('escalated')).toEqual([]);
  });

  it('still pages through SNS when the PagerDuty secret holds nothing, reporting the channel and the secret', async () => {
    const { routed, sns, errors } = notifier('');
    await routed.notify(firstPage());
    expect(sns.pages).toHaveLength(1);
    expect(errors).toEqual([expect.stringMatching(/^pagerduty: channel pagerduty needs the secret acgs-1\/pagerduty/)]);
  });

  it('counts a page PagerDuty took when SNS fails, and fails naming both when neither took it', async () => {
    const ok = notifier(ROUTING_KEY);
    ok.sns.failing = true;
    await ok.routed.notify(firstPage());
    expect(ok.errors).toEqual(['sns-pages: SNS throttled']);
    const none = notifier(undefined);
    none.sns.failing = true;
    await expect(none.routed.notify(firstPage())).rejects.toThrow(
      /no channel delivered the page: sns-pages: SNS throttled; pagerduty: channel pagerduty needs/,
    );
  });
});
