import { escapeControlCharacters } from './control-characters.ts';

/**
 * The audit trail: one entry per mutating request to the operators' API (who, what, when, how it ended), written by
 * the router after the request was handled, whatever the outcome. Entries are bounded, one line per field, so a
 * hostile path or body can neither bloat the store nor forge lines when printed.
 */
export interface AuditEntry {
  /** Epoch milliseconds: when the request was answered. */
  readonly at: number;
  /** The authenticated caller (an IAM principal ARN in AWS, the login name or `--by` locally). */
  readonly caller: string;
  readonly method: string;
  readonly path: string;
  /** The route's action (`service.restart`, `incident.ack`, ...), or `unrouted` for a request no route took. */
  readonly action: string;
  /** The services, windows or incidents it concerned. */
  readonly subjects: readonly string[];
  readonly statusCode: number;
  /** The procedure's status, else `succeeded` (2xx), `rejected` (4xx) or `error` (5xx). */
  readonly outcome: string;
  /** One line: the error, or the last line of the procedure's output. */
  readonly detail: string;
}

export interface AuditQuery {
  /** Entries at or after this time (epoch ms). */
  readonly since?: number;
  /** At most this many, newest first. @default AUDIT_DEFAULT_LIMIT */
  readonly limit?: number;
}

export const AUDIT_DEFAULT_LIMIT = 100;
export const AUDIT_MAX_LIMIT = 1000;

/** Bounds of each field: an ARN with a long path, a path of the API, a line of detail. */
export const AUDIT_LIMITS = {
  caller: 1024,
  method: 16,
  path: 512,
  action: 64,
  subject: 128,
  subjects: 32,
  outcome: 32,
  detail: 500,
} as const;

/** The entry as stored: every field one line (control characters escaped), truncated to `AUDIT_LIMITS`. */
export function boundedAuditEntry(entry: AuditEntry): AuditEntry {
  const { caller, method, path, action, subject, subjects, outcome, detail } = AUDIT_LIMITS;
  return {
    at: entry.at,
    caller: line(entry.caller, caller),
    method: line(entry.method, method),
    path: line(entry.path, path),
    action: line(entry.action, action),
    subjects: entry.subjects.slice(0, subjects).map((s) => line(s, subject)),
    statusCode: Number.isInteger(entry.statusCode) ? entry.statusCode : 500,
    outcome: line(entry.outcome, outcome),
    detail: line(entry.detail, detail),
  };
}

const PROCEDURE_STATUSES: readonly string[] = ['succeeded', 'failed', 'timed-out', 'rejected', 'pending'];

/** The outcome a response stands for: a procedure's own status when the body is a procedure's answer. */
export function auditOutcome(statusCode: number, body: Readonly<Record<string, unknown>>): string {
  const { procedure, status } = body;
  if (typeof procedure === 'string' && typeof status === 'string' && PROCEDURE_STATUSES.includes(status)) return status;
  return statusCode < 400 ? 'succeeded' : statusCode < 500 ? 'rejected' : 'error';
}

/** The newest `limit` entries at or after `since`, newest first (ties: the later written first). */
export function selectAuditEntries(entries: readonly AuditEntry[], query: AuditQuery): AuditEntry[] {
  const limit = query.limit ?? AUDIT_DEFAULT_LIMIT;
  return entries
    .map((entry, index) => ({ entry, index }))
    .filter(({ entry }) => query.since === undefined || entry.at >= query.since)
    .sort((a, b) => b.entry.at - a.entry.at || b.index - a.index)
    .slice(0, limit)
    .map(({ entry }) => entry);
}

function line(text: string, max: number): string {
  const one = escapeControlCharacters(String(text));
  return one.length <= max ? one : `${one.slice(0, max - 1)}…`;
}
