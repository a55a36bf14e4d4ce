import net from 'node:net';
import type { TcpTarget } from '../core/targets.ts';
import { hostPort } from './network-errors.ts';
import { judgeLatency, type ProbeOutcome, type ProbeRequest, startStopwatch } from './probe-outcome.ts';

/** Healthy when a TCP connection opens; the socket is closed at once. */
export function probeTcp(target: TcpTarget, request: ProbeRequest): Promise<ProbeOutcome> {
  const elapsed = startStopwatch();
  return new Promise<ProbeOutcome>((resolve, reject) => {
    const socket = net.connect({ host: target.host, port: target.port, signal: request.signal });
    socket.once('connect', () => {
      const latencyMs = elapsed();
      socket.destroy();
      resolve(
        judgeLatency(latencyMs, request.slowAfterMs, `${hostPort(target.host, target.port)} accepts connections`),
      );
    });
    socket.once('error', (error) => {
      socket.destroy();
      reject(error);
    });
  });
}
