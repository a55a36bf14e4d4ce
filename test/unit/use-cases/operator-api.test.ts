import { describe, expect, it } from 'vitest';
import { type ApiRequest, handleApiRequest } from '../../../lambdas/use-cases/operator-api.ts';
import { applyProbeResults } from '../../../lambdas/use-cases/run-probe-cycle.ts';
import { createHarness, type Harness, MINUTE, results } from '../../support/harness.ts';

const CALLER = 'arn:aws:sts::123456789012:assumed-role/oncall/alice';

function req(method: string, path: string, body?: unknown, query: Record<string, string> = {}): ApiRequest {
  return { method, path, query, body: body === undefined ? undefined : JSON.stringify(body), caller: CALLER };
}

async function withOpenIncident(): Promise<{ h: Harness; id: string }> {
  const h = createHarness();
  for (let i = 0; i < 4; i++) {
    h.clock.advance(MINUTE);
    const r = await applyProbeResults(h.ctx, results(h.ctx, i === 0 ? {} : { auth: 'unhealthy' }));
    await Promise.all(r.remediation.inFlight);
  }
  const [incident] = await h.store.listOpenIncidents();
  if (!incident) throw new Error('expected an incident');
  return { h, id: incident.id };
}

describe('operator API', () => {
  it('lists open incidents and shows one with its timeline', async () => {
    const { h, id } = await withOpenIncident();
    const list = await handleApiRequest(h.ctx, req('GET', '/incidents'));
    expect(list).toMatchObject({ statusCode: 200, body: { incidents: [{ id, severity: 'P2', status: 'open' }] } });
    const show = await handleApiRequest(h.ctx, req('GET', `/incidents/${id}`));
    expect(show.statusCode).toBe(200);
    expect((show.body as { timeline: { type: string }[] }).timeline.map((e) => e.type)).toContain('paged');
  });

  it('acknowledges as the authenticated caller, whatever the body says', async () => {
    const { h, id } = await withOpenIncident();
    const acked = await handleApiRequest(h.ctx, req('POST', `/incidents/${id}/ack`, { note: 'on it' }));
    expect(acked).toMatchObject({ statusCode: 200, body: { status: 'acknowledged', acknowledgedBy: CALLER } });
    const forged = await handleApiRequest(h.ctx, req('POST', `/incidents/${id}/ack`, { by: 'mallory' }));
    expect(forged).toMatchObject({ statusCode: 400, body: { error: expect.stringContaining('by') } });
  });

  it('resolves with a reason and answers 409 when resolving again', async () => {
    const { h, id } = await withOpenIncident();
    expect(await handleApiRequest(h.ctx, req('POST', `/incidents/${id}/resolve`, {}))).toMatchObject({
      statusCode: 400,
      body: { error: expect.stringContaining('reason') },
    });
    const done = await handleApiRequest(h.ctx, req('POST', `/incidents/${id}/resolve`, { reason: 'rolled back' }));
    expect(done).toMatchObject({ statusCode: 200, body: { status: 'resolved', resolution: 'rolled back' } });
    expect(await handleApiRequest(h.ctx, req('POST', `/incidents/${id}/resolve`, { reason: 'again' }))).toMatchObject({
      statusCode: 409,
    });
  });

  it('declares a security incident that pages all teams', async () => {
    const h = createHarness();
    const created = await handleApiRequest(
      h.ctx,
      req('POST', '/incidents', { type: 'security', severity: 'P1', title: 'Leaked token', services: ['pgc'] }),
    );
    expect(created).toMatchObject({ statusCode: 201, body: { kind: 'security', severity: 'P1' } });
    expect(h.notifier.sent.map((n) => n.page.level)).toEqual([1, 2, 3]);
  });

  it('answers 404, 405 and 400 for unknown incidents, wrong methods and broken JSON', async () => {
    const { h, id } = await withOpenIncident();
    expect((await handleApiRequest(h.ctx, req('POST', '/incidents/INC-NOPE/ack', {}))).statusCode).toBe(404);
    expect((await handleApiRequest(h.ctx, req('GET', '/nothing'))).statusCode).toBe(404);
    expect((await handleApiRequest(h.ctx, req('DELETE', `/incidents/${id}`))).statusCode).toBe(405);
    const broken = await handleApiRequest(h.ctx, { ...req('POST', `/incidents/${id}/ack`), body: '{not json' });
    expect(broken).toMatchObject({ statusCode: 400, body: { error: 'the request body is not valid JSON' } });
  });
});
