import { expect } from 'vitest';
import type { TimelineEntry } from '../../lambdas/core/incident.ts';
import type { ControlPlaneContext } from '../../lambdas/use-cases/context.ts';
import { type ApiOptions, type ApiRequest, handleApiRequest } from '../../lambdas/use-cases/operator-api.ts';
import { applyProbeResults } from '../../lambdas/use-cases/run-probe-cycle.ts';
import { createHarness, type Harness, MINUTE, results } from './harness.ts';
import { MemoryObjectStore } from './memory-object-store.ts';
import { newIncident } from './state-store-contract.ts';

/** Calls of the operator API in-process, as the caller below, and what the tests of its routes look at. */
export const CALLER = 'arn:aws:sts::123456789012:assumed-role/oncall/alice';
export const FLEET = ['auth', 'ac', 'integrity', 'fv', 'gs', 'pgc', 'ec'];

export function req(method: string, path: string, body?: unknown, query: Record<string, string> = {}): ApiRequest {
  return { method, path, query, body: body === undefined ? undefined : JSON.stringify(body), caller: CALLER };
}

/** A harness whose context writes incident reports to a memory object store. */
export interface ReportingHarness {
  readonly h: Harness;
  readonly ctx: ControlPlaneContext;
  readonly reports: MemoryObjectStore;
}

export function reportingHarness(): ReportingHarness {
  const h = createHarness();
  const reports = new MemoryObjectStore();
  return { h, ctx: { ...h.ctx, reports }, reports };
}

/** What POST /incidents answers for a security declaration. */
export type Declared = { id: string; severity: string; isolation: { service: string; status: string }[] } & {
  checklist: { step: string; ticked: boolean; by?: string; note?: string }[] | null;
};

/** Declares a security incident about pgc through the API (201 expected). */
export async function declareSecurity(s: ReportingHarness, extra: Record<string, unknown> = {}): Promise<Declared> {
  const response = await handleApiRequest(
    s.ctx,
    req('POST', '/incidents', { type: 'security', title: 'Leaked admin token', services: ['pgc'], ...extra }),
  );
  expect(response.statusCode).toBe(201);
  return response.body as Declared;
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
