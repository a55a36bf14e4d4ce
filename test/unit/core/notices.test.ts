import { describe, expect, it } from 'vitest';
import type { Incident, Notice, TimelineEntry } from '../../../lambdas/core/incident.ts';
import { openIncident } from '../../../lambdas/core/incident-planner.ts';
import { formatNotice } from '../../../lambdas/core/notice-message.ts';
import {
  claimNotices,
  incidentDueAt,
  NOTICE_MAX_ATTEMPTS,
  type NoticeKind,
  noticeBackoffMs,
  settleNotices,
  windowNotice,
  withNotices,
} from '../../../lambdas/core/notices.ts';
import { acgsPolicy, MINUTE, serviceDownReport, T0 } from '../../support/incident-fixtures.ts';

const SECOND = 1_000;
const ALL: NoticeKind[] = ['opened', 'escalated', 'acknowledged', 'update', 'sla-breached', 'resolved'];
const routesTo =
  (routes: Record<string, readonly NoticeKind[]>) =>
  (kind: NoticeKind): readonly string[] =>
    Object.entries(routes).flatMap(([channel, kinds]) => (kinds.includes(kind) ? [channel] : []));
const both = routesTo({ hook: ALL, file: ALL });

function incident(): Incident {
  return openIncident(serviceDownReport('auth'), acgsPolicy, T0).incident;
}

function notice(overrides: Partial<Notice> = {}): Notice {
  return { key: 'opened-1', kind: 'opened', at: T0, done: [], attempts: 0, nextAt: T0, ...overrides };
}

describe('withNotices: lifecycle notices derived from the timeline', () => {
  it('announces opening, escalation, acknowledgement, a person’s note, a breach and the resolve', () => {
    // Prepare
    const entries: TimelineEntry[] = [
      { at: T0, type: 'opened', severity: 'P2', detail: 'auth: connection refused' },
      { at: T0, type: 'paged', level: 1, levelName: 'L1', contacts: [], why: 'opened' },
      { at: T0 + MINUTE, type: 'paged', level: 2, levelName: 'L2', contacts: [], why: 'escalated' },
      { at: T0 + 2 * MINUTE, type: 'acknowledged', by: 'alice' },
      { at: T0 + 3 * MINUTE, type: 'note', by: 'alice', text: 'rolling back the deploy' },
      { at: T0 + 3 * MINUTE, type: 'note', by: 'control-plane', text: 'page to level 3 failed' },
      {
        at: T0 + 4 * MINUTE,
        type: 'sla-breached',
        severity: 'P2',
        dueAt: T0 + 4 * MINUTE,
        level: 2,
      },
      { at: T0 + 5 * MINUTE, type: 'resolved', by: 'alice', resolution: 'rolled back' },
    ];
    // Act
    const next = withNotices(incident(), entries, both, T0 + 5 * MINUTE);
    // Assess: the first page is the opening; a control-plane note is not an update
    expect(next.notices?.map((n) => [n.kind, n.by, n.text, n.level])).toEqual([
      ['opened', undefined, 'auth: connection refused', undefined],
      ['escalated', undefined, undefined, 2],
      ['acknowledged', 'alice', undefined, undefined],
      ['update', 'alice', 'rolling back the deploy', undefined],
      ['sla-breached', undefined, `P2 not acknowledged by ${new Date(T0 + 4 * MINUTE).toISOString()}`, 2],
      ['resolved', 'alice', 'rolled back', undefined],
    ]);
    expect(new Set(next.notices?.map((n) => n.key)).size).toBe(6);
    expect(next.notices?.every((n) => n.nextAt === T0 + 5 * MINUTE && n.attempts === 0 && n.done.length === 0)).toBe(
      true,
    );
  });

  it('stores nothing when no channel carries the kind (a config without events changes nothing)', () => {
    const start = incident();
    const next = withNotices(
      start,
      [{ at: T0, type: 'acknowledged', by: 'alice' }],
      routesTo({ file: ['resolved'] }),
      T0,
    );
    expect(next).toBe(start);
    expect(next.notices).toBeUndefined();
  });

  it('keys two notices of one kind at one millisecond apart, in one write and across writes', () => {
    const note = (text: string): TimelineEntry => ({ at: T0, type: 'note', by: 'bob', text });
    const once = withNotices(incident(), [note('a'), note('b')], both, T0);
    const twice = withNotices({ ...once, version: once.version + 1 }, [note('c')], both, T0);
    expect(new Set(twice.notices?.map((n) => n.key)).size).toBe(3);
  });

  it('announces an escalation test’s opening, acknowledgement and resolve as test notices', () => {
    const test: Incident = { ...incident(), kind: 'test' };
    const next = withNotices(
      test,
      [
        { at: T0, type: 'opened', severity: 'P3', detail: 'escalation test' },
        { at: T0 + 1, type: 'acknowledged', by: 'carol' },
        { at: T0 + 2, type: 'resolved', by: 'carol', resolution: 'passed' },
      ],
      routesTo({ hook: ['test'] }),
      T0,
    );
    expect(next.notices?.map((n) => n.kind)).toEqual(['test', 'test', 'test']);
  });
});

