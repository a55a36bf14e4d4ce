import { describe, expect, it } from 'vitest';
import type { FleetConfig } from '../../../lambdas/core/config-schema.ts';
import {
  acknowledge,
  describeNextStep,
  type EscalationOutcome,
  escalate,
  freezePolicy,
  type MaintenanceWindow,
  mutingWindow,
  type Page,
  resolve,
  sweepEscalation,
} from '../../../lambdas/core/escalation.ts';
import type { Incident, TimelineEntry } from '../../../lambdas/core/incident.ts';
import { applyReport, openIncident } from '../../../lambdas/core/incident-planner.ts';
import { describeEntry } from '../../../lambdas/core/timeline-wording.ts';
import {
  acgsConfig,
  acgsPolicy,
  CONTACT,
  fleetOutageReport,
  HOUR,
  MINUTE,
  maintenanceWindow,
  openedIncident,
  serviceDownReport,
  T0,
} from '../../support/incident-fixtures.ts';

/** The sweep outcome at `now`; fails the test when the sweep says nothing is due. */
function sweep(incident: Incident, now: number, windows: readonly MaintenanceWindow[] = []): EscalationOutcome {
  const outcome = sweepEscalation(incident, now, windows);
  if (outcome === undefined) throw new Error(`expected an escalation step at T0+${(now - T0) / MINUTE}m`);
  return outcome;
}

/** Pages reduced to what an on-call person sees: level, who, why, when. */
function summary(pages: readonly Page[]) {
  return pages.map((p) => ({
    level: p.level,
    levelName: p.levelName,
    contacts: p.contacts.map((c) => c.name),
    why: p.why,
    at: p.at,
  }));
}

function opened(severity: 'P1' | 'P2' | 'P3', at = T0): Incident {
  return openedIncident(serviceDownReport('auth', { severity }), at);
}

/** An incident whose first page was delivered at `at`. */
function paged(severity: 'P1' | 'P2' | 'P3', at = T0): Incident {
  return sweep(opened(severity, at), at).incident;
}

describe('escalation policy', () => {
  it('copies levels, first pages, repeat interval and per-severity timers from the config when frozen', () => {
    // Prepare / Act
    const policy = freezePolicy(acgsConfig);

    // Assess
    expect(policy.levels.map((l) => [l.level, l.name, l.responseTime])).toEqual([
      [1, 'Operations', { P1: 15 * MINUTE, P2: HOUR, P3: 4 * HOUR }],
      [2, 'Engineering', { P1: HOUR, P2: 4 * HOUR, P3: 8 * HOUR }],
      [3, 'Architecture', { P1: 30 * MINUTE, P2: 2 * HOUR }],
      [4, 'Executive', { P1: 15 * MINUTE }],
    ]);
    expect(policy.firstPage).toEqual({
      P1: { throughLevel: 3, roles: ['primary', 'secondary', 'member'] },
      P2: { throughLevel: 1, roles: ['primary', 'secondary'] },
      P3: { throughLevel: 1, roles: ['primary'] },
    });
    expect(policy.repeatEvery).toBe(30 * MINUTE);
    expect(policy.ackTimeout).toEqual({ P1: 30 * MINUTE, P2: 2 * HOUR, P3: 8 * HOUR });
    expect(policy.responseTime).toEqual({ P1: 15 * MINUTE, P2: HOUR, P3: 4 * HOUR });
  });

  it('owes the first page immediately and sets the SLA to the severity response time when an incident opens', () => {
    // Prepare / Act
    const incident = opened('P2');

    // Assess
    expect(incident.status).toBe('open');
    expect(incident.slaDueAt).toBe(T0 + HOUR);
    expect(incident.escalation).toEqual({ policy: acgsPolicy, level: 0, nextAt: T0, pending: 'opened', pages: 0 });
  });
});

describe('first page', () => {
  it('pages only the level-1 primary when a P3 incident opens', () => {
    // Prepare
    const incident = opened('P3');

    // Act
    const outcome = sweep(incident, T0);

    // Assess
    expect(summary(outcome.pages)).toEqual([
      { level: 1, levelName: 'Operations', contacts: [CONTACT.opsPrimary], why: 'opened', at: T0 },
    ]);
    expect(outcome.incident.escalation.level).toBe(1);
    expect(outcome.incident.escalation.nextAt).toBe(T0 + 4 * HOUR);
    expect(outcome.incident.escalation.pending).toBeUndefined();
    expect(outcome.incident.escalation.pages).toBe(1);
    expect(outcome.timeline).toEqual([
      { at: T0, type: 'paged', level: 1, levelName: 'Operations', contacts: [CONTACT.opsPrimary], why: 'opened' },
    ]);
  });

  it('pages the level-1 primary and secondary when a P2 incident opens', () => {
    // Prepare
    const incident = opened('P2');

    // Act
    const outcome = sweep(incident, T0);

    // Assess
    expect(summary(outcome.pages)).toEqual([
      {
        level: 1,
        levelName: 'Operations',
        contacts: [CONTACT.opsPrimary, CONTACT.opsSecondary],
        why: 'opened',
        at: T0,
      },
    ]);
    expect(outcome.pages[0]?.severity).toBe('P2');
    expect(outcome.pages[0]?.incidentId).toBe(incident.id);
    expect(outcome.incident.escalation.level).toBe(1);
    expect(outcome.incident.escalation.nextAt).toBe(T0 + HOUR);
  });

  it('pages every team of levels 1 to 3 when a P1 incident opens', () => {
    // Prepare
    const incident = opened('P1');

    // Act
    const outcome = sweep(incident, T0);

    // Assess
    expect(summary(outcome.pages)).toEqual([
      {
        level: 1,
        levelName: 'Operations',
        contacts: [CONTACT.opsPrimary, CONTACT.opsSecondary],
        why: 'opened',
        at: T0,
      },
      { level: 2, levelName: 'Engineering', contacts: [CONTACT.engineering], why: 'opened', at: T0 },
      { level: 3, levelName: 'Architecture', contacts: [CONTACT.architecture], why: 'opened', at: T0 },
    ]);
    expect(outcome.timeline.map((e) => e.type)).toEqual(['paged', 'paged', 'paged']);
    expect(outcome.incident.escalation.level).toBe(3);
    // The P1 response SLA (15m) comes before level 3's own P1 response time (30m), which waits in stepAt.
    expect(outcome.incident.escalation.nextAt).toBe(T0 + 15 * MINUTE);
    expect(outcome.incident.escalation.stepAt).toBe(T0 + 30 * MINUTE);
    expect(outcome.incident.escalation.pages).toBe(3);
  });

  it('does nothing when the sweep runs before the first page is due', () => {
    // Prepare
    const incident = opened('P2', T0 + MINUTE);

    // Act
    const outcome = sweepEscalation(incident, T0 + MINUTE - 1, []);

    // Assess
    expect(outcome).toBeUndefined();
  });
});

