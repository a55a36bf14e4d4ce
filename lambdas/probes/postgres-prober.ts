import net from 'node:net';
import { Client, DatabaseError } from 'pg';
import { errorMessage } from '../core/errors.ts';
import type { ProbeReason } from '../core/probe-evaluation.ts';
import type { PostgresTarget } from '../core/targets.ts';
import { hostPort } from './network-errors.ts';
import { judgeLatency, type ProbeOutcome, type ProbeRequest, startStopwatch } from './probe-outcome.ts';

/**
 * Runs the target's query on a fresh connection. The socket is ours (created with the abort signal), so an abort
 * destroys it whatever phase pg is in: TCP connect, startup, authentication or a stuck query.
 * The password comes from the environment variable the config names; the config never holds it.
 */
export async function probePostgres(
  target: PostgresTarget,
  request: ProbeRequest,
  env: Readonly<Record<string, string | undefined>>,
): Promise<ProbeOutcome> {
  const password = target.passwordEnv === undefined ? undefined : env[target.passwordEnv];
  const elapsed = startStopwatch();
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
    const failure = describePostgresError(error, target, password);
    if (failure === undefined) throw error;
    return { status: 'unhealthy', ...failure, latencyMs: elapsed() };
  }
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
          detail: `authentication as "${target.user}" failed on ${endpoint}: ${error.message}${missingPassword(target, password)}`,
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
      detail: `${endpoint} requires a password for "${target.user}"${missingPassword(target, password)}`,
    };
  }
  return undefined;
}

function missingPassword(target: PostgresTarget, password: string | undefined): string {
  if (password !== undefined) return '';
  return target.passwordEnv === undefined
    ? ' (the check names no passwordEnv)'
    : ` (environment variable ${target.passwordEnv} is not set)`;
}
