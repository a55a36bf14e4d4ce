import { describe, expect, it } from 'vitest';
import type { CommandResult } from '../../../../lambdas/ports.ts';
import { CALLER, call, FLEET, openIncidentOn, probe, procedures } from '../../../support/api-calls.ts';
import { createHarness, MINUTE, T0 } from '../../../support/harness.ts';
import { hostileValues } from '../../../support/hostile-values.ts';

describe('service procedure routes', () => {
  it('restarts a service, answers its outcome and puts it on the open incidents about it and the audit trail', async () => {
    // Prepare
    const h = createHarness();
    const about = await openIncidentOn(h, 'a', ['auth']);
    const other = await openIncidentOn(h, 'b', ['gs']);
    h.commands.next = {
      status: 'succeeded',
      exitCode: 0,
      output: 'stopped\nauth healthy after 3 s\n',
      commandId: 'c-1',
    };
    // Act
    const answer = await call(h, 'POST', '/services/auth/restart', {});
    // Assess
    expect(answer).toEqual({
      statusCode: 200,
      body: {
        procedure: 'service.restart',
        services: ['auth'],
        status: 'succeeded',
        exitCode: 0,
        output: 'stopped\nauth healthy after 3 s\n',
        commandId: 'c-1',
      },
    });
    expect(h.commands.requests).toMatchObject([{ document: 'acgs-restart-service', parameters: { Force: 'false' } }]);
    expect(await procedures(h, about)).toMatchObject([
      {
        by: CALLER,
        action: 'service.restart',
        services: ['auth'],
        outcome: 'succeeded',
        detail: 'auth healthy after 3 s',
      },
    ]);
    expect(await procedures(h, other)).toEqual([]);
    expect(await h.store.listAudit({})).toMatchObject([
      {
        action: 'service.restart',
        subjects: ['auth'],
        statusCode: 200,
        outcome: 'succeeded',
        detail: 'auth healthy after 3 s',
      },
    ]);
  });

  it('answers 502 when the fleet fails or times out the document, 409 when the document refuses', async () => {
    const h = createHarness();
    const cases: [CommandResult, number][] = [
      [{ status: 'failed', exitCode: 1, output: 'auth: not healthy after 60 s\n' }, 502],
      [{ status: 'timed-out', output: 'command c still InProgress after 300000 ms; cancel requested\n' }, 502],
      [{ status: 'failed', exitCode: 2, output: 'port 8000 is held by another process\n' }, 409],
      [{ status: 'rejected', output: 'rejected, nothing was run: SSM refused' }, 409],
    ];
    for (const [result, statusCode] of cases) {
      h.commands.next = result;
      const answer = await call(h, 'POST', '/services/auth/restart', { force: true });
      expect(answer.statusCode).toBe(statusCode);
      expect(answer.body).toMatchObject({ status: result.status, error: result.output.trimEnd().split('\n').pop() });
    }
  });

  it('keeps only the last 4000 characters of the output', async () => {
    const h = createHarness();
    h.commands.next = { status: 'succeeded', exitCode: 0, output: `${'x'.repeat(10_000)}\nlast line\n` };
    const answer = await call(h, 'POST', '/services/auth/restart');
    const { output } = answer.body as { output: string };
    expect(output).toHaveLength(4000);
    expect(output.endsWith('last line\n')).toBe(true);
  });

  it('refuses to start an isolated service with 409, running nothing, unless forced', async () => {
    const h = createHarness();
    const id = await openIncidentOn(h, 'a', ['pgc']);
    await h.store.setIsolated('pgc', true, 'bob', T0);
    const refused = await call(h, 'POST', '/services/pgc/start', {});
    expect(refused).toMatchObject({ statusCode: 409, body: { procedure: 'service.start', status: 'rejected' } });
    expect(h.commands.requests).toEqual([]);
    expect(await procedures(h, id)).toMatchObject([{ action: 'service.start', outcome: 'rejected' }]);
    const forced = await call(h, 'POST', '/services/pgc/start', { force: true });
    expect(forced.statusCode).toBe(200);
    expect(await h.store.listIsolated()).toEqual(new Set());
  });

  it('stops a service under a window of the length asked for, opened before the document runs', async () => {
    const h = createHarness();
    const answer = await call(h, 'POST', '/services/gs/stop', { windowMinutes: 45 });
    expect(answer).toMatchObject({
      statusCode: 200,
      body: {
        window: { id: `mw-${T0.toString(36)}`, subjects: ['gs'], until: new Date(T0 + 45 * MINUTE).toISOString() },
      },
    });
    expect(h.commands.requests.map((r) => r.document)).toEqual(['acgs-stop-service']);
  });

  it('isolates and releases through their documents', async () => {
    const h = createHarness();
    expect((await call(h, 'POST', '/services/ec/isolate', {})).statusCode).toBe(200);
    expect(await h.store.listIsolated()).toEqual(new Set(['ec']));
    expect((await call(h, 'POST', '/services/ec/release')).statusCode).toBe(200);
    expect(await h.store.listIsolated()).toEqual(new Set());
    expect(h.commands.requests.map((r) => r.document)).toEqual(['acgs-isolate-service', 'acgs-release-service']);
  });

  it('refuses bad input with 400 naming the field, and an unknown service with 404, before anything runs', async () => {
    const h = createHarness();
    const bad: [string, unknown, RegExp][] = [
      ['/services/gs/stop', { windowMinutes: 0 }, /^windowMinutes: /],
      ['/services/gs/stop', { windowMinutes: 10_081 }, /^windowMinutes: /],
      ['/services/gs/stop', { windowMinutes: 1.5 }, /^windowMinutes: /],
      ['/services/gs/stop', { windowMinutes: '30' }, /^windowMinutes: /],
      ['/services/gs/restart', { force: 'yes' }, /^force: /],
      ['/services/gs/isolate', { by: 'mallory' }, /by/],
    ];
    for (const [path, body, error] of bad)
      expect(await call(h, 'POST', path, body)).toMatchObject({
        statusCode: 400,
        body: { error: expect.stringMatching(error) },
      });
    for (const name of hostileValues('auth', 'pwned')) {
      const answer = await call(h, 'POST', `/services/${name}/restart`, {});
      expect(answer).toMatchObject({ statusCode: 400, body: { error: expect.stringMatching(/^name: /) } });
    }
    expect(await call(h, 'POST', '/services/nosuch/restart', {})).toMatchObject({
      statusCode: 404,
      body: { error: expect.stringContaining('service nosuch (services: auth, ac,') },
    });
    expect(h.commands.requests).toEqual([]);
    expect(await h.store.listMaintenanceWindows(0)).toEqual([]);
  });

  it('lists the services with their recorded health and isolation', async () => {
    const h = createHarness();
    await h.store.setIsolated('pgc', true, 'bob', T0);
    await probe(h, 4, { auth: 'unhealthy' });
    const answer = await call(h, 'GET', '/services');
    const services = (answer.body as { services: { name: string; state: string; isolated: boolean }[] }).services;
    expect(services.map((s) => s.name)).toEqual(FLEET);
    expect(services[0]).toMatchObject({
      name: 'auth',
      host: '127.0.0.1',
      state: 'down',
      isolated: false,
      reason: 'auth refused',
    });
    expect(services.find((s) => s.name === 'pgc')).toMatchObject({ state: 'healthy', isolated: true, reason: null });
    expect(await h.store.listAudit({})).toEqual([]);
  });
});
