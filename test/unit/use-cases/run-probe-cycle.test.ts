import { describe, expect, it } from 'vitest';
import { escalate } from '../../../lambdas/core/escalation.ts';
import { DETAIL_SCHEMAS } from '../../../lambdas/core/events.ts';
import { incidentMetrics } from '../../../lambdas/core/incident.ts';
import type { ProbeStatus } from '../../../lambdas/core/probe-evaluation.ts';
import { advanceEscalation } from '../../../lambdas/use-cases/advance-escalation.ts';
import { createContext, isolationWindowId } from '../../../lambdas/use-cases/context.ts';
import { acknowledgeIncident, declareIncident, resolveIncident } from '../../../lambdas/use-cases/operator-actions.ts';
import { reconcileIncidents } from '../../../lambdas/use-cases/reconcile-incidents.ts';
import { recordHealth } from '../../../lambdas/use-cases/record-health.ts';
import { finishRemediation } from '../../../lambdas/use-cases/remediate.ts';
import { applyProbeResults } from '../../../lambdas/use-cases/run-probe-cycle.ts';
import { sweepEscalations } from '../../../lambdas/use-cases/sweep-escalations.ts';
import { unmuteIncidents } from '../../../lambdas/use-cases/unmute.ts';
import { createHarness, type Harness, MINUTE, results, T0 } from '../../support/harness.ts';

/** Runs `n` probe cycles one minute apart with the given targets failing, then waits for restarts to finish. */
async function cycles(h: Harness, n: number, overrides: Record<string, ProbeStatus> = {}) {
  let last: Awaited<ReturnType<typeof applyProbeResults>> | undefined;
  for (let i = 0; i < n; i++) {
    h.clock.advance(MINUTE);
    last = await applyProbeResults(h.ctx, results(h.ctx, overrides));
    await Promise.all(last.remediation.inFlight);
  }
  if (!last) throw new Error('no cycle ran');
  return last;
}

