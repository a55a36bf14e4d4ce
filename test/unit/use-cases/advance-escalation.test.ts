import { describe, expect, it } from 'vitest';
import { DETAIL_TYPE } from '../../../lambdas/core/events.ts';
import type { Incident, TimelineEntry } from '../../../lambdas/core/incident.ts';
import { openIncident } from '../../../lambdas/core/incident-planner.ts';
import { renderIncidentReportMarkdown } from '../../../lambdas/core/incident-report.ts';
import type { Notification } from '../../../lambdas/ports.ts';
import { advanceEscalation, PAGE_LEASE_MARGIN_MS } from '../../../lambdas/use-cases/advance-escalation.ts';
import { incidentReport } from '../../../lambdas/use-cases/incident-report.ts';
import { acknowledgeIncident } from '../../../lambdas/use-cases/operator-actions.ts';
import { sweepEscalations } from '../../../lambdas/use-cases/sweep-escalations.ts';
import { createHarness, type Harness, MINUTE, SECOND, T0 } from '../../support/harness.ts';
import { acgsPolicy, fleetOutageReport } from '../../support/incident-fixtures.ts';

/** The notifier's own bound on one delivery in these tests. */
const DELIVERY_BOUND_MS = 2 * SECOND;
/** Every page of a P1's first step: levels 1-3 of the shipped matrix. */
const FIRST_PAGE_LEVELS = [1, 2, 3];

/** A harness whose notifier promises to answer within DELIVERY_BOUND_MS, and an open P1 outage due now. */
async function outageDue(): Promise<{ h: Harness; incident: Incident }> {
  const h = createHarness();
  h.notifier.deliveryTimeoutMs = DELIVERY_BOUND_MS;
  const opened = openIncident(fleetOutageReport(['auth', 'ac']), acgsPolicy, T0);
  const created = await h.store.createIncident(opened.incident, opened.timeline);
  if (!created.created) throw new Error('not created');
  return { h, incident: created.incident };
}

/** Makes the delivery of the page to `level` hang forever (a crash mid-delivery, as others see it). */
function hangAt(h: Harness, level: number, before?: (n: Notification) => Promise<void>): Promise<void> {
  return new Promise<void>((reached) => {
    h.notifier.during = async (n) => {
      await before?.(n);
      if (n.page.level !== level) return;
      reached();
      await new Promise(() => {});
    };
  });
}

function paged(timeline: readonly TimelineEntry[]): string[] {
  return timeline.flatMap((e) => (e.type === 'paged' ? [`L${e.level} ${e.why}`] : []));
}