describe('escalation without acknowledgement', () => {
  it('walks a P2 incident from level 1 to 2 when its 1h SLA is breached, to 3 after 4h more, then re-pages level 3 when nobody acknowledges', () => {
    // Prepare
    const atLevel1 = paged('P2');

    // Act
    const toLevel2 = sweep(atLevel1, T0 + HOUR);
    const toLevel3 = sweep(toLevel2.incident, T0 + 5 * HOUR);
    const repeated = sweep(toLevel3.incident, T0 + 7 * HOUR);

    // Assess
    expect(summary(toLevel2.pages)).toEqual([
      { level: 2, levelName: 'Engineering', contacts: [CONTACT.engineering], why: 'sla-breached', at: T0 + HOUR },
    ]);
    expect(toLevel2.timeline.map((e) => e.type)).toEqual(['sla-breached', 'paged']);
    expect(toLevel2.incident.escalation.level).toBe(2);
    expect(toLevel2.incident.escalation.nextAt).toBe(T0 + 5 * HOUR);

    expect(summary(toLevel3.pages)).toEqual([
      { level: 3, levelName: 'Architecture', contacts: [CONTACT.architecture], why: 'escalated', at: T0 + 5 * HOUR },
    ]);
    expect(toLevel3.incident.escalation.level).toBe(3);
    expect(toLevel3.incident.escalation.nextAt).toBe(T0 + 7 * HOUR);

    // Level 4 has no P2 response time: the top level for P2 is 3, and it is paged again.
    expect(summary(repeated.pages)).toEqual([
      { level: 3, levelName: 'Architecture', contacts: [CONTACT.architecture], why: 'repeated', at: T0 + 7 * HOUR },
    ]);
    expect(repeated.incident.escalation.level).toBe(3);
    expect(repeated.incident.escalation.pages).toBe(4);
  });

  it('does nothing when the sweep runs one millisecond before each P2 step is due', () => {
    // Prepare
    const atLevel1 = paged('P2');
    const atLevel2 = sweep(atLevel1, T0 + HOUR).incident;

    // Act
    const beforeLevel2 = sweepEscalation(atLevel1, T0 + HOUR - 1, []);
    const beforeLevel3 = sweepEscalation(atLevel2, T0 + 5 * HOUR - 1, []);

    // Assess
    expect(beforeLevel2).toBeUndefined();
    expect(beforeLevel3).toBeUndefined();
  });

  it('escalates a P1 incident from level 3 to 4 when its 15m SLA is breached, gives level 4 its 15m, then re-pages every repeatEvery (30m)', () => {
    // Prepare
    const atLevel3 = paged('P1');

    // Act
    const toLevel4 = sweep(atLevel3, T0 + 15 * MINUTE);
    const firstRepeat = sweep(toLevel4.incident, T0 + 30 * MINUTE);
    const secondRepeat = sweep(firstRepeat.incident, T0 + 60 * MINUTE);

    // Assess
    expect(summary(toLevel4.pages)).toEqual([
      { level: 4, levelName: 'Executive', contacts: [CONTACT.executive], why: 'sla-breached', at: T0 + 15 * MINUTE },
    ]);
    expect(toLevel4.incident.escalation.level).toBe(4);
    expect(toLevel4.incident.escalation.nextAt).toBe(T0 + 30 * MINUTE);
    expect(toLevel4.incident.escalation.stepAt).toBeUndefined();

    expect(summary(firstRepeat.pages)).toEqual([
      { level: 4, levelName: 'Executive', contacts: [CONTACT.executive], why: 'repeated', at: T0 + 30 * MINUTE },
    ]);
    expect(firstRepeat.incident.escalation.nextAt).toBe(T0 + 60 * MINUTE);
    expect(summary(secondRepeat.pages).map((p) => [p.level, p.why])).toEqual([[4, 'repeated']]);
    expect(secondRepeat.incident.escalation.nextAt).toBe(T0 + 90 * MINUTE);
    expect(secondRepeat.incident.escalation.pages).toBe(6);
    expect(sweepEscalation(secondRepeat.incident, T0 + 90 * MINUTE - 1, [])).toBeUndefined();
  });

  it('escalates a P3 incident to level 2 when its 4h SLA is breached and then re-pages level 2 when level 3 has no P3 response time', () => {
    // Prepare
    const atLevel1 = paged('P3');

    // Act
    const toLevel2 = sweep(atLevel1, T0 + 4 * HOUR);
    const repeated = sweep(toLevel2.incident, T0 + 12 * HOUR);

    // Assess
    expect(summary(toLevel2.pages).map((p) => [p.level, p.contacts, p.why])).toEqual([
      [2, [CONTACT.engineering], 'sla-breached'],
    ]);
    expect(toLevel2.incident.escalation.nextAt).toBe(T0 + 12 * HOUR);
    expect(summary(repeated.pages).map((p) => [p.level, p.contacts, p.why])).toEqual([
      [2, [CONTACT.engineering], 'repeated'],
    ]);
    expect(repeated.incident.escalation.level).toBe(2);
  });
});

