import { describe, expect, it } from 'vitest';
import { AUDIT_LIMITS } from '../../../../lambdas/core/audit.ts';
import { type ApiRequest, handleApiRequest } from '../../../../lambdas/use-cases/operator-api.ts';
import { createHarness, MINUTE, T0 } from '../../../support/harness.ts';

const CALLER = 'arn:aws:sts::123456789012:assumed-role/oncall/alice';

function req(method: string, path: string, body?: unknown, query: Record<string, string> = {}): ApiRequest {
  return { method, path, query, body: body === undefined ? undefined : JSON.stringify(body), caller: CALLER };
}

describe('the audit trail of the operator API', () => {
  it('records every non-GET request once answered, 4xx included, and no GET', async () => {
    // Prepare
    const h = createHarness();
    // Act
    const declared = await handleApiRequest(
      h.ctx,
      req('POST', '/incidents', { type: 'manual', severity: 'P3', title: 'Disk filling', services: ['auth'] }),
    );
    h.clock.advance(MINUTE);
    await handleApiRequest(h.ctx, req('POST', '/incidents', { type: 'manual', severity: 'P9', title: 'x' }));
    h.clock.advance(MINUTE);
    await handleApiRequest(h.ctx, req('POST', '/nowhere', {}));
    await handleApiRequest(h.ctx, req('GET', '/incidents'));
    // Assert
    const entries = await h.store.listAudit({});
    expect(entries).toHaveLength(3);
    expect(entries[2]).toEqual({
      at: T0,
      caller: CALLER,
      method: 'POST',
      path: '/incidents',
      action: 'incident.declare',
      subjects: ['auth'],
      statusCode: 201,
      outcome: 'succeeded',
      detail: 'HTTP 201',
    });
    expect(declared.statusCode).toBe(201);
    expect(entries[1]).toMatchObject({
      action: 'incident.declare',
      statusCode: 400,
      outcome: 'rejected',
      detail: expect.stringContaining('severity'),
    });
    expect(entries[0]).toMatchObject({ action: 'unrouted', statusCode: 404, at: T0 + 2 * MINUTE });
  });

  it('records a request whose handler threw as a 500 and rethrows the error', async () => {
    // Prepare
    const h = createHarness();
    h.store.createIncident = async () => {
      throw new Error('table is gone');
    };
    // Act
    const answer = handleApiRequest(h.ctx, req('POST', '/incidents', { type: 'manual', severity: 'P3', title: 'x' }));
    // Assert
    await expect(answer).rejects.toThrow('table is gone');
    expect(await h.store.listAudit({})).toMatchObject([
      { action: 'incident.declare', statusCode: 500, outcome: 'error', detail: 'table is gone' },
    ]);
  });

  it('keeps each field of an entry one bounded line, whatever the request carried', async () => {
    // Prepare
    const h = createHarness();
    const path = `/incidents/\u001b[2J${'x'.repeat(5000)}\nforged`;
    // Act
    await handleApiRequest(h.ctx, req('POST', path, {}));
    // Assert
    const [entry] = await h.store.listAudit({});
    expect(entry?.path).toHaveLength(AUDIT_LIMITS.path);
    expect(entry?.path).not.toContain('\u001b');
    expect(entry?.path).not.toContain('\n');
    expect(entry?.path.startsWith('/incidents/\\x1b[2J')).toBe(true);
  });

  it('answers GET /audit newest first, from a time on and up to a limit', async () => {
    // Prepare
    const h = createHarness();
    for (const title of ['one', 'two', 'three']) {
      await handleApiRequest(h.ctx, req('POST', '/incidents', { type: 'manual', severity: 'P3', title }));
      h.clock.advance(MINUTE);
    }
    // Act
    const all = await handleApiRequest(h.ctx, req('GET', '/audit'));
    const two = await handleApiRequest(h.ctx, req('GET', '/audit', undefined, { limit: '2' }));
    const since = await handleApiRequest(
      h.ctx,
      req('GET', '/audit', undefined, { since: new Date(T0 + 2 * MINUTE).toISOString() }),
    );
    // Assert
    const ats = (r: typeof all) => (r.body as { entries: { at: string }[] }).entries.map((e) => e.at);
    expect(all.statusCode).toBe(200);
    expect(ats(all)).toEqual([T0 + 2 * MINUTE, T0 + MINUTE, T0].map((t) => new Date(t).toISOString()));
    expect(ats(two)).toHaveLength(2);
    expect(ats(since)).toEqual([new Date(T0 + 2 * MINUTE).toISOString()]);
  });

  it('refuses a bad limit or since with 400 naming the field', async () => {
    const h = createHarness();
    for (const [query, field] of [
      [{ limit: '0' }, 'limit'],
      [{ limit: '5000' }, 'limit'],
      [{ limit: '1; drop' }, 'limit'],
      [{ since: 'yesterday' }, 'since'],
      [{ since: '2026-12-01T02:00:00' }, 'since'],
    ] as const) {
      const answer = await handleApiRequest(h.ctx, req('GET', '/audit', undefined, query));
      expect(answer).toMatchObject({
        statusCode: 400,
        body: { error: expect.stringMatching(new RegExp(`^${field}:`)) },
      });
    }
  });
});