describe('advanceEscalation: lease and records of a step delivering pages', () => {
  it('leases the incident for the delivery bound of its pages times the attempts, not a fixed two minutes', async () => {
    // Prepare
    const { h, incident } = await outageDue();
    let leaseUntil: number | undefined;
    h.notifier.during = async (n) => {
      if (n.page.level === 1) leaseUntil = (await h.store.getIncident(incident.id))?.escalation.leaseUntil;
    };
    // Act
    await advanceEscalation(h.ctx, incident, []);
    // Assess: three pages, three attempts each within 2 s, and the margin
    expect(leaseUntil).toBe(T0 + 3 * 3 * DELIVERY_BOUND_MS + PAGE_LEASE_MARGIN_MS);
    expect(h.notifier.lines().map((l) => l.split(' ')[0])).toEqual(['L1', 'L2', 'L3']);
  });

  it('records each page on the timeline as soon as it is delivered, before the step settles', async () => {
    // Prepare
    const { h, incident } = await outageDue();
    const hung = hangAt(h, 3);
    // Act
    void advanceEscalation(h.ctx, incident, []);
    await hung;
    // Assess
    const stored = await h.store.getIncident(incident.id);
    expect(paged(await h.store.getTimeline(incident.id))).toEqual(['L1 opened', 'L2 opened']);
    expect(stored?.escalation.pages).toBe(2);
  });

  it('resumes a crashed step once the renewed lease has run out, paging only the levels it had not reached', async () => {
    // Prepare: the step dies while delivering the third page
    const { h, incident } = await outageDue();
    const hung = hangAt(h, 3);
    void advanceEscalation(h.ctx, incident, []);
    await hung;
    h.notifier.during = undefined;
    const stored = await h.store.getIncident(incident.id);
    // Act / Assess: the lease left covers the one page left, no more
    const leaseLeft = 3 * DELIVERY_BOUND_MS + PAGE_LEASE_MARGIN_MS;
    expect(stored?.escalation.leaseUntil).toBe(T0 + leaseLeft);
    h.clock.set(T0 + leaseLeft - 1);
    expect(await sweepEscalations(h.ctx)).toEqual([]);
    h.clock.set(T0 + leaseLeft);
    const [resumed] = await sweepEscalations(h.ctx);
    // Assess
    expect(h.notifier.lines().map((l) => l.split(' ').slice(0, 2).join(' '))).toEqual([
      'L1 opened',
      'L2 opened',
      'L3 opened',
    ]);
    expect(paged(await h.store.getTimeline(incident.id))).toEqual(FIRST_PAGE_LEVELS.map((l) => `L${l} opened`));
    expect(resumed?.escalation).toMatchObject({ level: 3, pages: 3 });
    expect(resumed?.escalation.pending).toBeUndefined();
    expect(resumed?.escalation.leaseUntil).toBeUndefined();
    expect(resumed?.escalation.delivered).toBeUndefined();
  });

  it('keeps every delivered page on record when the incident is acknowledged during delivery and the step never settles', async () => {
    // Prepare: an operator acknowledges while the second page goes out; the third page's delivery then dies
    const { h, incident } = await outageDue();
    const hung = hangAt(h, 3, async (n) => {
      if (n.page.level === 2) await acknowledgeIncident(h.ctx, incident.id, 'alice');
    });
    // Act
    void advanceEscalation(h.ctx, incident, []);
    await hung;
    // Assess
    const stored = await h.store.getIncident(incident.id);
    expect(stored?.status).toBe('acknowledged');
    expect(stored?.escalation.level).toBeGreaterThanOrEqual(2);
    const timeline = await h.store.getTimeline(incident.id);
    expect(paged(timeline)).toEqual(['L1 opened', 'L2 opened']);
    expect(timeline.map((e) => e.type)).toEqual(['opened', 'paged', 'acknowledged', 'paged']);
  });
  it('settles a step that died after recording its last page at the level it paged, without paging it again', async () => {
    // Prepare: the first pages went out; the P1 response SLA runs out and the step escalating to level 4 dies
    // between recording the Executive page and settling.
    const { h, incident } = await outageDue();
    const first = await advanceEscalation(h.ctx, incident, []);
    const dueAt = first?.escalation.nextAt ?? 0;
    h.clock.set(dueAt);
    const update = h.store.updateIncident.bind(h.store);
    /** Writes still let through before the one that never ends; then everything goes through again. */
    let writesBeforeHang = Number.POSITIVE_INFINITY;
    h.store.updateIncident = (i, timeline) =>
      writesBeforeHang-- === 0 ? new Promise<Incident>(() => {}) : update(i, timeline);
    h.notifier.during = async (n) => {
      if (n.page.level === 4) writesBeforeHang = 1; // the record goes through, the settle never ends
    };
    void advanceEscalation(h.ctx, (await h.store.getIncident(incident.id)) ?? incident, []);
    while (writesBeforeHang >= 0) await new Promise((resolve) => setImmediate(resolve));
    h.notifier.during = undefined;
    expect((await h.store.getIncident(incident.id))?.escalation.level).toBe(3);
    expect(paged(await h.store.getTimeline(incident.id))).toContain('L4 sla-breached');
    // Act: the sweep after the lease left for the settle
    h.clock.set(dueAt + PAGE_LEASE_MARGIN_MS);
    const [settled] = await sweepEscalations(h.ctx);
    // Assess
    expect(h.notifier.lines().filter((l) => l.startsWith('L4'))).toHaveLength(1);
    expect(settled?.escalation).toMatchObject({ level: 4, pages: 4 });
    expect(paged(await h.store.getTimeline(incident.id))).toEqual([
      'L1 opened',
      'L2 opened',
      'L3 opened',
      'L4 sla-breached',
    ]);
    // The breach the redone step records is on the timeline once, with the level it paged.
    const breaches = (await h.store.getTimeline(incident.id)).filter((e) => e.type === 'sla-breached');
    expect(breaches).toMatchObject([{ dueAt: incident.slaDueAt, level: 4 }]);
    expect(settled?.slaBreached).toBe(incident.slaDueAt);
  });
});