describe('acknowledgement', () => {
  it('stops escalation until the ack timeout when an open incident is acknowledged', () => {
    // Prepare
    const incident = paged('P2');

    // Act
    const outcome = acknowledge(incident, 'alice', T0 + 10 * MINUTE, 'looking at auth logs');

    // Assess
    expect(outcome.pages).toEqual([]);
    expect(outcome.incident.status).toBe('acknowledged');
    expect(outcome.incident.acknowledgedAt).toBe(T0 + 10 * MINUTE);
    expect(outcome.incident.acknowledgedBy).toBe('alice');
    // P2 ack timeout is 2h.
    expect(outcome.incident.escalation.nextAt).toBe(T0 + 10 * MINUTE + 2 * HOUR);
    expect(outcome.incident.escalation.level).toBe(1);
    expect(outcome.timeline).toEqual([
      { at: T0 + 10 * MINUTE, type: 'acknowledged', by: 'alice', note: 'looking at auth logs' },
    ]);
  });

  it('does nothing when the sweep runs after the level response time but before the ack expires', () => {
    // Prepare
    const acked = acknowledge(paged('P2'), 'alice', T0 + 10 * MINUTE).incident;

    // Act
    const whenLevel2WasDue = sweepEscalation(acked, T0 + HOUR, []);
    const justBeforeExpiry = sweepEscalation(acked, T0 + 10 * MINUTE + 2 * HOUR - 1, []);

    // Assess
    expect(whenLevel2WasDue).toBeUndefined();
    expect(justBeforeExpiry).toBeUndefined();
  });

  it('re-opens the incident and re-pages the current level when the ack expires', () => {
    // Prepare
    const ackAt = T0 + 10 * MINUTE;
    const expiry = ackAt + 2 * HOUR;
    const acked = acknowledge(paged('P2'), 'alice', ackAt).incident;

    // Act
    const outcome = sweep(acked, expiry);

    // Assess
    expect(outcome.incident.status).toBe('open');
    expect(outcome.incident.acknowledgedAt).toBe(ackAt);
    expect(outcome.timeline.map((e) => e.type)).toEqual(['ack-expired', 'paged']);
    expect(outcome.timeline[0]).toEqual({ at: expiry, type: 'ack-expired' });
    expect(outcome.timeline[1]).toEqual({
      at: expiry,
      type: 'paged',
      level: 1,
      levelName: 'Operations',
      contacts: [CONTACT.opsPrimary, CONTACT.opsSecondary],
      why: 'ack-expired',
    });
    expect(outcome.incident.escalation.level).toBe(1);
    expect(outcome.incident.escalation.nextAt).toBe(expiry + HOUR);
  });

  it('re-pages level 3 rather than escalating to level 4 when a P1 ack expires after level 4 would have been due', () => {
    // Prepare: P1 first page at T0 reaches level 3; acknowledged at T0+5m (ack timeout 30m).
    const acked = acknowledge(paged('P1'), 'bob', T0 + 5 * MINUTE).incident;

    // Act
    const atLevel4Due = sweepEscalation(acked, T0 + 30 * MINUTE, []);
    const atExpiry = sweep(acked, T0 + 35 * MINUTE);

    // Assess
    expect(atLevel4Due).toBeUndefined();
    expect(summary(atExpiry.pages)).toEqual([
      {
        level: 3,
        levelName: 'Architecture',
        contacts: [CONTACT.architecture],
        why: 'ack-expired',
        at: T0 + 35 * MINUTE,
      },
    ]);
    expect(atExpiry.incident.escalation.nextAt).toBe(T0 + 65 * MINUTE);
  });

  it('keeps the first acknowledgedAt and restarts the ack timer when the incident is acknowledged again', () => {
    // Prepare
    const first = acknowledge(paged('P2'), 'alice', T0 + 10 * MINUTE).incident;

    // Act
    const second = acknowledge(first, 'bob', T0 + 40 * MINUTE).incident;

    // Assess
    expect(second.status).toBe('acknowledged');
    expect(second.acknowledgedAt).toBe(T0 + 10 * MINUTE);
    expect(second.acknowledgedBy).toBe('bob');
    expect(second.escalation.nextAt).toBe(T0 + 40 * MINUTE + 2 * HOUR);
  });
});

describe('resolution', () => {
  it('clears the timer and pages nobody again when an incident is resolved mid-escalation', () => {
    // Prepare
    const atLevel2 = sweep(paged('P2'), T0 + HOUR).incident;

    // Act
    const outcome = resolve(atLevel2, 'carol', 'restarted auth', T0 + 2 * HOUR);

    // Assess
    expect(outcome.pages).toEqual([]);
    expect(outcome.incident.status).toBe('resolved');
    expect(outcome.incident.resolvedAt).toBe(T0 + 2 * HOUR);
    expect(outcome.incident.resolvedBy).toBe('carol');
    expect(outcome.incident.resolution).toBe('restarted auth');
    expect('nextAt' in outcome.incident.escalation).toBe(false);
    expect(outcome.timeline).toEqual([
      { at: T0 + 2 * HOUR, type: 'resolved', by: 'carol', resolution: 'restarted auth' },
    ]);
    expect(sweepEscalation(outcome.incident, T0 + 5 * HOUR, [])).toBeUndefined();
    expect(sweepEscalation(outcome.incident, T0 + 100 * HOUR, [])).toBeUndefined();
  });

  it('drops a stale timer without paging when the sweep finds a resolved incident that still has nextAt', () => {
    // Prepare
    const stale: Incident = { ...paged('P2'), status: 'resolved', resolvedAt: T0 + 5 * MINUTE };

    // Act
    const outcome = sweep(stale, T0 + HOUR);

    // Assess
    expect(outcome.pages).toEqual([]);
    expect(outcome.timeline).toEqual([]);
    expect(outcome.incident.escalation.nextAt).toBeUndefined();
    expect(outcome.incident.escalation.level).toBe(1);
  });
});

