import { describe, expect, it } from 'vitest';
import { CALLER, call, openIncidentOn, procedures } from '../../../support/api-calls.ts';
import { createHarness, MINUTE, T0 } from '../../../support/harness.ts';

describe('maintenance routes', () => {
  it('opens, lists and ends a window, recording each on the incidents it covers', async () => {
    const h = createHarness();
    const id = await openIncidentOn(h, 'a', ['auth']);
    const opened = await call(h, 'POST', '/maintenance', { subjects: ['auth'], minutes: 30, reason: 'kernel update' });
    expect(opened).toMatchObject({
      statusCode: 201,
      body: {
        procedure: 'maintenance.start',
        status: 'succeeded',
        window: {
          subjects: ['auth'],
          until: new Date(T0 + 30 * MINUTE).toISOString(),
          reason: 'kernel update',
          by: CALLER,
        },
      },
    });
    const windowId = (opened.body as { window: { id: string } }).window.id;
    expect(await call(h, 'GET', '/maintenance')).toMatchObject({
      statusCode: 200,
      body: { windows: [{ id: windowId }] },
    });
    h.clock.advance(MINUTE);
    expect(await call(h, 'POST', `/maintenance/${windowId}/end`, {})).toMatchObject({
      statusCode: 200,
      body: { procedure: 'maintenance.end', window: { until: new Date(T0 + MINUTE).toISOString() } },
    });
    expect(await call(h, 'GET', '/maintenance')).toMatchObject({ body: { windows: [] } });
    expect((await procedures(h, id)).map((p) => p.action)).toEqual(['maintenance.start', 'maintenance.end']);
    expect((await call(h, 'POST', `/maintenance/${windowId}/end`, {})).statusCode).toBe(404);
  });

  it('refuses bad windows with 400 naming the field', async () => {
    const h = createHarness();
    const ok = { subjects: ['auth'], minutes: 30, reason: 'r' };
    const bad: [unknown, RegExp][] = [
      [{ ...ok, minutes: 0 }, /^minutes: /],
      [{ ...ok, minutes: 20_000 }, /^minutes: /],
      [{ ...ok, subjects: ['nosuch'] }, /^subjects: unknown service or check: nosuch/],
      [{ ...ok, subjects: ['auth; touch pwned'] }, /^subjects\.0: /],
      [{ ...ok, reason: 'ok\u001b[2J' }, /^reason: /],
      [{ ...ok, delayMinutes: -1 }, /^delayMinutes: /],
      [{ subjects: ['auth'], minutes: 30 }, /^reason: /],
    ];
    for (const [body, error] of bad)
      expect(await call(h, 'POST', '/maintenance', body)).toMatchObject({
        statusCode: 400,
        body: { error: expect.stringMatching(error) },
      });
    expect(await h.store.listMaintenanceWindows(0)).toEqual([]);
  });
});
