import { errorMessage } from '../core/errors.ts';
import {
  type EscalationOutcome,
  type MaintenanceWindow,
  type Page,
  pageKey,
  sweepEscalation,
  withoutDelivered,
} from '../core/escalation.ts';
import { DETAIL_TYPE, incidentEventDetail } from '../core/events.ts';
import type { EscalationState, Incident, TimelineEntry } from '../core/incident.ts';
import type { Notification } from '../ports.ts';
import { type ControlPlaneContext, publishEvents } from './context.ts';
import { updateIncidentWithRetry } from './update-incident.ts';

/** A step whose pages all failed is retried this much later. */
export const PAGE_RETRY_MS = 60_000;
/** Attempts at one page within a step (a transient error should not cost a minute). */
export const DELIVERY_ATTEMPTS = 3;
/** Lease time on top of the delivery bound: the claim and record writes, a busy event loop. */
export const PAGE_LEASE_MARGIN_MS = 5_000;
/** Steps in a row whose pages all failed before the step is recorded as undelivered and escalation moves on. */
const MAX_FAILED_STEPS = 5;

type Step = (incident: Incident, now: number) => EscalationOutcome | undefined;

/**
 * How long a step with `pages` pages still to deliver holds the incident: every attempt at every page within the
 * notifier's delivery bound, and a margin. Past it, a crashed delivery is redone; a level's response time is not
 * frozen by a fixed lease much longer than the delivery can take.
 */
export function pageLeaseMs(deliveryTimeoutMs: number, pages: number): number {
  return pages * DELIVERY_ATTEMPTS * deliveryTimeoutMs + PAGE_LEASE_MARGIN_MS;
}

/**
 * Runs one escalation step for an incident, exactly once even when several sweeps or probe cycles race:
 *  1. claim: compute the step and, if it pages, take a lease on the incident with a conditional write (`leaseUntil`
 *     and `nextAt` moved past now, by `pageLeaseMs`); a step finding a live lease does nothing;
 *  2. deliver the pages (each tried a few times), recording each one on the timeline as soon as it is delivered
 *     (and renewing the lease for the pages left), so a delivered page is on record whatever happens next;
 *  3. settle: write the step's result over whatever changed meanwhile (an acknowledgement that came in during
 *     delivery stands). A crash between 1 and 3 leaves the lease to expire and the step to be redone without the
 *     pages already recorded: a page in flight may be repeated, never lost. If every page failed, the step is retried
 *     after PAGE_RETRY_MS (nothing was delivered, so nobody is paged twice); if only some failed, the step counts as
 *     done and the failures are on the timeline.
 */
