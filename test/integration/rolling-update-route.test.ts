import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShellCommandRunner } from '../../lambdas/adapters/local/shell-command-runner.ts';
import { MemoryEventPublisher } from '../../lambdas/adapters/memory/memory-event-publisher.ts';
import { MemoryStateStore } from '../../lambdas/adapters/memory/memory-state-store.ts';
import { parseFleetConfig } from '../../lambdas/core/config.ts';
import type { FleetConfig } from '../../lambdas/core/config-schema.ts';
import { fleetConfigYaml } from '../../lambdas/demo/fleet-sim/config-text.ts';
import type { SimulatedFleetSpec } from '../../lambdas/demo/fleet-sim/plan.ts';
import { pidOf, stopFleet } from '../../lambdas/demo/fleet-sim/processes.ts';
import type { CommandRequest, CommandRunner } from '../../lambdas/ports.ts';
import { type ControlPlaneContext, createContext } from '../../lambdas/use-cases/context.ts';
import { declareIncident } from '../../lambdas/use-cases/operator-actions.ts';
import { type ApiResponse, handleApiRequest } from '../../lambdas/use-cases/operator-api.ts';
import { startAll } from '../../lambdas/use-cases/service-procedures.ts';
import { BROKEN_SERVE, GIT_FLEET_NAMES, type GitFleet, git, plantGitFleet } from '../support/git-fleet.ts';
import { ManualClock, RecordingNotifier } from '../support/harness.ts';
import { hostileValues } from '../support/hostile-values.ts';

/*
 * POST /fleet/rolling-update with git-pull against a simulated fleet of four real processes, each running the code of
 * its own git clone (`node serve.mjs ...`, where serve.mjs of the good revisions starts the simulated service). The
 * third service's new revision cannot start: the document records each service's revision before its pull, returns
 * that one to it, restarts it, and stops the rollout.
 */

const NAMES = GIT_FLEET_NAMES;

let root = '';
let spec: SimulatedFleetSpec;
let config: FleetConfig;
const clock = new ManualClock(Date.UTC(2026, 11, 3, 10, 0, 0));

let publish: GitFleet['publish'];

interface World {
  readonly ctx: ControlPlaneContext;
  readonly store: MemoryStateStore;
  readonly requests: CommandRequest[];
}

function world(): World {
  const store = new MemoryStateStore();
  const requests: CommandRequest[] = [];
  const shell = new ShellCommandRunner();
  const commands: CommandRunner = {
    run: (request) => {
      requests.push(request);
      return shell.run(request);
    },
  };
  const ctx = createContext(config, {
    states: store,
    incidents: store,
    control: store,
    notifier: new RecordingNotifier(),
    commands,
    events: new MemoryEventPublisher(),
    clock,
    log: () => {},
  });
  return { ctx, store, requests };
}

function rollingUpdate(ctx: ControlPlaneContext, body: unknown): Promise<ApiResponse> {
  return handleApiRequest(ctx, {
    method: 'POST',
    path: '/fleet/rolling-update',
    query: {},
    body: JSON.stringify(body),
    caller: 'ops@example.test',
  });
}

const v1: Record<string, string> = {};

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'acgs-rollback-it-'));
  const fleet = await plantGitFleet(root);
  ({ spec, publish } = fleet);
  Object.assign(v1, fleet.v1);
  // Each start gets restartTimeout less the stop's grace and a margin to become healthy: 10 s.
  const parsed = parseFleetConfig(fleetConfigYaml(spec, { restartTimeout: '30s', remediationEnabled: false }));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  config = parsed.config;
  const started = await startAll(world().ctx);
  expect(started.result.status, started.result.output).toBe('succeeded');
}, 120_000);

