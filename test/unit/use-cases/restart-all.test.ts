import { describe, expect, it } from 'vitest';
import type { MaintenanceWindow } from '../../../lambdas/core/escalation.ts';
import type { CommandRequest, CommandResult } from '../../../lambdas/ports.ts';
import { restartAll, startAll, stopAll } from '../../../lambdas/use-cases/service-procedures.ts';
import { createHarness, type Harness, MINUTE, T0 } from '../../support/harness.ts';
import { spreadFleet } from '../../support/spread-fleet.ts';

const FLEET = ['auth', 'ac', 'integrity', 'fv', 'gs', 'pgc', 'ec'];

/** Each document run with what it carried, the windows active then, and a result chosen per run (default success). */
function script(h: Harness, answer: (request: CommandRequest) => CommandResult | undefined = () => undefined) {
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
    const runs = script(h);
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
    const runs = script(h, (r) =>
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
    const runs = script(h, (r) =>
      r.document === 'acgs-stop-all' ? { status: 'failed', exitCode: 1, output: 'pgc still running\n' } : undefined,
    );
    const run = await restartAll(h.ctx, { by: 'alice', services: ['auth', 'pgc'] });
    expect(runs.map((r) => r.document)).toEqual(['acgs-stop-all']);
    expect(run.result).toMatchObject({ status: 'failed', output: expect.stringContaining('nothing was started') });
  });

  it('leaves isolated services down and says so', async () => {
    const h = createHarness();
    const runs = script(h);
    await h.store.setIsolated('gs', true, 'bob', T0);
    const run = await restartAll(h.ctx, { by: 'alice' });
    expect(runs.filter((r) => r.document === 'acgs-start-service').map((r) => r.services[0])).not.toContain('gs');
    expect(run.steps?.find((s) => s.name.endsWith(' gs'))).toMatchObject({ status: 'skipped' });
    expect(run.result.output).toContain('isolated, not started: gs');
  });

  it('refuses a window longer than a week before anything runs', async () => {
    const h = createHarness();
    const runs = script(h);
    await expect(restartAll(h.ctx, { by: 'alice', windowMs: 8 * 24 * 60 * MINUTE })).rejects.toThrow(/window/);
    expect(runs).toEqual([]);
  });
});

describe('fleet documents on a fleet spanning hosts', () => {
  const hosts = { auth: '10.0.0.1', ac: '10.0.0.1', integrity: '10.0.0.2', fv: '10.0.0.2', gs: '10.0.0.1' };

  it('start-all sends one document per consecutive run of services on one host, in order', async () => {
    const h = createHarness(spreadFleet(hosts));
    const runs = script(h);
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
    const runs = script(h, (r) =>
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
    const runs = script(h, (r) =>
      r.document === 'acgs-stop-all' && r.parameters.Services?.startsWith('auth ')
        ? { status: 'failed', exitCode: 1, output: 'auth still running\n' }
        : undefined,
    );
    const stopped = await stopAll(h.ctx, { by: 'alice', services: ['auth', 'integrity', 'gs'] });
    expect(runs.map((r) => r.services)).toEqual([['auth'], ['integrity'], ['gs']]);
    expect(stopped.result.status).toBe('failed');

    const h2 = createHarness(spreadFleet(hosts));
    const runs2 = script(h2);
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
    const runs = script(h);
    const run = await startAll(h.ctx, {});
    expect(runs).toHaveLength(1);
    expect(run.steps).toBeUndefined();
  });
});
