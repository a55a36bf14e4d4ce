import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFleetConfig } from '../../lambdas/core/config.ts';
import { evaluateHttp } from '../../lambdas/core/probe-evaluation.ts';
import type { HttpTarget } from '../../lambdas/core/targets.ts';
import { fleetConfigYaml } from '../../lambdas/demo/fleet-sim/config-text.ts';
import { portIsFree, request } from '../../lambdas/demo/fleet-sim/loopback.ts';
import {
  ACGS_SIMULATED_SERVICES,
  planSimulatedFleet,
  type SimFaultMode,
  type SimulatedFleetSpec,
  type SimulatedServiceInput,
  SSM_PATH_PATTERN,
  SSM_START_COMMAND_PATTERN,
} from '../../lambdas/demo/fleet-sim/plan.ts';
import {
  crash,
  isAlive,
  pidOf,
  serviceOf,
  setFault,
  setStartFailure,
  setStartMode,
  startFleet,
  startService,
  stateOf,
  stopFleet,
  stopService,
} from '../../lambdas/demo/fleet-sim/processes.ts';
import { freePort } from '../support/local-servers.ts';

const THREE: readonly SimulatedServiceInput[] = [
  { name: 'auth', displayName: 'Auth Service', shape: 'raw', critical: true },
  { name: 'ac', displayName: 'Constitutional AI Service', shape: 'envelope', critical: true },
  { name: 'pgc', displayName: 'Policy Governance Service', shape: 'pgc', critical: false },
];

let root: string;
let spec: SimulatedFleetSpec;
const specs: SimulatedFleetSpec[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'acgs-fleet-sim-'));
  spec = await planSimulatedFleet({ dir: join(root, 'main'), watchPid: process.pid, services: THREE });
  specs.push(spec);
  await startFleet(spec);
});

afterAll(async () => {
  for (const s of specs) await stopFleet(s).catch(() => undefined);
  if (root) await rm(root, { recursive: true, force: true });
});

async function health(name: string, timeoutMs = 2_000) {
  return request(serviceOf(spec, name).port, 'GET', '/health', undefined, timeoutMs);
}

function verdict(name: string, answer: { status: number; body: string }): string {
  const target = { kind: 'http', name, url: `http://127.0.0.1:1/health` } as unknown as HttpTarget;
  return evaluateHttp(target, { httpStatus: answer.status, body: answer.body, latencyMs: 1 }, 500).status;
}

describe('planSimulatedFleet', () => {
  it('plans the three services with absolute paths, distinct ports and SSM-safe start commands', () => {
    expect(spec.services.map((s) => s.name)).toEqual(['auth', 'ac', 'pgc']);
    expect(new Set(spec.services.map((s) => s.port)).size).toBe(3);
    for (const s of spec.services) {
      expect(s.start).toMatch(/^[A-Za-z0-9 ._/:=-]+$/);
      expect(s.start).toMatch(SSM_START_COMMAND_PATTERN);
      expect(s.start).toMatch(
        new RegExp(
          `^node /\\S+/sim-service\\.mjs --name ${s.name} --port ${s.port} --shape ${s.shape} --faults-dir ${spec.faultsDir} --watch-pid ${process.pid}$`,
        ),
      );
      expect(isAbsolute(s.directory) && existsSync(s.directory)).toBe(true);
      expect(s.directory).toBe(join(spec.dir, 'services', s.name));
      expect(s.logFile).toBe(join(spec.dir, 'logs', `${s.name}_service.log`));
      expect(s.directory).toMatch(SSM_PATH_PATTERN);
      expect(s.logFile).toMatch(SSM_PATH_PATTERN);
      expect(s.healthPath).toBe('/health');
    }
  });

  it('defaults to the seven ACGS-1 services and can count ports up from a base', async () => {
    const base = await freePort();
    const seven = await planSimulatedFleet({ dir: join(root, 'seven'), watchPid: process.pid, basePort: base });
    expect(seven.services.map((s) => `${s.name}:${s.shape}`)).toEqual([
      'auth:raw',
      'ac:envelope',
      'integrity:raw',
      'fv:raw',
      'gs:envelope',
      'pgc:pgc',
      'ec:raw',
    ]);
    expect(seven.services.map((s) => s.displayName)).toEqual(ACGS_SIMULATED_SERVICES.map((s) => s.displayName));
    const ports = seven.services.map((s) => s.port);
    expect(new Set(ports).size).toBe(7);
    expect(Math.min(...ports)).toBeGreaterThanOrEqual(base);
    expect([...ports].sort((a, b) => a - b)).toEqual(ports);
    expect(existsSync(join(root, 'seven', 'logs'))).toBe(true);
    const ephemeral = await planSimulatedFleet({ dir: join(root, 'seven-eph'), watchPid: process.pid });
    expect(new Set(ephemeral.services.map((s) => s.port)).size).toBe(7);
  });
});

