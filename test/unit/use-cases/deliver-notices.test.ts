import { describe, expect, it, vi } from 'vitest';
import type { NoticeKind } from '../../../lambdas/core/notices.ts';
import { NOTICE_MAX_ATTEMPTS } from '../../../lambdas/core/notices.ts';
import { deliverIncidentNotices, deliverNotices } from '../../../lambdas/use-cases/deliver-notices.ts';
import { endMaintenanceWindow, openMaintenanceWindow } from '../../../lambdas/use-cases/maintenance.ts';
import {
  acknowledgeIncident,
  declareIncident,
  noteIncident,
  resolveIncident,
} from '../../../lambdas/use-cases/operator-actions.ts';
import { stopService } from '../../../lambdas/use-cases/service-procedures.ts';
import { sweepEscalations } from '../../../lambdas/use-cases/sweep-escalations.ts';
import { createHarness, type Harness, MINUTE, SECOND, T0 } from '../../support/harness.ts';

const LIFECYCLE: NoticeKind[] = ['opened', 'acknowledged', 'update', 'resolved'];

function harness(routes: Record<string, readonly NoticeKind[]> = { hook: LIFECYCLE, file: LIFECYCLE }): Harness {
  const h = createHarness();
  h.notifier.noticeRoutes = routes;
  return h;
}

async function declare(h: Harness) {
  const { incident } = await declareIncident(h.ctx, {
    kind: 'manual',
    title: 'checkout slow',
    severity: 'P3',
    services: [],
    by: 'alice',
  });
  return incident;
}

/** `<channel> <kind> <key>` per notice sent, in order. */
function sent(h: Harness): string[] {
  return h.notifier.notices.map((n) => `${n.channel} ${n.message.notice.kind} ${n.message.key}`);
}

describe('deliverNotices: a whole lifecycle, once per channel', () => {
  it('announces open, acknowledge, update and resolve once each on every channel, the resolved incident included', async () => {
    // Prepare
    const h = harness();
    const incident = await declare(h);
    // Act: the sweep after each step
    await sweepEscalations(h.ctx);
    await acknowledgeIncident(h.ctx, incident.id, 'alice');
    await sweepEscalations(h.ctx);
    await noteIncident(h.ctx, incident.id, 'alice', 'rolled back the deploy, watching');
    await sweepEscalations(h.ctx);
    await resolveIncident(h.ctx, incident.id, 'alice', 'deploy rolled back');
    const due = await h.store.listIncidentsDue(h.clock.now());
    await sweepEscalations(h.ctx);
    await sweepEscalations(h.ctx);
    // Assess
    expect(due.map((i) => [i.id, i.status])).toEqual([[incident.id, 'resolved']]);
    const kinds = h.notifier.notices.map((n) => `${n.channel} ${n.message.notice.kind}`);
    expect(kinds.filter((k) => k.startsWith('hook'))).toEqual([
      'hook opened',
      'hook acknowledged',
      'hook update',
      'hook resolved',
    ]);
    expect(kinds.filter((k) => k.startsWith('file'))).toEqual([
      'file opened',
      'file acknowledged',
      'file update',
      'file resolved',
    ]);
    const keys = h.notifier.notices.map((n) => `${n.channel} ${n.message.key}`);
    expect(new Set(keys).size).toBe(8);
    expect(h.notifier.notices.every((n) => n.message.key.startsWith(`${incident.id}/`))).toBe(true);
    const update = h.notifier.notices.find((n) => n.message.notice.kind === 'update');
    expect(update?.message.notice).toMatchObject({ by: 'alice', text: 'rolled back the deploy, watching' });
    const stored = await h.store.getIncident(incident.id);
    expect(stored?.notices).toBeUndefined();
    expect(await h.store.listIncidentsDue(h.clock.now() + 365 * 24 * 60 * MINUTE)).toEqual([]);
  });

  it('stores and sends nothing when no channel carries lifecycle notices', async () => {
    const h = harness({});
    const incident = await declare(h);
    await resolveIncident(h.ctx, incident.id, 'alice', 'fine');
    await sweepEscalations(h.ctx);
    expect((await h.store.getIncident(incident.id))?.notices).toBeUndefined();
    expect(h.notifier.notices).toEqual([]);
  });
});

