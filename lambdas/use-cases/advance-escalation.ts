import { type EscalationOutcome, type MaintenanceWindow, sweepEscalation } from '../core/escalation.ts';
import { DETAIL_TYPE, incidentEventDetail } from '../core/events.ts';
import type { Incident, TimelineEntry } from '../core/incident.ts';
import { type ControlPlaneContext, publishEvents } from './context.ts';
import { updateIncidentWithRetry } from './update-incident.ts';

/** A step whose pages all failed is retried this much later. */
export const PAGE_RETRY_MS = 60_000;
/** How long a step that is delivering pages holds the incident; past it, a crashed delivery is redone. */
export const PAGE_LEASE_MS = 120_000;
/** Attempts at one page within a step (a transient error should not cost a minute). */
const DELIVERY_ATTEMPTS = 3;
/** Steps in a row whose pages all failed before the step is recorded as undelivered and escalation moves on. */
const MAX_FAILED_STEPS = 5;

type Step = (incident: Incident, now: number) => EscalationOutcome | undefined;

/**
 * Runs one escalation step for an incident, exactly once even when several sweeps or probe cycles race:
 *  1. claim: compute the step and, if it pages, take a lease on the incident with a conditional write (`leaseUntil`
 *     and `nextAt` moved past now); a step finding a live lease does nothing;
 *  2. deliver the pages (each tried a few times);
 *  3. settle: write the step's result over whatever changed meanwhile (an acknowledgement that came in during
 *     delivery stands). A crash between 1 and 3 leaves the lease to expire and the step to be redone: a page may
 *     be repeated, never lost. If every page failed, the step is retried after PAGE_RETRY_MS (nothing was delivered,
 *     so nobody is paged twice); if only some failed, the step counts as done and the failures are on the timeline.
 */
export async function advanceEscalation(
  ctx: ControlPlaneContext,
  incident: Incident,
  windows: readonly MaintenanceWindow[],
  step: Step = (current, now) => sweepEscalation(current, now, windows),
): Promise<Incident | undefined> {
  let planned: EscalationOutcome | undefined;
  const claimed = await updateIncidentWithRetry(ctx.incidents, incident, (current) => {
    const now = ctx.clock.now();
    planned = undefined;
    if (current.escalation.leaseUntil !== undefined && current.escalation.leaseUntil > now) return undefined;
    planned = step(current, now);
    if (!planned) return undefined;
    if (planned.pages.length === 0) return planned;
    const leaseUntil = now + PAGE_LEASE_MS;
    const lease: Incident = {
      ...planned.incident,
      status: current.status,
      escalation: { ...current.escalation, nextAt: leaseUntil, leaseUntil },
    };
    return { incident: lease, timeline: [] };
  });
  const plan = planned;
  if (!claimed || !plan || plan.pages.length === 0) return claimed;

  const now = ctx.clock.now();
  const failures: TimelineEntry[] = [];
  const recent = await ctx.incidents.getTimeline(claimed.id);
  for (const page of plan.pages) {
    let lastError = '';
    for (let attempt = 1; attempt <= DELIVERY_ATTEMPTS; attempt++) {
      try {
        await ctx.notifier.notify({ page, incident: plan.incident, recent });
        lastError = '';
        break;
      } catch (error) {
        lastError = error instanceof Error ? error.message : String(error);
      }
    }
    if (lastError) {
      ctx.log('page-failed', { incidentId: claimed.id, level: page.level, error: lastError });
      failures.push({
        at: now,
        type: 'note',
        by: 'control-plane',
        text: `page to level ${page.level} failed: ${lastError}`,
      });
    }
  }
  const allFailed = failures.length === plan.pages.length;
  const failedSteps = allFailed ? (claimed.escalation.deliveryFailures ?? 0) + 1 : 0;
  const giveUp = allFailed && failedSteps >= MAX_FAILED_STEPS;
  if (giveUp)
    failures.push({
      at: now,
      type: 'note',
      by: 'control-plane',
      text: `pages undelivered after ${failedSteps} attempts: escalation moves on`,
    });

  const settled = await updateIncidentWithRetry(ctx.incidents, claimed, (fresh) => {
    const untouched = fresh.escalation.nextAt === claimed.escalation.nextAt && fresh.status === claimed.status;
    const { leaseUntil: _lease, deliveryFailures: _failures, ...freshEscalation } = fresh.escalation;
    if (allFailed && !giveUp) {
      // Nothing went out: retry the same step soon, unless someone (an ack, a resolve) has set a timer meanwhile.
      const escalation = { ...freshEscalation, deliveryFailures: failedSteps };
      if (untouched) escalation.nextAt = now + PAGE_RETRY_MS;
      return { incident: { ...fresh, escalation }, timeline: failures };
    }
    const timeline = [...plan.timeline, ...failures];
    if (untouched)
      return { incident: { ...fresh, status: plan.incident.status, escalation: plan.incident.escalation }, timeline };
    // Acknowledged, resolved or re-rated while the pages went out: that state stands; record what was paged, and
    // the first page this step delivered is no longer owed (unless the severity rose again meanwhile).
    const { pending, ...rest } = freshEscalation;
    const stillOwed = pending !== undefined && pending !== claimed.escalation.pending;
    const escalation = {
      ...rest,
      ...(stillOwed ? { pending } : {}),
      level: Math.max(fresh.escalation.level, plan.incident.escalation.level),
      pages: fresh.escalation.pages + plan.pages.length - failures.length,
    };
    return { incident: { ...fresh, escalation }, timeline };
  });
  if (settled && !allFailed) {
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