describe('health shapes and runtime faults', () => {
  const cases: [name: string, mode: SimFaultMode, status: number, word: string, judged: string][] = [
    ['auth', 'healthy', 200, 'healthy', 'healthy'],
    ['auth', 'degraded', 200, 'degraded', 'degraded'],
    ['auth', 'unhealthy', 503, 'unhealthy', 'unhealthy'],
    ['pgc', 'healthy', 200, 'healthy', 'healthy'],
    ['pgc', 'degraded', 200, 'degraded', 'degraded'],
    ['pgc', 'unhealthy', 200, 'unhealthy', 'unhealthy'],
    ['ac', 'healthy', 200, 'healthy', 'healthy'],
    ['ac', 'degraded', 200, 'degraded', 'degraded'],
    ['ac', 'unhealthy', 503, 'unhealthy', 'unhealthy'],
  ];
  it.each(cases)('%s in mode %s answers HTTP %i with status %s', async (name, mode, status, word, judged) => {
    const state = await setFault(spec, name, mode);
    expect(state.mode).toBe(mode);
    const answer = await health(name);
    expect(answer.status).toBe(status);
    expect(answer.contentType).toMatch(/application\/json/);
    const body = JSON.parse(answer.body) as Record<string, unknown>;
    if (name === 'ac') {
      expect(body).toMatchObject({
        status: mode === 'unhealthy' ? 'error' : 'success',
        data: { status: word, service: 'ac' },
        metadata: { service: 'ac' },
      });
    } else {
      expect(body).toEqual({ status: word, service: name });
    }
    expect(verdict(name, answer)).toBe(judged);
    await setFault(spec, name, 'healthy');
  });

  it.each(['auth', 'ac', 'pgc'])('%s in mode error answers HTTP 500 with a broken-model body', async (name) => {
    await setFault(spec, name, 'error');
    const answer = await health(name);
    expect(answer.status).toBe(500);
    expect(answer.body).toContain('Internal Server Error');
    expect(answer.body).toContain('ResponseValidationError');
    expect(verdict(name, answer)).toBe('unhealthy');
    await setFault(spec, name, 'healthy');
  });

  it.each(['auth', 'pgc', 'ac'])('%s in mode slow answers healthy after delayMs', async (name) => {
    const state = await setFault(spec, name, 'slow', 400);
    expect(state).toMatchObject({ mode: 'slow', delayMs: 400 });
    const begin = performance.now();
    const answer = await health(name);
    const elapsed = performance.now() - begin;
    expect(elapsed).toBeGreaterThanOrEqual(380);
    expect(elapsed).toBeLessThan(1_500);
    expect(answer.status).toBe(200);
    expect(verdict(name, answer)).toBe('healthy');
    await setFault(spec, name, 'healthy');
  });

  it.each(['auth', 'pgc', 'ac'])('%s in mode hang never answers, but its control endpoint does', async (name) => {
    await setFault(spec, name, 'hang');
    await expect(health(name, 300)).rejects.toThrow(/no answer/);
    expect((await stateOf(spec, name))?.mode).toBe('hang');
    await setFault(spec, name, 'healthy');
    expect((await health(name)).status).toBe(200);
  });

  it('reports its state and refuses unknown modes', async () => {
    const port = serviceOf(spec, 'auth').port;
    const state = await stateOf(spec, 'auth');
    expect(state).toMatchObject({ name: 'auth', port, shape: 'raw', mode: 'healthy', faultsDir: spec.faultsDir });
    expect(state?.pid).toBe(await pidOf(spec, 'auth'));
    const bad = await request(port, 'POST', '/_sim/fault', JSON.stringify({ mode: 'explode' }), 1_000);
    expect(bad.status).toBe(400);
    const badDelay = await request(port, 'POST', '/_sim/fault', JSON.stringify({ mode: 'slow', delayMs: -1 }), 1_000);
    expect(badDelay.status).toBe(400);
    expect((await request(port, 'GET', '/nope', undefined, 1_000)).status).toBe(404);
  });
});