describe('incidentDueAt: the stores’ due index', () => {
  it('is the escalation timer, or the first notice owed, whichever is earlier; a resolved incident with one is due', () => {
    const open = incident();
    expect(incidentDueAt(open)).toBe(open.escalation.nextAt);
    expect(incidentDueAt({ ...open, notices: [notice({ nextAt: T0 - 1 })] })).toBe(T0 - 1);
    const { nextAt: _timer, ...stopped } = open.escalation;
    const resolved: Incident = { ...open, status: 'resolved', escalation: stopped };
    expect(incidentDueAt(resolved)).toBeUndefined();
    expect(incidentDueAt({ ...resolved, notices: [notice({ nextAt: T0 + 7 })] })).toBe(T0 + 7);
    // A leased notice is due when its lease lapses.
    expect(incidentDueAt({ ...resolved, notices: [notice({ nextAt: T0, leaseUntil: T0 + 30 * SECOND })] })).toBe(
      T0 + 30 * SECOND,
    );
  });
});

describe('claim and settle', () => {
  it('claims only the due notices, with a lease another deliverer respects', () => {
    const notices = [notice({ key: 'a' }), notice({ key: 'b', nextAt: T0 + MINUTE })];
    const claim = claimNotices(notices, T0, 10 * SECOND);
    expect(claim?.claimed.map((n) => n.key)).toEqual(['a']);
    expect(claim?.notices[0]).toMatchObject({ leaseUntil: T0 + 10 * SECOND, nextAt: T0 + 10 * SECOND });
    expect(claimNotices(claim?.notices, T0 + 5 * SECOND, 10 * SECOND)).toBeUndefined();
    // The lease lapses: a crashed deliverer's notices are claimed again.
    expect(claimNotices(claim?.notices, T0 + 10 * SECOND, 10 * SECOND)?.claimed.map((n) => n.key)).toEqual(['a']);
  });

  it('drops a notice every channel took; backs a failing channel off 30 s doubling to 30 min; gives up after MAX', () => {
    const lease = T0 + 10 * SECOND;
    const held = [notice({ leaseUntil: lease, nextAt: lease })];
    // Both took it
    expect(
      settleNotices(held, [{ key: 'opened-1', delivered: ['hook', 'file'], errors: {} }], lease, both, T0).notices,
    ).toEqual([]);
    // hook failed: file is done, hook retried in 30 s
    const once = settleNotices(
      held,
      [{ key: 'opened-1', delivered: ['file'], errors: { hook: '503' } }],
      lease,
      both,
      T0,
    );
    expect(once.notices).toEqual([{ ...notice(), done: ['file'], attempts: 1, nextAt: T0 + 30 * SECOND }]);
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((a) => noticeBackoffMs(a) / SECOND)).toEqual([
      30, 60, 120, 240, 480, 960, 1800, 1800,
    ]);
    // The last attempt fails: hook is given up on, reported, and the notice leaves the list
    const last = [notice({ done: ['file'], attempts: NOTICE_MAX_ATTEMPTS - 1, leaseUntil: lease, nextAt: lease })];
    const given = settleNotices(
      last,
      [{ key: 'opened-1', delivered: [], errors: { hook: 'timeout' } }],
      lease,
      both,
      T0,
    );
    expect(given.notices).toEqual([]);
    expect(given.gaveUp.map((g) => [g.channel, g.error, g.notice.attempts])).toEqual([
      ['hook', 'timeout', NOTICE_MAX_ATTEMPTS],
    ]);
  });

  it('keeps what another deliverer claimed after our lease lapsed, adding the channels we did deliver', () => {
    const theirs = [notice({ leaseUntil: T0 + MINUTE, nextAt: T0 + MINUTE })];
    const settled = settleNotices(
      theirs,
      [{ key: 'opened-1', delivered: ['file'], errors: { hook: 'x' } }],
      T0 + 5,
      both,
      T0,
    );
    expect(settled.notices).toEqual([{ ...theirs[0], done: ['file'] }]);
  });

  it('a channel held back behind an earlier failed notice costs no attempt', () => {
    const lease = T0 + 10 * SECOND;
    const held = [notice({ key: 'b', done: ['file'], leaseUntil: lease, nextAt: lease })];
    const settled = settleNotices(held, [{ key: 'b', delivered: [], errors: {} }], lease, both, T0);
    expect(settled.notices[0]).toMatchObject({ attempts: 0, nextAt: T0 + 30 * SECOND });
  });
});