describe('deliverNotices: a failing channel', () => {
  it('retries only the failing channel, 30 s then 60 s later, with the same key; the other channel is not held up', async () => {
    // Prepare
    const h = harness();
    h.notifier.failNotices.hook = 2;
    const incident = await declare(h);
    // Act
    await deliverNotices(h.ctx);
    const first = sent(h);
    h.clock.advance(29 * SECOND);
    await deliverNotices(h.ctx);
    const early = sent(h);
    h.clock.advance(1 * SECOND);
    await deliverNotices(h.ctx);
    h.clock.advance(60 * SECOND);
    await deliverNotices(h.ctx);
    await deliverNotices(h.ctx);
    // Assess
    const key = `${incident.id}/`;
    expect(first).toEqual([expect.stringMatching(new RegExp(`^file opened ${key}`))]);
    expect(early).toEqual(first);
    expect(sent(h)).toEqual([first[0], first[0]?.replace('file', 'hook')]);
    const failures = h.logs.filter((l) => l.event === 'notice-failed');
    expect(failures.map((l) => [l.fields.channel, l.fields.attempt, l.fields.gaveUp])).toEqual([
      ['hook', 1, false],
      ['hook', 2, false],
    ]);
    expect((await h.store.getIncident(incident.id))?.notices).toBeUndefined();
  });

  it('gives a channel up after the last attempt: a timeline note, a log line, a failure report; others go on', async () => {
    // Prepare
    const h = harness();
    h.notifier.failNotices.hook = 1_000;
    const failures: unknown[] = [];
    const incident = await declare(h);
    // Act: every round, as late as the backoff asks
    for (let round = 0; round < NOTICE_MAX_ATTEMPTS; round++) {
      await deliverNotices(h.ctx, { onFailure: (f) => failures.push(f) });
      h.clock.advance(30 * MINUTE);
    }
    await acknowledgeIncident(h.ctx, incident.id, 'bob');
    await deliverNotices(h.ctx, { onFailure: (f) => failures.push(f) });
    // Assess
    const timeline = await h.store.getTimeline(incident.id);
    const notes = timeline.flatMap((e) => (e.type === 'note' && e.by === 'control-plane' ? [e.text] : []));
    expect(notes).toEqual([
      expect.stringMatching(/^opened notice not delivered to channel hook after 8 attempts: hook answered 503/),
    ]);
    expect(failures).toHaveLength(NOTICE_MAX_ATTEMPTS + 1);
    expect(failures.at(NOTICE_MAX_ATTEMPTS - 1)).toMatchObject({ channel: 'hook', gaveUp: true });
    expect(sent(h).map((s) => s.split(' ').slice(0, 2).join(' '))).toEqual(['file opened', 'file acknowledged']);
    // The acknowledged notice is still owed to hook (its own attempts), the opened one is gone.
    expect((await h.store.getIncident(incident.id))?.notices?.map((n) => [n.kind, n.done, n.attempts])).toEqual([
      ['acknowledged', ['file'], 1],
    ]);
  });

  it('never sends a channel a later notice before an earlier one it failed (a resolve never overtakes its trigger)', async () => {
    const h = harness();
    h.notifier.failNotices.hook = 1;
    const incident = await declare(h);
    await resolveIncident(h.ctx, incident.id, 'alice', 'false alarm');
    await deliverNotices(h.ctx);
    h.clock.advance(30 * SECOND);
    await deliverNotices(h.ctx);
    expect(sent(h).map((s) => s.split(' ').slice(0, 2).join(' '))).toEqual([
      'file opened',
      'file resolved',
      'hook opened',
      'hook resolved',
    ]);
  });
});

describe('deliverNotices: racing and crashed deliverers', () => {
  it('two deliverers racing send each notice once per channel', async () => {
    const h = harness();
    const incident = await declare(h);
    await Promise.all([
      deliverIncidentNotices(h.ctx, incident),
      deliverIncidentNotices(h.ctx, incident),
      sweepEscalations(h.ctx),
    ]);
    expect(sent(h).sort()).toEqual(
      [`file opened ${incident.id}/`, `hook opened ${incident.id}/`].map((p) => expect.stringContaining(p)),
    );
    expect(h.notifier.notices).toHaveLength(2);
  });

  it('a deliverer that died mid-delivery leaves a lease that lapses: the notice goes again with the same key', async () => {
    // Prepare: a deliverer that claims and never settles (its process died during the send)
    const h = harness({ hook: LIFECYCLE });
    const incident = await declare(h);
    const original = h.notifier.sendNotice.bind(h.notifier);
    let hang = true;
    let started: () => void = () => {};
    const inFlight = new Promise<void>((resolve) => {
      started = resolve;
    });
    h.notifier.sendNotice = async (channel, message) => {
      if (hang) {
        hang = false;
        h.notifier.notices.push({ channel, message });
        started();
        await new Promise(() => {});
      }
      return original(channel, message);
    };
    void deliverNotices(h.ctx);
    await inFlight;
    // Act: before the lease lapses, nothing; after, the notice again
    await deliverNotices(h.ctx);
    const during = h.notifier.notices.length;
    const lease = (await h.store.getIncident(incident.id))?.notices?.[0]?.leaseUntil ?? 0;
    h.clock.set(lease);
    await deliverNotices(h.ctx);
    // Assess
    expect(during).toBe(1);
    expect(h.notifier.notices.map((n) => n.message.key)).toEqual([
      h.notifier.notices[0]?.message.key,
      h.notifier.notices[0]?.message.key,
    ]);
    expect((await h.store.getIncident(incident.id))?.notices).toBeUndefined();
  });
});