describe('process faults', () => {
  it('crash answers 202, ends the process with exit code 1 and frees the port', async () => {
    const service = serviceOf(spec, 'auth');
    const pid = await crash(spec, 'auth');
    expect(isAlive(pid)).toBe(false);
    expect(await portIsFree(service.port)).toBe(true);
    expect(await pidOf(spec, 'auth')).toBeUndefined();
    const log = await readFile(service.logFile, 'utf8');
    expect(log).toMatch(new RegExp(`auth started pid=${pid} port=${service.port} shape=raw`));
    expect(log).toContain('auth exit code=1 reason=crash fault');
    const again = await startService(spec, 'auth');
    expect(again.pid).not.toBe(pid);
    expect(again.httpStatus).toBe(200);
  });

  it('fail-start makes every fresh start exit 1 at once, until it is removed', async () => {
    const service = serviceOf(spec, 'auth');
    await stopService(spec, 'auth');
    expect(await portIsFree(service.port)).toBe(true);
    await setStartFailure(spec, 'auth', true);
    try {
      const [program, ...args] = service.start.split(' ');
      const begin = performance.now();
      const direct = spawnSync(program as string, args, { cwd: service.directory, encoding: 'utf8', timeout: 5_000 });
      expect(direct.status).toBe(1);
      expect(performance.now() - begin).toBeLessThan(2_000);
      expect(direct.stderr).toMatch(/auth ERROR: failing to start on purpose \(fail-start fault .*auth\.fail-start\)/);
      await expect(startService(spec, 'auth', { timeoutMs: 5_000 })).rejects.toThrow(
        /exited with code 1 before it answered[\s\S]*fail-start/,
      );
    } finally {
      await setStartFailure(spec, 'auth', false);
    }
    expect((await startService(spec, 'auth')).httpStatus).toBe(200);
  });

  it('a start mode survives restarts until it is cleared', async () => {
    await setStartMode(spec, 'ac', 'degraded');
    await stopService(spec, 'ac');
    const first = await startService(spec, 'ac');
    expect(first.httpStatus).toBe(200);
    expect(JSON.parse((await health('ac')).body)).toMatchObject({ data: { status: 'degraded' } });
    await crash(spec, 'ac');
    const second = await startService(spec, 'ac');
    expect(second.pid).not.toBe(first.pid);
    expect((await stateOf(spec, 'ac'))?.mode).toBe('degraded');
    expect(JSON.parse((await health('ac')).body)).toMatchObject({ data: { status: 'degraded' } });

    await setStartMode(spec, 'ac', undefined);
    await stopService(spec, 'ac');
    await startService(spec, 'ac');
    expect(JSON.parse((await health('ac')).body)).toMatchObject({ status: 'success', data: { status: 'healthy' } });
  });

  it('a service started in hang or slow mode is up without a /health answer in time', async () => {
    await setStartMode(spec, 'pgc', 'hang');
    try {
      await stopService(spec, 'pgc');
      const hung = await startService(spec, 'pgc');
      expect(hung.httpStatus).toBeUndefined();
      await expect(health('pgc', 300)).rejects.toThrow(/no answer/);
      await setStartMode(spec, 'pgc', 'slow', 300);
      await stopService(spec, 'pgc');
      const slow = await startService(spec, 'pgc');
      expect(slow.httpStatus).toBe(200);
      expect(await stateOf(spec, 'pgc')).toMatchObject({ mode: 'slow', delayMs: 300 });
    } finally {
      await setStartMode(spec, 'pgc', undefined);
    }
    await stopService(spec, 'pgc');
    await startService(spec, 'pgc');
  });

  it('a service exits within ~1.5 s after its watched process is gone', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 1000)'], { stdio: 'ignore' });
    const childExit = new Promise<number>((done) => child.once('exit', () => done(performance.now())));
    const watched = await planSimulatedFleet({
      dir: join(root, 'watched'),
      watchPid: child.pid as number,
      services: [{ name: 'watched', displayName: 'Watched', shape: 'raw', critical: true }],
    });
    specs.push(watched);
    const started = await startService(watched, 'watched');
    expect(started.httpStatus).toBe(200);
    const exitedAt = await childExit;
    while (isAlive(started.pid) && performance.now() - exitedAt < 5_000) await sleep(20);
    const took = performance.now() - exitedAt;
    expect(isAlive(started.pid)).toBe(false);
    expect(took).toBeLessThan(1_500);
    expect(await portIsFree(serviceOf(watched, 'watched').port)).toBe(true);
    const log = await readFile(serviceOf(watched, 'watched').logFile, 'utf8');
    expect(log).toContain(`watched exit code=0 reason=watched pid ${child.pid} is gone`);
  });
});

