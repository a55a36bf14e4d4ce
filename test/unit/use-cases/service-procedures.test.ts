import { describe, expect, it } from 'vitest';
import { ControlPlaneError, UsageError } from '../../../lambdas/core/errors.ts';
import type { MaintenanceWindow } from '../../../lambdas/core/escalation.ts';
import type { CommandRequest, CommandResult } from '../../../lambdas/ports.ts';
import { isolationWindowId } from '../../../lambdas/use-cases/context.ts';
import {
  DEFAULT_STOP_WINDOW_MS,
  isolateService,
  releaseService,
  restartAll,
  restartService,
  rollingUpdate,
  SERVICE_ISOLATED,
  startAll,
  startService,
  stopAll,
  stopService,
} from '../../../lambdas/use-cases/service-procedures.ts';
import { createHarness, type Harness, MINUTE, T0 } from '../../support/harness.ts';
import { incidentMutedBy } from '../../support/muted-incident.ts';
import { spreadFleet } from '../../support/spread-fleet.ts';
import { newIncident } from '../../support/state-store-contract.ts';

const HOUR = 60 * MINUTE;
const FLEET = ['auth', 'ac', 'integrity', 'fv', 'gs', 'pgc', 'ec'];

/** What the store held when each document ran: the windows active and the services isolated at that moment. */
function watchRuns(h: Harness) {
  const seen: { document: string; windows: MaintenanceWindow[]; isolated: string[] }[] = [];
  const run = h.commands.run.bind(h.commands);
  h.commands.run = async (request: CommandRequest) => {
    seen.push({
      document: request.document,
      windows: await h.store.listMaintenanceWindows(h.clock.now()),
      isolated: [...(await h.store.listIsolated())],
    });
    return run(request);
  };
  return seen;
}

/** The service names of a *-all document's Services parameter, in order. */
function listed(request: CommandRequest | undefined): string[] {
  return (request?.parameters.Services ?? '').split(',').map((entry) => entry.split(' ')[0] ?? '');
}

