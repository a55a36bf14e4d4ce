import { AUDIT_DEFAULT_LIMIT, AUDIT_MAX_LIMIT, type AuditEntry } from '../../core/audit.ts';
import { checkInput } from '../../core/operator-input.ts';
import * as z from '../../core/zod-mini.ts';
import type { Route } from './route.ts';

/*
 *   GET /audit[?limit=N][&since=ISO-8601]   the audit trail, newest first (every non-GET request, as the router
 *                                           recorded it): {entries: [{at, caller, method, path, action, subjects,
 *                                           statusCode, outcome, detail}]}
 */

/** An instant in a query or a body: ISO-8601 with a zone (`2026-12-01T02:00:00Z`), as epoch milliseconds. */
export const isoInstant = z.pipe(
  z.iso.datetime({ offset: true, message: 'must be an ISO-8601 time with a zone (e.g. 2026-12-01T02:00:00Z)' }),
  z.transform((text: string) => Date.parse(text)),
);

export const auditQuery = z.object({
  limit: z.optional(
    z
      .pipe(
        z.string().check(z.regex(/^[0-9]{1,4}$/, `must be a whole number from 1 to ${AUDIT_MAX_LIMIT}`)),
        z.transform(Number),
      )
      .check(z.refine((n) => n >= 1 && n <= AUDIT_MAX_LIMIT, `must be a whole number from 1 to ${AUDIT_MAX_LIMIT}`)),
  ),
  since: z.optional(isoInstant),
});

export const auditRoutes: readonly Route[] = [
  {
    method: 'GET',
    path: /^\/audit$/,
    async handle({ ctx, request }) {
      const { limit, since } = checkInput(auditQuery, { limit: request.query.limit, since: request.query.since });
      const entries = await ctx.control.listAudit({
        limit: limit ?? AUDIT_DEFAULT_LIMIT,
        ...(since === undefined ? {} : { since }),
      });
      return { statusCode: 200, body: { entries: entries.map(auditView) } };
    },
  },
];

export function auditView(entry: AuditEntry) {
  return { ...entry, at: new Date(entry.at).toISOString(), subjects: [...entry.subjects] };
}