describe('deliverNotices: a crash mid-round', () => {
  it('resends only to the channel that was in flight: a channel that answered is recorded at once', async () => {
    // Prepare: hook answers, file never does (the process dies while its request is out)
    const h = harness({ hook: LIFECYCLE, file: LIFECYCLE });
    const incident = await declare(h);
    const original = h.notifier.sendNotice.bind(h.notifier);
    let dead = true;
    h.notifier.sendNotice = async (channel, message) => {
      if (dead && channel === 'file') {
        h.notifier.notices.push({ channel, message });
        await new Promise(() => {});
      }
      return original(channel, message);
    };
    void deliverNotices(h.ctx);
    // wait until the hook's answer is on the record (the file's request is then out for good)
    await vi.waitFor(async () => {
      expect((await h.store.getIncident(incident.id))?.notices?.[0]?.done).toEqual(['hook']);
      expect(h.notifier.notices.map((n) => n.channel).sort()).toEqual(['file', 'hook']);
    });
    dead = false;
    // Act: the lease lapses and another deliverer takes the notice
    const lease = (await h.store.getIncident(incident.id))?.notices?.[0]?.leaseUntil ?? 0;
    h.clock.set(lease);
    await deliverNotices(h.ctx);
    // Assess: hook had it once; file, whose request was cut, twice with the same key; nothing owed
    expect(sent(h).map((line) => line.split(' ').slice(0, 2).join(' '))).toEqual([
      'hook opened',
      'file opened',
      'file opened',
    ]);
    expect(new Set(h.notifier.notices.map((n) => n.message.key)).size).toBe(1);
    expect((await h.store.getIncident(incident.id))?.notices).toBeUndefined();
  });
});

describe('deliverNotices: maintenance windows', () => {
  const routes = { file: ['maintenance-started', 'maintenance-ended'] as NoticeKind[] };

  it('announces a window starting now at once, and its end when an operator ends it early', async () => {
    const h = harness(routes);
    const window = await openMaintenanceWindow(h.ctx, { lengthMs: 60 * MINUTE, reason: 'db upgrade', by: 'dave' });
    await sweepEscalations(h.ctx);
    h.clock.advance(10 * MINUTE);
    await endMaintenanceWindow(h.ctx, window.id);
    await deliverNotices(h.ctx);
    await deliverNotices(h.ctx);
    expect(
      h.notifier.notices.map((n) => [n.message.notice.kind, n.message.notice.at, n.message.key.split('/')[0]]),
    ).toEqual([
      ['maintenance-started', T0, window.id],
      ['maintenance-ended', T0 + 10 * MINUTE, window.id],
    ]);
    expect((await h.store.listMaintenanceWindows(0))[0]?.notices).toBeUndefined();
  });

  it('announces a scheduled window when it starts and when it ends, not before', async () => {
    const h = harness(routes);
    await openMaintenanceWindow(h.ctx, { lengthMs: 30 * MINUTE, delayMs: 5 * MINUTE, reason: 'os patch', by: 'dave' });
    await deliverNotices(h.ctx);
    const before = h.notifier.notices.length;
    h.clock.advance(5 * MINUTE);
    await deliverNotices(h.ctx);
    const started = h.notifier.notices.map((n) => n.message.notice.kind);
    h.clock.advance(30 * MINUTE);
    await deliverNotices(h.ctx);
    expect(before).toBe(0);
    expect(started).toEqual(['maintenance-started']);
    expect(h.notifier.notices.map((n) => n.message.notice.kind)).toEqual(['maintenance-started', 'maintenance-ended']);
  });

  it('two deliverers do not both send a window notice (the lease)', async () => {
    const h = harness(routes);
    await openMaintenanceWindow(h.ctx, { lengthMs: 30 * MINUTE, reason: 'os patch', by: 'dave' });
    await Promise.all([deliverNotices(h.ctx), deliverNotices(h.ctx)]);
    await deliverNotices(h.ctx);
    expect(h.notifier.notices.map((n) => n.message.notice.kind)).toEqual(['maintenance-started']);
  });

  it('announces the window a procedure opens (a service stop) at once, and its end when it runs out', async () => {
    const h = harness(routes);
    await stopService(h.ctx, { service: 'auth', by: 'erin', windowMs: 20 * MINUTE });
    await deliverNotices(h.ctx);
    const started = h.notifier.notices.map((n) => [n.message.notice.kind, n.message.notice.by]);
    h.clock.advance(20 * MINUTE);
    await deliverNotices(h.ctx);
    expect(started).toEqual([['maintenance-started', 'erin']]);
    expect(h.notifier.notices.map((n) => [n.message.notice.kind, n.message.notice.at])).toEqual([
      ['maintenance-started', T0],
      ['maintenance-ended', T0 + 20 * MINUTE],
    ]);
  });

  it('a window cancelled before it starts announces nothing', async () => {
    const h = harness(routes);
    const window = await openMaintenanceWindow(h.ctx, {
      lengthMs: 30 * MINUTE,
      delayMs: 5 * MINUTE,
      reason: 'x',
      by: 'dave',
    });
    await endMaintenanceWindow(h.ctx, window.id);
    h.clock.advance(40 * MINUTE);
    await deliverNotices(h.ctx);
    expect(h.notifier.notices).toEqual([]);
  });
});
