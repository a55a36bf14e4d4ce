import { NotFoundError, VersionConflictError } from '../core/errors.ts';
import type { Incident, TimelineEntry } from '../core/incident.ts';
import { withNotices } from '../core/notices.ts';
import type { Clock, CreateIncidentResult, IncidentStore, Notifier } from '../ports.ts';

/**
 * Where incident writes go, and what derives the lifecycle notices they owe (`withNotices`): a context passes
 * itself. A bare store writes without deriving notices (tests of the stores, callers that announce nothing).
 */
export interface IncidentWriter {
  readonly incidents: IncidentStore;
  readonly notifier: Pick<Notifier, 'noticeChannels'>;
  readonly clock: Clock;
}

function writerParts(target: IncidentStore | IncidentWriter): {
  store: IncidentStore;
  derive: (incident: Incident, timeline: readonly TimelineEntry[]) => Incident;
} {
  if (!('notifier' in target)) return { store: target, derive: (incident) => incident };
  return {
    store: target.incidents,
    derive: (incident, timeline) =>
      withNotices(incident, timeline, (kind) => target.notifier.noticeChannels(kind), target.clock.now()),
  };
}

/** Creates an incident with the notices its opening owes (the `opened` notice, stored in the same write). */
export function createIncidentWithNotices(
  writer: IncidentWriter,
  incident: Incident,
  timeline: readonly TimelineEntry[],
): Promise<CreateIncidentResult> {
  return writer.incidents.createIncident(writerParts(writer).derive(incident, timeline), timeline);
}

export interface IncidentChange {
  readonly incident: Incident;
  readonly timeline: readonly TimelineEntry[];
}

export interface RetryOptions {
  /**
   * Writes tried before the conflict is thrown.
   * @default 30
   */
  readonly maxAttempts?: number;
  /** Waits between lost races; tests inject one that does not sleep. @default a real timer */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Uniform in [0, 1), for the jitter. @default Math.random */
  readonly random?: () => number;
}

/** Enough for a hundred writers racing on one incident to all land (measured: test/integration/concurrent-updates). */
const MAX_ATTEMPTS = 30;
/** The first backoff's ceiling; it doubles with each lost race up to BACKOFF_CAP_MS. */
const BACKOFF_BASE_MS = 5;
const BACKOFF_CAP_MS = 500;

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Optimistic read-modify-write of one incident. `change` sees the freshest stored incident and returns the new one
 * (or undefined for "nothing to do"); a lost race re-reads and re-applies, so concurrent writers never overwrite
 * each other's count, timeline or acknowledgement. Lost races back off exponentially with jitter (half fixed, half
 * random, so the wait grows for everyone while racing writers still spread out), so a burst of writers on one
 * incident drains instead of re-colliding in lockstep until the attempts run out. Given a context (`IncidentWriter`),
 * every write also stores the lifecycle notices its timeline entries announce (`withNotices`), in the same write.
 */
export async function updateIncidentWithRetry(
  target: IncidentStore | IncidentWriter,
  start: Incident | string,
  change: (current: Incident) => IncidentChange | undefined | Promise<IncidentChange | undefined>,
  options: RetryOptions = {},
): Promise<Incident | undefined> {
  const { store, derive } = writerParts(target);
  const maxAttempts = options.maxAttempts ?? MAX_ATTEMPTS;
  const sleep = options.sleep ?? realSleep;
  const random = options.random ?? Math.random;
  let current = typeof start === 'string' ? await store.getIncident(start) : start;
  for (let attempt = 1; ; attempt++) {
    if (!current) throw new NotFoundError(`incident ${typeof start === 'string' ? start : start.id}`);
    const next = await change(current);
    if (!next) return undefined;
    try {
      return await store.updateIncident(derive(next.incident, next.timeline), next.timeline);
    } catch (error) {
      if (!(error instanceof VersionConflictError) || attempt >= maxAttempts) throw error;
      await sleep(backoffMs(attempt, random));
      current = await store.getIncident(current.id);
    }
  }
}

/** Wait after the `attempt`-th lost race: half of the ceiling fixed, the other half random. */
export function backoffMs(attempt: number, random: () => number): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}
