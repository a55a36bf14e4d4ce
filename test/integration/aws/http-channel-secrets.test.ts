import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretsManagerSecretSource } from '../../../lambdas/adapters/aws/secrets-manager-secret-source.ts';
import { httpChannelWithSecrets } from '../../../lambdas/adapters/local/http-channels.ts';
import { LocalSecretSource } from '../../../lambdas/adapters/local/local-secret-source.ts';
import { parseFleetConfig } from '../../../lambdas/core/config.ts';
import type { ChannelConfig } from '../../../lambdas/core/config-schema.ts';
import { errorMessage } from '../../../lambdas/core/errors.ts';
import type { SlackWireMessage } from '../../support/channel-formats.ts';
import { incidentLifecycle } from '../../support/channel-lifecycle.ts';
import { type PagerDutySink, type Sink, startPagerDutySink, startSlackSink } from '../../support/channel-sinks.ts';
import { awsClientConfig, useMotoServer } from '../../support/moto.ts';
import { shippedConfigWith } from '../../support/shipped-config.ts';

/*
 * The `*Secret` side of the PagerDuty and Slack channels: the routing key and the webhook URL read from Secrets
 * Manager (moto) through the SecretSource the Lambdas use, then a page delivered to the local sinks with them.
 */

const ROUTING_KEY = 'R0123456789abcdef0123456789abcdef';
const moto = useMotoServer();
let client: SecretsManagerClient;
let pagerDuty: PagerDutySink;
let slack: Sink<SlackWireMessage>;

beforeAll(async () => {
  client = new SecretsManagerClient(awsClientConfig(moto.endpoint));
  [pagerDuty, slack] = await Promise.all([startPagerDutySink(ROUTING_KEY), startSlackSink()]);
  await client.send(
    new CreateSecretCommand({ Name: 'acgs-1/pagerduty', SecretString: JSON.stringify({ routingKey: ROUTING_KEY }) }),
  );
  await client.send(new CreateSecretCommand({ Name: 'acgs-1/slack-webhook', SecretString: slack.url }));
});

afterAll(async () => {
  await Promise.all([pagerDuty.close(), slack.close()]);
});

function channels(list: unknown[]): readonly ChannelConfig[] {
  const parsed = parseFleetConfig(shippedConfigWith('notifications', { channels: list }));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config.notifications.channels;
}

function httpConfig(c: ChannelConfig | undefined) {
  if (c?.kind !== 'pagerduty' && c?.kind !== 'slack' && c?.kind !== 'teams') throw new Error('not an http channel');
  return c;
}

describe('httpChannelWithSecrets', () => {
  it('reads the routing key and the webhook URL from Secrets Manager and delivers a page with them', async () => {
    // Prepare
    const [pdConfig, slackConfig] = channels([
      {
        name: 'pd',
        kind: 'pagerduty',
        routingKeySecret: { id: 'acgs-1/pagerduty', field: 'routingKey' },
        url: pagerDuty.url,
      },
      { name: 'ops', kind: 'slack', urlSecret: { id: 'acgs-1/slack-webhook' } },
    ]);
    const secrets = new SecretsManagerSecretSource(client);
    const [first] = incidentLifecycle().steps;
    if (!first?.page) throw new Error('no first page');
    // Act
    const built = await Promise.all([
      httpChannelWithSecrets(httpConfig(pdConfig), secrets),
      httpChannelWithSecrets(httpConfig(slackConfig), secrets),
    ]);
    for (const channel of built) await channel.deliver(first.page.message, first.page.notification);
    // Assess
    expect(pagerDuty.taken.map((e) => [e.event_action, e.routing_key])).toEqual([['trigger', ROUTING_KEY]]);
    expect(pagerDuty.incidents).toHaveLength(1);
    expect(slack.taken).toHaveLength(1);
  });

  it('fails naming the channel and the secret when the secret is missing, and the variable on one host', async () => {
    // Prepare
    const [aws, local] = channels([
      { name: 'pd', kind: 'pagerduty', routingKeySecret: { id: 'acgs-1/nothing-here' } },
      { name: 'pd-local', kind: 'pagerduty', routingKeyEnv: 'PD_ROUTING_KEY' },
    ]);
    // Act
    const messages = await Promise.all([
      httpChannelWithSecrets(httpConfig(aws), new SecretsManagerSecretSource(client)).then(
        () => 'built',
        (e: unknown) => errorMessage(e),
      ),
      httpChannelWithSecrets(httpConfig(local), new LocalSecretSource({})).then(
        () => 'built',
        (e: unknown) => errorMessage(e),
      ),
    ]);
    // Assess
    expect(messages[0]).toMatch(/acgs-1\/nothing-here/);
    expect(messages[1]).toBe(
      'channel pd-local needs the environment variable PD_ROUTING_KEY (routingKeyEnv), which holds nothing',
    );
  });
});