describe('stopService', () => {
  it('opens a 30 minute maintenance window for the service before the stop document runs', async () => {
    // Prepare
    const h = createHarness();
    const seen = watchRuns(h);
    // Act
    const run = await stopService(h.ctx, { service: 'auth', by: 'alice' });
    // Assess
    const expected = {
      id: `mw-${T0.toString(36)}`,
      subjects: ['auth'],
      startsAt: T0,
      endsAt: T0 + DEFAULT_STOP_WINDOW_MS,
      reason: 'acgs-ops service stop by alice',
      createdBy: 'alice',
    };
    expect(DEFAULT_STOP_WINDOW_MS).toBe(30 * MINUTE);
    expect(seen).toEqual([{ document: 'acgs-stop-service', windows: [expected], isolated: [] }]);
    expect(run).toMatchObject({ services: ['auth'], window: expected, result: { status: 'succeeded' } });
  });

  it('refuses a window longer than a week and runs nothing', async () => {
    // Prepare
    const h = createHarness();
    // Act
    const stopping = stopService(h.ctx, { service: 'auth', by: 'alice', windowMs: 8 * 24 * HOUR });
    // Assess
    await expect(stopping).rejects.toThrow(UsageError);
    await expect(stopping).rejects.toThrow('a maintenance window lasts between 1m and 7d, got 8d (691200000 ms)');
    expect(h.commands.requests).toEqual([]);
    expect(await h.store.listMaintenanceWindows(0)).toEqual([]);
  });

  it('refuses a service the fleet does not have, before recording anything', async () => {
    // Prepare
    const h = createHarness();
    // Act
    const stopping = stopService(h.ctx, { service: 'nope', by: 'alice' });
    // Assess
    await expect(stopping).rejects.toThrow(/^unknown service nope \(services: auth, ac/);
    expect(await h.store.listMaintenanceWindows(0)).toEqual([]);
  });
});

describe('stopAll', () => {
  it('opens a window for the whole fleet, of the length asked for, before stopping every service', async () => {
    // Prepare
    const h = createHarness();
    const seen = watchRuns(h);
    // Act
    const run = await stopAll(h.ctx, { by: 'alice', windowMs: 2 * HOUR });
    // Assess
    expect(seen.map((s) => [s.document, s.windows.map((w) => [w.subjects, w.endsAt - w.startsAt])])).toEqual([
      ['acgs-stop-all', [[['*'], 2 * HOUR]]],
    ]);
    expect(run.services).toEqual(FLEET);
    expect(listed(h.commands.requests[0])).toEqual(FLEET);
  });

  it('covers only the services named, in the order given', async () => {
    // Prepare
    const h = createHarness();
    // Act
    const run = await stopAll(h.ctx, { services: ['gs', 'auth'], by: 'alice' });
    // Assess
    expect(run.window?.subjects).toEqual(['gs', 'auth']);
    expect(listed(h.commands.requests[0])).toEqual(['gs', 'auth']);
  });

  it.each([
    [0, '0ms (0 ms)'],
    [59_999, '60.0s (59999 ms)'],
    [7 * 24 * HOUR + 1, '7d (604800001 ms)'],
  ])('refuses a window of %i ms, outside a minute to a week, and stops nothing', async (windowMs, shown) => {
    // Prepare
    const h = createHarness();
    // Act
    const stopping = stopAll(h.ctx, { by: 'alice', windowMs });
    // Assess
    await expect(stopping).rejects.toThrow(`a maintenance window lasts between 1m and 7d, got ${shown}`);
    expect(h.commands.requests).toEqual([]);
  });
});

describe('startService', () => {
  it('refuses an isolated service unless forced, running nothing', async () => {
    // Prepare
    const h = createHarness();
    await h.store.setIsolated('auth', true, 'alice', T0);
    // Act
    const starting = startService(h.ctx, { service: 'auth', by: 'bob' });
    // Assess
    await expect(starting).rejects.toBeInstanceOf(ControlPlaneError);
    await expect(starting).rejects.toMatchObject({ code: SERVICE_ISOLATED });
    expect(h.commands.requests).toEqual([]);
    expect(await h.store.listIsolated()).toEqual(new Set(['auth']));
  });

  it('starts an isolated service when forced, then lifts the isolation and unmutes what it muted', async () => {
    // Prepare
    const h = createHarness();
    await h.store.setIsolated('auth', true, 'alice', T0);
    const muted = await incidentMutedBy(h, isolationWindowId('auth'), T0 + 24 * HOUR);
    // Act
    const run = await startService(h.ctx, { service: 'auth', by: 'bob', force: true });
    // Assess
    expect(run.result.status).toBe('succeeded');
    expect(h.commands.requests.map((r) => [r.document, r.parameters.Force])).toEqual([['acgs-start-service', 'true']]);
    expect(await h.store.listIsolated()).toEqual(new Set());
    expect((await h.store.getIncident(muted.id))?.escalation).toMatchObject({ nextAt: T0 });
    expect((await h.store.getIncident(muted.id))?.escalation.mutedBy).toBeUndefined();
  });

  it('keeps the isolation when a forced start fails', async () => {
    // Prepare
    const h = createHarness();
    await h.store.setIsolated('auth', true, 'alice', T0);
    h.commands.next = { status: 'failed', exitCode: 1, output: 'not healthy within 10s' };
    // Act
    const run = await startService(h.ctx, { service: 'auth', by: 'bob', force: true });
    // Assess
    expect(run.result.status).toBe('failed');
    expect(await h.store.listIsolated()).toEqual(new Set(['auth']));
  });

  it('starts a service that is not isolated without forcing', async () => {
    // Prepare
    const h = createHarness();
    // Act
    await startService(h.ctx, { service: 'auth', by: 'bob' });
    // Assess
    expect(h.commands.requests.map((r) => [r.document, r.parameters.ServiceName, r.parameters.Force])).toEqual([
      ['acgs-start-service', 'auth', 'false'],
    ]);
  });
});

describe('isolateService', () => {
  it('records the isolation before the isolate document runs, and keeps it when the document fails', async () => {
    // Prepare
    const h = createHarness();
    const seen = watchRuns(h);
    h.commands.next = { status: 'failed', exitCode: 1, output: 'could not stop auth' };
    // Act
    const run = await isolateService(h.ctx, { service: 'auth', by: 'alice' });
    // Assess
    expect(seen).toEqual([{ document: 'acgs-isolate-service', windows: [], isolated: ['auth'] }]);
    expect(run.result.status).toBe('failed');
    expect(await h.store.listIsolated()).toEqual(new Set(['auth']));
  });
});

describe('releaseService', () => {
  it('lifts the isolation and unmutes the incidents it muted when the release document succeeds', async () => {
    // Prepare
    const h = createHarness();
    await h.store.setIsolated('auth', true, 'alice', T0);
    const muted = await incidentMutedBy(h, isolationWindowId('auth'), T0 + 24 * HOUR);
    const other = await h.store.createIncident(newIncident('ac:health@127.0.0.1'), []);
    h.clock.advance(5 * MINUTE);
    // Act
    await releaseService(h.ctx, { service: 'auth', by: 'alice' });
    // Assess
    expect(h.commands.requests.map((r) => r.document)).toEqual(['acgs-release-service']);
    expect(await h.store.listIsolated()).toEqual(new Set());
    const after = await h.store.getIncident(muted.id);
    expect(after?.escalation.nextAt).toBe(T0 + 5 * MINUTE);
    expect(after?.escalation.mutedBy).toBeUndefined();
    expect(other.created && (await h.store.getIncident(other.incident.id))?.version).toBe(1);
  });

  it('keeps the isolation and the muting when the release document fails', async () => {
    // Prepare
    const h = createHarness();
    await h.store.setIsolated('auth', true, 'alice', T0);
    const muted = await incidentMutedBy(h, isolationWindowId('auth'), T0 + 24 * HOUR);
    h.commands.next = { status: 'rejected', output: 'StateDirectory: not an absolute path' };
    // Act
    await releaseService(h.ctx, { service: 'auth', by: 'alice' });
    // Assess
    expect(await h.store.listIsolated()).toEqual(new Set(['auth']));
    expect((await h.store.getIncident(muted.id))?.escalation.mutedBy).toBe(isolationWindowId('auth'));
  });
});

describe('restartService', () => {
  it('runs the restart document for the service within the remediation timeout', async () => {
    // Prepare
    const h = createHarness();
    // Act
    await restartService(h.ctx, { service: 'gs' });
    // Assess
    expect(h.commands.requests).toMatchObject([
      {
        document: 'acgs-restart-service',
        parameters: { ServiceName: 'gs', Force: 'false' },
        timeoutMs: h.ctx.config.remediation.restartTimeout,
      },
    ]);
  });
});

describe('startAll', () => {
  it('starts every service in config order and opens no window', async () => {
    // Prepare
    const h = createHarness();
    // Act
    const run = await startAll(h.ctx, { timeoutSeconds: 15 });
    // Assess
    expect(run.services).toEqual(FLEET);
    expect(h.commands.requests).toMatchObject([{ document: 'acgs-start-all', parameters: { TimeoutSeconds: '15' } }]);
    expect(listed(h.commands.requests[0])).toEqual(FLEET);
    expect(await h.store.listMaintenanceWindows(0)).toEqual([]);
  });
});

describe('rollingUpdate', () => {
  it('covers the services with a window for the rollout, then ends it and unmutes what it muted', async () => {
    // Prepare
    const h = createHarness();
    const seen = watchRuns(h);
    const opened = `mw-${T0.toString(36)}`;
    const muted = await incidentMutedBy(h, opened, T0 + 24 * HOUR);
    const changes: string[] = [];
    const run = h.commands.run;
    h.commands.run = async (request) => {
      h.clock.advance(3 * MINUTE);
      return run(request);
    };
    // Act
    const done = await rollingUpdate(h.ctx, {
      services: ['auth', 'ac'],
      by: 'alice',
      onWindow: ({ change, window }) => changes.push(`${change} ${window.id}`),
    });
    // Assess
    const rolloutMs = 2 * h.ctx.config.remediation.restartTimeout + MINUTE;
    expect(seen[0]?.windows).toMatchObject([{ id: opened, subjects: ['auth', 'ac'], endsAt: T0 + rolloutMs }]);
    expect(changes).toEqual([`opened ${opened}`, `ended ${opened}`]);
    expect(done.window).toMatchObject({ id: opened, endsAt: T0 + 3 * MINUTE });
    expect(await h.store.listMaintenanceWindows(T0 + 3 * MINUTE)).toEqual([]);
    expect((await h.store.getIncident(muted.id))?.escalation.mutedBy).toBeUndefined();
    expect(h.commands.requests).toMatchObject([{ document: 'acgs-rolling-update', timeoutMs: rolloutMs }]);
  });

  it('stops at the first failure the rollout reports: returns it, runs nothing after it, and ends the window', async () => {
    // Prepare: the document restarts in order and stops at the first service that does not come back.
    const h = createHarness();
    h.commands.next = { status: 'failed', exitCode: 1, output: 'ac: not healthy within 10s; stopping the rollout' };
    // Act
    const done = await rollingUpdate(h.ctx, { services: ['auth', 'ac', 'gs'], by: 'alice' });
    // Assess
    expect(done.result).toMatchObject({ status: 'failed', exitCode: 1 });
    expect(h.commands.requests.map((r) => r.document)).toEqual(['acgs-rolling-update']);
    expect(listed(h.commands.requests[0])).toEqual(['auth', 'ac', 'gs']);
    expect(await h.store.listMaintenanceWindows(T0)).toEqual([]);
  });

  it('ends the window when the runner throws', async () => {
    // Prepare
    const h = createHarness();
    h.commands.run = async () => {
      throw new Error('cannot read the document');
    };
    // Act
    const rolling = rollingUpdate(h.ctx, { by: 'alice' });
    // Assess
    await expect(rolling).rejects.toThrow('cannot read the document');
    expect(await h.store.listMaintenanceWindows(T0)).toEqual([]);
  });

  it('passes the update mode and branch, and refuses a branch without git-pull', async () => {
    // Prepare
    const h = createHarness();
    // Act
    await rollingUpdate(h.ctx, { services: ['auth'], by: 'alice', update: 'git-pull', branch: 'release' });
    const refused = rollingUpdate(h.ctx, { services: ['auth'], by: 'alice', branch: 'release' });
    // Assess
    expect(h.commands.requests[0]?.parameters).toMatchObject({ Update: 'git-pull', Branch: 'release' });
    await expect(refused).rejects.toThrow(UsageError);
    expect(h.commands.requests).toHaveLength(1);
  });
});

/** Each document run with what it carried, the windows active then, and a result chosen per run (default success). */
function scriptRuns(h: Harness, answer: (request: CommandRequest) => CommandResult | undefined = () => undefined) {
  const runs: { document: string; services: string[]; windows: MaintenanceWindow[] }[] = [];
  h.commands.run = async (request) => {
    const services = request.parameters.ServiceName
      ? [request.parameters.ServiceName]
      : (request.parameters.Services ?? '').split(',').map((e) => e.split(' ')[0] ?? '');
    runs.push({ document: request.document, services, windows: await h.store.listMaintenanceWindows(h.clock.now()) });
    h.clock.advance(10_000);
    return answer(request) ?? { status: 'succeeded', exitCode: 0, output: `${request.document} ok\n` };
  };
  return runs;
}

describe('restartAll', () => {
  it('stops every service in reverse order under a window, then starts each in order, and ends the window', async () => {
    // Prepare
    const h = createHarness();
    const runs = scriptRuns(h);
    // Act
    const run = await restartAll(h.ctx, { by: 'alice' });
    // Assess
    expect(runs.map((r) => [r.document, r.services])).toEqual([
      ['acgs-stop-all', [...FLEET].reverse()],
      ...FLEET.map((s) => ['acgs-start-service', [s]]),
    ]);
    expect(runs.every((r) => r.windows.some((w) => w.subjects.includes('*')))).toBe(true);
    expect(run.result).toMatchObject({ status: 'succeeded', output: expect.stringContaining('started 7 services') });
    expect(run.steps?.map((s) => s.status)).toEqual(Array(8).fill('succeeded'));
    expect(run.steps?.[1]).toEqual({
      name: 'acgs-start-service auth',
      status: 'succeeded',
      durationMs: 10_000,
      detail: 'acgs-start-service ok',
    });
    expect(run.window).toMatchObject({ reason: 'acgs-ops service restart-all by alice', endsAt: T0 + 80_000 });
    expect(await h.store.listMaintenanceWindows(h.clock.now())).toEqual([]);
  });

  it('stops at the first service that does not come back healthy, saying which and what it did not start', async () => {
    // Prepare
    const h = createHarness();
    const runs = scriptRuns(h, (r) =>
      r.parameters.ServiceName === 'fv'
        ? { status: 'failed', exitCode: 1, output: 'fv: health endpoint not answering after 60 s\n' }
        : undefined,
    );
    // Act
    const run = await restartAll(h.ctx, { by: 'alice' });
    // Assess
    expect(runs.filter((r) => r.document === 'acgs-start-service').map((r) => r.services[0])).toEqual([
      'auth',
      'ac',
      'integrity',
      'fv',
    ]);
    expect(run.result.status).toBe('failed');
    expect(run.result.exitCode).toBe(1);
    expect(run.result.output.trimEnd().split('\n').pop()).toBe(
      'restart-all stopped at fv: it did not come back healthy (failed); not started: gs, pgc, ec',
    );
    expect(run.steps?.slice(4).map((s) => [s.name, s.status])).toEqual([
      ['acgs-start-service fv', 'failed'],
      ['acgs-start-service gs', 'not-run'],
      ['acgs-start-service pgc', 'not-run'],
      ['acgs-start-service ec', 'not-run'],
    ]);
    expect(await h.store.listMaintenanceWindows(h.clock.now())).toEqual([]);
  });

  it('starts nothing when the stop fails', async () => {
    const h = createHarness();
    const runs = scriptRuns(h, (r) =>
      r.document === 'acgs-stop-all' ? { status: 'failed', exitCode: 1, output: 'pgc still running\n' } : undefined,
    );
    const run = await restartAll(h.ctx, { by: 'alice', services: ['auth', 'pgc'] });
    expect(runs.map((r) => r.document)).toEqual(['acgs-stop-all']);
    expect(run.result).toMatchObject({ status: 'failed', output: expect.stringContaining('nothing was started') });
  });

  it('leaves isolated services down and says so', async () => {
    const h = createHarness();
    const runs = scriptRuns(h);
    await h.store.setIsolated('gs', true, 'bob', T0);
    const run = await restartAll(h.ctx, { by: 'alice' });
    expect(runs.filter((r) => r.document === 'acgs-start-service').map((r) => r.services[0])).not.toContain('gs');
    expect(run.steps?.find((s) => s.name.endsWith(' gs'))).toMatchObject({ status: 'skipped' });
    expect(run.result.output).toContain('isolated, not started: gs');
  });

  it('refuses a window longer than a week before anything runs', async () => {
    const h = createHarness();
    const runs = scriptRuns(h);
    await expect(restartAll(h.ctx, { by: 'alice', windowMs: 8 * 24 * 60 * MINUTE })).rejects.toThrow(/window/);
    expect(runs).toEqual([]);
  });
});

describe('fleet documents on a fleet spanning hosts', () => {
  const hosts = { auth: '10.0.0.1', ac: '10.0.0.1', integrity: '10.0.0.2', fv: '10.0.0.2', gs: '10.0.0.1' };

  it('start-all sends one document per consecutive run of services on one host, in order', async () => {
    const h = createHarness(spreadFleet(hosts));
    const runs = scriptRuns(h);
    const run = await startAll(h.ctx, { services: ['auth', 'ac', 'integrity', 'fv', 'gs'] });
    expect(runs.map((r) => r.services)).toEqual([['auth', 'ac'], ['integrity', 'fv'], ['gs']]);
    expect(run.result.status).toBe('succeeded');
    expect(run.steps?.map((s) => s.name)).toEqual([
      'acgs-start-all auth, ac on host 10.0.0.1',
      'acgs-start-all integrity, fv on host 10.0.0.2',
      'acgs-start-all gs on host 10.0.0.1',
    ]);
  });

  it('start-all stops at the first host that fails', async () => {
    const h = createHarness(spreadFleet(hosts));
    const runs = scriptRuns(h, (r) =>
      r.parameters.Services?.startsWith('integrity ')
        ? { status: 'failed', exitCode: 1, commandId: 'c-2', output: '1 of 2 services healthy; failed: fv\n' }
        : undefined,
    );
    const run = await startAll(h.ctx, { services: ['auth', 'ac', 'integrity', 'fv', 'gs'] });
    expect(runs).toHaveLength(2);
    expect(run.result).toMatchObject({ status: 'failed', exitCode: 1, commandId: 'c-2' });
    expect(run.result.output.trimEnd().split('\n').pop()).toBe(
      'acgs-start-all did not succeed on host 10.0.0.2 (failed); not run for gs',
    );
  });

  it('stop-all tries every host even when one fails, and restart-all works across hosts', async () => {
    const h = createHarness(spreadFleet(hosts));
    const runs = scriptRuns(h, (r) =>
      r.document === 'acgs-stop-all' && r.parameters.Services?.startsWith('auth ')
        ? { status: 'failed', exitCode: 1, output: 'auth still running\n' }
        : undefined,
    );
    const stopped = await stopAll(h.ctx, { by: 'alice', services: ['auth', 'integrity', 'gs'] });
    expect(runs.map((r) => r.services)).toEqual([['auth'], ['integrity'], ['gs']]);
    expect(stopped.result.status).toBe('failed');

    const h2 = createHarness(spreadFleet(hosts));
    const runs2 = scriptRuns(h2);
    const restarted = await restartAll(h2.ctx, { by: 'alice', services: ['auth', 'ac', 'integrity'] });
    expect(runs2.map((r) => [r.document, r.services])).toEqual([
      ['acgs-stop-all', ['integrity']],
      ['acgs-stop-all', ['ac', 'auth']],
      ['acgs-start-service', ['auth']],
      ['acgs-start-service', ['ac']],
      ['acgs-start-service', ['integrity']],
    ]);
    expect(restarted.result.status).toBe('succeeded');
  });

  it('keeps a list on one host one document with no steps', async () => {
    const h = createHarness();
    const runs = scriptRuns(h);
    const run = await startAll(h.ctx, {});
    expect(runs).toHaveLength(1);
    expect(run.steps).toBeUndefined();
  });
});