describe('severity changes', () => {
  it('owes the new severity first page now and moves the SLA earlier when a higher-severity report arrives', () => {
    // Prepare
    const atLevel1 = paged('P2');
    const raisedAt = T0 + 10 * MINUTE;

    // Act
    const outcome = applyReport(
      atLevel1,
      serviceDownReport('auth', { severity: 'P1', detail: 'auth and ac down' }),
      raisedAt,
    );

    // Assess
    expect(outcome.severityRaised).toBe(true);
    expect(outcome.incident.severity).toBe('P1');
    expect(outcome.incident.escalation.pending).toBe('severity-raised');
    expect(outcome.incident.escalation.nextAt).toBe(raisedAt);
    expect(outcome.incident.escalation.level).toBe(1);
    // min(T0 + 1h, raisedAt + 15m)
    expect(outcome.incident.slaDueAt).toBe(raisedAt + 15 * MINUTE);
    expect(outcome.timeline).toEqual([
      { at: raisedAt, type: 'severity-raised', from: 'P2', to: 'P1', detail: 'auth and ac down' },
    ]);
  });

  it('pages levels 1 to 3 as for a new P1 when the sweep follows a rise from P2 to P1', () => {
    // Prepare
    const raisedAt = T0 + 10 * MINUTE;
    const raised = applyReport(paged('P2'), serviceDownReport('auth', { severity: 'P1' }), raisedAt).incident;

    // Act
    const outcome = sweep(raised, raisedAt);

    // Assess
    expect(summary(outcome.pages)).toEqual([
      {
        level: 1,
        levelName: 'Operations',
        contacts: [CONTACT.opsPrimary, CONTACT.opsSecondary],
        why: 'severity-raised',
        at: raisedAt,
      },
      { level: 2, levelName: 'Engineering', contacts: [CONTACT.engineering], why: 'severity-raised', at: raisedAt },
      { level: 3, levelName: 'Architecture', contacts: [CONTACT.architecture], why: 'severity-raised', at: raisedAt },
    ]);
    expect(outcome.pages.every((p) => p.severity === 'P1')).toBe(true);
    expect(outcome.incident.escalation.level).toBe(3);
    // The P1 SLA from the rise (15m) comes before level 3's P1 response time (30m).
    expect(outcome.incident.escalation.nextAt).toBe(raisedAt + 15 * MINUTE);
    expect(outcome.incident.escalation.stepAt).toBe(raisedAt + 30 * MINUTE);
    expect(outcome.incident.escalation.pending).toBeUndefined();
    expect(outcome.incident.escalation.pages).toBe(4);
  });

  it('keeps the earlier SLA when the new severity response would end later', () => {
    // Prepare: a P3 opened at T0 is due at T0+4h; P2 raised at T0+3h30m would be due at T0+4h30m.
    const incident = paged('P3');

    // Act
    const outcome = applyReport(incident, serviceDownReport('auth', { severity: 'P2' }), T0 + 210 * MINUTE);

    // Assess
    expect(outcome.severityRaised).toBe(true);
    expect(outcome.incident.severity).toBe('P2');
    expect(outcome.incident.slaDueAt).toBe(T0 + 4 * HOUR);
  });

  it('keeps the severity, SLA and escalation timer when a lower-severity report arrives', () => {
    // Prepare
    const incident = paged('P1');

    // Act
    const outcome = applyReport(incident, serviceDownReport('auth', { severity: 'P3' }), T0 + 5 * MINUTE);

    // Assess
    expect(outcome.severityRaised).toBe(false);
    expect(outcome.incident.severity).toBe('P1');
    expect(outcome.incident.slaDueAt).toBe(T0 + 15 * MINUTE);
    expect(outcome.incident.escalation).toEqual(incident.escalation);
    expect(outcome.incident.count).toBe(2);
    expect(outcome.timeline.map((e) => e.type)).not.toContain('severity-raised');
  });
});

