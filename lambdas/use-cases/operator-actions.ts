import type { Severity } from '../core/config-schema.ts';
import { ControlPlaneError, errorMessage, UsageError } from '../core/errors.ts';
import { acknowledge, freezePolicy, resolve } from '../core/escalation.ts';
import { DETAIL_TYPE, incidentEventDetail } from '../core/events.ts';
import type { Incident, IncidentKind, ProcedureOutcome } from '../core/incident.ts';
import { openIncident } from '../core/incident-planner.ts';
import { type SecurityStep, tickStep } from '../core/security-checklist.ts';
import { advanceEscalation } from './advance-escalation.ts';
import { type ControlPlaneContext, mutingWindows, publishEvents } from './context.ts';
import { incidentResolved, writeIncidentReport } from './incident-report.ts';
import { recordProcedureOnIncidents } from './record-procedure.ts';
import { isolateService } from './service-procedures.ts';
import { createIncidentWithNotices, updateIncidentWithRetry } from './update-incident.ts';

/** Acknowledging stops escalation until the severity's ack timeout; it is refused on a resolved incident. */
export async function acknowledgeIncident(
  ctx: ControlPlaneContext,
  id: string,
  by: string,
  note?: string,
): Promise<Incident> {
  const done = await updateIncidentWithRetry(ctx, id, (current) => {
    if (current.status === 'resolved')
      throw new ControlPlaneError('INCIDENT_RESOLVED', `incident ${id} is already resolved`);
    return acknowledge(current, by, ctx.clock.now(), note);
  });
  if (!done) throw new ControlPlaneError('INCIDENT_UNCHANGED', `incident ${id} was not acknowledged`);
  return done;
}

/** Resolving stops everything: no further page, no further escalation. */
export async function resolveIncident(
  ctx: ControlPlaneContext,
  id: string,
  by: string,
  resolution: string,
): Promise<Incident> {
  const done = await updateIncidentWithRetry(ctx, id, (current) => {
    if (current.status === 'resolved')
      throw new ControlPlaneError('INCIDENT_RESOLVED', `incident ${id} is already resolved`);
    return resolve(current, by, resolution, ctx.clock.now());
  });
  if (!done) throw new ControlPlaneError('INCIDENT_UNCHANGED', `incident ${id} was not resolved`);
  await incidentResolved(ctx, done, ctx.clock.now());
  return done;
}

/**
 * A note on the incident's timeline. Allowed on a resolved incident too (what was learnt afterwards belongs with
 * it); the stored report of a resolved incident is then written again, so it carries the note.
 */
export async function noteIncident(ctx: ControlPlaneContext, id: string, by: string, text: string): Promise<Incident> {
  const done = await updateIncidentWithRetry(ctx, id, (current) => ({
    incident: current,
    timeline: [{ at: ctx.clock.now(), type: 'note', by, text }],
  }));
  if (!done) throw new ControlPlaneError('INCIDENT_UNCHANGED', `incident ${id} was not noted`);
  if (done.status === 'resolved') await writeIncidentReport(ctx, id);
  return done;
}

/**
 * Ticks a step of a security incident's checklist off. Allowed on a resolved incident (the report step comes
 * last), whose stored report is then written again.
 * @throws UsageError for an incident without the checklist, or a step already ticked.
 */
export async function tickChecklistStep(
  ctx: ControlPlaneContext,
  id: string,
  tick: { readonly step: SecurityStep; readonly by: string; readonly note?: string | undefined },
): Promise<Incident> {
  const done = await updateIncidentWithRetry(ctx, id, async (current) => ({
    incident: current,
    timeline: [tickStep(current, await ctx.incidents.getTimeline(current.id), tick, ctx.clock.now())],
  }));
  if (!done) throw new ControlPlaneError('INCIDENT_UNCHANGED', `step ${tick.step} of incident ${id} was not ticked`);
  if (done.status === 'resolved') await writeIncidentReport(ctx, id);
  return done;
}

