import http from 'node:http';
import net from 'node:net';

/** A server started by a test on 127.0.0.1 and an ephemeral port. */
export interface LocalServer {
  readonly port: number;
  /** Sockets the server accepted and that are still open. */
  readonly openSockets: ReadonlySet<net.Socket>;
  /** Resolves when every socket accepted so far has closed (the client let go); rejects after `withinMs`. */
  allSocketsClosed(withinMs?: number): Promise<void>;
  close(): Promise<void>;
}

function track(server: net.Server, timers: Set<NodeJS.Timeout>): Omit<LocalServer, 'port'> {
  const sockets = new Set<net.Socket>();
  const closed: Promise<void>[] = [];
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    closed.push(new Promise((resolve) => socket.once('close', () => resolve())));
    socket.once('close', () => sockets.delete(socket));
  });
  return {
    openSockets: sockets,
    allSocketsClosed: async (withinMs = 2_000) => {
      let timer: NodeJS.Timeout | undefined;
      const limit = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${sockets.size} accepted socket(s) still open after ${withinMs} ms`)),
          withinMs,
        );
      });
      try {
        await Promise.race([Promise.all(closed), limit]);
      } finally {
        clearTimeout(timer);
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no TCP address');
  return address.port;
}

export interface HttpBehaviour {
  readonly status?: number;
  readonly body?: string | object;
  readonly contentType?: string;
  /** Answer after this many milliseconds. */
  readonly delayMs?: number;
  /** Accept the request and never answer. */
  readonly hang?: boolean;
}

/** An HTTP server answering every request the same way. */
export async function startHttpServer(behaviour: HttpBehaviour): Promise<LocalServer> {
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((_request, response) => {
    if (behaviour.hang) return;
    const body = typeof behaviour.body === 'string' ? behaviour.body : JSON.stringify(behaviour.body ?? {});
    const contentType =
      behaviour.contentType ?? (typeof behaviour.body === 'string' ? 'text/plain' : 'application/json');
    const send = () => {
      response.writeHead(behaviour.status ?? 200, { 'content-type': contentType });
      response.end(body);
    };
    if (behaviour.delayMs === undefined) return send();
    const timer = setTimeout(() => {
      timers.delete(timer);
      send();
    }, behaviour.delayMs);
    timers.add(timer);
  });
  const tracked = track(server, timers);
  return { port: await listen(server), ...tracked };
}

/** An HTTP server with a request handler of the test's own. */
export async function startHttpHandler(handler: http.RequestListener): Promise<LocalServer> {
  const server = http.createServer(handler);
  const tracked = track(server, new Set());
  return { port: await listen(server), ...tracked };
}

/** A TCP server that accepts connections and never says a word (a stuck database, a half-open peer). */
export async function startSilentServer(): Promise<LocalServer> {
  // It reads and discards what it is sent: a socket that is never read never sees the peer's FIN either.
  const server = net.createServer((socket) => {
    socket.resume();
    socket.on('error', () => undefined);
  });
  const tracked = track(server, new Set());
  return { port: await listen(server), ...tracked };
}

/** A tiny RESP server answering PING with `reply` (default `+PONG`). */
export async function startFakeRedis(reply = '+PONG'): Promise<LocalServer> {
  const server = net.createServer((socket) => {
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
      if (received.includes('PING\r\n')) {
        received = '';
        socket.write(`${reply}\r\n`);
      }
    });
    socket.on('error', () => undefined);
  });
  const tracked = track(server, new Set());
  return { port: await listen(server), ...tracked };
}

/** Answers Prometheus instant queries: `values[query]` is the sample value, or `[]` for no data. */
export async function startFakePrometheus(
  values: Record<string, string | undefined>,
): Promise<LocalServer & { queries: string[] }> {
  const queries: string[] = [];
  const server = await startHttpHandler((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const query = url.searchParams.get('query') ?? '';
    queries.push(query);
    if (url.pathname !== '/api/v1/query') {
      response.writeHead(404).end('not found');
      return;
    }
    if (!(query in values)) {
      response.writeHead(400, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ status: 'error', errorType: 'bad_data', error: `unknown query ${query}` }));
      return;
    }
    const value = values[query];
    const result = value === undefined ? [] : [{ metric: {}, value: [1_767_225_600, value] }];
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result } }));
  });
  return Object.assign(server, { queries });
}

/** A port nothing listens on: bound to learn a free number, then closed. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  const port = await listen(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
