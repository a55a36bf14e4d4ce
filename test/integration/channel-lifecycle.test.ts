import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { pagerDutyDedupKey } from '../../lambdas/core/channel-payloads/pagerduty.ts';
import { parseFleetConfig } from '../../lambdas/core/config.ts';
import type { FleetConfig } from '../../lambdas/core/config-schema.ts';
import type { Incident } from '../../lambdas/core/incident.ts';
import { type LocalRuntime, openLocalRuntime } from '../../lambdas/local/runtime.ts';
import { deliverNotices } from '../../lambdas/use-cases/deliver-notices.ts';
import { acknowledgeIncident, noteIncident, resolveIncident } from '../../lambdas/use-cases/operator-actions.ts';
import { applyProbeResults } from '../../lambdas/use-cases/run-probe-cycle.ts';
import { sweepEscalations } from '../../lambdas/use-cases/sweep-escalations.ts';
import type { SlackWireMessage, TeamsWireMessage } from '../support/channel-formats.ts';
import {
  type MessageOutcome,
  type PagerDutySink,
  pagerDutyMessageId,
  perMessage,
  type Sink,
  slackHeadline,
  slackMessageId,
  startPagerDutySink,
  startSlackSink,
  startTeamsSink,
  teamsHeadline,
  teamsMessageId,
} from '../support/channel-sinks.ts';
import { ManualClock, MINUTE, results, ScriptedCommandRunner } from '../support/harness.ts';
import { SHIPPED_CONFIG } from '../support/shipped-config.ts';

/*
 * Issue 11, "done when": one incident's whole life (opened and paged, SLA breached unacknowledged and escalated,
 * acknowledged, an update, resolved) through the real use-cases (probe cycles, sweeps, operator actions, the notice
 * outbox) and the daemon's own wiring (openLocalRuntime: SQLite state, RoutingNotifier with the PagerDuty, Slack and
 * Teams channels built from the config), on a fake clock, to local sinks that check every request against the
 * published format and fail the first two requests of every message (503, then 429) before taking it.
 */

const ROUTING_KEY = 'R0123456789abcdef0123456789abcdef';
/** The lifecycle notices every channel carries besides the pages (which announce the opening and escalations). */
const NOTICES = ['sla-breached', 'acknowledged', 'update', 'resolved'];
const NOTE = 'auth runs out of memory under the login burst; restarting it with 2 GB';

interface Bench {
  readonly runtime: LocalRuntime;
  readonly clock: ManualClock;
  readonly pagerDuty: PagerDutySink;
  readonly slack: Sink<SlackWireMessage>;
  readonly teams: Sink<TeamsWireMessage>;
  /** Each sink's messages (by identity) and what became of every request for each, in order of arrival. */
  readonly outcomes: Record<SinkName, Map<string, MessageOutcome[]>>;
  readonly log: string[];
}

const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The shipped ACGS-1 config, remediation off, with the three HTTP channels as its only channels. */
function lifecycleConfig(pagerDutyUrl: string): FleetConfig {
  const raw = parse(SHIPPED_CONFIG) as Record<string, Record<string, unknown>>;
  raw.remediation = { ...raw.remediation, enabled: false };
  raw.notifications = {
    acknowledgeHint: 'acgs-ops incident ack {id}',
    channels: [
      { name: 'pd', kind: 'pagerduty', routingKeyEnv: 'PD_ROUTING_KEY', url: pagerDutyUrl, events: NOTICES },
      { name: 'slack-ops', kind: 'slack', urlEnv: 'SLACK_URL', events: NOTICES },
      { name: 'teams-ops', kind: 'teams', urlEnv: 'TEAMS_URL', events: NOTICES },
    ],
  };
  const parsed = parseFleetConfig(stringify(raw));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
}

type SinkName = 'pagerDuty' | 'slack' | 'teams';

/** What each sink answers the first requests of every message before it takes one. */
type Failures = Record<SinkName, readonly number[]>;

/** The first requests of every message fail with `statuses` (a 429 with Retry-After); the next is taken. */
const failFirst =
  (statuses: readonly number[]) =>
  (seen: number): { fail: number } | undefined => {
    const status = statuses[seen];
    return status === undefined ? undefined : { fail: status };
  };