describe('maintenance windows', () => {
  it('defers the first page to the window end when a window covers every service of the incident', () => {
    // Prepare
    const incident = opened('P2');
    const window = maintenanceWindow(['auth', 'ac'], T0 - HOUR, T0 + 2 * HOUR);

    // Act
    const outcome = sweep(incident, T0, [window]);

    // Assess
    expect(outcome.pages).toEqual([]);
    expect(outcome.timeline).toEqual([{ at: T0, type: 'page-muted', until: T0 + 2 * HOUR, window: 'mw-1' }]);
    expect(outcome.incident.escalation.nextAt).toBe(T0 + 2 * HOUR);
    expect(outcome.incident.escalation.level).toBe(0);
    expect(outcome.incident.escalation.pending).toBe('opened');
  });

  it('delivers the owed first page when the sweep runs at the end of the muting window', () => {
    // Prepare
    const window = maintenanceWindow(['auth'], T0 - HOUR, T0 + 2 * HOUR);
    const muted = sweep(opened('P2'), T0, [window]).incident;

    // Act
    const beforeEnd = sweepEscalation(muted, T0 + 2 * HOUR - 1, [window]);
    const atEnd = sweep(muted, T0 + 2 * HOUR, [window]);

    // Assess
    expect(beforeEnd).toBeUndefined();
    expect(summary(atEnd.pages)).toEqual([
      {
        level: 1,
        levelName: 'Operations',
        contacts: [CONTACT.opsPrimary, CONTACT.opsSecondary],
        why: 'opened',
        at: T0 + 2 * HOUR,
      },
    ]);
    expect(atEnd.incident.escalation.nextAt).toBe(T0 + 3 * HOUR);
  });

  it('pages as usual when a window covers only some of the incident services', () => {
    // Prepare
    const incident = openedIncident(fleetOutageReport(['auth', 'ac', 'gs', 'pgc']));
    const window = maintenanceWindow(['auth', 'ac', 'gs'], T0 - HOUR, T0 + HOUR);

    // Act
    const muting = mutingWindow(incident, [window], T0);
    const outcome = sweep(incident, T0, [window]);

    // Assess
    expect(muting).toBeUndefined();
    expect(outcome.pages.map((p) => p.level)).toEqual([1, 2, 3]);
    expect(outcome.timeline.map((e) => e.type)).not.toContain('page-muted');
  });

  it('mutes every incident when a window covers `*`', () => {
    // Prepare
    const incident = openedIncident(fleetOutageReport(['auth', 'ac', 'gs', 'pgc']));
    const window = maintenanceWindow(['*'], T0, T0 + 30 * MINUTE, 'mw-fleet');

    // Act
    const muting = mutingWindow(incident, [window], T0);
    const outcome = sweep(incident, T0, [window]);

    // Assess
    expect(muting?.id).toBe('mw-fleet');
    expect(outcome.pages).toEqual([]);
    expect(outcome.timeline).toEqual([{ at: T0, type: 'page-muted', until: T0 + 30 * MINUTE, window: 'mw-fleet' }]);
  });

  it('defers an escalation step to the window end when a window opens after the first page', () => {
    // Prepare
    const atLevel1 = paged('P2');
    const window = maintenanceWindow(['auth'], T0 + 30 * MINUTE, T0 + 3 * HOUR);

    // Act
    const muted = sweep(atLevel1, T0 + HOUR, [window]);
    const afterWindow = sweep(muted.incident, T0 + 3 * HOUR, [window]);

    // Assess
    expect(muted.pages).toEqual([]);
    expect(muted.timeline.map((e) => e.type)).toEqual(['page-muted']);
    expect(muted.incident.escalation.level).toBe(1);
    expect(muted.incident.escalation.nextAt).toBe(T0 + 3 * HOUR);
    // The P2 SLA (1h) passed under the window: its breach escalates once the window has ended.
    expect(summary(afterWindow.pages)).toEqual([
      { level: 2, levelName: 'Engineering', contacts: [CONTACT.engineering], why: 'sla-breached', at: T0 + 3 * HOUR },
    ]);
    expect(afterWindow.timeline.map((e) => e.type)).toEqual(['sla-breached', 'paged']);
    expect(afterWindow.incident.escalation.nextAt).toBe(T0 + 7 * HOUR);
  });

  it('mutes only while startsAt <= now < endsAt when asked about a window', () => {
    // Prepare
    const incident = opened('P2');
    const window = maintenanceWindow(['auth'], T0, T0 + HOUR);

    // Act
    const before = mutingWindow(incident, [window], T0 - 1);
    const atStart = mutingWindow(incident, [window], T0);
    const atEnd = mutingWindow(incident, [window], T0 + HOUR);

    // Assess
    expect(before).toBeUndefined();
    expect(atStart?.id).toBe('mw-1');
    expect(atEnd).toBeUndefined();
  });

  it('mutes until the earliest covering window ends when two windows together cover the incident', () => {
    // Prepare
    const incident = openedIncident(fleetOutageReport(['auth', 'ac']));
    const long = maintenanceWindow(['auth'], T0 - HOUR, T0 + 3 * HOUR, 'mw-auth');
    const short = maintenanceWindow(['ac'], T0 - HOUR, T0 + HOUR, 'mw-ac');

    // Act
    const outcome = sweep(incident, T0, [long, short]);

    // Assess
    expect(outcome.timeline).toEqual([{ at: T0, type: 'page-muted', until: T0 + HOUR, window: 'mw-ac' }]);
    expect(outcome.incident.escalation.nextAt).toBe(T0 + HOUR);
  });

  it('matches target names when the incident has no services', () => {
    // Prepare
    const incident = openedIncident({
      ...serviceDownReport('prometheus'),
      dedupKey: 'prometheus:http@127.0.0.1',
      kind: 'dependency-down',
      severity: 'P3',
      targets: ['prometheus:http@127.0.0.1'],
      services: [],
    });

    // Act
    const byName = mutingWindow(incident, [maintenanceWindow(['prometheus'], T0, T0 + HOUR)], T0);
    const byOther = mutingWindow(incident, [maintenanceWindow(['grafana'], T0, T0 + HOUR)], T0);

    // Assess
    expect(byName?.id).toBe('mw-1');
    expect(byOther).toBeUndefined();
  });
});

describe('frozen policy', () => {
  /** The same fleet after an edit: a faster level 1 with other people, P2 paging through level 2, faster repeats. */
  const edited: FleetConfig = {
    ...acgsConfig,
    escalation: {
      ...acgsConfig.escalation,
      levels: [
        {
          level: 1,
          name: 'NOC',
          responseTime: { P1: 5 * MINUTE, P2: 10 * MINUTE, P3: HOUR },
          contacts: [{ name: 'NOC desk', role: 'primary' }],
        },
        {
          level: 2,
          name: 'SRE',
          responseTime: { P1: 10 * MINUTE, P2: 20 * MINUTE, P3: 2 * HOUR },
          contacts: [{ name: 'SRE rota', role: 'primary' }],
        },
      ],
      firstPage: { ...acgsConfig.escalation.firstPage, P2: { throughLevel: 2, roles: ['primary'] } },
      repeatEvery: 5 * MINUTE,
    },
  };

  it('keeps following the policy frozen at opening when the config changes afterwards', () => {
    // Prepare: opened under the shipped config, then the config is edited before the first sweep.
    const incident = opened('P2');
    const editedPolicy = freezePolicy(edited);

    // Act
    const first = sweep(incident, T0);
    const second = sweep(first.incident, T0 + HOUR);

    // Assess
    expect(editedPolicy.levels.map((l) => l.name)).toEqual(['NOC', 'SRE']);
    expect(first.incident.escalation.policy).toBe(acgsPolicy);
    expect(summary(first.pages).map((p) => [p.level, p.contacts])).toEqual([
      [1, [CONTACT.opsPrimary, CONTACT.opsSecondary]],
    ]);
    expect(first.incident.escalation.nextAt).toBe(T0 + HOUR);
    expect(summary(second.pages).map((p) => [p.level, p.levelName, p.contacts])).toEqual([
      [2, 'Engineering', [CONTACT.engineering]],
    ]);
  });

  it('follows the edited policy when an incident opens after the config change', () => {
    // Prepare
    const incident = openedIncident(serviceDownReport('auth', { severity: 'P2' }), T0, freezePolicy(edited));

    // Act
    const outcome = sweep(incident, T0);

    // Assess
    expect(summary(outcome.pages).map((p) => [p.level, p.contacts])).toEqual([
      [1, ['NOC desk']],
      [2, ['SRE rota']],
    ]);
    expect(outcome.incident.escalation.level).toBe(2);
    expect(outcome.incident.escalation.nextAt).toBe(T0 + 20 * MINUTE);
  });
});

