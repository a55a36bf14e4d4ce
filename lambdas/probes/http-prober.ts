import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { evaluateHttp, type HttpObservation } from '../core/probe-evaluation.ts';
import type { HttpTarget } from '../core/targets.ts';
import { type ProbeOutcome, type ProbeRequest, startStopwatch } from './probe-outcome.ts';

/** A health body is small; reading more only costs memory (a misrouted probe may hit a large page). */
export const MAX_BODY_BYTES = 64 * 1024;

export async function probeHttp(target: HttpTarget, request: ProbeRequest): Promise<ProbeOutcome> {
  const seen = await httpGet(new URL(target.url), request.signal);
  return { ...evaluateHttp(target, seen, request.slowAfterMs), latencyMs: seen.latencyMs, httpStatus: seen.httpStatus };
}

/**
 * One GET on its own connection (no keep-alive agent, so nothing stays open after the answer), reading at most
 * MAX_BODY_BYTES of the body. Latency runs until the (possibly truncated) body is read. Rejects with the network
 * error; an abort destroys the socket.
 */
export function httpGet(url: URL, signal: AbortSignal): Promise<HttpObservation> {
  const elapsed = startStopwatch();
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<HttpObservation>((resolve, reject) => {
    const request = client.request(
      url,
      {
        method: 'GET',
        agent: false,
        signal,
        headers: { accept: 'application/json, text/plain;q=0.9, */*;q=0.5', 'user-agent': 'acgs-ops-probe/1' },
      },
      (response) =>
        readBounded(response, elapsed)
          .then(resolve, reject)
          .finally(() => request.destroy()),
    );
    request.on('error', reject);
    request.end();
  });
}

function readBounded(response: IncomingMessage, elapsed: () => number): Promise<HttpObservation> {
  return new Promise<HttpObservation>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      const contentType = response.headers['content-type'];
      resolve({
        httpStatus: response.statusCode ?? 0,
        body: Buffer.concat(chunks).toString('utf8'),
        latencyMs: elapsed(),
        ...(contentType === undefined ? {} : { contentType }),
      });
    };
    response.on('data', (chunk: Buffer) => {
      const room = MAX_BODY_BYTES - size;
      if (room > 0) chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
      size += Math.min(room, chunk.length);
      if (size >= MAX_BODY_BYTES) done();
    });
    response.on('end', done);
    response.on('error', reject);
  });
}