afterAll(async () => {
  if (spec) await stopFleet(spec).catch(() => undefined);
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('POST /fleet/rolling-update', () => {
  it('rolls the third service back to the revision it ran when its update does not come back healthy, and stops there', async () => {
    // Prepare: new revisions upstream, the third one broken; an open incident about it
    const w = world();
    const v2: Record<string, string> = {};
    for (const name of NAMES)
      v2[name] = publish(
        name,
        name === 'integrity' ? { 'serve.mjs': BROKEN_SERVE, VERSION: 'v2\n' } : { VERSION: 'v2\n' },
        'v2',
      );
    const { incident } = await declareIncident(w.ctx, {
      kind: 'manual',
      severity: 'P3',
      title: 'integrity answers slowly',
      services: ['integrity'],
      by: 'ops@example.test',
    });
    const before = await Promise.all(NAMES.map((name) => pidOf(spec, name)));
    const dir = (name: string) => spec.services.find((s) => s.name === name)?.directory ?? '';
    // Act
    const response = await rollingUpdate(w.ctx, { update: 'git-pull', branch: 'main' });
    // Assess: the response names the rollback
    const body = response.body as {
      status: string;
      services: string[];
      output: string;
      rolledBack?: { service: string; ref: string; healthy: boolean };
      window?: { id: string };
    };
    expect(response.statusCode, body.output).toBe(502);
    expect(body.status).toBe('failed');
    expect(body.services).toEqual([...NAMES]);
    expect(body.rolledBack).toEqual({ service: 'integrity', ref: v1.integrity, healthy: true });
    expect(body.output).toContain(
      `acgs-rolling-update: rolling update stopped at integrity (did not come back healthy after its update); rolled back integrity to ${v1.integrity}, healthy again; already updated: auth ac; not touched (still on the old version): fv`,
    );
    // the first two run their new revision, in new processes
    const after = await Promise.all(NAMES.map((name) => pidOf(spec, name)));
    for (const [i, name] of ['auth', 'ac'].entries()) {
      expect(git(dir(name), 'rev-parse', 'HEAD'), name).toBe(v2[name]);
      expect(after[i], name).toBeGreaterThan(0);
      expect(after[i], name).not.toBe(before[i]);
    }
    // the third is back on the revision it ran (recorded before the pull), restarted and healthy
    expect(git(dir('integrity'), 'rev-parse', 'HEAD')).toBe(v1.integrity);
    expect(readFileSync(join(spec.hostStateDir, 'revisions', 'integrity'), 'utf8')).toBe(`${v1.integrity}\n`);
    expect(after[2]).toBeGreaterThan(0);
    expect(after[2]).not.toBe(before[2]);
    // the fourth was not touched
    expect(git(dir('fv'), 'rev-parse', 'HEAD')).toBe(v1.fv);
    expect(after[3]).toBe(before[3]);
    // the window is over, and the incident about the rolled-back service records the procedure
    expect(await w.store.listMaintenanceWindows(clock.now())).toEqual([]);
    const timeline = await w.ctx.incidents.getTimeline(incident.id);
    expect(timeline.find((e) => e.type === 'procedure')).toMatchObject({
      action: 'fleet.rolling-update',
      outcome: 'failed',
      // No services named: a fleet-wide procedure, which every open incident hears of
      services: [],
      by: 'ops@example.test',
    });
  }, 120_000);

  it('refuses a bad body before anything runs, naming the field', async () => {
    // Prepare
    const w = world();
    const marker = join(root, 'pwned');
    const bodies: [unknown, string][] = [
      [{ services: ['nope'] }, 'unknown service nope'],
      [{ services: ['auth', 'auth'] }, 'services'],
      [{ update: 'rm -rf' }, 'update'],
      [{ update: 'git-pull', branch: '--upload-pack=touch x' }, 'branch'],
      [{ branch: 'main' }, 'a branch applies to the git-pull update only'],
      [{ update: 'git-pull', force: true }, 'force'],
      ...hostileValues('main', marker).map((branch): [unknown, string] => [{ update: 'git-pull', branch }, 'branch']),
      ...hostileValues('auth', marker).map((name): [unknown, string] => [{ services: [name] }, 'services']),
    ];
    // Act
    const responses = await Promise.all(bodies.map(([body]) => rollingUpdate(w.ctx, body)));
    // Assess
    for (const [i, response] of responses.entries()) {
      expect(response.statusCode, JSON.stringify(bodies[i]?.[0])).toBe(400);
      expect((response.body as { error: string }).error).toContain(bodies[i]?.[1]);
    }
    expect(w.requests).toEqual([]);
    expect(await w.store.listMaintenanceWindows(0)).toEqual([]);
  });
});
