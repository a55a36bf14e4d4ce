import { describe, expect, it } from 'vitest';
import { call, FLEET, openIncidentOn, procedures } from '../../../support/api-calls.ts';
import { createHarness, MINUTE, T0 } from '../../../support/harness.ts';
import { hostileValues } from '../../../support/hostile-values.ts';

describe('fleet procedure routes', () => {
  it('restarts the whole fleet with its steps, on every open incident', async () => {
    const h = createHarness();
    const a = await openIncidentOn(h, 'a', ['auth']);
    const b = await openIncidentOn(h, 'b', ['gs']);
    const answer = await call(h, 'POST', '/fleet/restart-all', {});
    expect(answer.statusCode).toBe(200);
    expect(answer.body).toMatchObject({ procedure: 'fleet.restart-all', services: FLEET, status: 'succeeded' });
    expect((answer.body as { steps: unknown[] }).steps).toHaveLength(8);
    for (const id of [a, b])
      expect(await procedures(h, id)).toMatchObject([{ action: 'fleet.restart-all', services: [] }]);
  });

  it('answers 502 naming the service restart-all stopped at', async () => {
    const h = createHarness();
    h.commands.run = async (r) =>
      r.parameters.ServiceName === 'integrity'
        ? { status: 'failed', exitCode: 1, output: 'integrity not healthy\n' }
        : { status: 'succeeded', exitCode: 0, output: 'ok\n' };
    const answer = await call(h, 'POST', '/fleet/restart-all', { services: ['auth', 'integrity', 'fv'] });
    expect(answer).toMatchObject({
      statusCode: 502,
      body: {
        status: 'failed',
        error: 'restart-all stopped at integrity: it did not come back healthy (failed); not started: fv',
      },
    });
  });

  it('stops the fleet under a window covering all of it', async () => {
    const h = createHarness();
    const answer = await call(h, 'POST', '/fleet/stop-all', { windowMinutes: 90 });
    expect(answer.body).toMatchObject({ window: { subjects: ['*'], until: new Date(T0 + 90 * MINUTE).toISOString() } });
    expect(h.commands.requests.map((r) => r.document)).toEqual(['acgs-stop-all']);
  });

  it('refuses unknown or hostile services and bad numbers with 400 naming the field, running nothing', async () => {
    const h = createHarness();
    const bad: [string, unknown, RegExp][] = [
      ['/fleet/start-all', { services: ['auth', 'nosuch'] }, /^services: unknown service nosuch/],
      ['/fleet/start-all', { services: [] }, /^services: /],
      ['/fleet/start-all', { timeoutSeconds: 0 }, /^timeoutSeconds: /],
      ['/fleet/start-all', { timeoutSeconds: 10_000 }, /^timeoutSeconds: /],
      ['/fleet/stop-all', { windowMinutes: -5 }, /^windowMinutes: /],
      ['/fleet/restart-all', { windowMinutes: 99_999 }, /^windowMinutes: /],
      ['/fleet/restart-all', { services: ['auth', 'auth'] }, /^services: "auth" is listed twice/],
      ...hostileValues('auth', 'pwned').map((v): [string, unknown, RegExp] => [
        '/fleet/restart-all',
        { services: [v] },
        /^services\.0: /,
      ]),
    ];
    for (const [path, body, error] of bad)
      expect(await call(h, 'POST', path, body)).toMatchObject({
        statusCode: 400,
        body: { error: expect.stringMatching(error) },
      });
    expect(h.commands.requests).toEqual([]);
    expect(await h.store.listMaintenanceWindows(0)).toEqual([]);
  });
});
