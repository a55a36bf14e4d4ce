import { describe, expect, it } from 'vitest';
import type { TimelineEntry } from '../../../../lambdas/core/incident.ts';
import type { ProbeResult } from '../../../../lambdas/core/probe-evaluation.ts';
import type { CommandResult, Prober } from '../../../../lambdas/ports.ts';
import { probingHealth } from '../../../../lambdas/use-cases/await-healthy.ts';
import { type ApiOptions, type ApiRequest, handleApiRequest } from '../../../../lambdas/use-cases/operator-api.ts';
import { applyProbeResults } from '../../../../lambdas/use-cases/run-probe-cycle.ts';
import { createHarness, type Harness, MINUTE, results, T0 } from '../../../support/harness.ts';
import { hostileValues } from '../../../support/hostile-values.ts';
import { newIncident } from '../../../support/state-store-contract.ts';

const CALLER = 'arn:aws:sts::123456789012:assumed-role/oncall/alice';
const FLEET = ['auth', 'ac', 'integrity', 'fv', 'gs', 'pgc', 'ec'];

function req(method: string, path: string, body?: unknown): ApiRequest {
  return { method, path, query: {}, body: body === undefined ? undefined : JSON.stringify(body), caller: CALLER };
}

function call(h: Harness, method: string, path: string, body?: unknown, options?: ApiOptions) {
  return handleApiRequest(h.ctx, req(method, path, body), options);
}

async function openIncidentOn(h: Harness, dedupKey: string, services: string[]) {
  const created = await h.store.createIncident({ ...newIncident(dedupKey), services }, []);
  if (!created.created) throw new Error('not created');
  return created.incident.id;
}

async function procedures(h: Harness, id: string) {
  return (await h.store.getTimeline(id)).filter(
    (e): e is Extract<TimelineEntry, { type: 'procedure' }> => e.type === 'procedure',
  );
}

/** Probe cycles, one a minute, with these results each time. */
async function probe(h: Harness, cycles: number, overrides: Parameters<typeof results>[1] = {}) {
  for (let i = 0; i < cycles; i++) {
    h.clock.advance(MINUTE);
    const r = await applyProbeResults(h.ctx, results(h.ctx, overrides));
    await Promise.all(r.remediation.inFlight);
  }
}

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

describe('POST /health/wait', () => {
  const sleeping = (h: Harness) => ({ sleep: async (ms: number) => h.clock.advance(ms) });

  it('answers 200 at once when every service is recorded healthy and no since is given', async () => {
    const h = createHarness();
    await probe(h, 3);
    const answer = await call(h, 'POST', '/health/wait', { services: ['auth', 'gs'], timeoutSeconds: 60 }, sleeping(h));
    expect(answer).toMatchObject({ statusCode: 200, body: { healthy: true, services: ['auth', 'gs'], waitedMs: 0 } });
  });

  it('counts a service recorded up before since only once the probes would have seen it fail since', async () => {
    const h = createHarness();
    await probe(h, 3);
    const since = new Date(h.clock.now()).toISOString();
    const answer = await call(
      h,
      'POST',
      '/health/wait',
      { services: ['auth'], since, timeoutSeconds: 600 },
      sleeping(h),
    );
    // failuresToDown 3 x the 1 minute probe interval.
    expect(answer).toMatchObject({ statusCode: 200, body: { healthy: true, waitedMs: 3 * MINUTE } });
  });

  it('answers 503 at the timeout naming each service still not healthy, its state and why', async () => {
    const h = createHarness();
    await probe(h, 4, { auth: 'unhealthy' });
    const answer = await call(
      h,
      'POST',
      '/health/wait',
      { services: ['auth', 'gs', 'ec'], timeoutSeconds: 30 },
      sleeping(h),
    );
    expect(answer).toMatchObject({
      statusCode: 503,
      body: {
        healthy: false,
        unhealthy: [{ service: 'auth', state: 'down', reason: 'auth refused' }],
        waitedMs: 30_000,
      },
    });
  });

  it('waits on a probing observer when the transport lends one', async () => {
    const h = createHarness();
    let calls = 0;
    const prober: Prober = {
      probe: async (target): Promise<ProbeResult> => {
        calls++;
        const healthy = calls > 2;
        return {
          targetId: target.id,
          name: target.name,
          kind: target.kind,
          status: healthy ? 'healthy' : 'unhealthy',
          reason: healthy ? 'ok' : 'refused',
          detail: healthy ? 'HTTP 200' : 'connection refused',
          latencyMs: 1,
          checkedAt: h.clock.now(),
        };
      },
    };
    const answer = await call(
      h,
      'POST',
      '/health/wait',
      { services: ['auth'], since: new Date(T0).toISOString(), timeoutSeconds: 60 },
      { ...sleeping(h), observeHealth: probingHealth(prober) },
    );
    expect(answer).toMatchObject({ statusCode: 200, body: { healthy: true, waitedMs: 10_000 } });
  });

  it('refuses bad input with 400 naming the field', async () => {
    const h = createHarness();
    const bad: [unknown, RegExp][] = [
      [{ services: ['auth'], timeoutSeconds: 0 }, /^timeoutSeconds: /],
      [{ services: ['auth'], timeoutSeconds: 841 }, /^timeoutSeconds: /],
      [{ services: ['auth'] }, /^timeoutSeconds: /],
      [{ services: [], timeoutSeconds: 5 }, /^services: /],
      [{ services: ['nosuch'], timeoutSeconds: 5 }, /^services: unknown service nosuch/],
      [{ services: ['auth'], timeoutSeconds: 5, since: 'an hour ago' }, /^since: /],
    ];
    for (const [body, error] of bad)
      expect(await call(h, 'POST', '/health/wait', body)).toMatchObject({
        statusCode: 400,
        body: { error: expect.stringMatching(error) },
      });
  });
});
