import http from 'node:http';
import net from 'node:net';

/** Listening and asking on 127.0.0.1, shared by the fleet's planning (free ports) and its processes. */

export function listenOn(port: number): Promise<net.Server> {
  return new Promise((resolvePromise, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => resolvePromise(server));
  });
}

/** True when nothing listens on 127.0.0.1:port (a listen there succeeds). */
export async function portIsFree(port: number): Promise<boolean> {
  try {
    const server = await listenOn(port);
    await new Promise<void>((done) => server.close(() => done()));
    return true;
  } catch {
    return false;
  }
}

export interface SimAnswer {
  readonly status: number;
  readonly body: string;
  readonly contentType: string | undefined;
}

/**
 * One HTTP request to 127.0.0.1:port on its own connection (no keep-alive). Rejects on a network error or after
 * `timeoutMs` (the socket is destroyed).
 */
export function request(
  port: number,
  method: 'GET' | 'POST',
  path: string,
  body: string | undefined,
  timeoutMs: number,
): Promise<SimAnswer> {
  return new Promise((resolvePromise, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent: false,
        headers:
          body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          clearTimeout(timer);
          resolvePromise({
            status: response.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            contentType: response.headers['content-type'],
          });
        });
        response.on('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
      },
    );
    const timer = setTimeout(
      () => req.destroy(new Error(`no answer from 127.0.0.1:${port}${path} within ${timeoutMs} ms`)),
      Math.max(1, timeoutMs),
    );
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(body);
  });
}