async function bench(failures: Failures): Promise<Bench> {
  const [pagerDuty, slack, teams] = await Promise.all([
    startPagerDutySink(ROUTING_KEY),
    startSlackSink(),
    startTeamsSink(),
  ]);
  cleanups.push(() => Promise.all([pagerDuty.close(), slack.close(), teams.close()]));
  const outcomes = {
    pagerDuty: perMessage(pagerDuty, pagerDutyMessageId, failFirst(failures.pagerDuty)),
    slack: perMessage(slack, slackMessageId, failFirst(failures.slack)),
    teams: perMessage(teams, teamsMessageId, failFirst(failures.teams)),
  };
  const stateDir = await mkdtemp(join(tmpdir(), 'acgs-channel-lifecycle-'));
  cleanups.push(() => rm(stateDir, { recursive: true, force: true }));
  const clock = new ManualClock();
  const log: string[] = [];
  const runtime = openLocalRuntime({
    config: lifecycleConfig(pagerDuty.url),
    stateDir,
    env: { PD_ROUTING_KEY: ROUTING_KEY, SLACK_URL: slack.url, TEAMS_URL: teams.url },
    write: (line) => log.push(line),
    clock,
    commands: new ScriptedCommandRunner(),
  });
  cleanups.push(async () => runtime.close());
  return { runtime, clock, pagerDuty, slack, teams, outcomes, log };
}

/** One minute of the daemon: a probe cycle (auth down or up), a notice pass, the sweep, a notice pass. */
async function minute(b: Bench, auth: 'down' | 'up'): Promise<void> {
  const { ctx } = b.runtime;
  b.clock.advance(MINUTE);
  await applyProbeResults(ctx, results(ctx, auth === 'down' ? { auth: 'unhealthy' } : {}));
  await deliverNotices(ctx);
  await sweepEscalations(ctx);
  await deliverNotices(ctx);
}

/** Minutes until `done` holds (at most `limit`); returns how many passed. */
async function minutesUntil(b: Bench, auth: 'down' | 'up', limit: number, done: () => Promise<boolean>) {
  for (let passed = 1; passed <= limit; passed++) {
    await minute(b, auth);
    if (await done()) return passed;
  }
  const rejected = { pagerDuty: b.pagerDuty.rejected, slack: b.slack.rejected, teams: b.teams.rejected };
  throw new Error(`not done after ${limit} minutes; refused: ${JSON.stringify(rejected)}\n${b.log.join('')}`);
}

async function theIncident(b: Bench): Promise<Incident | undefined> {
  const [incident] = await b.runtime.store.listIncidents({});
  return incident;
}

/** No notice owed any more: every channel took every notice. */
const allDelivered = (b: Bench) => async () => (await theIncident(b))?.notices === undefined;

const TWICE = [503, 429];

