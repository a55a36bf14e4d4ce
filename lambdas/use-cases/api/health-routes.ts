import { SECOND_MS } from '../../core/duration.ts';
import { UsageError } from '../../core/errors.ts';
import { serviceNames } from '../../core/operator-input.ts';
import * as z from '../../core/zod-mini.ts';
import { awaitHealthy, probingHealth, recordedHealth } from '../await-healthy.ts';
import { isoInstant } from './audit-routes.ts';
import { parseBody, type Route } from './route.ts';

/*
 *   POST /health/wait  {"services": string[], "since"?: ISO-8601, "timeoutSeconds": 1..840}
 *     -> 200 {healthy: true, services} once every health check of those services is known healthy at or after
 *        `since`; 503 {healthy: false, unhealthy: [{service, state, reason}]} at the timeout.
 *   In AWS the operator Lambda is outside the VPC: it reads the states the scheduled probe records; a runtime whose
 *   context has a prober (one host) probes the services itself.
 */

/** Leaves room in the operator Lambda's 900 s for the reads and the answer. */
export const MAX_HEALTH_WAIT_SECONDS = 840;

export const healthWaitBody = z.strictObject({
  services: serviceNames.check(z.minLength(1, 'must name at least one service')),
  since: z.optional(isoInstant),
  timeoutSeconds: z
    .int('must be a whole number of seconds')
    .check(
      z.gte(1, `must be 1 to ${MAX_HEALTH_WAIT_SECONDS} seconds`),
      z.lte(MAX_HEALTH_WAIT_SECONDS, `must be 1 to ${MAX_HEALTH_WAIT_SECONDS} seconds`),
    ),
});

export const healthRoutes: readonly Route[] = [
  {
    method: 'POST',
    path: /^\/health\/wait$/,
    action: 'health.wait',
    async handle({ ctx, request, options }) {
      const body = parseBody(healthWaitBody, request.body);
      const known = ctx.config.services.map((s) => s.name);
      const unknown = body.services.filter((s) => !known.includes(s));
      if (unknown.length > 0)
        throw new UsageError(`services: unknown service ${unknown.join(', ')} (services: ${known.join(', ')})`);
      const result = await awaitHealthy(ctx, {
        services: body.services,
        timeoutMs: body.timeoutSeconds * SECOND_MS,
        ...(body.since === undefined ? {} : { since: body.since }),
        // Probed here where the runtime reaches the fleet (one host), else as the scheduled probe recorded it.
        observe: options.observeHealth ?? (ctx.prober ? probingHealth(ctx.prober) : recordedHealth),
        ...(options.sleep === undefined ? {} : { sleep: options.sleep }),
      });
      if (result.healthy)
        return { statusCode: 200, body: { healthy: true, services: result.services, waitedMs: result.waitedMs } };
      return {
        statusCode: 503,
        body: {
          healthy: false,
          unhealthy: result.unhealthy,
          waitedMs: result.waitedMs,
          error: `not healthy after ${body.timeoutSeconds} s: ${result.unhealthy.map((u) => `${u.service} ${u.state} (${u.reason})`).join('; ')}`,
        },
      };
    },
  },
];
