import { type ProbeReason, reasonForErrorCode } from '../core/probe-evaluation.ts';

/** The Node.js error code of a network error (`ECONNREFUSED`...), looking inside AggregateError (happy eyeballs). */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  if ('code' in error && typeof error.code === 'string') return error.code;
  if (error instanceof AggregateError) {
    for (const inner of error.errors) {
      const code = errorCode(inner);
      if (code !== undefined) return code;
    }
  }
  return undefined;
}

export function errorMessage(error: unknown): string {
  if (error instanceof AggregateError && error.message === '') {
    return error.errors.map(errorMessage).join('; ');
  }
  return error instanceof Error ? error.message : String(error);
}

/** Turns a network error into a probe reason and one sentence naming the endpoint. */
export function describeNetworkError(error: unknown, endpoint: string): { reason: ProbeReason; detail: string } {
  const code = errorCode(error);
  const reason = reasonForErrorCode(code);
  switch (reason) {
    case 'refused':
      if (code === 'ECONNRESET') return { reason, detail: `${endpoint} reset the connection` };
      if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH')
        return { reason, detail: `${endpoint} is unreachable (${code})` };
      return { reason, detail: `connection to ${endpoint} refused (nothing is listening)` };
    case 'timeout':
      return { reason, detail: `${endpoint} did not answer in time (${code})` };
    case 'dns':
      return { reason, detail: `the host of ${endpoint} could not be resolved (${code})` };
    case 'tls':
      return { reason, detail: `TLS with ${endpoint} failed: ${errorMessage(error)}` };
    default:
      return { reason, detail: `${endpoint}: ${errorMessage(error)}${code ? ` (${code})` : ''}` };
  }
}

/** `host:port`, with IPv6 addresses in brackets. */
export function hostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}
