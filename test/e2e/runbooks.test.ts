import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ShellCommandRunner } from '../../lambdas/adapters/local/shell-command-runner.ts';
import type { SqliteStateStore } from '../../lambdas/adapters/local/sqlite-state-store.ts';
import { MemoryEventPublisher } from '../../lambdas/adapters/memory/memory-event-publisher.ts';
import { MemoryStateStore } from '../../lambdas/adapters/memory/memory-state-store.ts';
import { placeRunbook, resolveParameters } from '../../lambdas/core/automation-document.ts';
import { parseFleetConfig } from '../../lambdas/core/config.ts';
import type { FleetConfig } from '../../lambdas/core/config-schema.ts';
import type { TimelineEntry } from '../../lambdas/core/incident.ts';
import { type FleetConfigOptions, fleetConfigYaml } from '../../lambdas/demo/fleet-sim/config-text.ts';
import {
  ACGS_SIMULATED_SERVICES,
  planSimulatedFleet,
  type SimulatedFleetSpec,
} from '../../lambdas/demo/fleet-sim/plan.ts';
import { pidOf, startFleet, stopFleet } from '../../lambdas/demo/fleet-sim/processes.ts';
import {
  type ExecutionReport,
  loadRunbook,
  operatorApiInvoker,
  runAutomation,
} from '../../lambdas/local/automation-runner.ts';
import { type ControlPlaneContext, createContext } from '../../lambdas/use-cases/context.ts';
import { startAll } from '../../lambdas/use-cases/service-procedures.ts';
import {
  type DaemonProcess,
  openStateStore,
  readHeartbeat,
  sleep,
  startDaemon,
  waitUntil,
} from '../support/daemon-process.ts';
import { BROKEN_SERVE, GIT_FLEET_NAMES, type GitFleet, git, plantGitFleet } from '../support/git-fleet.ts';
import { ManualClock, RecordingNotifier } from '../support/harness.ts';
import { runAcgsOps } from '../support/run-cli.ts';

/**
 * The Automation runbooks, run from their files (`acgs-ops runbook run`, the local interpreter of the very documents
 * the stack deploys) against a simulated fleet of the seven ACGS services as real processes, with the real
 * `acgs-ops run` daemon watching: detection, paging and auto-remediation all live.
 */

const SEVEN = ACGS_SIMULATED_SERVICES.map((s) => s.name);
const E2E_TIMEOUT_MS = 180_000;
/** A probe every second, two results to change health: the daemon would restart a down service within seconds. */
const FAST: FleetConfigOptions = {
  probeEvery: '1s',
  escalationSweepEvery: '1s',
  probeTimeout: '2s',
  probeLatency: '1500ms',
  failuresToDown: 2,
  successesToUp: 2,
  breaker: { maxRestarts: 5, window: '5m' },
  restartTimeout: '15s',
};

interface Scenario {
  readonly dir: string;
  readonly spec: SimulatedFleetSpec;
  readonly configFile: string;
  readonly stateDir: string;
  daemon?: DaemonProcess;
  store?: SqliteStateStore;
}

const scenarios: Scenario[] = [];

afterEach(async () => {
  for (const s of scenarios.splice(0)) {
    if (s.daemon?.running()) {
      const exit = await s.daemon.stop(10_000);
      if (s.daemon.running() || exit.signal === 'SIGKILL') await s.daemon.kill9();
    }
    s.store?.close();
    await stopFleet(s.spec);
    const left = spawnSync('pgrep', ['-f', `sim-service\\.mjs .*--faults-dir ${s.spec.faultsDir} `], {
      encoding: 'utf8',
    }).stdout.trim();
    await rm(s.dir, { recursive: true, force: true });
    expect(left).toBe('');
  }
});

/** The seven services started, the daemon running and seeing all of them healthy. */
async function runningFleet(): Promise<Scenario> {
  const dir = await mkdtemp(join(tmpdir(), 'acgs-runbooks-'));
  const spec = await planSimulatedFleet({ dir, watchPid: process.pid });
  const s: Scenario = { dir, spec, configFile: join(dir, 'fleet.yaml'), stateDir: join(dir, 'state') };
  scenarios.push(s);
  await writeFile(s.configFile, fleetConfigYaml(spec, FAST));
  await startFleet(spec);
  const daemon = startDaemon({ configFile: s.configFile, stateDir: s.stateDir });
  s.daemon = daemon;
  await waitUntil(
    async () => {
      if (!daemon.running()) throw new Error(`daemon exited:\n${daemon.output()}`);
      const beat = await readHeartbeat(s.stateDir);
      return beat?.pid === daemon.pid && beat.healthy === SEVEN.length;
    },
    30_000,
    'the daemon to see all seven services healthy',
    { explain: () => daemon.output() },
  );
  return s;
}

