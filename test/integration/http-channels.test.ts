import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ChannelDeliveryError } from '../../lambdas/adapters/local/http-channels.ts';
import { channelsFromConfig, RoutingNotifier } from '../../lambdas/adapters/local/notifiers.ts';
import { pagerDutyDedupKey } from '../../lambdas/core/channel-payloads/pagerduty.ts';
import { parseFleetConfig } from '../../lambdas/core/config.ts';
import type { FleetConfig } from '../../lambdas/core/config-schema.ts';
import { errorMessage } from '../../lambdas/core/errors.ts';
import type { SlackWireMessage, TeamsWireMessage } from '../support/channel-formats.ts';
import {
  incidentLifecycle,
  type LifecycleStep,
  MESSAGE_OPTIONS,
  maintenanceSteps,
} from '../support/channel-lifecycle.ts';
import {
  type PagerDutySink,
  type Sink,
  startPagerDutySink,
  startSlackSink,
  startTeamsSink,
} from '../support/channel-sinks.ts';
import { freePort } from '../support/local-servers.ts';
import { shippedConfigWith } from '../support/shipped-config.ts';

/*
 * The PagerDuty, Slack and Teams channels as the daemon builds them (config -> channelsFromConfig -> RoutingNotifier),
 * driven through one incident's whole life against local sinks that check every request against the published
 * format and answer like the real services.
 */

const ROUTING_KEY = 'R0123456789abcdef0123456789abcdef';
const INCIDENT_EVENTS = ['opened', 'escalated', 'acknowledged', 'update', 'sla-breached', 'resolved'];

let pagerDuty: PagerDutySink;
let slack: Sink<SlackWireMessage>;
let teams: Sink<TeamsWireMessage>;
const errors: { channel: string; error: unknown }[] = [];

beforeAll(async () => {
  [pagerDuty, slack, teams] = await Promise.all([startPagerDutySink(ROUTING_KEY), startSlackSink(), startTeamsSink()]);
});

afterAll(async () => {
  await Promise.all([pagerDuty.close(), slack.close(), teams.close()]);
});

beforeEach(() => {
  pagerDuty.incidents.length = 0;
  pagerDuty.dropped.length = 0;
  pagerDuty.taken.length = 0;
  slack.taken.length = 0;
  teams.taken.length = 0;
  pagerDuty.answerAfterMs = 0;
  slack.answerAfterMs = 0;
  errors.length = 0;
});

function config(channels: unknown[]): FleetConfig {
  const parsed = parseFleetConfig(shippedConfigWith('notifications', { channels }));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
}

/** The three channels as a config declares them; PagerDuty with its default events (acknowledged, resolved). */
function notifier(overrides: { pagerDuty?: object; timeout?: string } = {}): RoutingNotifier {
  const timeout = overrides.timeout ?? '5s';
  const channels = channelsFromConfig(
    config([
      {
        name: 'pd',
        kind: 'pagerduty',
        routingKeyEnv: 'PD_ROUTING_KEY',
        url: pagerDuty.url,
        timeout,
        ...overrides.pagerDuty,
      },
      { name: 'slack-ops', kind: 'slack', urlEnv: 'SLACK_URL', events: INCIDENT_EVENTS, timeout },
      {
        name: 'teams-stakeholders',
        kind: 'teams',
        urlEnv: 'TEAMS_URL',
        pages: false,
        events: INCIDENT_EVENTS,
        timeout,
      },
    ]).notifications.channels,
    '/nonexistent',
    { PD_ROUTING_KEY: ROUTING_KEY, SLACK_URL: slack.url, TEAMS_URL: teams.url },
    () => undefined,
  );
  return new RoutingNotifier(channels, MESSAGE_OPTIONS, (channel, error) => errors.push({ channel, error }));
}

/** What the daemon does: pages through notify, each notice through every channel its kind is routed to. */
async function deliver(routing: RoutingNotifier, step: LifecycleStep): Promise<void> {
  if (step.page) return routing.notify(step.page.notification);
  const notice = step.notice;
  if (!notice) throw new Error(`step ${step.name} has nothing to deliver`);
  for (const channel of routing.noticeChannels(notice.notice.kind)) await routing.sendNotice(channel, notice);
}

const headers = (sink: Sink<SlackWireMessage>) =>
  sink.taken.map((m) => (m.blocks[0]?.type === 'header' ? m.blocks[0].text.text : '?'));
const teamsHeadlines = (sink: Sink<TeamsWireMessage>) =>
  sink.taken.map((m) => {
    const first = m.attachments[0]?.content.body[0];
    return first?.type === 'TextBlock' ? first.text : '?';
  });

