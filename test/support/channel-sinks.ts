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
 * `answerAfterMs` takes a request and answers it late (an answer lost to the caller's timeout); `script` decides per
 * valid request (see `perMessage`): fail it on purpose, hold it open, or take it.
 */
export interface Sink<T> extends LocalServer {
  readonly url: string;
  /** Requests taken (valid, and not failed on purpose), in order. */
  readonly taken: T[];
  /** Every request seen, taken or not. */
  readonly requests: number;
  /** Requests refused as not in the published format (answered 400), each with the schema's complaint. */
  readonly rejected: string[];
  failNext(...statuses: number[]): void;
  answerAfterMs: number;
  /** Asked about each valid request before it is taken (after `failNext`); undefined: take it. */
  script: ((body: T) => Verdict) | undefined;
}

/**
 * What a sink does with one valid request: `{fail}` answers that status without taking it (a 429 with
 * `Retry-After: 30`); 'hold' takes it (the message is posted, the alert event applied) and never answers, as when
 * the connection dies after the service took the message; undefined takes it and answers.
 */
export type Verdict = { readonly fail: number } | 'hold' | undefined;

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

function fail(response: ServerResponse, status: number): void {
  const body = JSON.stringify({ status: 'failure', message: `failing on purpose with ${status}` });
  // Throttling answers say when to come back, as Slack's do.
  if (status === 429) response.setHeader('retry-after', '30');
  send(response, { status, contentType: 'application/json', body });
}

/** `take` applies a valid request at once and says the answer, which goes out now or `answerAfterMs` later. */
async function startSink<T>(
  schema: z.ZodType<T>,
  path: string,
  take: (body: T) => Answer,
  invalid: (issues: string) => Answer,
): Promise<Sink<T>> {
  const failures: number[] = [];
  const state: { requests: number; answerAfterMs: number; script: Sink<T>['script'] } = {
    requests: 0,
    answerAfterMs: 0,
    script: undefined,
  };
  const taken: T[] = [];
  const rejected: string[] = [];
  const server = await startHttpHandler((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      state.requests += 1;
      const failure = failures.shift();
      if (failure !== undefined) {
        fail(response, failure);
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
        rejected.push('not JSON');
        send(response, invalid('not JSON'));
        return;
      }
      const parsed = schema.safeParse(json);
      if (!parsed.success) {
        rejected.push(JSON.stringify(parsed.error.issues));
        send(response, invalid(JSON.stringify(parsed.error.issues)));
        return;
      }
      const verdict = state.script?.(parsed.data);
      if (verdict !== undefined && verdict !== 'hold') {
        fail(response, verdict.fail);
        return;
      }
      const answer = take(parsed.data);
      if (answer.status < 300) taken.push(parsed.data);
      // Held: the answer never comes; closing the sink cuts the connection.
      if (verdict === 'hold') return;
      if (state.answerAfterMs === 0) send(response, answer);
      else setTimeout(() => send(response, answer), state.answerAfterMs);
    });
  });
  // Accessors, not copies: Object.assign would freeze `requests` and `answerAfterMs` at their values of now.
  const sink = Object.assign(server, {
    url: `http://127.0.0.1:${server.port}${path}`,
    taken,
    rejected,
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
    script: {
      get: () => state.script,
      set: (script: Sink<T>['script']) => {
        state.script = script;
      },
      enumerable: true,
    },
  }) as Sink<T>;
}

/** What became of each request for one message, in order: the status it was failed with, 'held' or 'taken'. */
export type MessageOutcome = number | 'held' | 'taken';

/**
 * Scripts `sink` per message: `identity` says which message a request carries (the same on every retry of it),
 * `decide` what to do with the request given how many requests for that message came before. Returns each message's
 * outcomes, in the order messages first arrived.
 */
export function perMessage<T>(
  sink: Sink<T>,
  identity: (body: T) => string,
  decide: (seen: number, id: string, body: T) => Verdict,
): Map<string, MessageOutcome[]> {
  const outcomes = new Map<string, MessageOutcome[]>();
  sink.script = (body) => {
    const id = identity(body);
    const seen = outcomes.get(id) ?? [];
    outcomes.set(id, seen);
    const verdict = decide(seen.length, id, body);
    seen.push(verdict === undefined ? 'taken' : verdict === 'hold' ? 'held' : verdict.fail);
    return verdict;
  };
  return outcomes;
}

/**
 * Which message a request carries, the same on every retry of it. PagerDuty: the dedup_key and action, and for a
 * trigger what it announces (a page or a notice kind), its level and time (pages and notices are all triggers).
 * Slack and Teams carry no key: the footer every message ends with (`acgs-ops <kind> · <time>`) and the level.
 */
export function pagerDutyMessageId(event: PagerDutyWireEvent): string {
  if (event.event_action !== 'trigger') return `${event.dedup_key} ${event.event_action}`;
  const details = event.payload.custom_details ?? {};
  return `${event.dedup_key} trigger ${String(details.event)} L${String(details.level ?? '-')} ${event.payload.timestamp}`;
}

export function slackMessageId(message: SlackWireMessage): string {
  const footer = message.blocks.findLast((b) => b.type === 'context');
  const fields = message.blocks.flatMap((b) => (b.type === 'section' ? (b.fields ?? []) : []));
  const level = fields.find((f) => f.text.startsWith('*Level*'))?.text.split('\n')[1] ?? '-';
  return `${footer?.type === 'context' ? footer.elements.map((e) => e.text).join(' ') : '?'} L${level}`;
}

export function teamsMessageId(message: TeamsWireMessage): string {
  const body = message.attachments[0]?.content.body ?? [];
  const footer = body.findLast((b) => b.type === 'TextBlock');
  const facts = body.flatMap((b) => (b.type === 'FactSet' ? b.facts : []));
  const level = facts.find((f) => f.title === 'Level')?.value ?? '-';
  return `${footer?.type === 'TextBlock' ? footer.text : '?'} L${level}`;
}

/** The headline every Slack and Teams message opens with (`[P2] Acknowledged: auth is down`). */
export function slackHeadline(message: SlackWireMessage): string {
  const first = message.blocks[0];
  return first?.type === 'header' ? first.text.text : '?';
}

export function teamsHeadline(message: TeamsWireMessage): string {
  const first = message.attachments[0]?.content.body[0];
  return first?.type === 'TextBlock' ? first.text : '?';
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