/** The scheduled sweep every minute from the clock's time through `until`. */
async function sweepUntil(h: ReturnType<typeof createHarness>, until: number): Promise<void> {
  while (h.clock.now() < until) {
    h.clock.advance(MINUTE);
    await sweepEscalations(h.ctx);
  }
}

describe('SLA breach through the sweep', () => {
  it('stores one breach, pages level 4 with the reason, publishes the escalation and reports how late the ack came', async () => {
    // Prepare: an open P1 outage (SLA 15m), first paged at T0
    const h = createHarness();
    const opened = openIncident(fleetOutageReport(['auth', 'ac']), acgsPolicy, T0);
    await h.store.createIncident(opened.incident, opened.timeline);
    await sweepEscalations(h.ctx);
    // Act: the sweep every minute until T0+20m, then an acknowledgement, then an hour more of sweeps
    await sweepUntil(h, T0 + 20 * MINUTE);
    await acknowledgeIncident(h.ctx, opened.incident.id, 'alice');
    await sweepUntil(h, T0 + 80 * MINUTE);
    // Assess
    const timeline = await h.store.getTimeline(opened.incident.id);
    expect(timeline.filter((e) => e.type === 'sla-breached')).toEqual([
      { at: T0 + 15 * MINUTE, type: 'sla-breached', severity: 'P1', dueAt: T0 + 15 * MINUTE, level: 4 },
    ]);
    expect(h.notifier.lines().filter((l) => l.includes('sla-breached'))).toEqual([
      'L4 sla-breached P1 fleet-outage@acgs-1',
    ]);
    expect(
      h.events.published.filter(
        (e) => e.detailType === DETAIL_TYPE.incidentEscalated && e.detail.why === 'sla-breached',
      ),
    ).toHaveLength(1);
    const report = await incidentReport(h.ctx, opened.incident.id);
    expect(report.slaBreach).toEqual({
      severity: 'P1',
      dueAt: new Date(T0 + 15 * MINUTE).toISOString(),
      recordedAt: new Date(T0 + 15 * MINUTE).toISOString(),
      level: 4,
      lateByMs: 5 * MINUTE,
      responded: true,
    });
    expect(report.times.acknowledgement.met).toBe(false);
    expect(renderIncidentReportMarkdown(report)).toContain(
      '**P1 response SLA breached**: due 2026-12-01T02:15:00.000Z, recorded 2026-12-01T02:15:00.000Z; the response came 5m late; escalated to level 4.',
    );
  });

  it('reports no breach for an incident acknowledged in time', async () => {
    // Prepare
    const h = createHarness();
    const opened = openIncident(fleetOutageReport(['auth', 'ac']), acgsPolicy, T0);
    await h.store.createIncident(opened.incident, opened.timeline);
    await sweepEscalations(h.ctx);
    // Act
    await sweepUntil(h, T0 + 14 * MINUTE);
    await acknowledgeIncident(h.ctx, opened.incident.id, 'alice');
    await sweepUntil(h, T0 + HOUR_AND_A_HALF);
    // Assess
    const report = await incidentReport(h.ctx, opened.incident.id);
    expect(report.slaBreach).toBeNull();
    expect(renderIncidentReportMarkdown(report)).not.toContain('SLA breached');
  });
});

const HOUR_AND_A_HALF = 90 * MINUTE;
