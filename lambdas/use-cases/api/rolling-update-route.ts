import { DOCUMENT_PATTERNS } from '../../core/document-patterns.ts';
import { serviceNames } from '../../core/operator-input.ts';
import * as z from '../../core/zod-mini.ts';
import { rollingUpdate } from '../service-procedures.ts';
import { answerProcedure } from './procedure-response.ts';
import { parseBody, type Route } from './route.ts';

/*
 *   POST /fleet/rolling-update   {"services"?: string[], "update"?: "restart-only"|"git-pull", "branch"?: string}
 *
 * One service at a time (the acgs-rolling-update document); with git-pull, a service that does not come back healthy
 * after its update is returned to the revision it ran before and restarted, and the rollout stops there. The
 * response names it: {"rolledBack": {"service", "ref", "healthy"}}.
 */

export const ROLLING_UPDATE_ACTION = 'fleet.rolling-update';

export const rollingUpdateBody = z.strictObject({
  services: z.optional(serviceNames),
  update: z.optional(z.enum(['restart-only', 'git-pull'])),
  branch: z.optional(
    z
      .string()
      .check(
        z.maxLength(200, 'must be at most 200 characters'),
        z.regex(new RegExp(DOCUMENT_PATTERNS.gitBranch), 'must be a branch name (letters, digits, _ - . and /)'),
      ),
  ),
});

/** What the document says of a rollback: `<name>: rolling back to <ref>`, then whether it came back healthy. */
export interface Rollback {
  readonly service: string;
  readonly ref: string;
  readonly healthy: boolean;
}

/** The rollback the document's output reports, if any. */
export function rollbackOf(output: string): Rollback | undefined {
  const started = /^([a-z][a-z0-9-]{0,38}[a-z0-9]): rolling back to ([0-9a-f]{40,64})$/m.exec(output);
  if (!started) return undefined;
  const [, service = '', ref = ''] = started;
  const healthy = output.split('\n').includes(`${service}: rolled back to ${ref} (healthy on its previous revision)`);
  return { service, ref, healthy };
}

export const rollingUpdateRoutes: readonly Route[] = [
  {
    method: 'POST',
    path: /^\/fleet\/rolling-update$/,
    action: ROLLING_UPDATE_ACTION,
    async handle({ ctx, request }) {
      const body = parseBody(rollingUpdateBody, request.body);
      let output = '';
      const response = await answerProcedure({
        ctx,
        by: request.caller,
        action: ROLLING_UPDATE_ACTION,
        concerns: body.services ?? [],
        run: async () => {
          const run = await rollingUpdate(ctx, {
            by: request.caller,
            ...(body.services === undefined ? {} : { services: body.services }),
            ...(body.update === undefined ? {} : { update: body.update }),
            ...(body.branch === undefined ? {} : { branch: body.branch }),
          });
          output = run.result.output;
          return run;
        },
      });
      const rolledBack = rollbackOf(output);
      return rolledBack ? { ...response, body: { ...(response.body as object), rolledBack } } : response;
    },
  },
];