describe('immediate escalation', () => {
  it('pages the next level now when the restart breaker opens', () => {
    // Prepare
    const atLevel1 = paged('P2');

    // Act
    const outcome = escalate(atLevel1, T0 + 10 * MINUTE, 'breaker-open');

    // Assess
    expect(summary(outcome.pages)).toEqual([
      {
        level: 2,
        levelName: 'Engineering',
        contacts: [CONTACT.engineering],
        why: 'breaker-open',
        at: T0 + 10 * MINUTE,
      },
    ]);
    expect(outcome.timeline.map((e) => e.type)).toEqual(['paged']);
    expect(outcome.incident.escalation.level).toBe(2);
    // Level 2's own 4h wait, behind the P2 SLA (1h) the sweep must come at.
    expect(outcome.incident.escalation.nextAt).toBe(T0 + HOUR);
    expect(outcome.incident.escalation.stepAt).toBe(T0 + 10 * MINUTE + 4 * HOUR);
  });

  it('re-pages the top level with the given reason when there is no higher level for the severity', () => {
    // Prepare
    const atLevel4 = sweep(paged('P1'), T0 + 30 * MINUTE).incident;

    // Act
    const outcome = escalate(atLevel4, T0 + 35 * MINUTE, 'breaker-open');

    // Assess
    expect(summary(outcome.pages).map((p) => [p.level, p.contacts, p.why])).toEqual([
      [4, [CONTACT.executive], 'breaker-open'],
    ]);
    expect(outcome.incident.escalation.level).toBe(4);
    expect(outcome.incident.escalation.nextAt).toBe(T0 + 65 * MINUTE);
  });
});

describe('next step description', () => {
  it('names the next level and the wait when an open incident is waiting to escalate', () => {
    // Prepare
    const atLevel1 = paged('P2');

    // Act
    const text = describeNextStep(atLevel1, T0 + 15 * MINUTE);

    // Assess
    expect(text).toBe('escalates to level 2 (Engineering) in 45m');
  });

  it('says the top level is re-paged when no higher level serves the severity', () => {
    // Prepare
    const atLevel4 = sweep(paged('P1'), T0 + 30 * MINUTE).incident;

    // Act
    const text = describeNextStep(atLevel4, T0 + 30 * MINUTE);

    // Assess
    expect(text).toBe('re-pages level 4 in 15m');
  });

  it('gives the ack expiry when acknowledged and none when resolved', () => {
    // Prepare
    const acked = acknowledge(paged('P2'), 'alice', T0 + 10 * MINUTE).incident;
    const resolved = resolve(acked, 'alice', 'fixed', T0 + 20 * MINUTE).incident;

    // Act
    const ackText = describeNextStep(acked, T0 + 10 * MINUTE);
    const resolvedText = describeNextStep(resolved, T0 + 20 * MINUTE);

    // Assess
    expect(ackText).toBe('ack expires in 2h');
    expect(resolvedText).toBe('none');
  });
});

describe('escalation edge cases found in review', () => {
  function step(incident: Incident, now: number) {
    const o = sweepEscalation(incident, now, []);
    if (!o) throw new Error('nothing due');
    return o;
  }

  it('re-pages the top P2 level every repeatEvery (30m) when nobody acknowledges at level 3', () => {
    // Prepare: level 1 at T0, level 2 at 1h, level 3 at 5h, first repeat at 7h.
    let i = step(openedIncident(serviceDownReport('auth')), T0).incident;
    i = step(i, T0 + HOUR).incident;
    i = step(i, T0 + 5 * HOUR).incident;
    // Act
    const repeated = step(i, T0 + 7 * HOUR);
    // Assess
    expect(repeated.pages.map((p) => [p.level, p.why])).toEqual([[3, 'repeated']]);
    expect(repeated.incident.escalation.nextAt).toBe(T0 + 7 * HOUR + 30 * MINUTE);
  });

  it('keeps the acknowledgement and its expiry when the breaker escalates an acknowledged incident', () => {
    // Prepare: P1 at level 3, acknowledged at T0+5m, so the ack holds until T0+35m.
    const opened = step(openedIncident(serviceDownReport('auth', { severity: 'P1' })), T0).incident;
    const acked = acknowledge(opened, 'bob', T0 + 5 * MINUTE).incident;
    // Act
    const broken = escalate(acked, T0 + 10 * MINUTE, 'breaker-open');
    // Assess
    expect(broken.pages.map((p) => p.level)).toEqual([4]);
    expect(broken.incident.status).toBe('acknowledged');
    expect(broken.incident.escalation.nextAt).toBe(T0 + 35 * MINUTE);
    expect(sweepEscalation(broken.incident, T0 + 25 * MINUTE, [])).toBeUndefined();
  });

  it('still delivers the owed P1 first page when the breaker escalates before the sweep after a severity rise', () => {
    // Prepare
    const atLevel1 = step(openedIncident(serviceDownReport('auth')), T0).incident;
    const raised = applyReport(atLevel1, serviceDownReport('auth', { severity: 'P1' }), T0 + 10 * MINUTE).incident;
    // Act
    const broken = escalate(raised, T0 + 10 * MINUTE, 'breaker-open');
    // Assess: Architecture (level 3) is paged for the P1 now, then the breaker escalation reaches level 4.
    const paged = broken.pages.flatMap((p) => p.contacts.map((c) => c.name));
    expect(paged).toContain(CONTACT.architecture);
    expect(broken.pages.map((p) => [p.level, p.why])).toEqual([
      [1, 'severity-raised'],
      [2, 'severity-raised'],
      [3, 'severity-raised'],
      [4, 'breaker-open'],
    ]);
    expect(broken.incident.escalation.pending).toBeUndefined();
  });

  it('pages only the primary again when a P3 acknowledgement expires', () => {
    // Prepare
    const opened = step(openedIncident(serviceDownReport('auth', { severity: 'P3' })), T0).incident;
    const acked = acknowledge(opened, 'a', T0).incident;
    // Act
    const expired = step(acked, T0 + 8 * HOUR);
    // Assess
    expect(expired.pages[0]?.contacts.map((c) => c.name)).toEqual([CONTACT.opsPrimary]);
  });

  it('mutes a database outage when the maintenance window names the database', () => {
    const dep = openedIncident({
      ...serviceDownReport('auth'),
      dedupKey: 'postgresql:postgres@127.0.0.1',
      kind: 'dependency-down',
      severity: 'P1',
      targets: ['postgresql:postgres@127.0.0.1'],
      services: ['auth', 'ac', 'integrity', 'fv', 'gs', 'pgc', 'ec'],
    });
    expect(mutingWindow(dep, [maintenanceWindow(['postgresql'], T0, T0 + HOUR)], T0)?.id).toBe('mw-1');
    expect(mutingWindow(dep, [maintenanceWindow(['auth'], T0, T0 + HOUR)], T0)).toBeUndefined();
  });

  it('says the first page is due when a new incident has not been paged yet', () => {
    const fresh = openedIncident(serviceDownReport('auth', { severity: 'P1' }));
    expect(describeNextStep(fresh, T0)).toBe('first page to levels 1-3 due in 0ms');
  });

  it('keeps the acknowledgement timer when the breaker re-pages the top level of an acknowledged incident', () => {
    // Prepare: P2 walked to level 3 (its top level), acknowledged at 6h: the ack holds until 8h.
    let i = step(openedIncident(serviceDownReport('auth')), T0).incident;
    i = step(i, T0 + HOUR).incident;
    i = step(i, T0 + 5 * HOUR).incident;
    const acked = acknowledge(i, 'bob', T0 + 6 * HOUR).incident;
    // Act
    const broken = escalate(acked, T0 + 6 * HOUR + 5 * MINUTE, 'breaker-open');
    // Assess
    expect(broken.pages.map((p) => [p.level, p.why])).toEqual([[3, 'breaker-open']]);
    expect(broken.incident.escalation.nextAt).toBe(T0 + 8 * HOUR);
    expect(broken.incident.status).toBe('acknowledged');
  });
});

