import type { ChannelConfig } from './config-schema.ts';
import type { NoticeKind } from './notices.ts';
import type { SecretRef } from './secret-ref.ts';

/*
 * Which of the config's notification channels the AWS Lambdas deliver through, beside SNS, and what the stack
 * refuses. Shared by lib/ (synth checks, grants) and the handlers (routing before any channel is loaded), so pure.
 *
 * - pagerduty, slack, teams and webhook: delivered over HTTPS by every Lambda that pages or delivers notices, their
 *   secret (`routingKeySecret`, `urlSecret`) read from Secrets Manager on the first page or notice.
 * - console and jsonl: ignored in AWS. They are the single host's terminal and local file; in a Lambda the first is
 *   the CloudWatch log, which already has a line for every page and notice (`page-*`, `notice-*`), and the second a
 *   file in a sandbox that vanishes. The shipped configs name them by default, so refusing them would refuse every
 *   config that does not spell out its notifications.
 * - smtp: refused at synth (no mail relay for a Lambda, and nodemailer stays out of the bundles): subscribe the
 *   address to an SNS topic instead.
 */

export const AWS_HTTP_CHANNEL_KINDS = ['pagerduty', 'slack', 'teams', 'webhook'] as const;

export type AwsHttpChannelConfig = Extract<ChannelConfig, { kind: (typeof AWS_HTTP_CHANNEL_KINDS)[number] }>;

/** The channel that pages through the level topics when HTTP channels page beside it. */
export const SNS_PAGES_CHANNEL = 'sns-pages';
/** The channel of the Updates topic (as adapters/aws/sns-topics.ts names it). */
export const SNS_UPDATES_CHANNEL_NAME = 'sns-updates';

/** Time on top of a channel's own timeout for its first delivery, which reads its secret first. */
export const SECRET_READ_ALLOWANCE_MS = 5_000;

/** The config's channels the Lambdas deliver through (pagerduty, slack, teams, webhook), in config order. */
export function awsHttpChannels(channels: readonly ChannelConfig[]): AwsHttpChannelConfig[] {
  return channels.filter((c): c is AwsHttpChannelConfig =>
    (AWS_HTTP_CHANNEL_KINDS as readonly string[]).includes(c.kind),
  );
}

/** How long one delivery through `channel` may take in a Lambda, its secret read included. */
export function awsChannelTimeoutMs(channel: AwsHttpChannelConfig): number {
  return channel.timeout + SECRET_READ_ALLOWANCE_MS;
}

/**
 * The notice channels of a kind in AWS: SNS's (`snsRouting`) then the HTTP channels whose `events` name it. Needs
 * no channel loaded, so a Lambda that only stores a notice never reads a secret.
 */
export function awsNoticeRouting(
  snsRouting: (kind: NoticeKind) => readonly string[],
  channels: readonly AwsHttpChannelConfig[],
): (kind: NoticeKind) => readonly string[] {
  return (kind) => [...snsRouting(kind), ...channels.filter((c) => c.events?.includes(kind)).map((c) => c.name)];
}

/** The field holding the channel's secret in one place or the other, for messages and grants. */
function secretField(c: AwsHttpChannelConfig): 'routingKey' | 'url' | 'token' {
  return c.kind === 'pagerduty' ? 'routingKey' : c.kind === 'webhook' ? 'token' : 'url';
}

/**
 * Why these channels cannot work in AWS, each naming the channel and the field: an smtp channel; a secret named as
 * an environment variable (`*Env`: a Lambda's environment is not where secrets go); a channel named like one of the
 * SNS channels. Empty: nothing to refuse.
 */
export function awsChannelProblems(channels: readonly ChannelConfig[]): string[] {
  return channels.flatMap((c, i) => {
    const at = `notifications.channels[${i}]`;
    if (c.kind === 'smtp')
      return [
        `${at} (${c.name}): an smtp channel cannot deliver from the Lambdas (no mail relay, and no mail library in ` +
          'their bundles): subscribe the addresses to the escalation or Updates SNS topic instead, and leave the smtp ' +
          'channel to the single-host config',
      ];
    if (c.name === SNS_PAGES_CHANNEL || c.name === SNS_UPDATES_CHANNEL_NAME)
      return [`${at}.name: "${c.name}" is the name of the stack's own SNS channel in AWS; name the channel otherwise`];
    if (c.kind !== 'pagerduty' && c.kind !== 'slack' && c.kind !== 'teams' && c.kind !== 'webhook') return [];
    const field = secretField(c);
    const env = (c as Record<string, unknown>)[`${field}Env`];
    if (typeof env !== 'string') return [];
    const instead =
      c.kind === 'webhook'
        ? 'AWS has no bearer token for a webhook channel: point it at an endpoint that takes the page without one, or subscribe the endpoint to an SNS topic'
        : `put it in Secrets Manager and name the secret in ${at}.${field}Secret (e.g. { id: ${c.name} })`;
    return [
      `${at}.${field}Env (${c.name}): names the environment variable ${env}, but a Lambda's environment is not ` +
        `where secrets go: ${instead}`,
    ];
  });
}

/** The Secrets Manager secrets the delivering Lambdas read, with the field naming each (for grants). */
export function awsChannelSecrets(
  channels: readonly ChannelConfig[],
): { field: string; channel: string; ref: SecretRef }[] {
  return channels.flatMap((c, i) => {
    const ref =
      c.kind === 'pagerduty' ? c.routingKeySecret : c.kind === 'slack' || c.kind === 'teams' ? c.urlSecret : undefined;
    if (ref === undefined) return [];
    const field = c.kind === 'pagerduty' ? 'routingKeySecret' : 'urlSecret';
    return [{ field: `notifications.channels[${i}].${field}`, channel: c.name, ref }];
  });
}
