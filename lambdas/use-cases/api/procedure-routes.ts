import { SEVERITIES } from '../../core/fleet-constants.ts';
import { checkInput } from '../../core/operator-input.ts';
import { ALERTS, commandLine, proceduresFor } from '../../core/procedures.ts';
import * as z from '../../core/zod-mini.ts';
import type { Route } from './route.ts';

/*
 *   GET /procedures[?severity=P1|P2|P3][&alert=service-down|slow|database|security]
 *       the runbook's steps for the situation, each with the acgs-ops commands that carry it out
 */

export const proceduresQuery = z.object({
  severity: z.optional(z.enum(SEVERITIES, 'must be P1, P2 or P3')),
  alert: z.optional(z.enum(ALERTS, `must be one of ${ALERTS.join(', ')}`)),
});

export const procedureRoutes: readonly Route[] = [
  {
    method: 'GET',
    path: /^\/procedures$/,
    async handle({ request }) {
      const filter = checkInput(proceduresQuery, { severity: request.query.severity, alert: request.query.alert });
      const procedures = proceduresFor(filter).map((p) => ({
        ...p,
        steps: p.steps.map((s) => ({ ...s, commands: s.commands.map(commandLine) })),
      }));
      return { statusCode: 200, body: { procedures } };
    },
  },
];
