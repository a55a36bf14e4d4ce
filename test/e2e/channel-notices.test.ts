import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pagerDutyDedupKey } from '../../lambdas/core/channel-payloads/pagerduty.ts';
import {
  type MessageOutcome,
  pagerDutyMessageId,
  perMessage,
  slackHeadline,
  slackMessageId,
  startPagerDutySink,
  startSlackSink,
  startTeamsSink,
  teamsHeadline,
  teamsMessageId,
  type Verdict,
} from '../support/channel-sinks.ts';
import {
  type DaemonProcess,
  openStateStore,
  readHeartbeat,
  sleep,
  startDaemon,
  waitUntil,
} from '../support/daemon-process.ts';
import { startHttpServer } from '../support/local-servers.ts';
import { noticesFleetConfig } from '../support/notices-fleet.ts';
import { runAcgsOps } from '../support/run-cli.ts';

/**
 * The real `acgs-ops run` daemon (and the real CLI for the operator's steps) with PagerDuty, Slack and Teams channels
 * pointing at local sinks that check every request against the published format and fail the first two requests of
 * every message (503, then 429). One declared P3 incident lives its whole life: the first page (from `incident
 * declare`), the SLA passing unacknowledged within seconds (the daemon records it, sends the sla-breached notice and
 * escalates to level 2), acknowledge, an update, resolve. The daemon is killed with -9 while the Slack sink holds
 * the resolve's request open (Slack has taken the message, the answer never comes), and started again.
 *
 * PagerDuty is idempotent (dedup_key): every message changes its incident once. Slack and Teams have no idempotency
 * key; that is the documented caveat of their channels (adapters/local/http-channels.ts): the notice in flight to
 * Slack when the daemon died is sent to Slack again, so it shows twice there. PagerDuty and Teams, which answered
 * before the kill and were recorded as done at once, do not get it again. Nothing else repeats, nothing is lost.
 */

const E2E_TIMEOUT_MS = 90_000;
const ROUTING_KEY = 'R0123456789abcdef0123456789abcdef';
/** Each channel's timeout: a held request is cut after this, so the kill must come sooner. */
const CHANNEL_TIMEOUT = '2s';
const NOTICES = ['sla-breached', 'acknowledged', 'update', 'resolved'];
const NOTE = 'a bad deploy of checkout: rolling back';

const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** One level that the P3 SLA (4 s) escalates from, and a second it escalates to. */
const ESCALATION = {
  levels: [
    {
      level: 1,
      name: 'On-call',
      responseTime: { P1: '10m', P2: '30m', P3: '4s' },
      contacts: [{ name: 'On-call', role: 'primary', email: 'oncall@notices.example' }],
    },
    {
      level: 2,
      name: 'Engineering',
      responseTime: { P1: '1h', P2: '1h', P3: '1h' },
      contacts: [{ name: 'Engineering', email: 'engineering@notices.example' }],
    },
  ],
};
const SEVERITIES = {
  P1: { label: 'critical', responseTime: '10m', ackTimeout: '20m' },
  P2: { label: 'high', responseTime: '30m', ackTimeout: '1h' },
  P3: { label: 'medium', responseTime: '4s', ackTimeout: '1h' },
};

/** Fails the first two requests of every message; `hold(id, seen)` says which request to hold open instead. */
function failTwice(hold: (id: string, seen: number) => boolean) {
  return (seen: number, id: string): Verdict => {
    if (seen === 0) return { fail: 503 };
    if (seen === 1) return { fail: 429 };
    return hold(id, seen) ? 'hold' : undefined;
  };
}