describe('fleetConfigYaml', () => {
  it('renders a config that parseFleetConfig accepts, without postgres', () => {
    const parsed = parseFleetConfig(fleetConfigYaml(spec));
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    const { config } = parsed;
    expect(config.fleet).toEqual({
      name: 'acgs-1-demo',
      environment: 'demo',
      root: spec.dir,
      hostStateDirectory: spec.hostStateDir,
    });
    expect(existsSync(spec.hostStateDir)).toBe(true);
    expect(config.services.map((s) => [s.name, s.port, s.start, s.dependsOn])).toEqual(
      spec.services.map((s) => [s.name, s.port, s.start, []]),
    );
    expect(config.services.map((s) => join(config.fleet.root, s.directory))).toEqual(
      spec.services.map((s) => s.directory),
    );
    expect(config.services.map((s) => join(config.fleet.root, s.logFile))).toEqual(spec.services.map((s) => s.logFile));
    expect(config.services.find((s) => s.name === 'pgc')?.critical).toBe(false);
    expect(config.checks).toEqual([]);
    expect(config.schedules.probe).toEqual({ every: 2_000 });
    expect(config.schedules.escalationSweep).toEqual({ every: 2_000 });
    expect(config.thresholds).toMatchObject({ probeTimeout: 1_000, probeLatency: 500, failuresToDown: 2 });
    expect(config.severities.P1).toMatchObject({ responseTime: 20_000, ackTimeout: 60_000 });
    expect(config.escalation.levels.map((l) => l.responseTime.P1)).toEqual([15_000, 15_000, 15_000, 15_000]);
    expect(config.notifications.channels.map((c) => c.kind)).toEqual(['console', 'jsonl']);
    expect(config.remediation).toMatchObject({ enabled: true, restartTimeout: 10_000 });
  });

  it('renders a postgres check the services depend on, and takes timings', () => {
    const text = fleetConfigYaml(spec, {
      postgres: { host: '127.0.0.1', port: 5433, database: 'acgs_pgp_db', user: 'acgs_user', passwordEnv: 'PGPW' },
      probeEvery: 1_500,
      probeTimeout: '800ms',
      failuresToDown: 3,
      breaker: { maxRestarts: 1, window: '1m' },
      remediationEnabled: false,
      pagesFile: 'demo-pages.jsonl',
    });
    const parsed = parseFleetConfig(text);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    const { config } = parsed;
    expect(config.checks).toEqual([
      {
        name: 'postgresql',
        kind: 'postgres',
        critical: true,
        host: '127.0.0.1',
        port: 5433,
        database: 'acgs_pgp_db',
        user: 'acgs_user',
        passwordEnv: 'PGPW',
        query: 'SELECT 1',
      },
    ]);
    expect(config.services.every((s) => s.dependsOn.join() === 'postgresql')).toBe(true);
    expect(config.schedules.probe).toEqual({ every: 1_500 });
    expect(config.thresholds).toMatchObject({ probeTimeout: 800, failuresToDown: 3 });
    expect(config.remediation).toMatchObject({ enabled: false, breaker: { maxRestarts: 1, window: 60_000 } });
    expect(config.notifications.channels[1]).toMatchObject({ kind: 'jsonl', path: 'demo-pages.jsonl' });
  });

  it('refuses timings the schema rejects', () => {
    expect(() => fleetConfigYaml(spec, { probeEvery: '2 seconds' })).toThrow(/schedules\.probe/);
  });
});

describe('stopFleet', () => {
  it('stops every process of the fleet, including one it did not start, and frees every port', async () => {
    // Restart auth the way the SSM document would: outside this module, found only through /_sim/state.
    const auth = serviceOf(spec, 'auth');
    await stopService(spec, 'auth');
    const [program, ...args] = auth.start.split(' ');
    const outsider = spawn(program as string, args, { cwd: auth.directory, detached: true, stdio: 'ignore' });
    outsider.unref();
    const deadline = Date.now() + 5_000;
    while ((await pidOf(spec, 'auth')) !== outsider.pid && Date.now() < deadline) await sleep(25);
    expect(await pidOf(spec, 'auth')).toBe(outsider.pid);

    const pids = await Promise.all(spec.services.map((s) => pidOf(spec, s.name)));
    expect(pids.every((pid) => typeof pid === 'number')).toBe(true);
    const begin = performance.now();
    const stopped = await stopFleet(spec);
    expect(performance.now() - begin).toBeLessThan(3_000);
    expect(new Set(stopped)).toEqual(new Set(pids));
    for (const pid of pids) expect(isAlive(pid as number)).toBe(false);
    for (const s of spec.services) {
      expect(await portIsFree(s.port)).toBe(true);
      expect(await pidOf(spec, s.name)).toBeUndefined();
    }
    const log = await readFile(serviceOf(spec, 'ac').logFile, 'utf8');
    expect(log.trimEnd().split('\n').at(-1)).toMatch(/ac exit code=0 reason=SIGTERM$/);
    expect(await stopFleet(spec)).toEqual([]);
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
