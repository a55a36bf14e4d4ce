import type { Incident, ProcedureOutcome } from '../core/incident.ts';
import type { ControlPlaneContext } from './context.ts';
import { updateIncidentWithRetry } from './update-incident.ts';

export interface ProcedureRecord {
  readonly by: string;
  /** As the audit trail names it: `service.restart`, `fleet.stop-all`, `backup.restore`, ... */
  readonly action: string;
  readonly services: readonly string[];
  readonly outcome: ProcedureOutcome;
  /** One line: what happened (the document's last output line, the window opened, ...). */
  readonly detail: string;
}

/**
 * Puts a procedure on the timeline of every open incident it concerns: those covering one of its services, and every
 * open incident for a fleet-wide procedure (no services named). Returns the incidents written. A procedure is recorded
 * once it has an outcome, so the timeline says what was done, not what was tried to be started.
 */
export async function recordProcedureOnIncidents(
  ctx: ControlPlaneContext,
  record: ProcedureRecord,
): Promise<Incident[]> {
  const open = await ctx.incidents.listOpenIncidents();
  const concerned = open.filter(
    (i) => record.services.length === 0 || i.services.some((s) => record.services.includes(s)),
  );
  const written: Incident[] = [];
  for (const incident of concerned) {
    const at = ctx.clock.now();
    const done = await updateIncidentWithRetry(ctx, incident, (current) =>
      current.status === 'resolved'
        ? undefined
        : { incident: current, timeline: [{ at, type: 'procedure', ...record, services: [...record.services] }] },
    );
    if (done) written.push(done);
  }
  return written;
}
