import { NotFoundError } from '../../core/errors.ts';
import { describeNextStep } from '../../core/escalation.ts';
import { SEVERITIES } from '../../core/fleet-constants.ts';
import { type Incident, incidentMetrics, type TimelineEntry } from '../../core/incident.ts';
import { REPORT_FORMATS } from '../../core/incident-report.ts';
import { checkInput, incidentNote, incidentReason, incidentTitle, serviceNames } from '../../core/operator-input.ts';
import { hasSecurityChecklist, parseSecurityStep, securityChecklist } from '../../core/security-checklist.ts';
import * as z from '../../core/zod-mini.ts';
import type { ControlPlaneContext } from '../context.ts';
import { incidentReport, renderReport } from '../incident-report.ts';
import {
  acknowledgeIncident,
  declareIncident,
  noteIncident,
  resolveIncident,
  tickChecklistStep,
} from '../operator-actions.ts';
import { parseBody, type Route } from './route.ts';

/*
 *   GET  /incidents[?all=true]        open incidents (all recent ones with all=true)
 *   GET  /incidents/{id}              one incident with its timeline
 *   POST /incidents/{id}/ack          {"note"?: string}
 *   POST /incidents/{id}/resolve      {"reason": string}
 *   POST /incidents                   {"type": "security"|"manual", "severity"?, "title", "services"?: string[],
 *                                      "isolate"?: boolean}   (security: P1, isolates unless isolate is false)
 *   POST /incidents/{id}/note         {"note": string}
 *   POST /incidents/{id}/checklist/{step}  {"note"?: string}   (security incidents: isolate, assess, contain, ...)
 *   GET  /incidents/{id}/report[?format=md|json]
 */

/** Every field bounded and free of control characters (core/operator-input.ts); the CLI checks its flags with these. */
export const ackBody = z.strictObject({ note: z.optional(incidentNote) });
export const resolveBody = z.strictObject({ reason: incidentReason });
export const declareBody = z
  .strictObject({
    type: z.enum(['security', 'manual']),
    /** Required for a manual incident; a security incident is P1. */
    severity: z.optional(z.enum(SEVERITIES)),
    title: incidentTitle,
    services: z._default(serviceNames, []),
    /** Security incidents only: isolate the named services. @default true */
    isolate: z.optional(z.boolean()),
  })
  .check(
    z.superRefine((body, ctx) => {
      if (body.type === 'manual' && body.severity === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['severity'],
          message: 'a manual incident needs a severity (P1, P2 or P3)',
        });
      if (body.type === 'security' && body.severity !== undefined && body.severity !== 'P1')
        ctx.addIssue({ code: 'custom', path: ['severity'], message: 'a security incident is P1' });
      if (body.type === 'manual' && body.isolate !== undefined)
        ctx.addIssue({ code: 'custom', path: ['isolate'], message: 'only a security incident isolates services' });
    }),
  );
export const noteBody = z.strictObject({ note: incidentNote });
export const checklistBody = z.strictObject({ note: z.optional(incidentNote) });
const reportQuery = z.object({ format: z.optional(z.enum(REPORT_FORMATS, 'must be md or json')) });
const listQuery = z.object({ all: z.optional(z.enum(['true', 'false'], 'must be true or false')) });

/** An incident id as a path segment. */
export const INCIDENT_ID = '(?<id>[A-Z0-9-]{1,64})';

async function existing(ctx: ControlPlaneContext, id: string): Promise<Incident> {
  const incident = await ctx.incidents.getIncident(id);
  if (!incident) throw new NotFoundError(`incident ${id}`);
  return incident;
}

