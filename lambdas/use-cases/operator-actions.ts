import type { Severity } from '../core/config-schema.ts';
import { ControlPlaneError, UsageError } from '../core/errors.ts';
import { acknowledge, freezePolicy, resolve } from '../core/escalation.ts';
import { DETAIL_TYPE, incidentEventDetail } from '../core/events.ts';
import type { Incident, IncidentKind } from '../core/incident.ts';
import { openIncident } from '../core/incident-planner.ts';
import { advanceEscalation } from './advance-escalation.ts';
import { type ControlPlaneContext, mutingWindows, publishEvents } from './context.ts';
import { updateIncidentWithRetry } from './update-incident.ts';

/** Acknowledging stops escalation until the severity's ack timeout; it is refused on a resolved incident. */
export async function acknowledgeIncident(
  ctx: ControlPlaneContext,
  id: string,
  by: string,
  note?: string,
): Promise<Incident> {
  const done = await updateIncidentWithRetry(ctx.incidents, id, (current) => {
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
  const done = await updateIncidentWithRetry(ctx.incidents, id, (current) => {
    if (current.status === 'resolved')
      throw new ControlPlaneError('INCIDENT_RESOLVED', `incident ${id} is already resolved`);
    return resolve(current, by, resolution, ctx.clock.now());
  });
  if (!done) throw new ControlPlaneError('INCIDENT_UNCHANGED', `incident ${id} was not resolved`);
  await publishEvents(ctx, [
    { detailType: DETAIL_TYPE.incidentResolved, detail: incidentEventDetail(done, ctx.clock.now()) },
  ]);
  return done;
}

export interface DeclaredIncident {
  readonly kind: Extract<IncidentKind, 'security' | 'manual'>;
  readonly title: string;
  readonly severity: Severity;
  readonly services: readonly string[];
  readonly by: string;
}

/**
 * An incident an operator declares (the runbook's `incident --type ... --severity ...`), e.g. a security alert.
 * It pages like any other and is never auto-resolved: a person resolves it.
 */
export async function declareIncident(ctx: ControlPlaneContext, declared: DeclaredIncident): Promise<Incident> {
  const unknown = declared.services.filter((s) => !ctx.config.services.some((c) => c.name === s));
  if (unknown.length > 0) throw new UsageError(`unknown service(s): ${unknown.join(', ')}`);
  if (declared.title.trim().length === 0) throw new UsageError('an incident needs a description');
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
    freezePolicy(ctx.config),
    now,
  );
  const created = await ctx.incidents.createIncident(fresh.incident, fresh.timeline);
  const incident = created.created ? created.incident : created.existing;
  if (created.created)
    await publishEvents(ctx, [{ detailType: DETAIL_TYPE.incidentOpened, detail: incidentEventDetail(incident, now) }]);
  const windows = await mutingWindows(ctx, now);
  return (await advanceEscalation(ctx, incident, windows)) ?? incident;
}
