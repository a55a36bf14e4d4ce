import { describe, expect, it } from 'vitest';
import type { ProbeResult, ProbeStatus } from '../../lambdas/core/probe-evaluation.ts';
import type { Target } from '../../lambdas/core/targets.ts';
import type { Prober } from '../../lambdas/ports.ts';
import { runProbeCycle } from '../../lambdas/use-cases/run-probe-cycle.ts';
import { sweepEscalations } from '../../lambdas/use-cases/sweep-escalations.ts';
import { createHarness, type Harness, MINUTE } from '../support/harness.ts';

/**
 * Storm tests: the shipped ACGS-1 config, a fake clock and a prober that answers like the network would. The
 * daemon runs one probe cycle and one sweep at start, then both every minute (schedules.probe and escalationSweep
 * are 1m); with failuresToDown 3 the third cycle (2 min in) is the first that can open anything, so "the first
 * minute" of the storm is the cycles and sweeps from start until one minute after that.
 */

type Answer = 'refused' | 'http-503' | 'healthy';

/** A prober answering per target, as the network would: refused (nothing listening), HTTP 503, or healthy. */
class ScriptedProber implements Prober {
  constructor(public answer: (target: Target) => Answer) {}
  async probe(target: Target): Promise<ProbeResult> {
    const answer = this.answer(target);
    const status: ProbeStatus = answer === 'healthy' ? 'healthy' : 'unhealthy';
    const where = 'url' in target ? new URL(target.url).host : `${target.host}:${'port' in target ? target.port : ''}`;
    return {
      targetId: target.id,
      name: target.name,
      kind: target.kind,
      status,
      reason: answer === 'refused' ? 'refused' : answer === 'http-503' ? 'http-status' : 'ok',
      detail: answer === 'refused' ? `connect ECONNREFUSED ${where}` : answer === 'http-503' ? 'HTTP 503' : 'HTTP 200',
      latencyMs: 3,
      ...(target.kind === 'prometheus' && answer === 'healthy' ? { value: 1 } : {}),
      checkedAt: 0,
    };
  }
}

/** One scheduled minute of the daemon: a probe cycle, the restarts it starts, and a sweep; then the clock moves on. */
async function minute(h: Harness, prober: Prober): Promise<void> {
  const cycle = await runProbeCycle(h.ctx, prober);
  await Promise.all(cycle.remediation.inFlight);
  await sweepEscalations(h.ctx);
  h.clock.advance(MINUTE);
}

/** Runs minutes until an incident is open, then one more minute; returns when the first one opened. */
async function untilOneMinuteAfterTheFirstIncident(h: Harness, prober: Prober): Promise<number> {
  for (let i = 0; i < 10; i++) {
    await minute(h, prober);
    const [first] = await h.store.listIncidents({});
    if (first) {
      await minute(h, prober);
      return first.openedAt;
    }
  }
  throw new Error('no incident opened in 10 minutes');
}

const isPrometheus = (t: Target) => 'url' in t && new URL(t.url).port === '9090';

