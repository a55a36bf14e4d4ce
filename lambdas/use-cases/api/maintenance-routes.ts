import { formatInstant, MINUTE_MS } from '../../core/duration.ts';
import { errorMessage, NotFoundError, UsageError } from '../../core/errors.ts';
import { MAINTENANCE_WINDOW_DELAY, type MaintenanceWindow } from '../../core/escalation.ts';
import { incidentReason, MAX_DECLARED_SERVICES } from '../../core/operator-input.ts';
import * as z from '../../core/zod-mini.ts';
import type { ControlPlaneContext } from '../context.ts';
import { checkMaintenanceSubjects, closeMaintenanceWindow, openMaintenanceWindow } from '../maintenance.ts';
import { recordProcedureOnIncidents } from '../record-procedure.ts';
import { parseBody, type Route } from './route.ts';
import { windowMinutes } from './service-routes.ts';

/*
 *   GET  /maintenance              current and future windows: {windows: [{id, subjects, from, until, reason, by}]}
 *   POST /maintenance              {"subjects": string[] ("*" = the fleet), "minutes": 1..10080, "reason": string,
 *                                   "delayMinutes"?: 0..43200} -> 201, the procedure answer with its window
 *   POST /maintenance/{id}/end     {} -> 200; 404 when no current or future window has that id
 */

const subject = z
  .string()
  .check(
    z.regex(
      /^(\*|[a-z][a-z0-9-]{0,38}[a-z0-9])$/,
      'must be "*" or a service or check name (lower-case letters, digits and dashes)',
    ),
  );
export const maintenanceBody = z.strictObject({
  subjects: z
    .array(subject)
    .check(
      z.minLength(1, 'must name at least one service or check ("*" for the fleet)'),
      z.maxLength(MAX_DECLARED_SERVICES, `at most ${MAX_DECLARED_SERVICES} subjects`),
    ),
  minutes: windowMinutes,
  reason: incidentReason,
  delayMinutes: z.optional(
    z
      .int('must be a whole number of minutes')
      .check(
        z.gte(0, `must be 0 to ${MAINTENANCE_WINDOW_DELAY.max / MINUTE_MS} minutes`),
        z.lte(
          MAINTENANCE_WINDOW_DELAY.max / MINUTE_MS,
          `must be 0 to ${MAINTENANCE_WINDOW_DELAY.max / MINUTE_MS} minutes`,
        ),
      ),
  ),
});
const endBody = z.strictObject({});

const WINDOW_ID = '(?<id>[A-Za-z0-9:_-]{1,80})';

export function windowView(w: MaintenanceWindow) {
  return {
    id: w.id,
    subjects: [...w.subjects],
    from: formatInstant(w.startsAt),
    until: formatInstant(w.endsAt),
    startsAt: w.startsAt,
    endsAt: w.endsAt,
    reason: w.reason,
    by: w.createdBy,
  };
}

/** The services a window concerns on the timelines: none for the whole fleet (every open incident hears of it). */
function concerns(w: MaintenanceWindow): string[] {
  return w.subjects.includes('*') ? [] : [...w.subjects];
}

async function record(ctx: ControlPlaneContext, by: string, action: string, w: MaintenanceWindow, detail: string) {
  try {
    await recordProcedureOnIncidents(ctx, { by, action, services: concerns(w), outcome: 'succeeded', detail });
  } catch (error) {
    ctx.log('procedure-record-failed', { action, error: errorMessage(error) });
  }
}

function answer(action: string, w: MaintenanceWindow, output: string) {
  return {
    procedure: action,
    services: [...w.subjects],
    status: 'succeeded' as const,
    output,
    window: windowView(w),
  };
}

export const maintenanceRoutes: readonly Route[] = [
  {
    method: 'GET',
    path: /^\/maintenance$/,
    async handle({ ctx, now }) {
      const windows = await ctx.control.listMaintenanceWindows(now);
      return { statusCode: 200, body: { windows: windows.map(windowView) } };
    },
  },
  {
    method: 'POST',
    path: /^\/maintenance$/,
    action: 'maintenance.start',
    async handle({ ctx, request }) {
      const body = parseBody(maintenanceBody, request.body);
      try {
        checkMaintenanceSubjects(ctx.config, body.subjects);
      } catch (error) {
        throw new UsageError(`subjects: ${errorMessage(error)}`, { cause: error });
      }
      const opened = await openMaintenanceWindow(ctx, {
        subjects: body.subjects,
        lengthMs: body.minutes * MINUTE_MS,
        delayMs: (body.delayMinutes ?? 0) * MINUTE_MS,
        reason: body.reason,
        by: request.caller,
      });
      const output = `opened ${opened.id} for ${opened.subjects.join(', ')} from ${formatInstant(opened.startsAt)} until ${formatInstant(opened.endsAt)}\n`;
      await record(ctx, request.caller, 'maintenance.start', opened, output.trimEnd());
      return { statusCode: 201, body: answer('maintenance.start', opened, output) };
    },
  },
  {
    method: 'POST',
    path: new RegExp(`^/maintenance/${WINDOW_ID}/end$`),
    action: 'maintenance.end',
    async handle({ ctx, request, params, now }) {
      parseBody(endBody, request.body);
      const window = (await ctx.control.listMaintenanceWindows(now)).find((w) => w.id === params.id);
      if (!window) throw new NotFoundError(`current or future maintenance window ${params.id}`);
      const { window: ended, unmuted } = await closeMaintenanceWindow(ctx, window);
      const output = `ended ${ended.id}${unmuted.length > 0 ? `; ${unmuted.length} muted incident(s) page at the next sweep` : ''}\n`;
      await record(ctx, request.caller, 'maintenance.end', ended, output.trimEnd());
      return {
        statusCode: 200,
        body: { ...answer('maintenance.end', ended, output), unmuted: unmuted.map((i) => i.id) },
      };
    },
  },
];
