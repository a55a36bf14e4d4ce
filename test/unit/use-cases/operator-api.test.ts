import { describe, expect, it } from 'vitest';
import { type ApiRequest, handleApiRequest, ROUTE_GROUPS } from '../../../lambdas/use-cases/operator-api.ts';
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

  it('declares a security incident that pages all teams through the Executive level', async () => {
    const h = createHarness();
    const created = await handleApiRequest(
      h.ctx,
      req('POST', '/incidents', { type: 'security', severity: 'P1', title: 'Leaked token', services: ['pgc'] }),
    );
    expect(created).toMatchObject({ statusCode: 201, body: { kind: 'security', severity: 'P1' } });
    expect(h.notifier.sent.map((n) => n.page.level)).toEqual([1, 2, 3, 4]);
  });

  it('answers 404, 405 and 400 for unknown incidents, wrong methods and broken JSON', async () => {
    const { h, id } = await withOpenIncident();
    expect((await handleApiRequest(h.ctx, req('POST', '/incidents/INC-NOPE/ack', {}))).statusCode).toBe(404);
    expect((await handleApiRequest(h.ctx, req('GET', '/nothing'))).statusCode).toBe(404);
    expect((await handleApiRequest(h.ctx, req('DELETE', `/incidents/${id}`))).statusCode).toBe(405);
    const broken = await handleApiRequest(h.ctx, { ...req('POST', `/incidents/${id}/ack`), body: '{not json' });
    expect(broken).toMatchObject({ statusCode: 400, body: { error: 'the request body is not valid JSON' } });
  });

  it('rejects a declaration of more than 32 services, or of one service twice, with 400 naming the field', async () => {
    // Prepare
    const h = createHarness();
    const declare = (services: unknown) =>
      handleApiRequest(h.ctx, req('POST', '/incidents', { type: 'manual', severity: 'P3', title: 'x', services }));
    // Act
    const many = await declare(Array(250).fill('auth'));
    const twice = await declare(['auth', 'pgc', 'auth']);
    const junk = await declare(['auth\u001b[31m']);
    // Assess
    expect(many).toMatchObject({ statusCode: 400, body: { error: 'services: at most 32 services per incident' } });
    expect(twice).toMatchObject({ statusCode: 400, body: { error: 'services: "auth" is listed twice' } });
    expect(junk).toMatchObject({
      statusCode: 400,
      body: { error: expect.stringMatching(/^services\.0: must be a service name/) },
    });
    expect(await h.store.listOpenIncidents()).toEqual([]);
    expect(h.notifier.sent).toEqual([]);
  });

  it('rejects a title that is not one line of at most 200 characters without control characters', async () => {
    // Prepare
    const h = createHarness();
    const declare = (title: string) =>
      handleApiRequest(h.ctx, req('POST', '/incidents', { type: 'manual', severity: 'P3', title }));
    // Act
    const bad = await Promise.all(
      ['two\nlines', 'nul\u0000', 'clear\u001b[2J', 'c1 csi \u009b2J', 'bidi \u202eevil', 't'.repeat(201)].map(declare),
    );
    const longest = await declare('t'.repeat(200));
    // Assess
    for (const response of bad)
      expect(response).toMatchObject({ statusCode: 400, body: { error: expect.stringMatching(/^title: /) } });
    expect(bad.at(-1)?.body).toEqual({ error: 'title: must be at most 200 characters' });
    expect(bad[0]?.body).toEqual({ error: 'title: must be one line without control characters or escape codes' });
    expect(longest.statusCode).toBe(201);
  });

  it('rejects notes and reasons with escape codes or over their bound, and keeps their newlines and tabs', async () => {
    // Prepare
    const { h, id } = await withOpenIncident();
    const ack = (note: string) => handleApiRequest(h.ctx, req('POST', `/incidents/${id}/ack`, { note }));
    const resolve = (reason: string) => handleApiRequest(h.ctx, req('POST', `/incidents/${id}/resolve`, { reason }));
    // Act
    const titleSet = await ack('\u001b]0;pwned\u0007');
    const longNote = await ack('n'.repeat(501));
    const nul = await resolve('done\u0000');
    const longReason = await resolve('r'.repeat(1001));
    const multiLine = await resolve('rolled back\n\tthen restarted');
    // Assess
    expect(titleSet).toMatchObject({
      statusCode: 400,
      body: { error: 'note: must hold no control characters (but newlines and tabs) or escape codes' },
    });
    expect(longNote).toMatchObject({ statusCode: 400, body: { error: 'note: must be at most 500 characters' } });
    expect(nul).toMatchObject({ statusCode: 400, body: { error: expect.stringMatching(/^reason: /) } });
    expect(longReason).toMatchObject({ statusCode: 400, body: { error: 'reason: must be at most 1000 characters' } });
    expect(multiLine).toMatchObject({ statusCode: 200, body: { resolution: 'rolled back\n\tthen restarted' } });
  });

  it('rejects a caller that is not one line, a body over 16 KiB and an unknown value of all', async () => {
    // Prepare
    const { h, id } = await withOpenIncident();
    // Act
    const forged = await handleApiRequest(h.ctx, { ...req('POST', `/incidents/${id}/ack`, {}), caller: 'alice\nbob' });
    const huge = await handleApiRequest(h.ctx, req('POST', `/incidents/${id}/ack`, { note: ' '.repeat(17_000) }));
    const all = await handleApiRequest(h.ctx, req('GET', '/incidents', undefined, { all: 'yes' }));
    // Assess
    expect(forged).toMatchObject({ statusCode: 400, body: { error: expect.stringMatching(/^caller: /) } });
    expect(huge).toMatchObject({ statusCode: 400, body: { error: 'the request body is larger than 16384 bytes' } });
    expect(all).toMatchObject({ statusCode: 400, body: { error: 'all: must be true or false' } });
    expect((await h.store.getIncident(id))?.status).toBe('open');
  });

  it('finds every route in the group of its first path segment, one group per segment', async () => {
    // Prepare: the router loads only the group of a request's first segment, so a route under another segment
    // would never be reached.
    const segments = ROUTE_GROUPS.flatMap((g) => g.segments);
    expect(new Set(segments).size).toBe(segments.length);
    for (const group of ROUTE_GROUPS) {
      // Act
      const routes = await group.load();
      // Assess: each path pattern starts with one of the group's segments, then "/" or the end.
      expect(routes.length).toBeGreaterThan(0);
      for (const route of routes) {
        const source = route.path.source.replaceAll('\\/', '/');
        const under = group.segments.some(
          (segment) => source.startsWith(`^/${segment}/`) || source.startsWith(`^/${segment}$`),
        );
        expect(under, `${route.method} ${route.path.source} under ${group.segments.join(', ')}`).toBe(true);
      }
    }
  });
});
