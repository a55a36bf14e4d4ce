import { type MaintenanceWindow, resolve } from '../core/escalation.ts';
import type { TargetState } from '../core/health-state.ts';
import type { Incident } from '../core/incident.ts';
import { planIncidents } from '../core/incident-planner.ts';
import { type ControlPlaneContext, mutingWindows } from './context.ts';
import { incidentResolved } from './incident-report.ts';
import { raiseProblem, SYSTEM } from './problems.ts';
import { updateIncidentWithRetry } from './update-incident.ts';

export interface ReconcileResult {
  readonly opened: readonly Incident[];
  readonly updated: readonly Incident[];
  readonly resolved: readonly Incident[];
  /** Every incident still open after this cycle. */
  readonly open: readonly Incident[];
}

/**
 * Brings the incidents in line with the fleet's health: one incident per problem (created conditionally, so
 * concurrent cycles cannot open two for one dedup key), repeats folded in, recovered problems auto-resolved, and the
 * escalation step run at once for anything that owes a page.
 */
export async function reconcileIncidents(
  ctx: ControlPlaneContext,
  states: ReadonlyMap<string, TargetState>,
  /** The muting windows in force, when the caller has read them already (the probe cycle reads them once). */
  knownWindows?: readonly MaintenanceWindow[],
): Promise<ReconcileResult> {
  const now = ctx.clock.now();
  const [openBefore, windows] = await Promise.all([
    ctx.incidents.listOpenIncidents(),
    knownWindows ?? mutingWindows(ctx, now),
  ]);
  const plan = planIncidents(ctx.config, ctx.targets, states, openBefore);
  const openByKey = new Map(openBefore.map((i) => [i.dedupKey, i]));
  const opened: Incident[] = [];
  const updated: Incident[] = [];
  const resolved: Incident[] = [];
  const open: Incident[] = [];

  for (const report of plan.reports) {
    const result = await raiseProblem(ctx, report, openByKey.get(report.dedupKey), windows);
    (result.created ? opened : updated).push(result.incident);
    open.push(result.incident);
  }

  const endings = [
    ...plan.recovered.map((incident) => ({
      incident,
      resolution: `recovered: every target healthy for ${ctx.config.thresholds.successesToUp} consecutive probes`,
    })),
    ...plan.superseded.map(({ incident, byKey }) => ({
      incident,
      resolution: `superseded by ${open.find((i) => i.dedupKey === byKey)?.id ?? byKey} (grouped)`,
    })),
    ...plan.released,
  ];
  for (const { incident, resolution } of endings) {
    const done = await updateIncidentWithRetry(ctx, incident, (current) =>
      current.status === 'resolved' ? undefined : resolve(current, SYSTEM, resolution, now),
    );
    if (done) {
      resolved.push(done);
      await incidentResolved(ctx, done, now);
      ctx.log('incident-resolved', { id: done.id, dedupKey: done.dedupKey, resolution });
    }
  }
  return { opened, updated, resolved, open };
}
