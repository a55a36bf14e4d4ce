import { errorCode, errorMessage } from '../core/errors.ts';
import { type ProbeReason, reasonForErrorCode } from '../core/probe-evaluation.ts';

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
