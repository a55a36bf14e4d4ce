import { describe, expect, it } from 'vitest';
import {
  httpChannelFrom,
  PagerDutyChannel,
  SlackChannel,
  TeamsChannel,
} from '../../../../lambdas/adapters/local/http-channels.ts';
import { channelsFromConfig } from '../../../../lambdas/adapters/local/notifiers.ts';
import { PAGERDUTY_EU_EVENTS_URL, PAGERDUTY_EVENTS_URL } from '../../../../lambdas/core/channel-payloads/pagerduty.ts';
import { parseFleetConfig } from '../../../../lambdas/core/config.ts';
import type { ChannelConfig } from '../../../../lambdas/core/config-schema.ts';
import { errorMessage } from '../../../../lambdas/core/errors.ts';
import { shippedConfigWith } from '../../../support/shipped-config.ts';

function parseChannels(channels: unknown[]) {
  return parseFleetConfig(shippedConfigWith('notifications', { channels }));
}

function channelsOf(channels: unknown[]): readonly ChannelConfig[] {
  const parsed = parseChannels(channels);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config.notifications.channels;
}

function problemsOf(channels: unknown[]) {
  const parsed = parseChannels(channels);
  if (parsed.ok) throw new Error('expected the config to be refused');
  return parsed.problems.map((p) => ({ path: p.path, message: p.message }));
}

function only(channels: readonly ChannelConfig[]) {
  const [channel] = channels;
  if (channel?.kind !== 'pagerduty' && channel?.kind !== 'slack' && channel?.kind !== 'teams')
    throw new Error('expected one http channel');
  return channel;
}

const SECRET = { id: 'acgs-1/pagerduty', field: 'routingKey' };

describe('the pagerduty, slack and teams channel kinds in the config', () => {
  it('give PagerDuty the US endpoint, acknowledged and resolved notices and a 10 s timeout by default', () => {
    // Act
    const channel = only(channelsOf([{ name: 'pd', kind: 'pagerduty', routingKeyEnv: 'PD_KEY' }]));
    // Assess
    expect(channel).toEqual({
      name: 'pd',
      kind: 'pagerduty',
      routingKeyEnv: 'PD_KEY',
      url: PAGERDUTY_EVENTS_URL,
      pages: true,
      events: ['acknowledged', 'resolved'],
      timeout: 10_000,
    });
  });

  it('take the EU endpoint, a severity map and a Secrets Manager secret', () => {
    // Act
    const channel = only(
      channelsOf([
        {
          name: 'pd',
          kind: 'pagerduty',
          routingKeySecret: SECRET,
          url: PAGERDUTY_EU_EVENTS_URL,
          severityMap: { P3: 'info' },
        },
      ]),
    );
    // Assess
    expect(channel).toMatchObject({
      url: PAGERDUTY_EU_EVENTS_URL,
      severityMap: { P3: 'info' },
      routingKeySecret: SECRET,
    });
  });

  it('refuse a channel with neither or both places for its secret, naming the field', () => {
    // Act
    const problems = [
      problemsOf([{ name: 'pd', kind: 'pagerduty' }]),
      problemsOf([{ name: 'pd', kind: 'pagerduty', routingKeyEnv: 'PD_KEY', routingKeySecret: SECRET }]),
      problemsOf([{ name: 'ops', kind: 'slack' }]),
      problemsOf([{ name: 'ops', kind: 'teams', urlEnv: 'TEAMS_URL', urlSecret: { id: 'acgs-1/teams' } }]),
    ];
    // Assess
    expect(problems).toEqual([
      [
        {
          path: 'notifications.channels.0.routingKeyEnv',
          message:
            'give exactly one of routingKeyEnv (an environment variable, on one host) and routingKeySecret (a Secrets Manager secret, in AWS)',
        },
      ],
      [
        {
          path: 'notifications.channels.0.routingKeySecret',
          message:
            'give exactly one of routingKeyEnv (an environment variable, on one host) and routingKeySecret (a Secrets Manager secret, in AWS), not both',
        },
      ],
      [
        {
          path: 'notifications.channels.0.urlEnv',
          message:
            'give exactly one of urlEnv (an environment variable, on one host) and urlSecret (a Secrets Manager secret, in AWS)',
        },
      ],
      [
        {
          path: 'notifications.channels.0.urlSecret',
          message:
            'give exactly one of urlEnv (an environment variable, on one host) and urlSecret (a Secrets Manager secret, in AWS), not both',
        },
      ],
    ]);
  });

  it('refuse a severity PagerDuty does not know and a URL in the config of a Slack channel, naming the field', () => {
    // Act
    const severity = problemsOf([{ name: 'pd', kind: 'pagerduty', routingKeyEnv: 'K', severityMap: { P1: 'fatal' } }]);
    const slackUrl = problemsOf([{ name: 'ops', kind: 'slack', urlEnv: 'U', url: 'https://hooks.slack.com/x' }]);
    // Assess
    expect(severity.map((p) => p.path)).toEqual(['notifications.channels.0.severityMap.P1']);
    expect(slackUrl.map((p) => p.path)).toEqual(['notifications.channels.0.url']);
    expect(slackUrl[0]?.message).toMatch(/unknown key/);
  });
});

