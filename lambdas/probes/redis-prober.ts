import net from 'node:net';
import type { RedisTarget } from '../core/targets.ts';
import { hostPort } from './network-errors.ts';
import { judgeLatency, type ProbeOutcome, type ProbeRequest, startStopwatch } from './probe-outcome.ts';

/** `PING` as a RESP array, the way redis-cli sends it. */
const PING = '*1\r\n$4\r\nPING\r\n';
/** The first reply line is all we read; a longer line is not a Redis answer to PING. */
const MAX_REPLY = 512;

/** Healthy when the server answers `PING` with `+PONG`. No client library: one command, one line. */
export function probeRedis(target: RedisTarget, request: ProbeRequest): Promise<ProbeOutcome> {
  const endpoint = hostPort(target.host, target.port);
  const elapsed = startStopwatch();
  return new Promise<ProbeOutcome>((resolve, reject) => {
    const socket = net.connect({ host: target.host, port: target.port, signal: request.signal });
    const finish = (outcome: ProbeOutcome) => {
      socket.destroy();
      resolve(outcome);
    };
    let reply = '';
    socket.setEncoding('utf8');
    socket.once('connect', () => socket.write(PING));
    socket.on('data', (chunk: string) => {
      reply += chunk;
      const end = reply.indexOf('\r\n');
      if (end === -1 && reply.length < MAX_REPLY) return;
      finish(judgeReply(end === -1 ? reply : reply.slice(0, end), elapsed(), request.slowAfterMs, endpoint));
    });
    socket.once('end', () =>
      finish({
        status: 'unhealthy',
        reason: 'error',
        detail: `${endpoint} closed the connection without answering PING`,
        latencyMs: elapsed(),
      }),
    );
    socket.once('error', (error) => {
      socket.destroy();
      reject(error);
    });
  });
}

function judgeReply(line: string, latencyMs: number, slowAfterMs: number, endpoint: string): ProbeOutcome {
  if (line === '+PONG') return judgeLatency(latencyMs, slowAfterMs, `${endpoint} answered PING with PONG`);
  if (line.startsWith('-')) {
    // NOAUTH, DENIED (protected mode), LOADING...: Redis is there but will not serve us.
    return {
      status: 'unhealthy',
      reason: 'query',
      detail: `${endpoint} answered PING with an error: ${shorten(line.slice(1))}`,
      latencyMs,
    };
  }
  return {
    status: 'unhealthy',
    reason: 'body-mismatch',
    detail: `${endpoint} answered PING with "${shorten(line)}" instead of +PONG (not a Redis server?)`,
    latencyMs,
  };
}

function shorten(text: string): string {
  const printable = text.replace(/[^\x20-\x7e]/g, '?');
  return printable.length > 80 ? `${printable.slice(0, 77)}...` : printable;
}
