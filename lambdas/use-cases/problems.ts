import { freezePolicy, type MaintenanceWindow, resolve } from '../core/escalation.ts';
import { DETAIL_TYPE, incidentEventDetail } from '../core/events.ts';
import type { Incident } from '../core/incident.ts';
import { applyReport, openIncident, type ProblemReport } from '../core/incident-planner.ts';
import { advanceEscalation } from './advance-escalation.ts';
import { type ControlPlaneContext, publishEvents } from './context.ts';
import { incidentResolved } from './incident-report.ts';
import { createIncidentWithNotices, updateIncidentWithRetry } from './update-incident.ts';

/** Who resolves an incident when the control plane sees its problem go away. */
export const SYSTEM = 'control-plane';

/**
 * Opens the incident for a problem (conditionally: one per dedup key) or folds the report into the open one, then
 * runs the escalation step if a page is owed. Shared by the probe cycle and the other monitors (backups, drills).
 */
export async function raiseProblem(
  ctx: ControlPlaneContext,
  report: ProblemReport,
  known: Incident | undefined,
  windows: readonly MaintenanceWindow[],
): Promise<{ created: boolean; incident: Incident }> {
  const now = ctx.clock.now();
  let existing = known;
  let created = false;
  if (!existing) {
    const fresh = openIncident(report, freezePolicy(ctx.config), now);
    const result = await createIncidentWithNotices(ctx, fresh.incident, fresh.timeline);
    if (result.created) {
      created = true;
      existing = result.incident;
      await publishEvents(ctx, [
        { detailType: DETAIL_TYPE.incidentOpened, detail: incidentEventDetail(existing, now) },
      ]);
      ctx.log('incident-opened', {
        id: existing.id,
        dedupKey: existing.dedupKey,
        severity: existing.severity,
        title: existing.title,
      });
    } else {
      existing = result.existing;
    }
  }
  let incident = existing;
  if (!created) {
    const folded = await updateIncidentWithRetry(ctx, existing, (current) =>
      current.status === 'resolved' ? undefined : applyReport(current, report, now),
    );
    incident = folded ?? existing;
  }
  const due = incident.escalation.nextAt !== undefined && incident.escalation.nextAt <= now;
  if (due) incident = (await advanceEscalation(ctx, incident, windows)) ?? incident;
  return { created, incident };
}

/** Resolves the open incident for a dedup key, if there is one (a monitor saw its problem go away). */
export async function clearProblem(
  ctx: ControlPlaneContext,
  dedupKey: string,
  resolution: string,
): Promise<Incident | undefined> {
  const open = await ctx.incidents.findOpenIncident(dedupKey);
  if (!open) return undefined;
  const now = ctx.clock.now();
  const done = await updateIncidentWithRetry(ctx, open, (current) =>
    current.status === 'resolved' ? undefined : resolve(current, SYSTEM, resolution, now),
  );
  if (done) await incidentResolved(ctx, done, now);
  return done;
}
