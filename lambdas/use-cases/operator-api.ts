import * as z from 'zod';
import { ControlPlaneError, NotFoundError, UsageError } from '../core/errors.ts';
import { describeNextStep } from '../core/escalation.ts';
import { SEVERITIES } from '../core/fleet-constants.ts';
import { type Incident, incidentMetrics, type TimelineEntry } from '../core/incident.ts';
import {
  callerName,
  checkInput,
  incidentNote,
  incidentReason,
  incidentTitle,
  serviceNames,
} from '../core/operator-input.ts';
import type { ControlPlaneContext } from './context.ts';
import { acknowledgeIncident, declareIncident, resolveIncident } from './operator-actions.ts';

/**
 * The operators' API, the same on every transport (a Lambda Function URL with IAM auth in AWS): list and show
 * incidents, acknowledge, resolve, declare. Who acts comes from the authenticated caller, never from the body.
 *
 *   GET  /incidents[?all=true]        open incidents (all recent ones with all=true)
 *   GET  /incidents/{id}              one incident with its timeline
 *   POST /incidents/{id}/ack          {"note"?: string}
 *   POST /incidents/{id}/resolve      {"reason": string}
 *   POST /incidents                   {"type": "security"|"manual", "severity", "title", "services"?: string[]}
 */
export interface ApiRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string | undefined>>;
  readonly body: string | undefined;
  /** The authenticated caller (an IAM principal ARN in AWS). */
  readonly caller: string;
}

export interface ApiResponse {
  readonly statusCode: number;
  readonly body: unknown;
}

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

/** Far above any valid body (a reason of 1000 characters, JSON-escaped), far below what a Function URL accepts. */
export const MAX_BODY_BYTES = 16 * 1024;

const INCIDENT_PATH = /^\/incidents\/([A-Z0-9-]{1,64})(?:\/(ack|resolve))?$/;

export async function handleApiRequest(ctx: ControlPlaneContext, request: ApiRequest): Promise<ApiResponse> {
  try {
    return await route(ctx, request);
  } catch (error) {
    if (error instanceof UsageError) return { statusCode: 400, body: { error: error.message } };
    if (error instanceof NotFoundError) return { statusCode: 404, body: { error: error.message } };
    if (error instanceof ControlPlaneError && error.code === 'INCIDENT_RESOLVED')
      return { statusCode: 409, body: { error: error.message } };
    throw error;
  }
}

async function route(ctx: ControlPlaneContext, request: ApiRequest): Promise<ApiResponse> {
  const now = ctx.clock.now();
  const { method, path } = request;
  checkInput(callerName, request.caller, 'caller');
  if (path === '/incidents' && method === 'GET') {
    const incidents =
      checkInput(listQuery, { all: request.query.all }).all === 'true'
        ? await ctx.incidents.listIncidents({ limit: 100 })
        : await ctx.incidents.listOpenIncidents();
    return { statusCode: 200, body: { incidents: incidents.map((i) => incidentView(i, now)) } };
  }
  if (path === '/incidents' && method === 'POST') {
    const body = parseBody(declareBody, request.body);
    const incident = await declareIncident(ctx, {
      kind: body.type,
      severity: body.severity,
      title: body.title,
      services: body.services,
      by: request.caller,
    });
    return { statusCode: 201, body: incidentView(incident, now) };
  }
  const match = INCIDENT_PATH.exec(path);
  if (!match?.[1]) return { statusCode: 404, body: { error: `no route ${method} ${path}` } };
  const [, id, action] = match;
  if (action === undefined && method === 'GET') {
    const incident = await ctx.incidents.getIncident(id);
    if (!incident) throw new NotFoundError(`incident ${id}`);
    const timeline = await ctx.incidents.getTimeline(id);
    return { statusCode: 200, body: { ...incidentView(incident, now), timeline: timeline.map(isoEntry) } };
  }
  if (method !== 'POST' || action === undefined)
    return { statusCode: 405, body: { error: `${method} is not allowed on ${path}` } };
  if (!(await ctx.incidents.getIncident(id))) throw new NotFoundError(`incident ${id}`);
  const done =
    action === 'ack'
      ? await acknowledgeIncident(ctx, id, request.caller, parseBody(ackBody, request.body).note)
      : await resolveIncident(ctx, id, request.caller, parseBody(resolveBody, request.body).reason);
  return { statusCode: 200, body: incidentView(done, now) };
}

function parseBody<T extends z.ZodType>(schema: T, body: string | undefined): z.output<T> {
  let raw: unknown = {};
  if (body !== undefined && Buffer.byteLength(body, 'utf8') > MAX_BODY_BYTES)
    throw new UsageError(`the request body is larger than ${MAX_BODY_BYTES} bytes`);
  if (body !== undefined && body.trim() !== '') {
    try {
      raw = JSON.parse(body);
    } catch {
      throw new UsageError('the request body is not valid JSON');
    }
  }
  return checkInput(schema, raw);
}

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