export interface DeclaredIncident {
  readonly kind: Extract<IncidentKind, 'security' | 'manual'>;
  readonly title: string;
  readonly severity: Severity;
  readonly services: readonly string[];
  readonly by: string;
  /** Security incidents: isolate the named services. @default true for security, false for the others */
  readonly isolate?: boolean;
}

/** How the isolation of one service went, for a security incident. */
export interface IsolationOutcome {
  readonly service: string;
  readonly status: ProcedureOutcome;
  readonly output: string;
}

export interface Declaration {
  readonly incident: Incident;
  /** One per service isolated (in the order named); empty when nothing was to be isolated. */
  readonly isolation: readonly IsolationOutcome[];
}

/**
 * An incident an operator declares (the runbook's `incident --type ... --severity ...`), e.g. a security alert.
 * It pages like any other and is never auto-resolved: a person resolves it.
 *
 * A security incident is the runbook's "Security Alert": a P1 whose first page reaches the level whose scope names
 * security incidents (`immediateFor` in the config) at once, never muted, carrying the checklist; unless told not
 * to, it isolates each named service (recorded, then the isolate document), each isolation going on its timeline as
 * a procedure, and ticks `isolate` once every one succeeded. The pages go out before the isolation runs: a slow or
 * failing isolation delays nobody's page.
 */
export async function declareIncident(ctx: ControlPlaneContext, declared: DeclaredIncident): Promise<Declaration> {
  const unknown = declared.services.filter((s) => !ctx.config.services.some((c) => c.name === s));
  if (unknown.length > 0) throw new UsageError(`unknown service(s): ${unknown.join(', ')}`);
  if (declared.title.trim().length === 0) throw new UsageError('an incident needs a description');
  const security = declared.kind === 'security';
  if (security && declared.severity !== 'P1')
    throw new UsageError(
      `severity: a security incident is P1 (the runbook's security breach), not ${declared.severity}`,
    );
  if (!security && declared.isolate === true) throw new UsageError('isolate: only a security incident isolates');
  const now = ctx.clock.now();
  const key = `${declared.kind}:${declared.services.join(',') || '*'}@${ctx.config.fleet.name}:${now}`;
  const fresh = openIncident(
    {
      dedupKey: key,
      kind: declared.kind,
      severity: declared.severity,
      title: declared.title,
      targets: [],
      services: declared.services,
      flapping: false,
      detail: `declared by ${declared.by}: ${declared.title}`,
      failingSince: now,
    },
    freezePolicy(ctx.config, declared.kind),
    now,
  );
  const created = await createIncidentWithNotices(ctx, fresh.incident, fresh.timeline);
  let incident = created.created ? created.incident : created.existing;
  if (created.created)
    await publishEvents(ctx, [{ detailType: DETAIL_TYPE.incidentOpened, detail: incidentEventDetail(incident, now) }]);
  const windows = await mutingWindows(ctx, now);
  incident = (await advanceEscalation(ctx, incident, windows)) ?? incident;
  if (!created.created || !security || declared.isolate === false || declared.services.length === 0)
    return { incident, isolation: [] };

  const isolation: IsolationOutcome[] = [];
  for (const service of declared.services) {
    let outcome: IsolationOutcome;
    try {
      const run = await isolateService(ctx, { service, by: declared.by });
      outcome = { service, status: run.result.status, output: run.result.output };
    } catch (error) {
      // The incident is open and paged whatever happens here: a failure is reported, never thrown.
      outcome = { service, status: 'failed', output: errorMessage(error) };
    }
    isolation.push(outcome);
    await recordProcedureOnIncidents(ctx, {
      by: declared.by,
      action: 'service.isolate',
      services: [service],
      outcome: outcome.status,
      detail: lastLine(outcome.output),
    });
  }
  if (isolation.every((i) => i.status === 'succeeded'))
    incident = await tickChecklistStep(ctx, incident.id, {
      step: 'isolate',
      by: declared.by,
      note: `isolated ${declared.services.join(', ')}`,
    });
  else incident = (await ctx.incidents.getIncident(incident.id)) ?? incident;
  return { incident, isolation };
}

function lastLine(output: string): string {
  const lines = output.trim().split('\n');
  return (lines[lines.length - 1] ?? '').slice(0, 300);
}