describe('httpChannelFrom', () => {
  it('builds each channel with its routing from the config, through channelsFromConfig', () => {
    // Prepare
    const configs = channelsOf([
      { name: 'pd', kind: 'pagerduty', routingKeyEnv: 'PD_KEY', levels: [1, 2] },
      { name: 'ops', kind: 'slack', urlEnv: 'SLACK_URL', events: ['update'] },
      { name: 'stakeholders', kind: 'teams', urlEnv: 'TEAMS_URL', pages: false, events: ['opened', 'resolved'] },
    ]);
    const env = {
      PD_KEY: 'R0123456789abcdef0123456789abcdef',
      SLACK_URL: 'https://hooks.slack.com/services/T0/B0/x',
      TEAMS_URL: 'https://prod-00.westeurope.logic.azure.com/workflows/x/triggers/manual/paths/invoke?sig=y',
    };
    // Act
    const [pd, slack, teams] = channelsFromConfig(configs, '/state', env, () => undefined);
    // Assess
    expect(pd).toBeInstanceOf(PagerDutyChannel);
    expect(pd).toMatchObject({ name: 'pd', levels: [1, 2], pages: true, events: ['acknowledged', 'resolved'] });
    expect(slack).toBeInstanceOf(SlackChannel);
    expect(slack).toMatchObject({ name: 'ops', pages: true, events: ['update'], timeoutMs: 10_000 });
    expect(teams).toBeInstanceOf(TeamsChannel);
    expect(teams).toMatchObject({ name: 'stakeholders', pages: false, events: ['opened', 'resolved'] });
  });

  it('fails at startup naming the channel and the variable when the variable is not set', () => {
    // Prepare
    const pd = only(channelsOf([{ name: 'pd', kind: 'pagerduty', routingKeyEnv: 'PD_KEY' }]));
    const slack = only(channelsOf([{ name: 'ops', kind: 'slack', urlEnv: 'SLACK_URL' }]));
    // Act
    const messages = [
      () => httpChannelFrom(pd, {}),
      () => httpChannelFrom(pd, { PD_KEY: '  ' }),
      () => httpChannelFrom(slack, {}),
    ].map((build) => {
      try {
        build();
        return 'built';
      } catch (error) {
        return errorMessage(error);
      }
    });
    // Assess
    expect(messages).toEqual([
      'channel pd needs the environment variable PD_KEY (routingKeyEnv), which is not set',
      'channel pd needs the environment variable PD_KEY (routingKeyEnv), which is not set',
      'channel ops needs the environment variable SLACK_URL (urlEnv), which is not set',
    ]);
  });

  it('fails at startup when a webhook variable holds no http(s) URL, without repeating the value', () => {
    // Prepare
    const teams = only(channelsOf([{ name: 'stakeholders', kind: 'teams', urlEnv: 'TEAMS_URL' }]));
    // Act
    const build = () => httpChannelFrom(teams, { TEAMS_URL: 'sig=s3cr3t' });
    // Assess
    expect(build).toThrow(
      "channel stakeholders: the environment variable TEAMS_URL must hold the teams webhook's http(s) URL",
    );
  });

  it('fails at startup on one host when the channel names only a Secrets Manager secret', () => {
    // Prepare
    const pd = only(channelsOf([{ name: 'pd', kind: 'pagerduty', routingKeySecret: SECRET }]));
    // Act
    const build = () => httpChannelFrom(pd, { PD_KEY: 'x' });
    // Assess
    expect(build).toThrow(
      'channel pd names routingKeySecret, a Secrets Manager secret the daemon does not read; on one host give routingKeyEnv, the environment variable holding it',
    );
  });
});
