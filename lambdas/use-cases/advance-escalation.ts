import { type EscalationOutcome, type MaintenanceWindow, sweepEscalation } from '../core/escalation.ts';
import { DETAIL_TYPE, incidentEventDetail } from '../core/events.ts';
import type { Incident, TimelineEntry } from '../core/incident.ts';
import { type ControlPlaneContext, publishEvents } from './context.ts';
import { updateIncidentWithRetry } from './update-incident.ts';

/** A page that could not be delivered is retried this much later. */
export const PAGE_RETRY_MS = 60_000;
/** How long a step that is delivering pages holds the incident; past it, a crashed delivery is redone. */
export const PAGE_LEASE_MS = 120_000;

type Step = (incident: Incident, now: number) => EscalationOutcome | undefined;

/**
 * Runs one escalation step for an incident, exactly once even when several sweeps or probe cycles race:
 *  1. claim: compute the step and, if it pages, take a lease on the incident with a conditional write (moving
 *     `nextAt` past now, so no other sweeper finds it due); only the winner goes on;
 *  2. deliver the pages;
 *  3. settle: write the step's result over whatever changed meanwhile (an acknowledgement that came in during
 *     delivery stands). A crash between 1 and 3 leaves the lease to expire and the step to be redone: a page may
 *     be repeated, never lost. A failed delivery is retried after PAGE_RETRY_MS.
 */
export async function advanceEscalation(
  ctx: ControlPlaneContext,
  incident: Incident,
  windows: readonly MaintenanceWindow[],
  step: Step = (current, now) => sweepEscalation(current, now, windows),
): Promise<Incident | undefined> {
  let planned: EscalationOutcome | undefined;
  const claimed = await updateIncidentWithRetry(ctx.incidents, incident, (current) => {
    planned = step(current, ctx.clock.now());
    if (!planned) return undefined;
    if (planned.pages.length === 0) return planned;
    const lease: Incident = {
      ...planned.incident,
      status: current.status,
      escalation: { ...current.escalation, nextAt: ctx.clock.now() + PAGE_LEASE_MS },
    };
    return { incident: lease, timeline: [] };
  });
  const plan = planned;
  if (!claimed || !plan || plan.pages.length === 0) return claimed;

  const now = ctx.clock.now();
  const failures: TimelineEntry[] = [];
  const recent = await ctx.incidents.getTimeline(claimed.id);
  for (const page of plan.pages) {
    try {
      await ctx.notifier.notify({ page, incident: plan.incident, recent });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      ctx.log('page-failed', { incidentId: claimed.id, level: page.level, error: message });
      failures.push({
        at: now,
        type: 'note',
        by: 'control-plane',
        text: `page to level ${page.level} failed: ${message}`,
      });
    }
  }

  const settled = await updateIncidentWithRetry(ctx.incidents, claimed, (fresh) => {
    const untouched = fresh.escalation.nextAt === claimed.escalation.nextAt && fresh.status === claimed.status;
    if (failures.length > 0) {
      const retryAt = untouched ? now + PAGE_RETRY_MS : fresh.escalation.nextAt;
      const escalation = { ...fresh.escalation };
      if (retryAt === undefined) delete escalation.nextAt;
      else escalation.nextAt = retryAt;
      return { incident: { ...fresh, escalation }, timeline: failures };
    }
    if (untouched)
      return {
        incident: { ...fresh, status: plan.incident.status, escalation: plan.incident.escalation },
        timeline: plan.timeline,
      };
    // Acknowledged, resolved or re-rated while the pages went out: their state stands; record what was paged.
    const escalation = {
      ...fresh.escalation,
      level: Math.max(fresh.escalation.level, plan.incident.escalation.level),
      pages: fresh.escalation.pages + plan.pages.length,
    };
    return { incident: { ...fresh, escalation }, timeline: plan.timeline };
  });
  if (settled && failures.length === 0) {
    await publishEvents(
      ctx,
      plan.pages.map((p) => ({
        detailType: DETAIL_TYPE.incidentEscalated,
        detail: { ...incidentEventDetail(settled, p.at), level: p.level, why: p.why },
      })),
    );
  }
  return settled;
}
