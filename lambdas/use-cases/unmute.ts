import { unmute } from '../core/escalation.ts';
import type { Incident } from '../core/incident.ts';
import type { ControlPlaneContext } from './context.ts';
import { updateIncidentWithRetry } from './update-incident.ts';

/**
 * Windows that ended before their planned end (a maintenance window ended early, a service released from
 * isolation): the incidents they muted take their owed step at the next sweep instead of at the planned end.
 */
export async function unmuteIncidents(ctx: ControlPlaneContext, windowIds: readonly string[]): Promise<Incident[]> {
  const ids = new Set(windowIds);
  const now = ctx.clock.now();
  const changed: Incident[] = [];
  for (const incident of await ctx.incidents.listOpenIncidents()) {
    if (!incident.escalation.mutedBy || !ids.has(incident.escalation.mutedBy)) continue;
    const done = await updateIncidentWithRetry(ctx, incident, (current) => {
      const next = unmute(current, ids, now);
      return next ? { incident: next, timeline: [] } : undefined;
    });
    if (done) changed.push(done);
  }
  return changed;
}
