import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { FileObjectStore } from '../../lambdas/adapters/local/file-object-store.ts';
import { LocalSecretSource } from '../../lambdas/adapters/local/local-secret-source.ts';
import { ShellCommandRunner } from '../../lambdas/adapters/local/shell-command-runner.ts';
import { MemoryEventPublisher } from '../../lambdas/adapters/memory/memory-event-publisher.ts';
import { MemoryStateStore } from '../../lambdas/adapters/memory/memory-state-store.ts';
import { placeRunbook, resolveParameters } from '../../lambdas/core/automation-document.ts';
import { parseFleetConfig } from '../../lambdas/core/config.ts';
import type { FleetConfig } from '../../lambdas/core/config-schema.ts';
import { fleetConfigYaml } from '../../lambdas/demo/fleet-sim/config-text.ts';
import { planSimulatedFleet, type SimulatedFleetSpec } from '../../lambdas/demo/fleet-sim/plan.ts';
import { pidOf, stopFleet } from '../../lambdas/demo/fleet-sim/processes.ts';
import { loadRunbook, operatorApiInvoker, runAutomation } from '../../lambdas/local/automation-runner.ts';
import { type CommandRequest, type CommandRunner, systemClock } from '../../lambdas/ports.ts';
import { NetworkProber } from '../../lambdas/probes/network-prober.ts';
import { type BackupDestination, runBackup } from '../../lambdas/use-cases/backups.ts';
import { type ControlPlaneContext, createContext } from '../../lambdas/use-cases/context.ts';
import { startAll } from '../../lambdas/use-cases/service-procedures.ts';
import { ManualClock, RecordingNotifier } from '../support/harness.ts';
import { usePostgresCluster } from '../support/postgres-cluster.ts';

/*
 * acgs-restore-database, the Automation runbook, run from its file by the local interpreter (the operator API
 * in-process) against the setup of test/integration/restore-database.test.ts (branch recovery), copied: the runbook's
 * Recovery Procedure end to end on one host: a throwaway PostgreSQL, a simulated fleet of three real
 * service processes that depend on it, a real backup taken by the backup document, then POST /backups/{id}/restore
 * through the operator API, which runs the real stop-all, restore and start-all documents and probes the health
 * checks. The clock is manual (backups are named and judged by it); durations are measured.
 */

const DB = 'acgs_pgp_db';
const PASSWORD_ENV = 'ACGS_RESTORE_TEST_PASSWORD';
const MINUTE = 60_000;
const THREE = [
  { name: 'auth', displayName: 'Auth Service', shape: 'raw', critical: true },
  { name: 'ac', displayName: 'Constitutional AI Service', shape: 'envelope', critical: true },
  { name: 'pgc', displayName: 'Policy Governance Service', shape: 'pgc', critical: true },
] as const;
/** Steps of a restore that went through, in order. */
const ALL_STEPS = ['window', 'stop', 'safety-dump', 'restore', 'start', 'health', 'end-window'];

// Throws, naming what is missing, on a machine without the PostgreSQL 15 server binaries.
const pg = usePostgresCluster({ tempPrefix: 'acgs-restore-it-', databases: [DB] });

let spec: SimulatedFleetSpec;
let config: FleetConfig;
let pgpass = '';
let destination: BackupDestination;
const clock = new ManualClock(Math.floor(Date.now() / 1_000) * 1_000 - 60 * MINUTE);

interface World {
  readonly ctx: ControlPlaneContext;
  readonly store: MemoryStateStore;
  readonly notifier: RecordingNotifier;
  /** Every command the context ran, in order. */
  readonly requests: CommandRequest[];
}

/** A context on the test's fleet; `commands` wraps the real shell runner (to count, or to interfere). */
function world(wrap: (shell: CommandRunner) => CommandRunner = (shell) => shell): World {
  const store = new MemoryStateStore();
  const notifier = new RecordingNotifier();
  const requests: CommandRequest[] = [];
  const inner = wrap(new ShellCommandRunner());
  const commands: CommandRunner = {
    run: (request) => {
      requests.push(request);
      return inner.run(request);
    },
  };
  const ctx = createContext(config, {
    states: store,
    incidents: store,
    control: store,
    notifier,
    commands,
    events: new MemoryEventPublisher(),
    clock,
    prober: new NetworkProber(systemClock, new LocalSecretSource({ [PASSWORD_ENV]: pg.cluster.password })),
    backups: destination,
    log: () => {},
  });
  return { ctx, store, notifier, requests };
}

async function backUp(ctx: ControlPlaneContext): Promise<string> {
  clock.advance(MINUTE); // backup ids are per second
  const taken = await runBackup(ctx, destination);
  expect(taken.result.status, taken.result.output).toBe('succeeded');
  clock.advance(MINUTE);
  return taken.id;
}