export const incidentRoutes: readonly Route[] = [
  {
    method: 'GET',
    path: /^\/incidents$/,
    async handle({ ctx, request, now }) {
      const incidents =
        checkInput(listQuery, { all: request.query.all }).all === 'true'
          ? await ctx.incidents.listIncidents({ limit: 100 })
          : await ctx.incidents.listOpenIncidents();
      return { statusCode: 200, body: { incidents: incidents.map((i) => incidentView(i, now)) } };
    },
  },
  {
    method: 'POST',
    path: /^\/incidents$/,
    action: 'incident.declare',
    async handle({ ctx, request, now }) {
      const body = parseBody(declareBody, request.body);
      const { incident, isolation } = await declareIncident(ctx, {
        kind: body.type,
        severity: body.severity ?? 'P1',
        title: body.title,
        services: body.services,
        by: request.caller,
        ...(body.isolate === undefined ? {} : { isolate: body.isolate }),
      });
      return {
        statusCode: 201,
        body: { ...incidentView(incident, now), checklist: await checklistView(ctx, incident), isolation },
      };
    },
  },
  {
    method: 'GET',
    path: new RegExp(`^/incidents/${INCIDENT_ID}$`),
    async handle({ ctx, now, params }) {
      const incident = await existing(ctx, params.id as string);
      const timeline = await ctx.incidents.getTimeline(incident.id);
      return {
        statusCode: 200,
        body: {
          ...incidentView(incident, now),
          checklist: checklistOf(incident, timeline),
          timeline: timeline.map(isoEntry),
        },
      };
    },
  },
  {
    method: 'POST',
    path: new RegExp(`^/incidents/${INCIDENT_ID}/note$`),
    action: 'incident.note',
    async handle({ ctx, request, now, params }) {
      const incident = await existing(ctx, params.id as string);
      const { note } = parseBody(noteBody, request.body);
      return { statusCode: 200, body: incidentView(await noteIncident(ctx, incident.id, request.caller, note), now) };
    },
  },
  {
    method: 'POST',
    // Any segment: an unknown step is a 400 naming the steps, not a 404.
    path: new RegExp(`^/incidents/${INCIDENT_ID}/checklist/(?<step>[^/]{1,100})$`),
    action: 'incident.checklist',
    async handle({ ctx, request, now, params }) {
      const incident = await existing(ctx, params.id as string);
      const step = parseSecurityStep(params.step as string);
      const { note } = parseBody(checklistBody, request.body);
      const ticked = await tickChecklistStep(ctx, incident.id, { step, by: request.caller, note });
      return { statusCode: 200, body: { ...incidentView(ticked, now), checklist: await checklistView(ctx, ticked) } };
    },
  },
  {
    method: 'GET',
    path: new RegExp(`^/incidents/${INCIDENT_ID}/report$`),
    async handle({ ctx, request, params }) {
      const { format = 'json' } = checkInput(reportQuery, { format: request.query.format });
      const report = await incidentReport(ctx, params.id as string);
      return {
        statusCode: 200,
        body: format === 'json' ? report : { id: report.id, format, markdown: renderReport(report, 'md') },
      };
    },
  },
  {
    method: 'POST',
    path: new RegExp(`^/incidents/${INCIDENT_ID}/ack$`),
    action: 'incident.ack',
    async handle({ ctx, request, now, params }) {
      const incident = await existing(ctx, params.id as string);
      const { note } = parseBody(ackBody, request.body);
      return {
        statusCode: 200,
        body: incidentView(await acknowledgeIncident(ctx, incident.id, request.caller, note), now),
      };
    },
  },
  {
    method: 'POST',
    path: new RegExp(`^/incidents/${INCIDENT_ID}/resolve$`),
    action: 'incident.resolve',
    async handle({ ctx, request, now, params }) {
      const incident = await existing(ctx, params.id as string);
      const { reason } = parseBody(resolveBody, request.body);
      return {
        statusCode: 200,
        body: incidentView(await resolveIncident(ctx, incident.id, request.caller, reason), now),
      };
    },
  },
];

export function incidentView(incident: Incident, now: number) {
  const m = incidentMetrics(incident, now);
  return {
    id: incident.id,
    status: incident.status,
    severity: incident.severity,
    kind: incident.kind,
    title: incident.title,
    services: incident.services,
    flapping: incident.flapping,
    count: incident.count,
    failingSince: new Date(incident.failingSince).toISOString(),
    openedAt: new Date(incident.openedAt).toISOString(),
    lastSeen: new Date(incident.lastSeen).toISOString(),
    acknowledgedBy: incident.acknowledgedBy ?? null,
    resolvedAt: incident.resolvedAt === undefined ? null : new Date(incident.resolvedAt).toISOString(),
    resolution: incident.resolution ?? null,
    escalationLevel: incident.escalation.level,
    nextStep: describeNextStep(incident, now),
    mttdMs: m.mttdMs,
    mttaMs: m.mttaMs ?? null,
    mttrMs: m.mttrMs ?? null,
    slaMet: m.slaMet ?? null,
  };
}

/** The security checklist with ISO times; null for an incident that carries none. */
function checklistOf(incident: Incident, timeline: readonly TimelineEntry[]) {
  if (!hasSecurityChecklist(incident)) return null;
  return securityChecklist(timeline).map((i) => ({
    ...i,
    at: i.at === undefined ? null : new Date(i.at).toISOString(),
  }));
}

async function checklistView(ctx: ControlPlaneContext, incident: Incident) {
  return hasSecurityChecklist(incident) ? checklistOf(incident, await ctx.incidents.getTimeline(incident.id)) : null;
}

function isoEntry(e: TimelineEntry) {
  return { ...e, at: new Date(e.at).toISOString() };
}
