import {
  type AwsHttpChannelConfig,
  awsChannelTimeoutMs,
  SNS_PAGES_CHANNEL,
  SNS_UPDATES_CHANNEL_NAME,
} from '../../core/aws-channels.ts';
import type { FormattedNotice } from '../../core/notice-message.ts';
import type { NoticeKind, NoticeMessage } from '../../core/notices.ts';
import { once } from '../../core/once.ts';
import type { MessageOptions, PageMessage } from '../../core/page-message.ts';
import type { Notification, Notifier, SecretSource } from '../../ports.ts';
import { httpChannelWithSecrets } from '../local/http-channels.ts';
import { type Channel, channelRouting, RoutingNotifier } from '../local/routing-notifier.ts';
import { WebhookChannel } from '../local/webhook-channel.ts';

/*
 * Pages and notices in AWS when the config names HTTP channels (PagerDuty, Slack, Teams, webhook): SNS becomes two
 * channels of a RoutingNotifier beside them, `sns-pages` (the level topics) and `sns-updates` (the Updates topic), so
 * a page counts as delivered when any channel took it and a failing one is reported, and each notice is retried per
 * channel by the outbox. The SNS notifier and each HTTP channel are built on their first use: an HTTP channel reads
 * its secret from Secrets Manager then, and a channel whose secret cannot be read fails alone.
 */

export interface AwsChannelNotifierOptions {
  /** The SNS notifier (level topics and Updates topic), loaded on first use. */
  readonly sns: () => Promise<Notifier>;
  /** How long one SNS publish may take (the SNS notifier's own bound). */
  readonly snsTimeoutMs: number;
  /** The kinds the Updates topic carries; empty without the topic. */
  readonly updatesEvents: readonly NoticeKind[];
  readonly channels: readonly AwsHttpChannelConfig[];
  /** Where the channels' secrets are read, made on the first channel that needs one. */
  readonly secrets: () => Promise<SecretSource>;
  readonly message: MessageOptions;
  readonly onChannelError: (channel: string, error: unknown) => void;
}

export function awsChannelNotifier(options: AwsChannelNotifierOptions): RoutingNotifier {
  const sns = once(options.sns);
  const snsPages: Channel = {
    name: SNS_PAGES_CHANNEL,
    timeoutMs: options.snsTimeoutMs,
    deliver: async (_message: PageMessage, notification: Notification) => (await sns()).notify(notification),
    deliverNotice: async (message: NoticeMessage) => {
      throw new Error(`${SNS_PAGES_CHANNEL} carries pages only; notice ${message.key} not sent`);
    },
  };
  const snsUpdates: Channel = {
    name: SNS_UPDATES_CHANNEL_NAME,
    pages: false,
    events: options.updatesEvents,
    timeoutMs: options.snsTimeoutMs,
    deliver: async () => {
      throw new Error(`${SNS_UPDATES_CHANNEL_NAME} carries notices only`);
    },
    deliverNotice: async (message: NoticeMessage) => (await sns()).sendNotice(SNS_UPDATES_CHANNEL_NAME, message),
  };
  const secrets = once(options.secrets);
  return new RoutingNotifier(
    [snsPages, snsUpdates, ...options.channels.map((c) => lazyChannel(c, secrets))],
    options.message,
    options.onChannelError,
  );
}

/** The channel `c` declares, built (its secret read) on its first page or notice; a failed build is retried next time. */
function lazyChannel(c: AwsHttpChannelConfig, secrets: () => Promise<SecretSource>): Channel {
  const routing = channelRouting(c);
  const built = once(
    async (): Promise<Channel> =>
      c.kind === 'webhook'
        ? new WebhookChannel(c.name, c.url, c.timeout, undefined, routing)
        : httpChannelWithSecrets(c, await secrets()),
  );
  return {
    name: c.name,
    ...routing,
    timeoutMs: awsChannelTimeoutMs(c),
    deliver: async (message: PageMessage, notification: Notification) => (await built()).deliver(message, notification),
    deliverNotice: async (message: NoticeMessage, formatted: FormattedNotice) =>
      (await built()).deliverNotice(message, formatted),
  };
}