describe('PagerDuty, Slack and Teams through the real daemon', () => {
  it(
    'take every message of a lifecycle once through failures and a kill -9 mid-delivery; Slack and Teams repeat only the notice in flight',
    async () => {
      // Prepare: the sinks, a healthy service, the config, the daemon
      const [pagerDuty, slack, teams] = await Promise.all([
        startPagerDutySink(ROUTING_KEY),
        startSlackSink(),
        startTeamsSink(),
      ]);
      const service = await startHttpServer({ status: 200, body: 'ok' });
      cleanups.push(() => Promise.all([pagerDuty.close(), slack.close(), teams.close(), service.close()]));
      let holdResolve = false;
      const resolveHeld = (id: string, seen: number) => holdResolve && seen === 2 && id.startsWith('acgs-ops resolved');
      const outcomes: Record<'pagerDuty' | 'slack' | 'teams', Map<string, MessageOutcome[]>> = {
        pagerDuty: perMessage(
          pagerDuty,
          pagerDutyMessageId,
          failTwice(() => false),
        ),
        slack: perMessage(slack, slackMessageId, failTwice(resolveHeld)),
        teams: perMessage(
          teams,
          teamsMessageId,
          failTwice(() => false),
        ),
      };
      const dir = await mkdtemp(join(tmpdir(), 'acgs-channel-notices-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      const configFile = join(dir, 'channels.yaml');
      const stateDir = join(dir, 'state');
      const timeout = CHANNEL_TIMEOUT;
      await writeFile(
        configFile,
        noticesFleetConfig({
          servicePort: service.port,
          escalation: ESCALATION,
          severities: SEVERITIES,
          channels: [
            {
              name: 'pd',
              kind: 'pagerduty',
              routingKeyEnv: 'PD_ROUTING_KEY',
              url: pagerDuty.url,
              timeout,
              events: NOTICES,
            },
            { name: 'slack-ops', kind: 'slack', urlEnv: 'SLACK_URL', timeout, events: NOTICES },
            { name: 'teams-ops', kind: 'teams', urlEnv: 'TEAMS_URL', timeout, events: NOTICES },
          ],
        }),
      );
      const env = { ...process.env, PD_ROUTING_KEY: ROUTING_KEY, SLACK_URL: slack.url, TEAMS_URL: teams.url };
      const daemons: DaemonProcess[] = [];
      cleanups.push(async () => {
        for (const d of daemons) if (d.running()) await d.kill9();
      });
      const start = () => {
        const daemon = startDaemon({ configFile, stateDir, env });
        daemons.push(daemon);
        return daemon;
      };
      const cli = async (...args: string[]) => {
        const run = await runAcgsOps([...args, '--config', configFile, '--state', stateDir, '--by', 'alice'], {
          env,
          killAfterMs: 30_000,
        });
        if (run.code !== 0) throw new Error(`acgs-ops ${args.join(' ')} failed: ${run.stderr}`);
        return run.stdout;
      };
      const explain = () =>
        `outcomes: ${JSON.stringify(Object.fromEntries(Object.entries(outcomes).map(([k, v]) => [k, [...v]])))}\n${daemons.map((d) => d.output().slice(-4_000)).join('\n---\n')}`;
      /** Slack and Teams have taken a message whose identity starts with `prefix`, PagerDuty one naming `pagerDutyPart`. */
      const takenEverywhere = (prefix: string, pagerDutyPart: string) =>
        waitUntil(
          () =>
            [...outcomes.slack].some(([id, o]) => id.startsWith(prefix) && o.includes('taken')) &&
            [...outcomes.teams].some(([id, o]) => id.startsWith(prefix) && o.includes('taken')) &&
            [...outcomes.pagerDuty].some(([id, o]) => id.includes(pagerDutyPart) && o.includes('taken')),
          30_000,
          `${prefix} taken by every sink`,
          { explain },
        );
      const started = Date.now();
      const marks: string[] = [];
      const mark = (what: string) => marks.push(`${what} ${((Date.now() - started) / 1_000).toFixed(1)} s`);
      let daemon = start();
      await waitUntil(
        async () => {
          if (!daemon.running()) throw new Error(`the daemon exited:\n${daemon.output()}`);
          return (await readHeartbeat(stateDir))?.pid === daemon.pid;
        },
        30_000,
        'the daemon running',
        { explain },
      );
      mark('daemon up');

      // Act 1: the first page; the SLA (4 s) passes unacknowledged: the daemon escalates and says so
      await cli('incident', 'declare', '--type', 'manual', '--severity', 'P3', '--title', 'checkout is slow');
      const store = openStateStore(stateDir);
      cleanups.push(async () => store.close());
      const [incident] = await store.listIncidents({});
      if (!incident) throw new Error('no incident declared');
      await takenEverywhere('acgs-ops page ', 'page L1');
      mark('first page');
      await takenEverywhere('acgs-ops sla-breached', 'sla-breached');
      mark('SLA breach');

      // Act 2: acknowledge, an update
      await cli('incident', 'ack', incident.id);
      await takenEverywhere('acgs-ops acknowledged', 'acknowledge');
      await cli('incident', 'note', incident.id, '--note', NOTE);
      await takenEverywhere('acgs-ops update', 'trigger update');
      mark('ack and update');

      // Act 3: the resolve's third request to Slack is held open; the daemon is killed -9 while it waits
      holdResolve = true;
      await cli('incident', 'resolve', incident.id, '--reason', 'rolled back');
      // Slack holds it; PagerDuty and Teams have taken it in the same round, and are recorded as done with it
      await waitUntil(
        async () => {
          const resolved = (await store.getIncident(incident.id))?.notices?.find((n) => n.kind === 'resolved');
          return (
            [...outcomes.slack].some(([id, o]) => id.startsWith('acgs-ops resolved') && o.at(-1) === 'held') &&
            ['pd', 'teams-ops'].every((channel) => resolved?.done.includes(channel) === true)
          );
        },
        10_000,
        'the resolve held by Slack, taken by PagerDuty and Teams and recorded',
        { explain, intervalMs: 50 },
      );
      await daemon.kill9();
      mark('killed');
      const killedAt = Date.now();
      daemon = start();
      const redelivered = () =>
        [...outcomes.slack].find(([id, o]) => id.startsWith('acgs-ops resolved') && o.at(-1) === 'taken');
      await waitUntil(redelivered, 30_000, 'the resolve sent again to Slack', { explain });
      const restartToRedelivery = Date.now() - killedAt;
      mark('resolve sent again');
      await waitUntil(
        async () => (await store.getIncident(incident.id))?.notices === undefined,
        20_000,
        'no notice owed',
        { explain },
      );
      // A few more cycles in which nothing may be sent again
      const quiet = [pagerDuty.requests, slack.requests, teams.requests];
      await sleep(3_000);

      // Assess: every request in its published format; nothing sent after the last notice was done
      expect([pagerDuty.rejected, slack.rejected, teams.rejected]).toEqual([[], [], []]);
      expect([pagerDuty.requests, slack.requests, teams.requests]).toEqual(quiet);
      // Every message taken once on its third request, but the resolve Slack held at the kill
      const isResolve = (id: string) => id.startsWith('acgs-ops resolved') || id.endsWith(' resolve');
      for (const [name, sink] of Object.entries(outcomes)) {
        const messages = [...sink].map(([id, outcome]) => ({ name, id, outcome }));
        expect(messages).toHaveLength(6);
        for (const m of messages.filter((m) => !isResolve(m.id))) expect(m.outcome).toEqual([503, 429, 'taken']);
      }
      const resolves = Object.fromEntries(
        Object.entries(outcomes).map(([name, sink]) => [name, [...sink].find(([id]) => isResolve(id))?.[1]]),
      );
      expect(resolves).toEqual({
        pagerDuty: [503, 429, 'taken'],
        slack: [503, 429, 'held', 'taken'],
        teams: [503, 429, 'taken'],
      });
      // PagerDuty: one incident, each event applied once
      expect(pagerDuty.incidents).toEqual([
        expect.objectContaining({
          dedupKey: pagerDutyDedupKey(incident),
          status: 'resolved',
          log: ['trigger', 'trigger', 'trigger', 'acknowledge', 'trigger', 'resolve'],
        }),
      ]);
      expect(pagerDuty.dropped).toEqual([]);
      // Slack and Teams, in lifecycle order: the caveat is Slack's one repeat of the notice in flight at the kill
      const lifecycle = [
        '[P3] checkout is slow', // first page, level 1
        '[P3] checkout is slow', // escalation page, level 2
        '[P3] SLA breached: checkout is slow',
        '[P3] Acknowledged: checkout is slow',
        '[P3] Update: checkout is slow',
        '[P3] Resolved: checkout is slow',
      ];
      expect(slack.taken.map(slackHeadline)).toEqual([...lifecycle, '[P3] Resolved: checkout is slow']);
      expect(teams.taken.map(teamsHeadline)).toEqual(lifecycle);
      expect(JSON.stringify(slack.taken[4])).toContain(NOTE);
      const timeline = await store.getTimeline(incident.id);
      expect(timeline.filter((e) => e.type === 'note' && e.by === 'control-plane')).toEqual([]);
      expect(timeline.filter((e) => e.type === 'sla-breached')).toHaveLength(1);
      process.stdout.write(
        `channel notices e2e: ${pagerDuty.requests + slack.requests + teams.requests} requests for 18 messages; resolve redelivered ${restartToRedelivery} ms after the kill -9; ${marks.join(', ')}\n`,
      );
    },
    E2E_TIMEOUT_MS,
  );
});