describe('an incident through PagerDuty, Slack and Teams, messages failing first', () => {
  it.each<[string, Failures]>([
    ['every sink fails every message twice', { pagerDuty: TWICE, slack: TWICE, teams: TWICE }],
    ['the sinks fail apart: PagerDuty twice, Slack once, Teams never', { pagerDuty: TWICE, slack: [503], teams: [] }],
  ])(
    '%s: every page and notice is taken once, in its published format and in lifecycle order; PagerDuty ends with one resolved incident',
    async (_name, failures) => {
      // Prepare
      const b = await bench(failures);

      // Act: auth goes down and stays down, unacknowledged, past its P2 response time (1 h)
      const opened = await minutesUntil(b, 'down', 10, async () => (await theIncident(b)) !== undefined);
      const incident = await theIncident(b);
      if (!incident) throw new Error('no incident');
      const breached = await minutesUntil(b, 'down', 90, async () =>
        (await b.runtime.store.getTimeline(incident.id)).some((e) => e.type === 'sla-breached'),
      );
      await minutesUntil(b, 'down', 10, allDelivered(b));
      // Alice acknowledges, posts an update; auth comes back and she resolves it
      await acknowledgeIncident(b.runtime.ctx, incident.id, 'alice');
      await minutesUntil(b, 'down', 10, allDelivered(b));
      await noteIncident(b.runtime.ctx, incident.id, 'alice', NOTE);
      await minutesUntil(b, 'down', 10, allDelivered(b));
      await minute(b, 'up');
      await resolveIncident(b.runtime.ctx, incident.id, 'alice', 'auth restarted with 2 GB; logins back to normal');
      await minutesUntil(b, 'up', 10, allDelivered(b));
      // An hour more in which nothing may be sent again
      const requests = [b.pagerDuty.requests, b.slack.requests, b.teams.requests];
      for (let i = 0; i < 60; i++) await minute(b, 'up');

      // Assess: every request in its published format; every message taken once, on its third request
      expect([b.pagerDuty.rejected, b.slack.rejected, b.teams.rejected]).toEqual([[], [], []]);
      expect([b.pagerDuty.requests, b.slack.requests, b.teams.requests]).toEqual(requests);
      for (const [name, sink] of Object.entries(b.outcomes)) {
        expect(sink.size).toBe(6);
        const expected = [...failures[name as SinkName], 'taken'];
        for (const [id, outcome] of sink) expect({ name, id, outcome }).toEqual({ name, id, outcome: expected });
      }
      // PagerDuty: one incident, following ours to the resolve; nothing dropped
      const dedupKey = pagerDutyDedupKey(incident);
      expect(b.pagerDuty.taken.map(pagerDutyMessageId)).toEqual([...b.outcomes.pagerDuty.keys()]);
      expect(b.pagerDuty.taken.map((e) => `${e.event_action} ${e.dedup_key === dedupKey}`)).toEqual([
        'trigger true', // the first page
        'trigger true', // the escalation page of the SLA breach
        'trigger true', // the sla-breached notice
        'acknowledge true',
        'trigger true', // the update
        'resolve true',
      ]);
      expect(b.pagerDuty.incidents).toEqual([
        expect.objectContaining({
          dedupKey,
          status: 'resolved',
          log: ['trigger', 'trigger', 'trigger', 'acknowledge', 'trigger', 'resolve'],
        }),
      ]);
      expect(b.pagerDuty.dropped).toEqual([]);
      // Slack and Teams: the same six messages, in lifecycle order
      const lifecycle = [
        '[P2] Auth Service is down', // first page, level 1
        '[P2] Auth Service is down', // escalation page, level 2
        '[P2] SLA breached: Auth Service is down',
        '[P2] Acknowledged: Auth Service is down',
        '[P2] Update: Auth Service is down',
        '[P2] Resolved: Auth Service is down',
      ];
      expect(b.slack.taken.map(slackHeadline)).toEqual(lifecycle);
      expect(b.teams.taken.map(teamsHeadline)).toEqual(lifecycle);
      expect(b.slack.taken.map(slackMessageId)).toEqual([...b.outcomes.slack.keys()]);
      expect(b.teams.taken.map(teamsMessageId)).toEqual([...b.outcomes.teams.keys()]);
      expect(b.slack.taken.map(slackMessageId).map((id) => id.replace(/ · \S+/, ''))).toEqual([
        'acgs-ops page L1',
        'acgs-ops page L2',
        'acgs-ops sla-breached L2',
        'acgs-ops acknowledged L-',
        'acgs-ops update L-',
        'acgs-ops resolved L-',
      ]);
      expect(JSON.stringify(b.slack.taken[4])).toContain(NOTE);
      // Nothing given up on, nothing owed; the escalation did its work on time
      const timeline = await b.runtime.store.getTimeline(incident.id);
      expect(timeline.filter((e) => e.type === 'note' && e.by === 'control-plane')).toEqual([]);
      expect(timeline.filter((e) => e.type === 'paged').map((e) => (e.type === 'paged' ? e.level : 0))).toEqual([1, 2]);
      expect(b.log.filter((l) => / notice-failed .*"gaveUp":true/.test(l))).toEqual([]);
      expect((await theIncident(b))?.notices).toBeUndefined();
      process.stdout.write(
        `channel lifecycle: opened after ${opened} min, SLA breached ${breached} min later; ${b.pagerDuty.requests + b.slack.requests + b.teams.requests} requests for 18 messages (${_name})\n`,
      );
    },
  );
});