describe('probe cycle -> incidents -> pages -> remediation', () => {
  it('detects, pages, restarts and auto-resolves when one service crashes and comes back', async () => {
    // Prepare
    const h = createHarness();
    await cycles(h, 1);
    // Act: three failing cycles reach N = 3.
    await cycles(h, 2, { auth: 'unhealthy' });
    expect(await h.store.listOpenIncidents()).toEqual([]);
    const third = await cycles(h, 1, { auth: 'unhealthy' });
    // Assess: one P2 incident, level 1 primary + secondary paged, a restart requested.
    expect(third.incidents.opened).toHaveLength(1);
    const opened = third.incidents.opened[0];
    expect(opened?.severity).toBe('P2');
    expect(h.notifier.sent.map((n) => n.page.contacts.map((c) => c.role))).toEqual([['primary', 'secondary']]);
    expect(h.commands.services()).toEqual(['auth']);
    // Two healthy cycles (M = 2) resolve it.
    await cycles(h, 1);
    expect((await h.store.listOpenIncidents()).length).toBe(1);
    const healed = await cycles(h, 1);
    expect(healed.incidents.resolved.map((i) => i.id)).toEqual([opened?.id]);
    const resolved = await h.store.getIncident(opened?.id ?? '');
    expect(resolved?.status).toBe('resolved');
    expect(resolved?.escalation.nextAt).toBeUndefined();
    // Failure started at the first failing probe (T0 + 2 min), opened at T0 + 4 min, resolved at T0 + 6 min.
    expect(resolved && incidentMetrics(resolved, h.clock.now())).toEqual({
      mttdMs: 2 * MINUTE,
      mttrMs: 4 * MINUTE,
      slaMet: true,
    });
    const types = (await h.store.getTimeline(opened?.id ?? '')).map((e) => e.type);
    expect(types).toEqual(['opened', 'paged', 'remediation', 'remediation', 'resolved']);
  });

  it('folds repeats into the open incident instead of filing a new one every cycle', async () => {
    const h = createHarness();
    await cycles(h, 1);
    await cycles(h, 8, { auth: 'unhealthy' });
    const all = await h.store.listIncidents({});
    expect(all).toHaveLength(1);
    expect(all[0]?.count).toBe(6);
    expect(all[0]?.lastSeen).toBe(h.clock.now());
    expect(h.notifier.sent).toHaveLength(1);
  });

  it('opens exactly one incident and pages once when two cycles report the same problem concurrently', async () => {
    const h = createHarness();
    await cycles(h, 1);
    h.clock.advance(MINUTE);
    const recorded = await recordHealth(h.ctx, results(h.ctx, { auth: 'unhealthy' }));
    const forced = new Map(
      [...recorded.states].map(([k, s]) => [k, k.startsWith('auth:') ? { ...s, health: 'down' as const } : s]),
    );
    // Act: five reconcilers race on the same snapshot.
    const raced = await Promise.all(Array.from({ length: 5 }, () => reconcileIncidents(h.ctx, forced)));
    // Assess
    expect(raced.flatMap((r) => r.opened)).toHaveLength(1);
    const all = await h.store.listIncidents({});
    expect(all).toHaveLength(1);
    expect(all[0]?.count).toBe(5);
    expect(h.notifier.sent).toHaveLength(1);
  });

  it('opens one P1 and pages all teams when several services go down at once', async () => {
    const h = createHarness();
    await cycles(h, 1);
    await cycles(h, 3, { auth: 'unhealthy', ac: 'unhealthy', fv: 'unhealthy', gs: 'unhealthy', pgc: 'unhealthy' });
    const open = await h.store.listOpenIncidents();
    expect(open.map((i) => [i.kind, i.severity, i.services.length])).toEqual([['fleet-outage', 'P1', 5]]);
    expect(h.notifier.sent.map((n) => n.page.level)).toEqual([1, 2, 3]);
    expect(h.commands.services().sort()).toEqual(['ac', 'auth', 'fv', 'gs', 'pgc']);
  });

  it('writes no target state at all when a steady healthy fleet is probed', async () => {
    const h = createHarness();
    await cycles(h, 3);
    const steady = await cycles(h, 1);
    expect(steady.stateWrites).toBe(0);
  });

  it('escalates level by level until acknowledged, and stops paging after the acknowledgement', async () => {
    const h = createHarness();
    await cycles(h, 1);
    await cycles(h, 3, { auth: 'unhealthy' });
    const [incident] = await h.store.listOpenIncidents();
    if (!incident) throw new Error('expected an incident');
    // Level 1 has 1 h for P2, and so has the P2 response SLA: its breach escalates.
    h.clock.advance(59 * MINUTE);
    expect(await sweepEscalations(h.ctx)).toEqual([]);
    h.clock.advance(MINUTE);
    await sweepEscalations(h.ctx);
    expect(h.notifier.lines().at(-1)).toBe('L2 sla-breached P2 auth:health@127.0.0.1');
    await acknowledgeIncident(h.ctx, incident.id, 'alice', 'looking');
    const pagesAtAck = h.notifier.sent.length;
    h.clock.advance(119 * MINUTE);
    await sweepEscalations(h.ctx);
    expect(h.notifier.sent.length).toBe(pagesAtAck);
    // P2 ack timeout is 2 h: still open, so it re-pages the level that had it.
    h.clock.advance(MINUTE);
    await sweepEscalations(h.ctx);
    expect(h.notifier.lines().at(-1)).toBe('L2 ack-expired P2 auth:health@127.0.0.1');
    expect((await h.store.getIncident(incident.id))?.status).toBe('open');
  });

  it('never pages again once an incident is resolved mid-escalation', async () => {
    const h = createHarness();
    await cycles(h, 1);
    await cycles(h, 3, { auth: 'unhealthy' });
    const [incident] = await h.store.listOpenIncidents();
    if (!incident) throw new Error('expected an incident');
    await resolveIncident(h.ctx, incident.id, 'bob', 'fixed the config by hand');
    const pages = h.notifier.sent.length;
    h.clock.advance(24 * 60 * MINUTE);
    await sweepEscalations(h.ctx);
    expect(h.notifier.sent.length).toBe(pages);
    await expect(acknowledgeIncident(h.ctx, incident.id, 'carol')).rejects.toThrow(/already resolved/);
  });

  it('trips the breaker after K restarts that do not heal, then escalates once instead of restarting again', async () => {
    const h = createHarness();
    await cycles(h, 1);
    // The restart "succeeds" but the service never comes back; keep it down for 30 cycles.
    await cycles(h, 30, { auth: 'unhealthy' });
    expect(h.commands.services()).toEqual(['auth', 'auth', 'auth']);
    const breakerPages = h.notifier.sent.filter((n) => n.page.why === 'breaker-open');
    expect(breakerPages.map((n) => n.page.level)).toEqual([2]);
    const [incident] = await h.store.listOpenIncidents();
    expect(incident?.breakerTripped).toEqual(['auth']);
    const timeline = await h.store.getTimeline(incident?.id ?? '');
    expect(timeline.filter((e) => e.type === 'breaker-open')).toHaveLength(1);
  });

  it('neither restarts nor pages about an isolated service, and pages once it is released while still down', async () => {
    const h = createHarness();
    await h.store.setIsolated('auth', true, 'alice', T0);
    await cycles(h, 1);
    await cycles(h, 5, { auth: 'unhealthy' });
    expect(h.commands.requests).toEqual([]);
    expect(h.notifier.sent).toEqual([]);
    expect((await h.store.listOpenIncidents()).length).toBe(1);
    await h.store.setIsolated('auth', false, 'alice', h.clock.now());
    await unmuteIncidents(h.ctx, [isolationWindowId('auth')]);
    await sweepEscalations(h.ctx);
    expect(h.notifier.lines()).toEqual(['L1 opened P2 auth:health@127.0.0.1']);
  });

  it('opens the incident but mutes pages and restarts during a maintenance window, then pages when it ends', async () => {
    const h = createHarness();
    await h.store.putMaintenanceWindow({
      id: 'mw-1',
      subjects: ['auth'],
      startsAt: T0,
      endsAt: T0 + 30 * MINUTE,
      reason: 'rolling update',
      createdBy: 'alice',
    });
    await cycles(h, 1);
    await cycles(h, 5, { auth: 'unhealthy' });
    expect((await h.store.listOpenIncidents()).length).toBe(1);
    expect(h.notifier.sent).toEqual([]);
    expect(h.commands.requests).toEqual([]);
    h.clock.set(T0 + 30 * MINUTE);
    await sweepEscalations(h.ctx);
    expect(h.notifier.lines()).toEqual(['L1 opened P2 auth:health@127.0.0.1']);
  });

  it('retries a page that could not be delivered instead of losing it', async () => {
    const h = createHarness();
    await cycles(h, 1);
    // Three failures: every attempt of the step fails, so nothing went out and the whole step is retried later.
    h.notifier.failNext = 3;
    await cycles(h, 3, { auth: 'unhealthy' });
    expect(h.notifier.sent).toEqual([]);
    h.clock.advance(MINUTE);
    await sweepEscalations(h.ctx);
    expect(h.notifier.lines()).toEqual(['L1 opened P2 auth:health@127.0.0.1']);
  });

  it('resumes escalation from stored state when the control plane restarts', async () => {
    const h = createHarness();
    await cycles(h, 1);
    await cycles(h, 3, { auth: 'unhealthy', ac: 'unhealthy', fv: 'unhealthy', gs: 'unhealthy' });
    // A fresh context over the same store: what a restarted daemon or a cold Lambda sees.
    const restarted = createContext(h.ctx.config, {
      states: h.store,
      incidents: h.store,
      control: h.store,
      notifier: h.notifier,
      commands: h.commands,
      events: h.events,
      clock: h.clock,
      log: () => {},
    });
    // The P1 response SLA (15m) passes unacknowledged: the Executive level is paged.
    h.clock.advance(15 * MINUTE);
    await sweepEscalations(restarted);
    expect(h.notifier.lines().at(-1)).toBe('L4 sla-breached P1 fleet-outage@acgs-1');
  });

  it('raises the severity of the open incident and pages again when a slow service goes down', async () => {
    const h = createHarness();
    await cycles(h, 1);
    const slow = { gs: { status: 'degraded' as const, reason: 'latency' as const } };
    for (let i = 0; i < 3; i++) {
      h.clock.advance(MINUTE);
      await applyProbeResults(h.ctx, results(h.ctx, slow));
    }
    expect((await h.store.listOpenIncidents()).map((i) => i.severity)).toEqual(['P3']);
    await cycles(h, 3, { gs: 'unhealthy' });
    const open = await h.store.listOpenIncidents();
    expect(open.map((i) => [i.severity, i.kind])).toEqual([['P2', 'service-down']]);
    expect(h.notifier.lines()).toEqual([
      'L1 opened P3 gs:health@127.0.0.1',
      'L1 severity-raised P2 gs:health@127.0.0.1',
    ]);
  });

  it('pages a declared security incident as P1 and keeps it open through healthy cycles', async () => {
    const h = createHarness();
    const { incident } = await declareIncident(h.ctx, {
      kind: 'security',
      title: 'Suspicious admin token use on PGC',
      severity: 'P1',
      services: ['pgc'],
      by: 'alice',
    });
    // Every level through the Executive, whose scope names security incidents.
    expect(h.notifier.sent.map((n) => n.page.level)).toEqual([1, 2, 3, 4]);
    await cycles(h, 3);
    expect((await h.store.getIncident(incident.id))?.status).toBe('open');
    await expect(
      declareIncident(h.ctx, { kind: 'manual', title: 'x', severity: 'P3', services: ['nope'], by: 'a' }),
    ).rejects.toThrow(/unknown service/);
  });

  it('lets an acknowledgement made while pages are being delivered stand', async () => {
    const h = createHarness();
    await cycles(h, 1);
    h.notifier.during = async (n) => {
      h.notifier.during = undefined;
      await acknowledgeIncident(h.ctx, n.incident.id, 'alice');
    };
    await cycles(h, 3, { auth: 'unhealthy' });
    const [incident] = await h.store.listOpenIncidents();
    expect(incident?.status).toBe('acknowledged');
    expect(incident?.escalation.nextAt).toBe(h.clock.now() + 2 * 60 * MINUTE);
    expect(incident?.escalation.level).toBe(1);
    const types = (await h.store.getTimeline(incident?.id ?? '')).map((e) => e.type);
    expect(types).toEqual(['opened', 'acknowledged', 'paged', 'remediation', 'remediation']);
    // The first page was delivered: when the ack expires, it is an ack-expiry page, not a second "new incident".
    expect(incident?.escalation.pending).toBeUndefined();
    h.clock.advance(2 * 60 * MINUTE);
    await sweepEscalations(h.ctx);
    expect(h.notifier.lines().at(-1)).toBe('L1 ack-expired P2 auth:health@127.0.0.1');
  });

  it("takes no step while another step holds the incident's lease", async () => {
    const h = createHarness();
    await cycles(h, 1);
    await cycles(h, 3, { auth: 'unhealthy' });
    const [incident] = await h.store.listOpenIncidents();
    if (!incident) throw new Error('expected an incident');
    const leased = await h.store.updateIncident(
      {
        ...incident,
        escalation: { ...incident.escalation, nextAt: h.clock.now(), leaseUntil: h.clock.now() + MINUTE },
      },
      [],
    );
    const pages = h.notifier.sent.length;
    expect(
      await advanceEscalation(h.ctx, leased, [], (current, now) => escalate(current, now, 'breaker-open')),
    ).toBeUndefined();
    expect(h.notifier.sent.length).toBe(pages);
  });

  it('redoes a step whose delivery never finished once its lease has expired', async () => {
    const h = createHarness();
    await cycles(h, 1);
    // The first delivery hangs forever: what a crash in the middle of paging looks like to everyone else.
    let reached = () => {};
    const hung = new Promise<void>((r) => {
      reached = r;
    });
    h.notifier.during = () => {
      reached();
      return new Promise(() => {});
    };
    h.clock.advance(MINUTE);
    await applyProbeResults(h.ctx, results(h.ctx, { auth: 'unhealthy' }));
    h.clock.advance(MINUTE);
    await applyProbeResults(h.ctx, results(h.ctx, { auth: 'unhealthy' }));
    h.clock.advance(MINUTE);
    void applyProbeResults(h.ctx, results(h.ctx, { auth: 'unhealthy' }));
    await hung;
    h.notifier.during = undefined;
    expect(await sweepEscalations(h.ctx)).toEqual([]);
    h.clock.advance(2 * MINUTE);
    await sweepEscalations(h.ctx);
    expect(h.notifier.lines()).toEqual(['L1 opened P2 auth:health@127.0.0.1']);
  });

  it('escalates once, naming every service, when several breakers of one outage trip in the same cycle', async () => {
    const h = createHarness();
    await cycles(h, 1);
    const down = { auth: 'unhealthy', ac: 'unhealthy', fv: 'unhealthy', gs: 'unhealthy' } as const;
    await cycles(h, 30, down);
    const breakerPages = h.notifier.sent.filter((n) => n.page.why === 'breaker-open');
    expect(breakerPages.map((n) => n.page.level)).toEqual([4]);
    const [incident] = await h.store.listOpenIncidents();
    expect([...(incident?.breakerTripped ?? [])].sort()).toEqual(['ac', 'auth', 'fv', 'gs']);
    expect(h.commands.requests).toHaveLength(12);
  });

  it('finishes an asynchronous restart by its command id, and expires one that never reports', async () => {
    const h = createHarness();
    await cycles(h, 1);
    h.commands.next = { status: 'pending', commandId: 'cmd-1', output: '' };
    await cycles(h, 3, { auth: 'unhealthy' });
    const sent = await h.store.findAttemptByCommand('cmd-1');
    expect(sent).toMatchObject({ service: 'auth', outcome: 'pending' });
    if (!sent) throw new Error('no attempt');
    await finishRemediation(h.ctx, sent, { status: 'failed', exitCode: 1, output: 'port still held' });
    await finishRemediation(h.ctx, { ...sent }, { status: 'succeeded', output: 'late duplicate' });
    expect(await h.store.findAttemptByCommand('cmd-1')).toMatchObject({ outcome: 'failed' });

    h.commands.next = { status: 'pending', commandId: 'cmd-2', output: '' };
    await cycles(h, 4, { auth: 'unhealthy' });
    expect(await h.store.findAttemptByCommand('cmd-2')).toMatchObject({ outcome: 'pending' });
    h.clock.advance(h.ctx.config.remediation.restartTimeout + 61_000);
    await sweepEscalations(h.ctx);
    expect(await h.store.findAttemptByCommand('cmd-2')).toMatchObject({ outcome: 'failed' });
    const [incident] = await h.store.listOpenIncidents();
    const outcomes = (await h.store.getTimeline(incident?.id ?? '')).flatMap((e) =>
      e.type === 'remediation' ? [e.outcome] : [],
    );
    expect(outcomes).toEqual(['requested', 'failed', 'requested', 'failed']);
  });

  it('publishes schema-valid events for each health change, page, restart outcome and resolution', async () => {
    const h = createHarness();
    await cycles(h, 1);
    const before = h.events.published.length;
    await cycles(h, 3, { auth: 'unhealthy' });
    await cycles(h, 2);
    const events = h.events.published.slice(before);
    expect(events.map((e) => e.detailType)).toEqual([
      'Health Changed',
      'Incident Opened',
      'Incident Escalated',
      'Remediation Finished',
      'Health Changed',
      'Incident Resolved',
    ]);
    for (const e of events) expect(DETAIL_SCHEMAS[e.detailType].safeParse(e.detail).success).toBe(true);
    expect(events[0]?.detail).toMatchObject({ targetId: 'auth:health@127.0.0.1', from: 'up', to: 'down' });
  });

  it('pages at the next sweep when a maintenance window is ended early, not at its planned end', async () => {
    const h = createHarness();
    const window = {
      id: 'mw-4h',
      subjects: ['auth'],
      startsAt: T0,
      endsAt: T0 + 4 * 60 * MINUTE,
      reason: 'r',
      createdBy: 'a',
    };
    await h.store.putMaintenanceWindow(window);
    await cycles(h, 1);
    await cycles(h, 3, { auth: 'unhealthy' });
    expect(h.notifier.sent).toEqual([]);
    h.clock.advance(30 * MINUTE);
    await h.store.putMaintenanceWindow({ ...window, endsAt: h.clock.now() });
    await unmuteIncidents(h.ctx, ['mw-4h']);
    await sweepEscalations(h.ctx);
    expect(h.notifier.lines()).toEqual(['L1 opened P2 auth:health@127.0.0.1']);
  });

  it('keeps sweeping the other incidents when one of them fails', async () => {
    const h = createHarness();
    await cycles(h, 1);
    await cycles(h, 3, { auth: 'unhealthy', integrity: 'unhealthy' });
    const open = await h.store.listOpenIncidents();
    expect(open).toHaveLength(2);
    const broken = open[0]?.id;
    const getTimeline = h.store.getTimeline.bind(h.store);
    h.store.getTimeline = async (id: string) => {
      if (id === broken) throw new Error('throttled');
      return getTimeline(id);
    };
    h.clock.advance(60 * MINUTE);
    const advanced = await sweepEscalations(h.ctx);
    expect(advanced.map((i) => i.id)).toEqual([open[1]?.id]);
    expect(h.logs.some((l) => l.event === 'sweep-step-failed')).toBe(true);
  });
});
