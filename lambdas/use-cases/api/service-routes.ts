import { MINUTE_MS } from '../../core/duration.ts';
import { NotFoundError } from '../../core/errors.ts';
import { MAINTENANCE_WINDOW_LENGTH } from '../../core/escalation.ts';
import { checkInput } from '../../core/operator-input.ts';
import * as z from '../../core/zod-mini.ts';
import { listServiceStatus } from '../await-healthy.ts';
import type { ControlPlaneContext } from '../context.ts';
import {
  isolateService,
  type ProcedureRun,
  releaseService,
  restartService,
  startService,
  stopService,
} from '../service-procedures.ts';
import { answerProcedure } from './procedure-response.ts';
import { parseBody, type Route, type RouteCall } from './route.ts';

/*
 *   GET  /services                      every service: {name, host, port, state, isolated, since, reason}
 *   POST /services/{name}/restart       {"force"?: boolean}
 *   POST /services/{name}/start         {"force"?: boolean}
 *   POST /services/{name}/stop          {"windowMinutes"?: 1..10080}  (opens the window first)
 *   POST /services/{name}/isolate       {}
 *   POST /services/{name}/release       {}
 * Each procedure answers with its outcome (procedure-response.ts): 200, 502 the fleet failed it, 409 refused.
 */

/** A maintenance window's length in whole minutes, within MAINTENANCE_WINDOW_LENGTH (1 minute to 7 days). */
export const windowMinutes = z
  .int('must be a whole number of minutes')
  .check(
    z.gte(
      MAINTENANCE_WINDOW_LENGTH.min / MINUTE_MS,
      `must be ${MAINTENANCE_WINDOW_LENGTH.min / MINUTE_MS} to ${MAINTENANCE_WINDOW_LENGTH.max / MINUTE_MS} minutes`,
    ),
    z.lte(
      MAINTENANCE_WINDOW_LENGTH.max / MINUTE_MS,
      `must be ${MAINTENANCE_WINDOW_LENGTH.min / MINUTE_MS} to ${MAINTENANCE_WINDOW_LENGTH.max / MINUTE_MS} minutes`,
    ),
  );

export const forceBody = z.strictObject({ force: z.optional(z.boolean('must be true or false')) });
export const stopBody = z.strictObject({ windowMinutes: z.optional(windowMinutes) });
export const emptyBody = z.strictObject({});

/** Any segment reaches the route, so that a hostile one is a 400 naming it rather than a bare "no route". */
const SERVICE_SEGMENT = '(?<name>[^/]{1,200})';
const serviceName = z
  .string()
  .check(z.regex(/^[a-z][a-z0-9-]{0,38}[a-z0-9]$/, 'must be a service name (lower-case letters, digits and dashes)'));

/**
 * The path's service, checked: a name that cannot be a service is a 400 naming `name`, one the fleet does not have a
 * 404 listing the services it has.
 */
export function pathService(ctx: ControlPlaneContext, raw: string | undefined): string {
  const name = checkInput(serviceName, raw, 'name');
  if (!ctx.config.services.some((s) => s.name === name))
    throw new NotFoundError(`service ${name} (services: ${ctx.config.services.map((s) => s.name).join(', ')})`);
  return name;
}

function serviceProcedure<T extends z.core.$ZodType>(
  verb: string,
  schema: T,
  run: (ctx: ControlPlaneContext, service: string, body: z.output<T>, by: string) => Promise<ProcedureRun>,
): Route {
  const action = `service.${verb}`;
  return {
    method: 'POST',
    path: new RegExp(`^/services/${SERVICE_SEGMENT}/${verb}$`),
    action,
    async handle({ ctx, request, params }: RouteCall) {
      const service = pathService(ctx, params.name);
      const body = parseBody(schema, request.body);
      return answerProcedure({
        ctx,
        by: request.caller,
        action,
        concerns: [service],
        run: () => run(ctx, service, body, request.caller),
      });
    },
  };
}

export const serviceRoutes: readonly Route[] = [
  {
    method: 'GET',
    path: /^\/services$/,
    async handle({ ctx }) {
      const services = await listServiceStatus(ctx);
      return {
        statusCode: 200,
        body: {
          services: services.map((s) => ({
            name: s.name,
            host: s.host,
            port: s.port,
            state: s.state,
            isolated: s.isolated,
            since: s.since === undefined ? null : new Date(s.since).toISOString(),
            reason: s.reason ?? null,
          })),
        },
      };
    },
  },
  serviceProcedure('restart', forceBody, (ctx, service, body) =>
    restartService(ctx, { service, force: body.force ?? false }),
  ),
  serviceProcedure('start', forceBody, (ctx, service, body, by) =>
    startService(ctx, { service, by, force: body.force ?? false }),
  ),
  serviceProcedure('stop', stopBody, (ctx, service, body, by) =>
    stopService(ctx, {
      service,
      by,
      ...(body.windowMinutes === undefined ? {} : { windowMs: body.windowMinutes * MINUTE_MS }),
    }),
  ),
  serviceProcedure('isolate', emptyBody, (ctx, service, _body, by) => isolateService(ctx, { service, by })),
  serviceProcedure('release', emptyBody, (ctx, service, _body, by) => releaseService(ctx, { service, by })),
];