describe('incident storms: one incident per cause', () => {
  it('opens exactly one incident and at most one page per level in the first minute when nothing is running', async () => {
    // Prepare: nothing listens anywhere.
    const h = createHarness();
    const prober = new ScriptedProber(() => 'refused');
    // Act
    const openedAt = await untilOneMinuteAfterTheFirstIncident(h, prober);
    // Assess: one incident, the complete outage, naming every cause; one page per level of the P1 first page.
    const all = await h.store.listIncidents({});
    expect(all.map((i) => [i.kind, i.severity, i.status])).toEqual([['fleet-outage', 'P1', 'open']]);
    expect(all[0]?.title).toBe(
      'Complete outage of acgs-1: 7 of 7 services down; postgresql, redis, opa, prometheus, grafana and haproxy down too',
    );
    expect(all[0]?.detail).toContain('prometheus down: latency, error rate, CPU and memory not observable');
    expect([...(all[0]?.targets ?? [])].sort()).toEqual(h.ctx.targets.map((t) => t.id).sort());
    const firstMinute = h.notifier.sent.filter((n) => n.page.at < openedAt + MINUTE);
    const levels = firstMinute.map((n) => n.page.level);
    expect(levels).toEqual([...new Set(levels)]);
    expect(levels).toEqual([1, 2, 3]);
    // Suppression stopped incidents, not probing: every target's health is recorded (what `status` shows).
    const states = await h.store.loadTargetStates(h.ctx.targets.map((t) => t.id));
    expect(h.ctx.targets.map((t) => states.get(t.id)?.health)).toEqual(h.ctx.targets.map(() => 'down'));
  });

  it('keeps it one incident for the whole first hour, its later pages being escalations of it', async () => {
    // Prepare
    const h = createHarness();
    const prober = new ScriptedProber(() => 'refused');
    // Act: an hour of the daemon's schedule (the restarts it tries do not bring anything back).
    for (let i = 0; i < 60; i++) await minute(h, prober);
    // Assess
    const all = await h.store.listIncidents({});
    expect(all.map((i) => i.kind)).toEqual(['fleet-outage']);
    expect(new Set(h.notifier.sent.map((n) => n.incident.id))).toEqual(new Set([all[0]?.id]));
    expect(h.notifier.sent.filter((n) => n.page.why === 'opened').map((n) => n.page.level)).toEqual([1, 2, 3]);
  });

  it('opens one incident naming the signals it hides when only Prometheus is down, and resolves it when it is back', async () => {
    // Prepare
    const h = createHarness();
    const prober = new ScriptedProber((t) => (isPrometheus(t) ? 'refused' : 'healthy'));
    // Act
    await untilOneMinuteAfterTheFirstIncident(h, prober);
    // Assess
    const all = await h.store.listIncidents({});
    expect(all.map((i) => [i.title, i.kind, i.severity])).toEqual([
      ['prometheus down: latency, error rate, CPU and memory not observable', 'dependency-down', 'P3'],
    ]);
    const hidden = h.ctx.targets.filter(isPrometheus).map((t) => t.id);
    expect(hidden).toHaveLength(5);
    expect([...(all[0]?.targets ?? [])].sort()).toEqual([...hidden].sort());
    expect(h.notifier.lines()).toEqual([`L1 opened P3 ${all[0]?.dedupKey}`]);
    // Prometheus back: the incident resolves on its own (suppression never holds up a resolution).
    prober.answer = () => 'healthy';
    await minute(h, prober);
    await minute(h, prober);
    expect(await h.store.listOpenIncidents()).toEqual([]);
    expect(await h.store.listIncidents({})).toHaveLength(1);
  });

  it('opens one incident covering the services that depend on PostgreSQL when only the database is down', async () => {
    // Prepare: the database stops; from the next minute the services answer 503 (they cannot reach it).
    const h = createHarness();
    let minutesIn = 0;
    const prober = new ScriptedProber((t) =>
      t.name === 'postgresql' ? 'refused' : t.role === 'service' && minutesIn >= 1 ? 'http-503' : 'healthy',
    );
    // Act
    for (; minutesIn < 5; minutesIn++) await minute(h, prober);
    // Assess: one P1 for the database, every service in it; the services that joined later are on its timeline.
    const all = await h.store.listIncidents({});
    expect(all.map((i) => [i.title, i.kind, i.severity])).toEqual([
      ['postgresql down: 7 dependent services impacted', 'dependency-down', 'P1'],
    ]);
    const [incident] = all;
    if (!incident) throw new Error('expected an incident');
    expect(incident.services).toEqual(['auth', 'ac', 'integrity', 'fv', 'gs', 'pgc', 'ec']);
    expect(incident.targets).toHaveLength(8);
    const timeline = await h.store.getTimeline(incident.id);
    expect(timeline.filter((e) => e.type === 'impact-changed')).toEqual([
      {
        at: expect.any(Number),
        type: 'impact-changed',
        added: h.ctx.targets.filter((t) => t.role === 'service').map((t) => t.id),
      },
    ]);
    expect(h.notifier.sent.map((n) => n.page.level)).toEqual([1, 2, 3]);
    // No restart is tried while the database is down (restarting its clients would not help).
    expect(h.commands.requests).toEqual([]);
  });

  it('gives a dependent still down its own incident once the dependency it was suppressed by recovers', async () => {
    // Prepare: PostgreSQL and every service down, one incident.
    const h = createHarness();
    let databaseBack = false;
    const prober = new ScriptedProber((t) => {
      if (t.name === 'postgresql') return databaseBack ? 'healthy' : 'refused';
      if (t.role === 'service') return databaseBack && t.name !== 'ec' ? 'healthy' : 'http-503';
      return 'healthy';
    });
    for (let i = 0; i < 4; i++) await minute(h, prober);
    const [database] = await h.store.listOpenIncidents();
    if (!database) throw new Error('expected the database incident');
    // Act: the database comes back and with it every service but ec; two healthy answers make it up.
    databaseBack = true;
    await minute(h, prober);
    await minute(h, prober);
    // Assess: the database incident is resolved, and ec, still failing, now has an incident of its own.
    const resolved = await h.store.getIncident(database.id);
    expect([resolved?.status, resolved?.resolution]).toEqual([
      'resolved',
      'postgresql is up again; ec still fails, now reported apart',
    ]);
    const open = await h.store.listOpenIncidents();
    expect(open.map((i) => [i.title, i.kind, i.severity, i.services])).toEqual([
      ['Evolutionary Computation Service is down', 'service-down', 'P2', ['ec']],
    ]);
    expect(h.notifier.lines().at(-1)).toBe(`L1 opened P2 ${open[0]?.dedupKey}`);
  });
});
