import type { TimelineEntry } from '../../lambdas/core/incident.ts';
import { type ApiOptions, type ApiRequest, handleApiRequest } from '../../lambdas/use-cases/operator-api.ts';
import { applyProbeResults } from '../../lambdas/use-cases/run-probe-cycle.ts';
import { type Harness, MINUTE, results } from './harness.ts';
import { newIncident } from './state-store-contract.ts';

/** Calls of the operator API in-process, as the caller below, and what the tests of its routes look at. */
export const CALLER = 'arn:aws:sts::123456789012:assumed-role/oncall/alice';
export const FLEET = ['auth', 'ac', 'integrity', 'fv', 'gs', 'pgc', 'ec'];

export function req(method: string, path: string, body?: unknown): ApiRequest {
  return { method, path, query: {}, body: body === undefined ? undefined : JSON.stringify(body), caller: CALLER };
}

export function call(h: Harness, method: string, path: string, body?: unknown, options?: ApiOptions) {
  return handleApiRequest(h.ctx, req(method, path, body), options);
}

export async function openIncidentOn(h: Harness, dedupKey: string, services: string[]) {
  const created = await h.store.createIncident({ ...newIncident(dedupKey), services }, []);
  if (!created.created) throw new Error('not created');
  return created.incident.id;
}

export async function procedures(h: Harness, id: string) {
  return (await h.store.getTimeline(id)).filter(
    (e): e is Extract<TimelineEntry, { type: 'procedure' }> => e.type === 'procedure',
  );
}

/** Probe cycles, one a minute, with these results each time. */
export async function probe(h: Harness, cycles: number, overrides: Parameters<typeof results>[1] = {}) {
  for (let i = 0; i < cycles; i++) {
    h.clock.advance(MINUTE);
    const r = await applyProbeResults(h.ctx, results(h.ctx, overrides));
    await Promise.all(r.remediation.inFlight);
  }
}
