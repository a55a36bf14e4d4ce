import { type EscalationOutcome, type MaintenanceWindow, sweepEscalation } from '../core/escalation.ts';
import type { Incident, TimelineEntry } from '../core/incident.ts';
import type { ControlPlaneContext } from './context.ts';
import { updateIncidentWithRetry } from './update-incident.ts';

/** A page that could not be delivered is retried this much later (the step is not marked done). */
export const PAGE_RETRY_MS = 60_000;

type Step = (incident: Incident, now: number) => EscalationOutcome | undefined;

/**
 * Runs one escalation step for an incident: deliver its pages, then write the incident. Delivery comes first so a
 * crash in between repeats a page instead of losing it; a failed delivery leaves the step due again shortly.
 */
export async function advanceEscalation(
  ctx: ControlPlaneContext,
  incident: Incident,
  windows: readonly MaintenanceWindow[],
  step: Step = (current, now) => sweepEscalation(current, now, windows),
): Promise<Incident | undefined> {
  return updateIncidentWithRetry(ctx.incidents, incident, async (current) => {
    const now = ctx.clock.now();
    const outcome = step(current, now);
    if (!outcome) return undefined;
    const failures: TimelineEntry[] = [];
    for (const page of outcome.pages) {
      try {
        await ctx.notifier.notify({ page, incident: outcome.incident });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        ctx.log('page-failed', { incidentId: current.id, level: page.level, error: message });
        failures.push({
          at: now,
          type: 'note',
          by: 'control-plane',
          text: `page to level ${page.level} failed: ${message}`,
        });
      }
    }
    if (failures.length === 0) return outcome;
    return {
      incident: { ...current, escalation: { ...current.escalation, nextAt: now + PAGE_RETRY_MS } },
      timeline: failures,
    };
  });
}