describe('security incidents', () => {
  it('freeze a first page through the level whose immediateFor names them, other kinds keep their severity plan', () => {
    // Act
    const security = freezePolicy(acgsConfig, 'security');
    const manual = freezePolicy(acgsConfig, 'manual');
    // Assess
    expect(security.firstPage.P1).toEqual({ throughLevel: 4, roles: ['primary', 'secondary', 'member'] });
    expect(manual.firstPage.P1.throughLevel).toBe(3);
    expect(freezePolicy(acgsConfig).firstPage).toEqual(manual.firstPage);
  });

  it('keep the severity plan when no level names them', () => {
    // Prepare
    const config: FleetConfig = {
      ...acgsConfig,
      escalation: {
        ...acgsConfig.escalation,
        levels: acgsConfig.escalation.levels.map(({ immediateFor: _dropped, ...level }) => level),
      },
    };
    // Act
    const policy = freezePolicy(config, 'security');
    // Assess
    expect(policy.firstPage.P1.throughLevel).toBe(3);
  });

  it('are never muted, by an isolation or a maintenance window covering their services', () => {
    // Prepare
    const window = maintenanceWindow(['*'], T0, T0 + HOUR);
    const incident = { services: ['pgc'], targets: [], kind: 'security' as const, dedupKey: 'security:pgc@acgs-1:1' };
    // Act + Assess
    expect(mutingWindow(incident, [window], T0 + MINUTE)).toBeUndefined();
    expect(mutingWindow({ ...incident, kind: 'manual' }, [window], T0 + MINUTE)).toEqual(window);
  });
});

/*
 * The response SLA's breach as an event (issue 11): recorded once on the timeline when slaDueAt passes with nobody
 * having acknowledged, and escalated per the matrix (the level after the severity's first page, at once).
 */

/** Sweeps every minute from `from` to `to` (inclusive), as the scheduled sweep does, collecting what it did. */
function sweepEveryMinute(incident: Incident, from: number, to: number) {
  let current = incident;
  const timeline: TimelineEntry[] = [];
  const pages: string[] = [];
  for (let now = from; now <= to; now += MINUTE) {
    const outcome = sweepEscalation(current, now, []);
    if (!outcome) continue;
    current = outcome.incident;
    timeline.push(...outcome.timeline);
    pages.push(...outcome.pages.map((p) => `T+${(p.at - T0) / MINUTE}m L${p.level} ${p.why}`));
  }
  return { incident: current, timeline, pages };
}

const breaches = (timeline: readonly TimelineEntry[]) => timeline.filter((e) => e.type === 'sla-breached');

