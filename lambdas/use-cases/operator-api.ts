import { auditOutcome, boundedAuditEntry } from '../core/audit.ts';
import { ControlPlaneError, errorMessage, NotFoundError, UsageError } from '../core/errors.ts';
import { callerName, checkInput } from '../core/operator-input.ts';
import { archivingRoutes } from './api/archiving-routes.ts';
import { auditRoutes } from './api/audit-routes.ts';
import { backupRoutes } from './api/backup-routes.ts';
import { escalationRoutes } from './api/escalation-routes.ts';
import { fleetRoutes } from './api/fleet-routes.ts';
import { healthRoutes } from './api/health-routes.ts';
import { incidentRoutes } from './api/incident-routes.ts';
import { maintenanceRoutes } from './api/maintenance-routes.ts';
import { procedureRoutes } from './api/procedure-routes.ts';
import { rollingUpdateRoutes } from './api/rolling-update-route.ts';
import type { ApiOptions, ApiRequest, ApiResponse, Route } from './api/route.ts';
import { serviceRoutes } from './api/service-routes.ts';
import type { ControlPlaneContext } from './context.ts';

export type { ApiOptions, ApiRequest, ApiResponse } from './api/route.ts';

/**
 * The operators' API, the same on every transport (a Lambda Function URL with IAM auth in AWS, the CLI in-process on
 * one host): every route of `ROUTES`, each in the module of its subject under `api/`.
 */
const ROUTES: readonly Route[] = [
  ...incidentRoutes,
  ...auditRoutes,
  ...serviceRoutes,
  ...fleetRoutes,
  ...maintenanceRoutes,
  ...healthRoutes,
  ...backupRoutes,
  ...archivingRoutes,
  ...rollingUpdateRoutes,
  ...procedureRoutes,
  ...escalationRoutes,
];

/** What the router learnt of a request before its handler answered: the route it took and the path's values. */
interface Dispatch {
  route?: Route;
  params?: Readonly<Record<string, string>>;
}

/**
 * Answers one request. Every request but a GET is put on the audit trail once answered, whatever the answer (a
 * 4xx included); one whose handler threw is recorded as a 500 and the error rethrown.
 */
export async function handleApiRequest(
  ctx: ControlPlaneContext,
  request: ApiRequest,
  options: ApiOptions = {},
): Promise<ApiResponse> {
  const dispatch: Dispatch = {};
  let response: ApiResponse;
  try {
    response = await answer(ctx, request, dispatch, options);
  } catch (error) {
    if (request.method !== 'GET')
      await audit(ctx, request, dispatch, { statusCode: 500, body: { error: errorMessage(error) } });
    throw error;
  }
  if (request.method !== 'GET') await audit(ctx, request, dispatch, response);
  return response;
}

async function answer(
  ctx: ControlPlaneContext,
  request: ApiRequest,
  dispatch: Dispatch,
  options: ApiOptions,
): Promise<ApiResponse> {
  try {
    return await route(ctx, request, dispatch, options);
  } catch (error) {
    if (error instanceof UsageError) return { statusCode: 400, body: { error: error.message } };
    if (error instanceof NotFoundError) return { statusCode: 404, body: { error: error.message } };
    if (error instanceof ControlPlaneError && error.code === 'INCIDENT_RESOLVED')
      return { statusCode: 409, body: { error: error.message } };
    throw error;
  }
}

async function route(
  ctx: ControlPlaneContext,
  request: ApiRequest,
  dispatch: Dispatch,
  options: ApiOptions,
): Promise<ApiResponse> {
  checkInput(callerName, request.caller, 'caller');
  const { method, path } = request;
  let pathKnown = false;
  for (const candidate of ROUTES) {
    const match = candidate.path.exec(path);
    if (!match) continue;
    pathKnown = true;
    if (candidate.method !== method) continue;
    const params = { ...match.groups };
    dispatch.route = candidate;
    dispatch.params = params;
    return candidate.handle({ ctx, request, now: ctx.clock.now(), params, options });
  }
  if (pathKnown) return { statusCode: 405, body: { error: `${method} is not allowed on ${path}` } };
  return { statusCode: 404, body: { error: `no route ${method} ${path}` } };
}

/**
 * Records the request on the audit trail. A failure to write it is logged, not answered: the procedure has run, and
 * answering an error would tell the operator it had not.
 */
async function audit(
  ctx: ControlPlaneContext,
  request: ApiRequest,
  dispatch: Dispatch,
  response: ApiResponse,
): Promise<void> {
  const body = (typeof response.body === 'object' && response.body !== null ? response.body : {}) as Record<
    string,
    unknown
  >;
  const entry = boundedAuditEntry({
    at: ctx.clock.now(),
    caller: request.caller,
    method: request.method,
    path: request.path,
    action: dispatch.route?.action ?? 'unrouted',
    subjects: subjectsOf(request, dispatch, body),
    statusCode: response.statusCode,
    outcome: auditOutcome(response.statusCode, body),
    detail: detailOf(response.statusCode, body),
  });
  try {
    await ctx.control.appendAudit(entry);
  } catch (error) {
    ctx.log('audit-failed', { action: entry.action, path: entry.path, error: errorMessage(error) });
  }
}

/** What the request concerned: the services a procedure ran on, else the path's values, else the body's lists. */
function subjectsOf(request: ApiRequest, dispatch: Dispatch, body: Record<string, unknown>): string[] {
  const strings = (value: unknown) =>
    Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  const services = strings(body.services);
  if (services.length > 0) return services;
  const params = Object.values(dispatch.params ?? {}).filter((v): v is string => typeof v === 'string');
  if (params.length > 0) return params;
  try {
    const sent = JSON.parse(request.body ?? '{}') as Record<string, unknown>;
    return [...strings(sent.services), ...strings(sent.subjects)];
  } catch {
    return [];
  }
}

/** One line: the error, else the procedure's own last word, else the status code. */
function detailOf(statusCode: number, body: Record<string, unknown>): string {
  if (typeof body.error === 'string') return body.error;
  if (typeof body.output === 'string') {
    const last = body.output.trimEnd().split('\n').pop();
    if (last) return last;
  }
  if (typeof body.detail === 'string') return body.detail;
  return `HTTP ${statusCode}`;
}