describe('PagerDuty, Slack and Teams channels', () => {
  it('carry one incident from first page to resolution, every request in its published format, PagerDuty following with one incident', async () => {
    // Prepare
    const { incident, steps } = incidentLifecycle();
    const routing = notifier();
    // Act
    for (const step of steps) await deliver(routing, step);
    // Assess
    expect(errors).toEqual([]);
    expect(pagerDuty.incidents).toEqual([
      {
        dedupKey: pagerDutyDedupKey(incident),
        status: 'resolved',
        log: ['trigger', 'trigger', 'acknowledge', 'resolve'],
        summaries: [
          '[P2] auth is down: New incident (level 1, Operations). Seen: auth: connection refused',
          '[P2] auth is down: Not acknowledged in time: escalated (level 2, Secondary on-call). Seen: auth: connection refused',
        ],
      },
    ]);
    expect(headers(slack)).toEqual([
      '[P2] auth is down',
      '[P2] auth is down',
      '[P2] SLA breached: auth is down',
      '[P2] Acknowledged: auth is down',
      '[P2] Update: auth is down',
      '[P2] Resolved: auth is down',
    ]);
    // The stakeholder channel gets the notices, not the pages.
    expect(teamsHeadlines(teams)).toEqual([
      '[P2] SLA breached: auth is down',
      '[P2] Acknowledged: auth is down',
      '[P2] Update: auth is down',
      '[P2] Resolved: auth is down',
    ]);
  });

  it('fold updates and the SLA breach into the open PagerDuty incident when its events name them, and skip what comes after the resolve', async () => {
    // Prepare
    const { steps } = incidentLifecycle();
    const routing = notifier({ pagerDuty: { events: INCIDENT_EVENTS } });
    const resolved = steps.at(-1)?.notice;
    if (!resolved) throw new Error('no resolved step');
    const lateUpdate = { ...resolved, notice: { ...resolved.notice, key: 'late', kind: 'update' as const } };
    // Act
    for (const step of steps) await deliver(routing, step);
    await routing.sendNotice('pd', lateUpdate);
    // Assess
    expect(pagerDuty.incidents).toHaveLength(1);
    expect(pagerDuty.incidents[0]?.log).toEqual([
      'trigger', // first page
      'trigger', // escalation page
      'trigger', // SLA breach
      'acknowledge',
      'trigger', // update, while acknowledged
      'resolve',
    ]);
    expect(pagerDuty.taken).toHaveLength(6);
  });

  it('open no second PagerDuty incident when a page and an acknowledgement are delivered twice', async () => {
    // Prepare
    const { steps } = incidentLifecycle();
    const [first, , , acknowledged] = steps;
    if (!first || !acknowledged) throw new Error('missing steps');
    const routing = notifier();
    // Act
    for (const step of [first, first, acknowledged, acknowledged, first]) await deliver(routing, step);
    // Assess
    expect(pagerDuty.taken.map((e) => e.event_action)).toEqual([
      'trigger',
      'trigger',
      'acknowledge',
      'acknowledge',
      'trigger',
    ]);
    expect(pagerDuty.incidents).toHaveLength(1);
    expect(pagerDuty.incidents[0]?.status).toBe('acknowledged');
  });

  it('throw on 429 and 5xx, naming the channel and the status, so the caller retries; the retry gets it through once', async () => {
    // Prepare
    const acknowledged = incidentLifecycle().steps.find((s) => s.name === 'acknowledged')?.notice;
    if (!acknowledged) throw new Error('no acknowledged step');
    const routing = notifier();
    pagerDuty.failNext(429, 503);
    slack.failNext(500, 429);
    // Act
    const attempts: string[] = [];
    for (const channel of ['pd', 'slack-ops']) {
      for (let attempt = 1; attempt <= 3; attempt++) {
        try {
          await routing.sendNotice(channel, acknowledged);
          attempts.push(`${channel}: delivered`);
          break;
        } catch (error) {
          expect(error).toBeInstanceOf(ChannelDeliveryError);
          expect((error as ChannelDeliveryError).retryable).toBe(true);
          if ((error as ChannelDeliveryError).status === 429)
            expect((error as ChannelDeliveryError).retryAfterMs).toBe(30_000);
          attempts.push(errorMessage(error).replace(/: \{.*$/, ''));
        }
      }
    }
    // Assess
    expect(attempts).toEqual([
      'pagerduty channel pd answered HTTP 429 (throttled: retry after 30 s)',
      'pagerduty channel pd answered HTTP 503',
      'pd: delivered',
      'slack channel slack-ops answered HTTP 500',
      'slack channel slack-ops answered HTTP 429 (throttled: retry after 30 s)',
      'slack-ops: delivered',
    ]);
    expect(pagerDuty.taken.map((e) => e.event_action)).toEqual(['acknowledge']);
    expect(headers(slack)).toEqual(['[P2] Acknowledged: auth is down']);
  });

  it('throw a non-retryable error with the answer when PagerDuty refuses the event (400), naming the channel', async () => {
    // Prepare
    const acknowledged = incidentLifecycle().steps.find((s) => s.name === 'acknowledged')?.notice;
    if (!acknowledged) throw new Error('no acknowledged step');
    const channels = channelsFromConfig(
      config([{ name: 'pd', kind: 'pagerduty', routingKeyEnv: 'PD_ROUTING_KEY', url: pagerDuty.url }]).notifications
        .channels,
      '/nonexistent',
      { PD_ROUTING_KEY: 'not-the-integration-key' },
      () => undefined,
    );
    const routing = new RoutingNotifier(channels, MESSAGE_OPTIONS, () => undefined);
    // Act
    const error = await routing.sendNotice('pd', acknowledged).then(
      () => undefined,
      (e: unknown) => e,
    );
    // Assess
    expect(error).toBeInstanceOf(ChannelDeliveryError);
    expect(error).toMatchObject({ channel: 'pd', status: 400, retryable: false });
    expect(errorMessage(error)).toBe(
      'pagerduty channel pd answered HTTP 400: {"status":"invalid event","message":"Event object is invalid","errors":["routing_key"]}',
    );
    expect(pagerDuty.incidents).toEqual([]);
  });

  it('throw a retryable error naming the channel when nothing listens, without the webhook URL', async () => {
    // Prepare
    const port = await freePort();
    const secretUrl = `http://127.0.0.1:${port}/services/T000/B000/s3cr3t`;
    const channels = channelsFromConfig(
      config([{ name: 'slack-ops', kind: 'slack', urlEnv: 'SLACK_URL' }]).notifications.channels,
      '/nonexistent',
      { SLACK_URL: secretUrl },
      () => undefined,
    );
    const [first] = incidentLifecycle().steps;
    if (!first?.page || !channels[0]) throw new Error('missing fixtures');
    // Act
    const error = await channels[0].deliver(first.page.message, first.page.notification).then(
      () => undefined,
      (e: unknown) => e,
    );
    // Assess
    expect(error).toMatchObject({ channel: 'slack-ops', retryable: true });
    expect(errorMessage(error)).toBe('slack channel slack-ops: cannot reach it: ECONNREFUSED');
    expect(errorMessage(error)).not.toContain('s3cr3t');
  });

  it('never open a second PagerDuty incident when an answer is lost and the trigger sent again; Slack, with no idempotency key, shows such a repeat twice', async () => {
    // Prepare
    const [first] = incidentLifecycle().steps;
    if (!first?.page) throw new Error('no first page');
    const routing = notifier({ timeout: '200ms' });
    pagerDuty.answerAfterMs = 1_000;
    slack.answerAfterMs = 1_000;
    // Act: the first attempt times out after the sinks took the page; the retry is answered.
    const lost = await routing.notify(first.page.notification).then(
      () => 'delivered',
      (error: unknown) => errorMessage(error),
    );
    pagerDuty.answerAfterMs = 0;
    slack.answerAfterMs = 0;
    await routing.notify(first.page.notification);
    // Assess
    expect(lost).toMatch(
      /no channel delivered the page: pd: .*no answer within 200 ms; slack-ops: .*no answer within 200 ms/,
    );
    expect(pagerDuty.taken.map((e) => e.event_action)).toEqual(['trigger', 'trigger']);
    expect(pagerDuty.incidents).toHaveLength(1);
    expect(pagerDuty.incidents[0]?.log).toEqual(['trigger', 'trigger']);
    expect(slack.taken).toHaveLength(2);
  });

  it('send maintenance notices to Slack and Teams and nothing to PagerDuty', async () => {
    // Prepare
    const events = ['maintenance-started', 'maintenance-ended'];
    const channels = channelsFromConfig(
      config([
        { name: 'pd', kind: 'pagerduty', routingKeyEnv: 'PD_ROUTING_KEY', url: pagerDuty.url, events },
        { name: 'slack-ops', kind: 'slack', urlEnv: 'SLACK_URL', events },
        { name: 'teams-stakeholders', kind: 'teams', urlEnv: 'TEAMS_URL', pages: false, events },
      ]).notifications.channels,
      '/nonexistent',
      { PD_ROUTING_KEY: ROUTING_KEY, SLACK_URL: slack.url, TEAMS_URL: teams.url },
      () => undefined,
    );
    const routing = new RoutingNotifier(channels, MESSAGE_OPTIONS, () => undefined);
    const requestsBefore = pagerDuty.requests;
    // Act
    for (const step of maintenanceSteps()) await deliver(routing, step);
    // Assess
    expect(pagerDuty.requests).toBe(requestsBefore);
    expect(pagerDuty.taken).toEqual([]);
    expect(headers(slack)).toEqual([
      'Maintenance started: maintenance of auth, policy',
      'Maintenance ended: maintenance of auth, policy',
    ]);
    expect(teamsHeadlines(teams)).toHaveLength(2);
  });
});
