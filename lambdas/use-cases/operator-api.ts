import { ControlPlaneError, NotFoundError, UsageError } from '../core/errors.ts';
import { callerName, checkInput } from '../core/operator-input.ts';
import { incidentRoutes } from './api/incident-routes.ts';
import { procedureRoutes } from './api/procedure-routes.ts';
import type { ApiRequest, ApiResponse, Route } from './api/route.ts';
import type { ControlPlaneContext } from './context.ts';

export type { ApiRequest, ApiResponse } from './api/route.ts';

/**
 * The operators' API, the same on every transport (a Lambda Function URL with IAM auth in AWS, the CLI in-process on
 * one host): every route of `ROUTES`, each in the module of its subject under `api/`.
 */
const ROUTES: readonly Route[] = [...incidentRoutes, ...procedureRoutes];

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
  checkInput(callerName, request.caller, 'caller');
  const { method, path } = request;
  let pathKnown = false;
  for (const candidate of ROUTES) {
    const match = candidate.path.exec(path);
    if (!match) continue;
    pathKnown = true;
    if (candidate.method !== method) continue;
    return candidate.handle({ ctx, request, now: ctx.clock.now(), params: { ...match.groups } });
  }
  if (pathKnown) return { statusCode: 405, body: { error: `${method} is not allowed on ${path}` } };
  return { statusCode: 404, body: { error: `no route ${method} ${path}` } };
}
