import * as z from 'zod';
import { NotFoundError } from '../../core/errors.ts';
import { describeNextStep } from '../../core/escalation.ts';
import { SEVERITIES } from '../../core/fleet-constants.ts';
import { type Incident, incidentMetrics, type TimelineEntry } from '../../core/incident.ts';
import { checkInput, incidentNote, incidentReason, incidentTitle, serviceNames } from '../../core/operator-input.ts';
import type { ControlPlaneContext } from '../context.ts';
import { acknowledgeIncident, declareIncident, resolveIncident } from '../operator-actions.ts';
import { parseBody, type Route } from './route.ts';

/*
 *   GET  /incidents[?all=true]        open incidents (all recent ones with all=true)
 *   GET  /incidents/{id}              one incident with its timeline
 *   POST /incidents/{id}/ack          {"note"?: string}
 *   POST /incidents/{id}/resolve      {"reason": string}
 *   POST /incidents                   {"type": "security"|"manual", "severity", "title", "services"?: string[]}
 */

/** Every field bounded and free of control characters (core/operator-input.ts); the CLI checks its flags with these. */
export const ackBody = z.strictObject({ note: incidentNote.optional() });
export const resolveBody = z.strictObject({ reason: incidentReason });
export const declareBody = z.strictObject({
  type: z.enum(['security', 'manual']),
  severity: z.enum(SEVERITIES),
  title: incidentTitle,
  services: serviceNames.default([]),
});
const listQuery = z.object({ all: z.enum(['true', 'false'], 'must be true or false').optional() });

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
      const incident = await declareIncident(ctx, {
        kind: body.type,
        severity: body.severity,
        title: body.title,
        services: body.services,
        by: request.caller,
      });
      return { statusCode: 201, body: incidentView(incident, now) };
    },
  },
  {
    method: 'GET',
    path: new RegExp(`^/incidents/${INCIDENT_ID}$`),
    async handle({ ctx, now, params }) {
      const incident = await existing(ctx, params.id as string);
      const timeline = await ctx.incidents.getTimeline(incident.id);
      return { statusCode: 200, body: { ...incidentView(incident, now), timeline: timeline.map(isoEntry) } };
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

function isoEntry(e: TimelineEntry) {
  return { ...e, at: new Date(e.at).toISOString() };
}