async function runbook(s: Scenario, name: string, params: Record<string, string> = {}) {
  const run = await runAcgsOps(
    [
      'runbook',
      'run',
      name,
      ...Object.entries(params).flatMap(([k, v]) => ['--param', `${k}=${v}`]),
      '--json',
      '--by',
      'e2e',
      '--config',
      s.configFile,
      '--state',
      s.stateDir,
    ],
    { killAfterMs: 150_000 },
  );
  let report: ExecutionReport | undefined;
  try {
    report = JSON.parse(run.stdout) as ExecutionReport;
  } catch {
    report = undefined;
  }
  return { ...run, report };
}

async function pids(s: Scenario): Promise<Record<string, number | undefined>> {
  return Object.fromEntries(await Promise.all(SEVEN.map(async (n) => [n, await pidOf(s.spec, n)] as const)));
}

function store(s: Scenario): SqliteStateStore {
  s.store ??= openStateStore(s.stateDir);
  return s.store;
}

async function allTimelines(s: Scenario): Promise<TimelineEntry[]> {
  const incidents = await store(s).listIncidents({ limit: 100 });
  return (await Promise.all(incidents.map((i) => store(s).getTimeline(i.id)))).flat();
}

const requestedRestarts = (timeline: readonly TimelineEntry[], service?: string) =>
  timeline.filter(
    (e) => e.type === 'remediation' && e.outcome === 'requested' && (service === undefined || e.service === service),
  );