describe('window notices', () => {
  const window = {
    id: 'mw-1',
    subjects: ['postgresql'],
    startsAt: T0 + MINUTE,
    endsAt: T0 + 61 * MINUTE,
    reason: 'upgrade',
    createdBy: 'dave',
  };
  it('owes started at the start and ended at the end, once each, when a channel carries them', () => {
    const routes = routesTo({ file: ['maintenance-started', 'maintenance-ended'] });
    const started = windowNotice(window, 'maintenance-started', window.startsAt, routes, 'dave');
    const ended = windowNotice(started, 'maintenance-ended', window.endsAt, routes);
    expect(ended.notices?.map((n) => [n.kind, n.nextAt])).toEqual([
      ['maintenance-started', T0 + MINUTE],
      ['maintenance-ended', T0 + 61 * MINUTE],
    ]);
    expect(windowNotice(ended, 'maintenance-ended', T0, routes)).toBe(ended);
    expect(windowNotice(window, 'maintenance-started', T0, routesTo({}))).toBe(window);
  });
});

describe('formatNotice', () => {
  const options = { fleet: 'acgs-1', acknowledgeHint: 'acgs-ops incident ack {id}' };
  it('words a resolve: what, title, severity, where, since, who, how and the MTTR', () => {
    const open = incident();
    const resolved: Incident = {
      ...open,
      status: 'resolved',
      resolvedAt: T0 + 42 * MINUTE,
      resolvedBy: 'alice',
      resolution: 'rolled back',
    };
    const n = notice({ key: 'resolved-1', kind: 'resolved', by: 'alice', text: 'rolled back', at: T0 + 42 * MINUTE });
    const message = formatNotice({ key: `${open.id}/resolved-1`, notice: n, incident: resolved, recent: [] }, options);
    expect(message.subject).toBe(`Incident resolved: acgs-1: [P2] auth is down (${open.id})`);
    expect(message.text).toContain('Resolved after 42m by alice: rolled back');
    expect(message.text).toContain('Where: auth on 127.0.0.1');
    expect(message.text).toContain(`Since: ${new Date(T0).toISOString()}`);
    expect(message.text).toContain('Time to resolve: 42m');
    expect(message.body).toMatchObject({
      kind: 'acgs-ops.notice',
      key: `${open.id}/resolved-1`,
      event: 'resolved',
      by: 'alice',
      incident: {
        id: open.id,
        title: 'auth is down',
        severity: 'P2',
        mttrMs: 42 * MINUTE,
        mttr: '42m',
        resolution: 'rolled back',
      },
    });
    expect(message.body.incident?.acknowledge).toBeUndefined();
  });

  it('words an SLA breach with the severity, when it was due and the level it escalated to', () => {
    const open = incident();
    const breach = formatNotice(
      {
        key: 'k',
        notice: notice({ kind: 'sla-breached', text: 'P2 not acknowledged by 2026-12-01T02:30:00.000Z', level: 2 }),
        incident: open,
        recent: [],
      },
      options,
    );
    expect(breach.subject).toBe(`Response SLA breached: acgs-1: [P2] auth is down (${open.id})`);
    expect(breach.body.summary).toBe(
      'Response time passed without an acknowledgement (P2 not acknowledged by 2026-12-01T02:30:00.000Z): escalated to level 2.',
    );
  });

  it('words an update with its text, and a window with its subjects, times and reason', () => {
    const open = incident();
    const update = formatNotice(
      {
        key: 'k',
        notice: notice({ kind: 'update', by: 'bob', text: 'DB failover running' }),
        incident: open,
        recent: [],
      },
      options,
    );
    expect(update.text).toContain('Update: DB failover running');
    expect(update.text).toContain(`Acknowledge: acgs-ops incident ack ${open.id}`);
    const w = {
      id: 'mw-1',
      subjects: ['postgresql'],
      startsAt: T0,
      endsAt: T0 + HOUR_MS,
      reason: 'minor upgrade',
      createdBy: 'dave',
    };
    const started = formatNotice(
      { key: 'mw-1/s', notice: notice({ kind: 'maintenance-started', by: 'dave' }), window: w, recent: [] },
      options,
    );
    expect(started.subject).toBe('Maintenance started: acgs-1: maintenance of postgresql (mw-1)');
    expect(started.text).toContain('Reason: minor upgrade');
    expect(started.body.window).toEqual({
      id: 'mw-1',
      subjects: ['postgresql'],
      startsAt: new Date(T0).toISOString(),
      endsAt: new Date(T0 + HOUR_MS).toISOString(),
      reason: 'minor upgrade',
      createdBy: 'dave',
    });
  });
});

const HOUR_MS = 60 * MINUTE;