const count = async (table: string) => Number(await pg.sql(DB, `SELECT count(*) FROM ${table}`));

async function healthyPids(): Promise<(number | undefined)[]> {
  return Promise.all(spec.services.map((s) => pidOf(spec, s.name)));
}

beforeAll(async () => {
  spec = await planSimulatedFleet({ dir: join(pg.root, 'fleet'), watchPid: process.pid, services: THREE });
  pgpass = join(pg.root, 'pgpass');
  writeFileSync(pgpass, `${pg.cluster.host}:${pg.cluster.port}:*:${pg.cluster.user}:${pg.cluster.password}\n`, {
    mode: 0o600,
  });
  const raw = parse(
    fleetConfigYaml(spec, {
      // Each service's start gets restartTimeout less the stop's grace and a margin to become healthy: 10 s.
      restartTimeout: '30s',
      postgres: {
        host: pg.cluster.host,
        port: pg.cluster.port,
        database: DB,
        user: pg.cluster.user,
        passwordEnv: PASSWORD_ENV,
      },
    }),
  ) as Record<string, unknown>;
  raw.backups = {
    database: 'postgresql',
    localDirectory: join(pg.root, 'backups'),
    pgpassFile: pgpass,
    maxAge: '1d',
    retention: { daily: 7, weekly: 4, monthly: 6 },
  };
  const parsed = parseFleetConfig(stringify(raw));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  config = parsed.config;
  destination = { objects: new FileObjectStore(join(pg.root, 'backups')), pgBinDir: pg.cluster.binDir };
  await pg.sql(
    DB,
    `CREATE TABLE principles (id serial PRIMARY KEY, title text NOT NULL);
     INSERT INTO principles (title) SELECT 'principle ' || g FROM generate_series(1, 500) AS g;
     CREATE TABLE votes (id bigserial PRIMARY KEY, approve boolean);
     INSERT INTO votes (approve) SELECT g % 2 = 0 FROM generate_series(1, 2000) AS g;`,
  );
  const started = await startAll(world().ctx);
  expect(started.result.status, started.result.output).toBe('succeeded');
}, 120_000);

afterAll(async () => {
  if (spec) await stopFleet(spec).catch(() => undefined);
});

const EXECUTION = '9d0e8f7a-0000-4000-8000-00000000000b';

async function restoreRunbook(ctx: ControlPlaneContext, params: Record<string, string>) {
  const document = placeRunbook(loadRunbook('acgs-restore-database'), { services: config.services.map((s) => s.name) });
  const resolved = resolveParameters(document, params);
  if (!resolved.ok) throw new Error(JSON.stringify(resolved.errors));
  return runAutomation({
    document,
    documentName: 'acgs-restore-database',
    parameters: resolved.values,
    executionId: EXECUTION,
    invoke: operatorApiInvoker(ctx, { operator: 'e2e', documentName: 'acgs-restore-database', executionId: EXECUTION }),
    clock,
    sleep: async (ms) => clock.advance(ms),
  });
}

describe('acgs-restore-database, the runbook, on a real PostgreSQL and a simulated fleet', () => {
  it('round-trips the data of the backup and leaves every service healthy, each step in the outputs', async () => {
    const id = await backUp(world().ctx);
    const w = world();
    await pg.sql(DB, `DELETE FROM principles WHERE id > 100; UPDATE votes SET approve = NULL WHERE id = 1;`);
    const before = await healthyPids();

    const report = await restoreRunbook(w.ctx, { BackupId: id, Confirm: 'true' });

    expect(report.failure).toBeUndefined();
    expect(report.status).toBe('Success');
    expect(report.outputs['restore.Status']).toBe('succeeded');
    expect((report.outputs['restore.Steps'] as { name: string }[]).map((s) => s.name)).toEqual(ALL_STEPS);
    expect(await count('principles')).toBe(500);
    expect(await pg.sql(DB, 'SELECT approve FROM votes WHERE id = 1')).toBe('f');
    const after = await healthyPids();
    for (const [i, pid] of after.entries()) {
      expect(pid, spec.services[i]?.name).toBeGreaterThan(0);
      expect(pid, spec.services[i]?.name).not.toBe(before[i]);
    }
    expect(await w.store.listMaintenanceWindows(clock.now())).toEqual([]);
  }, 150_000);

  it('with Confirm false runs nothing: the API refuses, the step fails, the data stays', async () => {
    const id = await backUp(world().ctx);
    const w = world();
    await pg.sql(DB, 'DELETE FROM principles WHERE id > 50;');
    const report = await restoreRunbook(w.ctx, { BackupId: id, Confirm: 'false' });
    expect(report.status).toBe('Failed');
    expect(report.failure).toMatch(/^restore: the operator API answered 400/);
    expect(w.requests).toEqual([]);
    expect(await count('principles')).toBe(50);
  }, 120_000);
});
