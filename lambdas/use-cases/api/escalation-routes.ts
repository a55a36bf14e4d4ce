import { SECOND_MS } from '../../core/duration.ts';
import { NotFoundError } from '../../core/errors.ts';
import { DEFAULT_ESCALATION_TEST_WAIT_MS, ESCALATION_TEST_WAIT, testPassed } from '../../core/escalation-test.ts';
import * as z from '../../core/zod-mini.ts';
import { closeEscalationTest, type StartedEscalationTest, startEscalationTest } from '../escalation-test.ts';
import { INCIDENT_ID, incidentView } from './incident-routes.ts';
import { parseBody, type Route } from './route.ts';

/*
 *   POST /escalation/test               {"channel"?: string, "level"?: 1..9, "waitSeconds"?: 10..86400} -> 201
 *                                        {id, level, levelName, channels, deadline, incident}; 502 when no channel
 *                                        took the page (the test is resolved as failed at once); 400 naming the field
 *   POST /escalation/test/{id}/close    {} -> 200 {passed, resolution, incident} once acknowledged (passed) or past
 *                                        its deadline (failed); 409 while it still waits; 404 for no test incident
 *
 * GET /incidents/{id} shows a test's state meanwhile (acknowledgedBy, nextStep).
 */

const MIN_WAIT_SECONDS = ESCALATION_TEST_WAIT.min / SECOND_MS;
const MAX_WAIT_SECONDS = ESCALATION_TEST_WAIT.max / SECOND_MS;

export const escalationTestBody = z.strictObject({
  channel: z.optional(
    z
      .string()
      .check(z.regex(/^[a-z][a-z0-9-]{0,62}$/, 'must be a channel name (lower-case letters, digits and dashes)')),
  ),
  level: z.optional(z.int('must be a whole number').check(z.gte(1, 'must be 1 to 9'), z.lte(9, 'must be 1 to 9'))),
  waitSeconds: z.optional(
    z
      .int('must be a whole number of seconds')
      .check(
        z.gte(MIN_WAIT_SECONDS, `must be ${MIN_WAIT_SECONDS} to ${MAX_WAIT_SECONDS} seconds`),
        z.lte(MAX_WAIT_SECONDS, `must be ${MIN_WAIT_SECONDS} to ${MAX_WAIT_SECONDS} seconds`),
      ),
  ),
});
const closeBody = z.strictObject({});

/** What POST /escalation/test answers (the CLI reads it). */
export function startedView(started: StartedEscalationTest, now: number) {
  return {
    id: started.incident.id,
    level: started.routing.level,
    levelName: started.routing.levelName,
    channels: [...started.routing.channels],
    ...(started.routing.channel === undefined ? {} : { channel: started.routing.channel }),
    deadline: new Date(started.deadline).toISOString(),
    ...(started.pageError === undefined ? {} : { error: `page not delivered: ${started.pageError}` }),
    incident: incidentView(started.incident, now),
  };
}

export const escalationRoutes: readonly Route[] = [
  {
    method: 'POST',
    path: /^\/escalation\/test$/,
    action: 'escalation.test',
    async handle({ ctx, request, now }) {
      const body = parseBody(escalationTestBody, request.body);
      const started = await startEscalationTest(ctx, {
        channel: body.channel,
        level: body.level,
        waitMs: body.waitSeconds === undefined ? DEFAULT_ESCALATION_TEST_WAIT_MS : body.waitSeconds * SECOND_MS,
        by: request.caller,
      });
      return { statusCode: started.pageError === undefined ? 201 : 502, body: startedView(started, now) };
    },
  },
  {
    method: 'POST',
    path: new RegExp(`^/escalation/test/${INCIDENT_ID}/close$`),
    action: 'escalation.test-close',
    async handle({ ctx, request, params }) {
      parseBody(closeBody, request.body);
      const id = params.id as string;
      const incident = await ctx.incidents.getIncident(id);
      if (incident?.kind !== 'test') throw new NotFoundError(`escalation test ${id}`);
      const { incident: closed, verdict } = await closeEscalationTest(ctx, id);
      const now = ctx.clock.now();
      if (closed.status !== 'resolved')
        return {
          statusCode: 409,
          body: {
            error: `escalation test ${id} is still waiting for its acknowledgement`,
            ...incidentView(closed, now),
          },
        };
      return {
        statusCode: 200,
        body: {
          passed: testPassed(closed),
          resolution: closed.resolution ?? '',
          closedNow: verdict !== undefined,
          incident: incidentView(closed, now),
        },
      };
    },
  },
];