export async function advanceEscalation(
  ctx: ControlPlaneContext,
  incident: Incident,
  windows: readonly MaintenanceWindow[],
  step: Step = (current, now) => sweepEscalation(current, now, windows),
): Promise<Incident | undefined> {
  const bound = ctx.notifier.deliveryTimeoutMs;
  let planned: EscalationOutcome | undefined;
  const claimed = await updateIncidentWithRetry(ctx, incident, (current) => {
    const now = ctx.clock.now();
    planned = undefined;
    const { leaseUntil, delivered } = current.escalation;
    if (leaseUntil !== undefined && leaseUntil > now) return undefined;
    const outcome = step(current, now);
    planned = outcome && delivered ? withoutDelivered(outcome, delivered) : outcome;
    if (!planned) return undefined;
    if (planned.pages.length === 0) return planned;
    const until = now + pageLeaseMs(bound, planned.pages.length);
    // The breach a step records is the settle's to write (with its timeline entry): a step redone after a crash
    // plans the same breach again, leaving out the pages already delivered.
    const { slaBreached: _breach, ...plannedIncident } = planned.incident;
    const lease: Incident = {
      ...plannedIncident,
      ...(current.slaBreached === undefined ? {} : { slaBreached: current.slaBreached }),
      status: current.status,
      escalation: { ...current.escalation, nextAt: until, leaseUntil: until },
    };
    return { incident: lease, timeline: [] };
  });
  const plan = planned;
  if (!claimed || !plan || plan.pages.length === 0) return claimed;

  const now = ctx.clock.now();
  const failures: TimelineEntry[] = [];
  const delivered: Page[] = [];
  /** Delivered pages whose record could not be written as they went out: the settle writes them. */
  const unrecorded: TimelineEntry[] = [];
  let lease = claimed.escalation.leaseUntil;
  const recent = await ctx.incidents.getTimeline(claimed.id);
  for (const [index, page] of plan.pages.entries()) {
    const lastError = await deliver(ctx, { page, incident: plan.incident, recent });
    if (lastError) {
      ctx.log('page-failed', { incidentId: claimed.id, level: page.level, error: lastError });
      failures.push({
        at: now,
        type: 'note',
        by: 'control-plane',
        text: `page to level ${page.level} failed: ${lastError}`,
      });
      continue;
    }
    delivered.push(page);
    const renewed = ctx.clock.now() + pageLeaseMs(bound, plan.pages.length - index - 1);
    try {
      lease = await recordDelivered(ctx, claimed.id, page, lease, renewed);
    } catch (error) {
      ctx.log('page-record-failed', {
        incidentId: claimed.id,
        level: page.level,
        error: errorMessage(error),
      });
      unrecorded.push(pagedEntry(page));
    }
  }
  const allFailed = delivered.length === 0;
  const failedSteps = allFailed ? (claimed.escalation.deliveryFailures ?? 0) + 1 : 0;
  const giveUp = allFailed && failedSteps >= MAX_FAILED_STEPS;
  if (giveUp)
    failures.push({
      at: now,
      type: 'note',
      by: 'control-plane',
      text: `pages undelivered after ${failedSteps} attempts: escalation moves on`,
    });

  const settled = await updateIncidentWithRetry(ctx, claimed.id, (fresh) => {
    const untouched = fresh.escalation.nextAt === lease && fresh.status === claimed.status;
    const { leaseUntil: _lease, deliveryFailures: _failures, delivered: done, ...freshEscalation } = fresh.escalation;
    if (allFailed && !giveUp) {
      // Nothing went out: retry the same step soon, unless someone (an ack, a resolve) has set a timer meanwhile.
      const escalation: EscalationState = {
        ...freshEscalation,
        ...(done ? { delivered: done } : {}),
        deliveryFailures: failedSteps,
        ...(untouched ? { nextAt: now + PAGE_RETRY_MS } : {}),
      };
      return { incident: { ...fresh, escalation }, timeline: failures };
    }
    // The delivered pages are on the timeline already, each written as it went out.
    const timeline = [...plan.timeline.filter((e) => e.type !== 'paged'), ...unrecorded, ...failures];
    const pages = fresh.escalation.pages + unrecorded.length;
    const breach = plan.incident.slaBreached === undefined ? {} : { slaBreached: plan.incident.slaBreached };
    if (untouched)
      return {
        incident: {
          ...fresh,
          ...breach,
          status: plan.incident.status,
          escalation: { ...plan.incident.escalation, pages },
        },
        timeline,
      };
    // Acknowledged, resolved or re-rated while the pages went out: that state stands; the first page this step
    // delivered is no longer owed (unless the severity rose again meanwhile).
    const { pending, ...rest } = freshEscalation;
    const stillOwed = pending !== undefined && pending !== claimed.escalation.pending;
    const escalation: EscalationState = {
      ...rest,
      ...(stillOwed ? { pending } : {}),
      level: Math.max(fresh.escalation.level, plan.incident.escalation.level),
      pages,
    };
    return { incident: { ...fresh, ...breach, escalation }, timeline };
  });
  if (settled && delivered.length > 0) {
    await publishEvents(
      ctx,
      delivered.map((p) => ({
        detailType: DETAIL_TYPE.incidentEscalated,
        detail: { ...incidentEventDetail(settled, p.at), level: p.level, why: p.why },
      })),
    );
  }
  return settled;
}

/** Tries one page a few times; the last error, or '' once it went out. */
async function deliver(ctx: ControlPlaneContext, notification: Notification): Promise<string> {
  let lastError = '';
  for (let attempt = 1; attempt <= DELIVERY_ATTEMPTS; attempt++) {
    try {
      await ctx.notifier.notify(notification);
      return '';
    } catch (error) {
      lastError = errorMessage(error);
    }
  }
  return lastError;
}

/**
 * Records one delivered page at once: on the timeline, in the page count and in `delivered` (a redone step leaves it
 * out). While the step still holds the incident its lease is renewed for the pages left; if an acknowledgement or
 * a resolve took the incident meanwhile, that state stands and the level paged is recorded on it. Returns the lease
 * the step now holds.
 */
async function recordDelivered(
  ctx: ControlPlaneContext,
  incidentId: string,
  page: Page,
  lease: number | undefined,
  renewed: number,
): Promise<number | undefined> {
  let ours = false;
  await updateIncidentWithRetry(ctx, incidentId, (fresh) => {
    ours = fresh.escalation.nextAt === lease && fresh.escalation.leaseUntil === lease;
    const escalation: EscalationState = {
      ...fresh.escalation,
      pages: fresh.escalation.pages + 1,
      delivered: [...(fresh.escalation.delivered ?? []), pageKey(page)],
      ...(ours ? { nextAt: renewed, leaseUntil: renewed } : { level: Math.max(fresh.escalation.level, page.level) }),
    };
    return { incident: { ...fresh, escalation }, timeline: [pagedEntry(page)] };
  });
  return ours ? renewed : lease;
}

function pagedEntry(page: Page): TimelineEntry {
  return {
    at: page.at,
    type: 'paged',
    level: page.level,
    levelName: page.levelName,
    contacts: page.contacts.map((c) => c.name),
    why: page.why,
  };
}
