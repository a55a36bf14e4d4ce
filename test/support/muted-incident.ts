import type { Incident } from '../../lambdas/core/incident.ts';
import type { Harness } from './harness.ts';
import { newIncident } from './state-store-contract.ts';

/** An open incident about auth, paged at level 1, whose next step `windowId` defers until `until`. */
export async function incidentMutedBy(h: Harness, windowId: string, until: number): Promise<Incident> {
  const created = await h.store.createIncident(newIncident('auth:health@127.0.0.1'), []);
  if (!created.created) throw new Error('not created');
  const { incident } = created;
  return h.store.updateIncident(
    { ...incident, escalation: { ...incident.escalation, level: 1, nextAt: until, mutedBy: windowId } },
    [],
  );
}