describe('Automation runbooks on the simulated fleet', () => {
  it(
    'emergency stop-all stops all seven and nothing restarts them while the window lasts',
    async () => {
      const s = await runningFleet();
      const run = await runbook(s, 'acgs-emergency-stop-all', { WindowMinutes: '15' });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.report?.status).toBe('Success');
      expect(run.report?.steps.map((step) => `${step.name} ${step.status}`)).toEqual([
        'stopAll Success',
        'fleetState Success',
      ]);
      expect(run.report?.outputs['stopAll.WindowId']).toMatch(/^mw-/);
      expect(Object.values(await pids(s))).toEqual(SEVEN.map(() => undefined));

      // Many probe cycles later (two failures make a service down): still all down, and no restart was asked for.
      await sleep(8_000);
      expect(Object.values(await pids(s))).toEqual(SEVEN.map(() => undefined));
      expect(requestedRestarts(await allTimelines(s))).toEqual([]);
      const beat = await readHeartbeat(s.stateDir);
      expect(beat?.healthy).toBe(0);
    },
    E2E_TIMEOUT_MS,
  );

  it(
    'emergency restart-all brings all seven back healthy, one after the other, and ends the window',
    async () => {
      const s = await runningFleet();
      const before = await pids(s);
      const run = await runbook(s, 'acgs-emergency-restart-all', { WaitSeconds: '60' });
      expect(run.stderr).toBe('');
      expect(run.report?.failure).toBeUndefined();
      expect(run.code).toBe(0);
      expect(
        run.report?.steps.filter((step) => step.name === 'startEach.waitHealthy').map((step) => step.iteratorValue),
      ).toEqual(SEVEN);
      const after = await pids(s);
      for (const name of SEVEN) {
        expect(after[name], name).toBeDefined();
        expect(after[name], name).not.toBe(before[name]);
      }
      await waitUntil(
        async () => (await readHeartbeat(s.stateDir))?.healthy === SEVEN.length,
        20_000,
        'the daemon to see all seven healthy again',
      );
      const windows = await store(s).listMaintenanceWindows(Date.now());
      expect(windows.filter((w) => w.id === run.report?.outputs['stopAll.WindowId'])).toEqual([]);
    },
    E2E_TIMEOUT_MS,
  );

  it(
    'an isolated service stays down across remediation, and comes back when released',
    async () => {
      const s = await runningFleet();
      const isolate = await runbook(s, 'acgs-isolate-service', { ServiceName: 'gs' });
      expect(isolate.stderr).toBe('');
      expect(isolate.code).toBe(0);
      expect(await pidOf(s.spec, 'gs')).toBeUndefined();

      // The daemon sees gs down (an incident is opened) but never restarts it.
      await waitUntil(
        async () => (await store(s).listOpenIncidents()).some((i) => i.services.includes('gs')),
        20_000,
        'an incident about gs',
      );
      await sleep(6_000);
      expect(await pidOf(s.spec, 'gs')).toBeUndefined();
      expect(requestedRestarts(await allTimelines(s), 'gs')).toEqual([]);

      // A runbook restart is refused too: isolation is state, not a killed process.
      const restart = await runbook(s, 'acgs-restart-service', { ServiceName: 'gs', WaitSeconds: '60' });
      expect(restart.code).toBe(1);
      expect(restart.report?.failure).toMatch(/^restart: the operator API answered 409/);
      expect(await pidOf(s.spec, 'gs')).toBeUndefined();

      const release = await runbook(s, 'acgs-release-service', { ServiceName: 'gs', WaitSeconds: '60' });
      expect(release.stderr).toBe('');
      expect(release.code, JSON.stringify(release.report?.steps ?? release.stdout, null, 1)).toBe(0);
      expect(release.report?.outputs['waitHealthy.Healthy']).toBe(true);
      // Once released, the daemon's remediation may restart gs as the runbook starts it: its pid file is gone for
      // the moment between that restart's stop and start, so the process is awaited, not sampled once.
      await waitUntil(async () => (await pidOf(s.spec, 'gs')) !== undefined, 20_000, 'gs running after release');
      expect(await pidOf(s.spec, 'gs')).toBeDefined();
    },
    E2E_TIMEOUT_MS,
  );

  it(
    'declare-incident of type security isolates the service, opens a P1 that pages, and ticks isolate on its checklist',
    async () => {
      const s = await runningFleet();
      const run = await runbook(s, 'acgs-declare-incident', {
        Type: 'security',
        Severity: 'P3',
        Title: 'token leak in pgc',
        ServiceName: 'pgc',
      });
      // The page goes out at once, from the runbook's own process (the console channel: its stderr) or, when the
      // daemon's sweep took the incident first (a loaded machine), from the daemon: the timeline says which went out.
      expect(run.code, JSON.stringify(run.report?.steps ?? run.stdout, null, 1)).toBe(0);
      const id = String(run.report?.outputs['declareSecurity.IncidentId']);
      // A security incident is a P1 whatever the parameter said, about the service named.
      expect(await store(s).getIncident(id)).toMatchObject({ kind: 'security', severity: 'P1', services: ['pgc'] });
      // The service is isolated (recorded and stopped), and stays down: nothing automatic starts it.
      expect((await store(s).listIsolated()).has('pgc')).toBe(true);
      expect(await pidOf(s.spec, 'pgc')).toBeUndefined();
      await sleep(6_000);
      expect(await pidOf(s.spec, 'pgc')).toBeUndefined();
      const timeline = await store(s).getTimeline(id);
      expect(timeline).toContainEqual(expect.objectContaining({ type: 'checklist', step: 'isolate' }));
      expect(timeline.filter((e) => e.type === 'paged').length).toBeGreaterThan(0);
    },
    E2E_TIMEOUT_MS,
  );

  it('maintenance-window opens a window, gives its id, and ends it by that id', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'acgs-runbooks-mw-'));
    try {
      const spec = await planSimulatedFleet({ dir, watchPid: process.pid });
      const s: Scenario = { dir, spec, configFile: join(dir, 'fleet.yaml'), stateDir: join(dir, 'state') };
      await writeFile(s.configFile, fleetConfigYaml(spec, FAST));
      const open = await runbook(s, 'acgs-maintenance-window', {
        Action: 'start',
        Subject: 'gs',
        Minutes: '30',
        Reason: 'planned upgrade of gs',
      });
      expect(open.stderr).toBe('');
      expect(open.code).toBe(0);
      const id = open.report?.outputs['openWindow.WindowId'];
      expect(id).toMatch(/^mw-/);
      expect(JSON.stringify(open.report?.outputs['listWindows.Windows'])).toContain(String(id));
      const end = await runbook(s, 'acgs-maintenance-window', { Action: 'end', WindowId: String(id) });
      expect(end.code).toBe(0);
      expect(JSON.stringify(end.report?.outputs['listWindows.Windows'] ?? [])).not.toContain(String(id));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('refuses bad parameters before anything runs (exit 64, naming the parameter)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'acgs-runbooks-bad-'));
    try {
      const spec = await planSimulatedFleet({ dir, watchPid: process.pid });
      const configFile = join(dir, 'fleet.yaml');
      await writeFile(configFile, fleetConfigYaml(spec, FAST));
      const stateDir = join(dir, 'state');
      const cases: [string[], RegExp][] = [
        [['acgs-restart-service', '--param', 'ServiceName=gs","x'], /ServiceName ".*" does not match/],
        [
          ['acgs-restart-service', '--param', 'ServiceName=nosuch'],
          /ServiceName "nosuch" is not a service of this fleet/,
        ],
        [['acgs-restart-service'], /ServiceName is required/],
        [['acgs-emergency-stop-all', '--param', 'WindowMinutes=99999'], /WindowMinutes "99999" is not one of/],
        [
          ['acgs-emergency-stop-all', '--param', 'Windowminutes=15'],
          /Windowminutes is not a parameter of this runbook/,
        ],
        [
          ['acgs-maintenance-window', '--param', 'Action=start', '--param', 'Reason=$(reboot)'],
          /Reason ".*" does not match/,
        ],
        [['acgs-nope'], /"acgs-nope" is not a runbook/],
      ];
      for (const [args, message] of cases) {
        const run = await runAcgsOps(['runbook', 'run', ...args, '--config', configFile, '--state', stateDir]);
        expect(run.code, args.join(' ')).toBe(64);
        expect(run.stderr).toMatch(message);
      }
      // Nothing was created.
      expect(spawnSync('ls', [stateDir]).status).not.toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

/*
 * acgs-rolling-update, run from its file by the interpreter in-process, against four real processes each running the
 * code of its own git clone (test/support/git-fleet.ts, as test/integration/rolling-update-route.test.ts sets them up). The
 * third service's new revision cannot start: the runbook's loop stops there, that service is back on its old
 * revision and healthy, the fourth is untouched.
 */
describe('acgs-rolling-update on the simulated fleet', () => {
  const NAMES = GIT_FLEET_NAMES;
  const clock = new ManualClock(Date.UTC(2026, 11, 3, 10, 0, 0));
  let root = '';
  let spec: SimulatedFleetSpec;
  let config: FleetConfig;
  const v1: Record<string, string> = {};

  let publish: GitFleet['publish'];

  function context(): { ctx: ControlPlaneContext; store: MemoryStateStore } {
    const store = new MemoryStateStore();
    const ctx = createContext(config, {
      states: store,
      incidents: store,
      control: store,
      notifier: new RecordingNotifier(),
      commands: new ShellCommandRunner(),
      events: new MemoryEventPublisher(),
      clock,
      log: () => {},
    });
    return { ctx, store };
  }

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'acgs-runbook-rollout-'));
    const fleet = await plantGitFleet(root);
    ({ spec, publish } = fleet);
    Object.assign(v1, fleet.v1);
    const parsed = parseFleetConfig(fleetConfigYaml(spec, { restartTimeout: '30s', remediationEnabled: false }));
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    config = parsed.config;
    const started = await startAll(context().ctx);
    expect(started.result.status, started.result.output).toBe('succeeded');
  }, 120_000);

  afterAll(async () => {
    if (spec) await stopFleet(spec).catch(() => undefined);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('rolls the third service back when its update does not come back healthy, and stops there', async () => {
    const { ctx } = context();
    const v2: Record<string, string> = {};
    for (const name of NAMES)
      v2[name] = publish(
        name,
        name === 'integrity' ? { 'serve.mjs': BROKEN_SERVE, VERSION: 'v2\n' } : { VERSION: 'v2\n' },
        'v2',
      );
    const before = await Promise.all(NAMES.map((name) => pidOf(spec, name)));
    const dir = (name: string) => spec.services.find((s) => s.name === name)?.directory ?? '';

    const document = placeRunbook(loadRunbook('acgs-rolling-update'), { services: [...NAMES] });
    const resolved = resolveParameters(document, { Update: 'git-pull', Branch: 'main' });
    if (!resolved.ok) throw new Error(JSON.stringify(resolved.errors));
    const executionId = '6f1c2d3e-0000-4000-8000-00000000000a';
    const report = await runAutomation({
      document,
      documentName: 'acgs-rolling-update',
      parameters: resolved.values,
      executionId,
      invoke: operatorApiInvoker(ctx, { operator: 'e2e', documentName: 'acgs-rolling-update', executionId }),
      clock,
      sleep: async (ms) => clock.advance(ms),
    });

    expect(report.status).toBe('Failed');
    expect(report.steps.map((s) => `${s.name} ${String(s.iteratorValue ?? '')} ${s.status}`)).toEqual([
      'chooseUpdate  Success',
      'pullEach.pullOne auth Success',
      'pullEach.pullOne ac Success',
      'pullEach.pullOne integrity Failed',
      'pullEach  Failed',
      'fleetState  Success',
    ]);
    expect(report.failure).toMatch(/^pullEach\.pullOne: the operator API answered 502/);
    const after = await Promise.all(NAMES.map((name) => pidOf(spec, name)));
    for (const [i, name] of ['auth', 'ac'].entries()) {
      expect(git(dir(name), 'rev-parse', 'HEAD'), name).toBe(v2[name]);
      expect(after[i], name).not.toBe(before[i]);
    }
    expect(git(dir('integrity'), 'rev-parse', 'HEAD')).toBe(v1.integrity);
    expect(after[2]).toBeGreaterThan(0);
    expect(git(dir('fv'), 'rev-parse', 'HEAD')).toBe(v1.fv);
    expect(after[3]).toBe(before[3]);
  }, 150_000);
});
