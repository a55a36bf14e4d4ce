import { NotFoundError, VersionConflictError } from '../core/errors.ts';
import type { Incident, TimelineEntry } from '../core/incident.ts';
import type { IncidentStore } from '../ports.ts';

const MAX_ATTEMPTS = 8;

export interface IncidentChange {
  readonly incident: Incident;
  readonly timeline: readonly TimelineEntry[];
}

/**
 * Optimistic read-modify-write of one incident. `change` sees the freshest stored incident and returns the new one
 * (or undefined for "nothing to do"); a lost race re-reads and re-applies, so concurrent writers never overwrite
 * each other's count, timeline or acknowledgement.
 */
export async function updateIncidentWithRetry(
  store: IncidentStore,
  start: Incident | string,
  change: (current: Incident) => IncidentChange | undefined | Promise<IncidentChange | undefined>,
): Promise<Incident | undefined> {
  let current = typeof start === 'string' ? await store.getIncident(start) : start;
  for (let attempt = 1; ; attempt++) {
    if (!current) throw new NotFoundError(`incident ${typeof start === 'string' ? start : start.id}`);
    const next = await change(current);
    if (!next) return undefined;
    try {
      return await store.updateIncident(next.incident, next.timeline);
    } catch (error) {
      if (!(error instanceof VersionConflictError) || attempt >= MAX_ATTEMPTS) throw error;
      current = await store.getIncident(current.id);
    }
  }
}
