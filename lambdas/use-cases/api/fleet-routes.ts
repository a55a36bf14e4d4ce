import { MINUTE_MS } from '../../core/duration.ts';
import { UsageError } from '../../core/errors.ts';
import { serviceNames } from '../../core/operator-input.ts';
import * as z from '../../core/zod-mini.ts';
import type { ControlPlaneContext } from '../context.ts';
import { type ProcedureRun, restartAll, startAll, stopAll } from '../service-procedures.ts';
import { answerProcedure } from './procedure-response.ts';
import { parseBody, type Route } from './route.ts';
import { windowMinutes } from './service-routes.ts';

/*
 *   POST /fleet/start-all    {"services"?: string[], "timeoutSeconds"?: 1..9999}
 *   POST /fleet/stop-all     {"services"?: string[], "windowMinutes"?: 1..10080}
 *   POST /fleet/restart-all  {"services"?: string[], "windowMinutes"?: 1..10080}
 * No services: the whole fleet in config order (the runbook's dependency order). A list spanning hosts runs one
 * document per consecutive run of services on one host.
 */

const services = serviceNames.check(
  z.minLength(1, 'must name at least one service (or leave services out for the whole fleet)'),
);
export const startAllBody = z.strictObject({
  services: z.optional(services),
  timeoutSeconds: z.optional(
    z
      .int('must be a whole number of seconds')
      .check(z.gte(1, 'must be 1 to 9999 seconds'), z.lte(9999, 'must be 1 to 9999 seconds')),
  ),
});
export const stopAllBody = z.strictObject({
  services: z.optional(services),
  windowMinutes: z.optional(windowMinutes),
});
export const restartAllBody = stopAllBody;

/** The services named are the fleet's: a 400 naming `services` and the unknown ones otherwise. */
function fleetList(ctx: ControlPlaneContext, names: readonly string[] | undefined): string[] | undefined {
  if (names === undefined) return undefined;
  const known = ctx.config.services.map((s) => s.name);
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length > 0)
    throw new UsageError(`services: unknown service ${unknown.join(', ')} (services: ${known.join(', ')})`);
  return [...names];
}

function fleetProcedure<T extends z.core.$ZodType<{ services?: string[] | undefined }>>(
  verb: string,
  schema: T,
  run: (
    ctx: ControlPlaneContext,
    body: z.output<T>,
    services: string[] | undefined,
    by: string,
  ) => Promise<ProcedureRun>,
): Route {
  const action = `fleet.${verb}`;
  return {
    method: 'POST',
    path: new RegExp(`^/fleet/${verb}$`),
    action,
    async handle({ ctx, request }) {
      const body = parseBody(schema, request.body);
      const named = fleetList(ctx, body.services);
      return answerProcedure({
        ctx,
        by: request.caller,
        action,
        // The whole fleet concerns every open incident.
        concerns: named ?? [],
        run: () => run(ctx, body, named, request.caller),
      });
    },
  };
}

const windowOf = (minutes: number | undefined) => (minutes === undefined ? {} : { windowMs: minutes * MINUTE_MS });
const listOf = (named: string[] | undefined) => (named === undefined ? {} : { services: named });

export const fleetRoutes: readonly Route[] = [
  fleetProcedure('start-all', startAllBody, (ctx, body, named) =>
    startAll(ctx, {
      ...listOf(named),
      ...(body.timeoutSeconds === undefined ? {} : { timeoutSeconds: body.timeoutSeconds }),
    }),
  ),
  fleetProcedure('stop-all', stopAllBody, (ctx, body, named, by) =>
    stopAll(ctx, { ...listOf(named), by, ...windowOf(body.windowMinutes) }),
  ),
  fleetProcedure('restart-all', restartAllBody, (ctx, body, named, by) =>
    restartAll(ctx, { ...listOf(named), by, ...windowOf(body.windowMinutes) }),
  ),
];
