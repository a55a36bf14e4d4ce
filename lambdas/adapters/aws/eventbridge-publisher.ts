import { type EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { ControlPlaneError } from '../../core/errors.ts';
import { type ControlPlaneEvent, EVENT_SOURCE } from '../../core/events.ts';
import type { EventPublisher } from '../../ports.ts';

export interface EventBridgePublisherOptions {
  /** Further tries of entries EventBridge failed for a passing reason (throttling, internal failure). @default 2 */
  readonly retries?: number;
  /** How to wait before a retry (tests pass one that does not). @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** PutEvents takes at most 10 entries. */
const MAX_ENTRIES = 10;
/** Entry error codes worth another try; any other (malformed detail, not authorised...) will fail again. */
const RETRYABLE = new Set(['InternalFailure', 'ThrottlingException']);

interface Pending {
  /** Position in the published list, for the error message. */
  readonly index: number;
  readonly entry: PutEventsRequestEntry;
}

interface Failure {
  readonly index: number;
  readonly detailType: string;
  readonly code: string;
  readonly message: string;
}

/**
 * Publishes the control plane's events to an EventBridge bus: source EVENT_SOURCE, the event's detail type, its
 * detail as JSON, and the time it happened (`detail.at`). PutEvents answers 200 even when some entries failed, so
 * every entry's result is read: entries failed for a passing reason are retried, and any entry still failed makes
 * `publish` throw, naming each one. Entries are sent in batches of 10, in order; the other batches are still sent
 * when one has failed entries.
 */
export class EventBridgePublisher implements EventPublisher {
  private readonly retries: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
    options: EventBridgePublisherOptions = {},
  ) {
    if (!busName) throw new ControlPlaneError('CONFIG', 'EventBridgePublisher: busName is empty');
    this.retries = options.retries ?? 2;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  async publish(events: readonly ControlPlaneEvent[]): Promise<void> {
    const pending: Pending[] = events.map((event, index) => ({
      index,
      entry: {
        Source: EVENT_SOURCE,
        DetailType: event.detailType,
        Detail: JSON.stringify(event.detail),
        Time: new Date(event.detail.at),
        EventBusName: this.busName,
      },
    }));
    const failures: Failure[] = [];
    let published = 0;
    for (let start = 0; start < pending.length; start += MAX_ENTRIES) {
      const batch = pending.slice(start, start + MAX_ENTRIES);
      try {
        const failed = await this.putWithRetries(batch);
        failures.push(...failed);
        published += batch.length - failed.length;
      } catch (error) {
        const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        throw new ControlPlaneError(
          'EVENTS_NOT_PUBLISHED',
          `PutEvents to bus ${this.busName} failed with ${published} of ${events.length} events published: ${reason}`,
          { cause: error },
        );
      }
    }
    if (failures.length > 0)
      throw new ControlPlaneError(
        'EVENTS_NOT_PUBLISHED',
        `${failures.length} of ${events.length} events not published to bus ${this.busName}: ${failures
          .map((f) => `#${f.index} ${f.detailType}: ${f.code} ${f.message}`)
          .join('; ')}`,
      );
  }

  /** Sends one batch; returns the entries still failed after the retries, in order. */
  private async putWithRetries(batch: readonly Pending[]): Promise<Failure[]> {
    const final: Failure[] = [];
    let todo: Pending[] = [...batch];
    for (let attempt = 0; todo.length > 0; attempt++) {
      if (attempt > 0) await this.sleep(backoff(attempt));
      const out = await this.client.send(new PutEventsCommand({ Entries: todo.map((p) => p.entry) }));
      const sent = todo;
      todo = [];
      if (!out.FailedEntryCount) break;
      const results = out.Entries ?? [];
      sent.forEach((p, i) => {
        const result = results[i];
        // An entry without an event id did not make it, whatever else the answer says.
        if (result?.EventId && !result.ErrorCode) return;
        const code = result?.ErrorCode ?? 'NoResult';
        if (RETRYABLE.has(code) && attempt < this.retries) {
          todo.push(p);
          return;
        }
        final.push({
          index: p.index,
          detailType: p.entry.DetailType ?? '?',
          code,
          message: result?.ErrorMessage ?? 'no result for this entry',
        });
      });
    }
    return final.sort((a, b) => a.index - b.index);
  }
}

/** Full-jitter exponential backoff: up to 50 ms, 100 ms, 200 ms... */
function backoff(attempt: number): number {
  return Math.random() * 50 * 2 ** (attempt - 1);
}
