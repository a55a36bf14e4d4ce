import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local HTTP server that answers as an AWS service would, one scripted answer per request (a status, headers and a
 * body; or a hung request; or a reset connection), and keeps what each request carried: for what moto never answers
 * (throttling, 5xx, a corrupted body, a request that never ends).
 */
export interface ScriptedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

export type ScriptedAnswer =
  | { readonly status: number; readonly body?: string | object; readonly headers?: Record<string, string> }
  | 'hang'
  | 'reset';

export interface ScriptedAwsServer {
  readonly endpoint: string;
  readonly received: ScriptedRequest[];
  /** Answers to give, in order; once they run out, 200 with `{}`. */
  readonly answers: ScriptedAnswer[];
  /** Responses held open by 'hang'. */
  readonly hung: ServerResponse[];
  close(): Promise<void>;
}

export async function scriptedAwsServer(): Promise<ScriptedAwsServer> {
  const received: ScriptedRequest[] = [];
  const answers: ScriptedAnswer[] = [];
  const hung: ServerResponse[] = [];
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (p: Buffer) => parts.push(p));
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(parts).toString('utf8'),
      });
      const answer: ScriptedAnswer = answers.shift() ?? { status: 200, body: {} };
      if (answer === 'hang') return void hung.push(res);
      if (answer === 'reset') return void req.socket.destroy();
      const body =
        answer.body === undefined || typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
      res.writeHead(answer.status, answer.headers ?? { 'content-type': 'application/x-amz-json-1.0' });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    answers,
    hung,
    close: async () => {
      for (const res of hung) res.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
