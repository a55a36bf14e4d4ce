import { auditOutcome, boundedAuditEntry } from '../core/audit.ts';
import { ControlPlaneError, errorMessage, NotFoundError, UsageError } from '../core/errors.ts';
import { callerName, checkInput } from '../core/operator-input.ts';
import type { ApiOptions, ApiRequest, ApiResponse, Route } from './api/route.ts';
import type { ControlPlaneContext } from './context.ts';

export type { ApiOptions, ApiRequest, ApiResponse } from './api/route.ts';

/** Routes under some first path segments (`incidents` for `/incidents/{id}/ack`), loaded together. */
export interface RouteGroup {
  /** The first segment of every path of these routes. */
  readonly segments: readonly string[];
  readonly load: () => Promise<readonly Route[]>;
}

/**
 * The operators' API, the same on every transport (a Lambda Function URL with IAM auth in AWS, the CLI in-process on
 * one host): every route of `ROUTE_GROUPS`, each in the module of its subject under `api/`. A group's module is
 * imported with the first request under one of its segments (a chunk of its own in a Lambda bundle), so a cold start
 * neither compiles nor runs the routes, use-cases and SDK clients its request does not reach. Three groups, not one
 * per module: each split point adds chunks to the zipped asset.
 */
export const ROUTE_GROUPS: readonly RouteGroup[] = [
  {
    segments: ['incidents', 'audit', 'maintenance', 'procedures', 'escalation'],
    load: async () => (await import('./api/records-routes.ts')).recordsRoutes,
  },
  {
    segments: ['services', 'fleet', 'health'],
    load: async () => (await import('./api/fleet-procedure-routes.ts')).fleetProcedureRoutes,
  },
  { segments: ['backups'], load: async () => (await import('./api/backup-group-routes.ts')).backupGroupRoutes },
];

/** The routes that may match `path`: those of the group of its first segment (none for an unknown one). */
async function candidateRoutes(path: string): Promise<readonly Route[]> {
  const segment = /^\/([^/]*)/.exec(path)?.[1];
  const group = ROUTE_GROUPS.find((g) => segment !== undefined && g.segments.includes(segment));
  return group ? group.load() : [];
}

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
  for (const candidate of await candidateRoutes(path)) {
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
