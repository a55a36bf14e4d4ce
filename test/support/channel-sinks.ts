import type { IncomingMessage, ServerResponse } from 'node:http';
import type * as z from 'zod';
import {
  type PagerDutyWireEvent,
  pagerDutyEventSchema,
  type SlackWireMessage,
  slackMessageSchema,
  type TeamsWireMessage,
  teamsMessageSchema,
} from './channel-formats.ts';
import { type LocalServer, startHttpHandler } from './local-servers.ts';

/**
 * Local stand-ins for the PagerDuty Events API, a Slack incoming webhook and a Teams Workflows webhook, on 127.0.0.1.
 * Each checks every request against the published format (test/support/channel-formats.ts) and answers as the real
 * one does: 400 for a malformed request, else PagerDuty 202 `{status, message, dedup_key}`, Slack 200 `ok`, Teams
 * 202. `failNext` makes the next requests fail with the given statuses (429 throttled, with `Retry-After: 30`; 5xx)
 * without taking them;
 * `answerAfterMs` takes a request and answers it late (an answer lost to the caller's timeout).
 */
export interface Sink<T> extends LocalServer {
  readonly url: string;
  /** Requests taken (valid, and not failed on purpose), in order. */
  readonly taken: T[];
  /** Every request seen, taken or not. */
  readonly requests: number;
  failNext(...statuses: number[]): void;
  answerAfterMs: number;
}

/** One PagerDuty incident as the sink models it: one alert per open dedup_key, folding repeated triggers. */
export interface SinkIncident {
  readonly dedupKey: string;
  status: 'triggered' | 'acknowledged' | 'resolved';
  /** Every event applied to it, in order (`trigger` repeats are folded in here, not opened anew). */
  readonly log: PagerDutyWireEvent['event_action'][];
  readonly summaries: string[];
}

export interface PagerDutySink extends Sink<PagerDutyWireEvent> {
  readonly incidents: SinkIncident[];
  /** acknowledge / resolve events for no open alert: PagerDuty drops them. */
  readonly dropped: PagerDutyWireEvent[];
}

interface Answer {
  readonly status: number;
  readonly contentType?: string;
  readonly body?: string;
}

function send(response: ServerResponse, answer: Answer): void {
  if (response.destroyed) return;
  response.writeHead(answer.status, answer.contentType ? { 'content-type': answer.contentType } : {});
  response.end(answer.body ?? '');
}

/** `take` applies a valid request at once and says the answer, which goes out now or `answerAfterMs` later. */
async function startSink<T>(
  schema: z.ZodType<T>,
  path: string,
  take: (body: T) => Answer,
  invalid: (issues: string) => Answer,
): Promise<Sink<T>> {
  const failures: number[] = [];
  const state = { requests: 0, answerAfterMs: 0 };
  const taken: T[] = [];
  const server = await startHttpHandler((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      state.requests += 1;
      const failure = failures.shift();
      if (failure !== undefined) {
        const body = JSON.stringify({ status: 'failure', message: `failing on purpose with ${failure}` });
        // Throttling answers say when to come back, as Slack's do.
        if (failure === 429) response.setHeader('retry-after', '30');
        send(response, { status: failure, contentType: 'application/json', body });
        return;
      }
      if (
        request.method !== 'POST' ||
        request.url !== path ||
        !/^application\/json/.test(request.headers['content-type'] ?? '')
      ) {
        response.writeHead(400).end('expected a JSON POST');
        return;
      }
      let json: unknown;
      try {
        json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        send(response, invalid('not JSON'));
        return;
      }
      const parsed = schema.safeParse(json);
      if (!parsed.success) {
        send(response, invalid(JSON.stringify(parsed.error.issues)));
        return;
      }
      const answer = take(parsed.data);
      if (answer.status < 300) taken.push(parsed.data);
      if (state.answerAfterMs === 0) send(response, answer);
      else setTimeout(() => send(response, answer), state.answerAfterMs);
    });
  });
  // Accessors, not copies: Object.assign would freeze `requests` and `answerAfterMs` at their values of now.
  const sink = Object.assign(server, {
    url: `http://127.0.0.1:${server.port}${path}`,
    taken,
    failNext: (...statuses: number[]) => {
      failures.push(...statuses);
    },
  });
  return Object.defineProperties(sink, {
    requests: { get: () => state.requests, enumerable: true },
    answerAfterMs: {
      get: () => state.answerAfterMs,
      set: (ms: number) => {
        state.answerAfterMs = ms;
      },
      enumerable: true,
    },
  }) as Sink<T>;
}

export async function startPagerDutySink(routingKey: string): Promise<PagerDutySink> {
  const incidents: SinkIncident[] = [];
  const dropped: PagerDutyWireEvent[] = [];
  const open = (key: string) => incidents.find((i) => i.dedupKey === key && i.status !== 'resolved');
  const sink = await startSink(
    pagerDutyEventSchema,
    '/v2/enqueue',
    (event) => {
      if (event.routing_key !== routingKey) return invalidEvent('routing_key');
      const dedupKey = event.dedup_key ?? crypto.randomUUID();
      const current = open(dedupKey);
      if (event.event_action === 'trigger') {
        const incident = current ?? { dedupKey, status: 'triggered' as const, log: [], summaries: [] };
        if (!current) incidents.push(incident);
        incident.log.push('trigger');
        incident.summaries.push(event.payload.summary);
      } else if (!current) {
        dropped.push(event);
      } else {
        current.log.push(event.event_action);
        // An acknowledged alert stays acknowledged when triggers follow; resolve closes it.
        current.status = event.event_action === 'resolve' ? 'resolved' : 'acknowledged';
      }
      const body = JSON.stringify({ status: 'success', message: 'Event processed', dedup_key: dedupKey });
      return { status: 202, contentType: 'application/json', body };
    },
    invalidEvent,
  );
  return Object.defineProperties(sink, {
    incidents: { value: incidents, enumerable: true },
    dropped: { value: dropped, enumerable: true },
  }) as PagerDutySink;
}

function invalidEvent(issues: string): Answer {
  const body = JSON.stringify({ status: 'invalid event', message: 'Event object is invalid', errors: [issues] });
  return { status: 400, contentType: 'application/json', body };
}

export function startSlackSink(): Promise<Sink<SlackWireMessage>> {
  return startSink(
    slackMessageSchema,
    '/services/T000/B000/XXXX',
    () => ({ status: 200, contentType: 'text/html', body: 'ok' }),
    () => ({ status: 400, contentType: 'text/html', body: 'invalid_blocks' }),
  );
}

export function startTeamsSink(): Promise<Sink<TeamsWireMessage>> {
  return startSink(
    teamsMessageSchema,
    '/workflows/acgs/triggers/manual/paths/invoke',
    () => ({ status: 202 }),
    (issues) => ({
      status: 400,
      contentType: 'application/json',
      body: JSON.stringify({ error: { code: 'InvalidRequestContent', message: issues } }),
    }),
  );
}