describe('SLA breach', () => {
  it('records one breach at the P1 due time and pages the Executive level at once, when nobody acknowledges', () => {
    // Prepare: levels 1-3 paged at T0; level 3's own P1 time is 30m, the P1 SLA 15m
    const incident = paged('P1');
    // Act: the scheduled sweep, every minute for two hours
    const run = sweepEveryMinute(incident, T0 + MINUTE, T0 + 2 * HOUR);
    // Assess
    expect(incident.escalation.nextAt).toBe(T0 + 15 * MINUTE);
    expect(breaches(run.timeline)).toEqual([
      { at: T0 + 15 * MINUTE, type: 'sla-breached', severity: 'P1', dueAt: T0 + 15 * MINUTE, level: 4 },
    ]);
    expect(run.pages).toEqual([
      'T+15m L4 sla-breached',
      'T+30m L4 repeated',
      'T+60m L4 repeated',
      'T+90m L4 repeated',
      'T+120m L4 repeated',
    ]);
    expect(run.incident.slaBreached).toBe(T0 + 15 * MINUTE);
  });

  it('records nothing when the incident is acknowledged before the due time, even after the ack expires', () => {
    // Prepare
    const acked = acknowledge(paged('P2'), 'alice', T0 + 59 * MINUTE).incident;
    // Act
    const run = sweepEveryMinute(acked, T0 + HOUR, T0 + 6 * HOUR);
    // Assess
    expect(breaches(run.timeline)).toEqual([]);
    expect(run.pages[0]).toBe(`T+${59 + 120}m L1 ack-expired`);
  });

  it('records the breach without paging again when the breaker already paged the level after the first page', () => {
    // Prepare: P2 paged at level 1; the breaker escalated to level 2 at T0+10m (its own 4h timer)
    const broken = escalate(paged('P2'), T0 + 10 * MINUTE, 'breaker-open').incident;
    // Act
    const atDue = sweep(broken, T0 + HOUR);
    const later = sweepEveryMinute(atDue.incident, T0 + HOUR + MINUTE, T0 + 4 * HOUR + 10 * MINUTE);
    // Assess
    expect(atDue.pages).toEqual([]);
    expect(atDue.timeline).toEqual([{ at: T0 + HOUR, type: 'sla-breached', severity: 'P2', dueAt: T0 + HOUR }]);
    // Level 2 keeps its 4h from the breaker page: level 3 comes then, and no second breach.
    expect(atDue.incident.escalation.nextAt).toBe(T0 + 10 * MINUTE + 4 * HOUR);
    expect(later.pages).toEqual(['T+250m L3 escalated']);
    expect(breaches(later.timeline)).toEqual([]);
  });

  it('records the breach with the re-page that falls due with it when the first page reached every level (security)', () => {
    // Prepare: a security P1 pages levels 1-4 at once; level 4's P1 time (15m) is the P1 SLA
    const report = serviceDownReport('pgc', { severity: 'P1', kind: 'security', dedupKey: 'security:pgc@acgs-1:1' });
    const opened = openIncident(report, freezePolicy(acgsConfig, 'security'), T0).incident;
    const first = sweep(opened, T0);
    // Act
    const atDue = sweep(first.incident, T0 + 15 * MINUTE);
    // Assess
    expect(first.pages.map((p) => p.level)).toEqual([1, 2, 3, 4]);
    expect(atDue.timeline.map((e) => e.type)).toEqual(['sla-breached', 'paged']);
    expect(atDue.pages.map((p) => [p.level, p.why])).toEqual([[4, 'repeated']]);
    expect(atDue.timeline[0]).not.toHaveProperty('level');
  });

  it('breaches the due time a severity rise brought in, once, and keeps a missed due time when the rise comes after it', () => {
    // Prepare: P3 (4h SLA) raised to P1 at T0+10m: due at T0+25m
    const p3 = paged('P3');
    const raised = applyReport(p3, serviceDownReport('auth', { severity: 'P1' }), T0 + 10 * MINUTE).incident;
    // Act
    const early = sweepEveryMinute(raised, T0 + 10 * MINUTE, T0 + HOUR);
    // A P3 breached at 4h, then raised to P1: the due time already missed stands, so no second breach.
    const breached = sweepEveryMinute(paged('P3'), T0 + MINUTE, T0 + 4 * HOUR);
    const raisedLate = applyReport(
      breached.incident,
      serviceDownReport('auth', { severity: 'P1' }),
      T0 + 5 * HOUR,
    ).incident;
    const late = sweepEveryMinute(raisedLate, T0 + 5 * HOUR, T0 + 7 * HOUR);
    // Assess
    expect(breaches(early.timeline)).toEqual([
      { at: T0 + 25 * MINUTE, type: 'sla-breached', severity: 'P1', dueAt: T0 + 25 * MINUTE, level: 4 },
    ]);
    expect(breaches(breached.timeline).map((e) => e.at)).toEqual([T0 + 4 * HOUR]);
    expect(breaches(late.timeline)).toEqual([]);
    expect(late.pages[0]).toBe('T+300m L1 severity-raised');
  });

  it('sends only the owed first page, with the breach, when a window muted the incident past its due time', () => {
    // Prepare: a P2 opened under a 2h window: nobody was paged, the 1h SLA passes meanwhile
    const window = maintenanceWindow(['auth'], T0 - HOUR, T0 + 2 * HOUR);
    const muted = sweep(openedIncident(serviceDownReport('auth', { severity: 'P2' }), T0), T0, [window]).incident;
    // Act
    const atEnd = sweep(muted, T0 + 2 * HOUR, [window]);
    // Assess
    expect(atEnd.timeline.map((e) => e.type)).toEqual(['sla-breached', 'paged']);
    expect(atEnd.pages.map((p) => [p.level, p.why])).toEqual([[1, 'opened']]);
    expect(atEnd.incident.escalation.nextAt).toBe(T0 + 3 * HOUR);
  });

  it('says the next level is paged when the SLA is breached while the sweep waits for the due time', () => {
    // Prepare
    const incident = paged('P1');
    // Act
    const step = describeNextStep(incident, T0 + 5 * MINUTE);
    // Assess
    expect(step).toBe('escalates to level 4 (Executive) in 10m, when the response SLA is breached');
  });

  it('words the breach with its due time, the delay and the level it escalated to', () => {
    // Prepare
    const entry: TimelineEntry = {
      at: T0 + 16 * MINUTE,
      type: 'sla-breached',
      severity: 'P1',
      dueAt: T0 + 15 * MINUTE,
      level: 4,
    };
    // Act / Assess
    expect(describeEntry(entry)).toBe(
      'P1 response SLA breached: not acknowledged by 2026-12-01T02:15:00.000Z, noticed 1m later; escalated to level 4',
    );
    expect(describeEntry(entry, 'page')).toBe('response SLA breached (due 2026-12-01T02:15:00.000Z)');
  });
});
