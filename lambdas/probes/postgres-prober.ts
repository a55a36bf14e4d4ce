import net from 'node:net';
import { Client, DatabaseError } from 'pg';
import { errorMessage } from '../core/errors.ts';
import type { ProbeReason } from '../core/probe-evaluation.ts';
import type { PostgresTarget } from '../core/targets.ts';
import type { SecretRequest, SecretSource } from '../ports.ts';
import { hostPort } from './network-errors.ts';
import { judgeLatency, type ProbeOutcome, type ProbeRequest, startStopwatch } from './probe-outcome.ts';

/** The server refused the credentials: wrong password (28P01) or no such role / not allowed (28000). */
const AUTHENTICATION_FAILED = new Set(['28P01', '28000']);

/**
 * Runs the target's query on a fresh connection. The socket is ours (created with the abort signal), so an abort
 * destroys it whatever phase pg is in: TCP connect, startup, authentication or a stuck query.
 * The password comes from the secret source (Secrets Manager in AWS; the environment variable or the pgpass file on
 * one host); the config never holds it. When the server refuses the credentials, the password is read once more
 * (fresh: it may have been rotated since it was cached) and, if it changed, the connection is tried once more.
 * No detail this returns holds the password.
 */
export async function probePostgres(
  target: PostgresTarget,
  request: ProbeRequest,
  secrets: SecretSource,
): Promise<ProbeOutcome> {
  const elapsed = startStopwatch();
  const secret = passwordRequest(target);
  let password: string | undefined;
  try {
    password = await secrets.get(secret);
  } catch (error) {
    return { status: 'unhealthy', reason: 'error', detail: noPassword(target, error), latencyMs: elapsed() };
  }
  let outcome = await connectAndQuery(target, request, password, elapsed);
  if (!('authFailed' in outcome) || password === undefined) return settle(outcome, target, password, elapsed);
  let fresh: string | undefined;
  try {
    fresh = await secrets.get(secret, { fresh: true });
  } catch (error) {
    return { status: 'unhealthy', reason: 'error', detail: noPassword(target, error), latencyMs: elapsed() };
  }
  if (fresh === undefined || fresh === password) return settle(outcome, target, password, elapsed);
  outcome = await connectAndQuery(target, request, fresh, elapsed);
  return settle(outcome, target, fresh, elapsed);
}

/** Where the target's password is kept, by every means the config names. */
export function passwordRequest(target: PostgresTarget): SecretRequest {
  return {
    purpose: `the password of check "${target.name}" (${target.user}@${target.database})`,
    ...(target.passwordEnv === undefined ? {} : { env: target.passwordEnv }),
    ...(target.passwordSecret === undefined ? {} : { secret: target.passwordSecret }),
    pgpass: { host: target.host, port: target.port, database: target.database, user: target.user },
  };
}

type Attempt = ProbeOutcome | { readonly authFailed: DatabaseError } | { readonly thrown: unknown };

async function connectAndQuery(
  target: PostgresTarget,
  request: ProbeRequest,
  password: string | undefined,
  elapsed: () => number,
): Promise<Attempt> {
  const socket = new net.Socket({ signal: request.signal });
  const client = new Client({
    host: target.host,
    port: target.port,
    database: target.database,
    user: target.user,
    ...(password === undefined ? {} : { password }),
    stream: () => socket,
    application_name: 'acgs-ops-probe',
    // The server gives up on the query too, rather than running it for nobody.
    statement_timeout: request.timeoutMs,
  });
  // Failures reach us through connect()/query(); this listener only keeps a late socket error from crashing.
  client.on('error', () => undefined);
  try {
    await client.connect();
    const result = await client.query(target.query);
    const latencyMs = elapsed();
    await client.end();
    const rows = result.rowCount ?? result.rows.length;
    return judgeLatency(
      latencyMs,
      request.slowAfterMs,
      `${target.database} on ${hostPort(target.host, target.port)} answered the query (${rows} row${rows === 1 ? '' : 's'})`,
    );
  } catch (error) {
    socket.destroy();
    if (error instanceof DatabaseError && AUTHENTICATION_FAILED.has(error.code ?? '')) return { authFailed: error };
    return { thrown: error };
  }
}

function settle(
  attempt: Attempt,
  target: PostgresTarget,
  password: string | undefined,
  elapsed: () => number,
): ProbeOutcome {
  if ('status' in attempt) return attempt;
  const error = 'authFailed' in attempt ? attempt.authFailed : attempt.thrown;
  const failure = describePostgresError(error, target, password);
  if (failure === undefined) throw error;
  return { status: 'unhealthy', ...failure, latencyMs: elapsed() };
}

/** Server-side answers (SQLSTATE) and client-side authentication problems; network errors are left to the caller. */
function describePostgresError(
  error: unknown,
  target: PostgresTarget,
  password: string | undefined,
): { reason: ProbeReason; detail: string } | undefined {
  const endpoint = hostPort(target.host, target.port);
  if (error instanceof DatabaseError) {
    const sqlState = error.code ?? '?';
    switch (sqlState) {
      case '28P01':
      case '28000':
        return {
          reason: 'query',
          detail: `authentication as "${target.user}" failed on ${endpoint}: ${error.message}${passwordSource(target, password)}`,
        };
      case '3D000':
        return { reason: 'query', detail: `${endpoint} has no database "${target.database}" (${error.message})` };
      case '57P03':
      case '53300':
        // Starting up, shutting down, or out of connection slots: the server is there but takes no one.
        return { reason: 'refused', detail: `${endpoint} does not accept connections: ${error.message}` };
      case '57014':
        return { reason: 'timeout', detail: `the query was cancelled on ${endpoint}: ${error.message}` };
      default:
        return { reason: 'query', detail: `the query failed on ${endpoint}: ${error.message} (SQLSTATE ${sqlState})` };
    }
  }
  // pg throws plain errors when the server asks for a password the client does not have.
  if (password === undefined && /password/i.test(errorMessage(error))) {
    return {
      reason: 'query',
      detail: `${endpoint} requires a password for "${target.user}"${passwordSource(target, password)}`,
    };
  }
  return undefined;
}

/** Where the password was looked for, when none was found (nothing when there was one). */
function passwordSource(target: PostgresTarget, password: string | undefined): string {
  if (password !== undefined) return '';
  if (target.passwordEnv !== undefined)
    return ` (environment variable ${target.passwordEnv} is not set, and no pgpass entry matches)`;
  if (target.passwordSecret !== undefined)
    return ` (no pgpass entry matches; secret ${target.passwordSecret.id} is read in AWS only)`;
  return ' (the check names no passwordEnv or passwordSecret, and no pgpass entry matches)';
}

function noPassword(target: PostgresTarget, error: unknown): string {
  return `cannot get the password for "${target.user}" on ${hostPort(target.host, target.port)}: ${errorMessage(error)}`;
}
