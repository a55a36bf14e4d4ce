import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { FileObjectStore } from '../../lambdas/adapters/local/file-object-store.ts';
import { LocalSecretSource } from '../../lambdas/adapters/local/local-secret-source.ts';
import { ShellCommandRunner } from '../../lambdas/adapters/local/shell-command-runner.ts';
import { MemoryEventPublisher } from '../../lambdas/adapters/memory/memory-event-publisher.ts';
import { MemoryStateStore } from '../../lambdas/adapters/memory/memory-state-store.ts';
import { backupCommand } from '../../lambdas/cli/backup-command.ts';
import { runCli } from '../../lambdas/cli/run-cli.ts';
import { parseFleetConfig } from '../../lambdas/core/config.ts';
import type { FleetConfig } from '../../lambdas/core/config-schema.ts';
import { RESTORE_DOCUMENT } from '../../lambdas/core/document-names.ts';
import { fleetConfigYaml } from '../../lambdas/demo/fleet-sim/config-text.ts';
import { planSimulatedFleet, type SimulatedFleetSpec } from '../../lambdas/demo/fleet-sim/plan.ts';
import { pidOf, stopFleet } from '../../lambdas/demo/fleet-sim/processes.ts';
import { type CommandRequest, type CommandRunner, systemClock } from '../../lambdas/ports.ts';
import { NetworkProber } from '../../lambdas/probes/network-prober.ts';
import type { restoreView } from '../../lambdas/use-cases/api/backup-routes.ts';
import { type BackupDestination, runBackup, runDrill } from '../../lambdas/use-cases/backups.ts';
import { type ControlPlaneContext, createContext } from '../../lambdas/use-cases/context.ts';
import { type ApiResponse, handleApiRequest } from '../../lambdas/use-cases/operator-api.ts';
import { startAll } from '../../lambdas/use-cases/service-procedures.ts';
import { ManualClock, RecordingNotifier } from '../support/harness.ts';
import { expectEveryHostileValueRejected, hostileValues } from '../support/hostile-values.ts';
import { runLocalRunbook } from '../support/local-runbook.ts';
import { usePostgresCluster } from '../support/postgres-cluster.ts';
import { DUMP_RESTORE_STEPS } from '../support/recovery-host.ts';

/*
 * The runbook's Recovery Procedure end to end on one host: a throwaway PostgreSQL, a simulated fleet of three real
 * service processes that depend on it, a real backup taken by the backup document, then POST /backups/{id}/restore
 * through the operator API, which runs the real stop-all, restore and start-all documents and probes the health
 * checks. The clock is manual (backups are named and judged by it); durations are measured.
 */

const run = promisify(execFile);
const DB = 'acgs_pgp_db';
const PASSWORD_ENV = 'ACGS_RESTORE_TEST_PASSWORD';
const MINUTE = 60_000;
const THREE = [
  { name: 'auth', displayName: 'Auth Service', shape: 'raw', critical: true },
  { name: 'ac', displayName: 'Constitutional AI Service', shape: 'envelope', critical: true },
  { name: 'pgc', displayName: 'Policy Governance Service', shape: 'pgc', critical: true },
] as const;

// Throws, naming what is missing, on a machine without the PostgreSQL 15 server binaries.
const pg = usePostgresCluster({ tempPrefix: 'acgs-restore-it-', databases: [DB] });

let spec: SimulatedFleetSpec;
let config: FleetConfig;
let pgpass = '';
let configText = '';
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
function world(wrap: (shell: CommandRunner) => CommandRunner = (shell) => shell, fleet = config): World {
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
  const ctx = createContext(fleet, {
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

function restore(ctx: ControlPlaneContext, id: string, body: unknown = { confirm: true }): Promise<ApiResponse> {
  return handleApiRequest(ctx, {
    method: 'POST',
    path: `/backups/${encodeURIComponent(id)}/restore`,
    query: {},
    body: typeof body === 'string' ? body : JSON.stringify(body),
    caller: 'ops@example.test',
  });
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
  configText = stringify(raw);
  const parsed = parseFleetConfig(configText);
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

describe('POST /backups/{id}/restore, the Recovery Procedure, against a real PostgreSQL and a simulated fleet', () => {
  it('restores the data of the backup, leaves a safety dump of what was there, and every service healthy again', async () => {
    // Prepare: a backup, then the data changes (rows deleted, one changed)
    const id = await backUp(world().ctx);
    const w = world();
    await pg.sql(DB, `DELETE FROM principles WHERE id > 100; UPDATE votes SET approve = NULL WHERE id = 1;`);
    const before = await healthyPids();
    // Act
    const response = await restore(w.ctx, id);
    // Assess: every step ran, in order, and succeeded
    const body = response.body as ReturnType<typeof restoreView>;
    expect(response.statusCode, JSON.stringify(body, null, 2)).toBe(200);
    expect(body.status).toBe('succeeded');
    expect(body.steps.map((s) => s.name)).toEqual(DUMP_RESTORE_STEPS);
    for (const step of body.steps) {
      expect(step.status, step.name).toBe('succeeded');
      expect(step.durationMs, step.name).toBeGreaterThanOrEqual(0);
    }
    expect(body.services).toEqual(['auth', 'ac', 'pgc']);
    // the data is the backup's again
    expect(await count('principles')).toBe(500);
    expect(await pg.sql(DB, 'SELECT approve FROM votes WHERE id = 1')).toBe('f');
    // the safety dump holds the data as it was before the restore (100 principles), and the way back names it
    expect(existsSync(body.safetyDump)).toBe(true);
    expect(body.goBack).toContain('pg_restore --clean --if-exists');
    expect(body.goBack.endsWith(` ${body.safetyDump}`)).toBe(true);
    const { stdout } = await run(join(pg.cluster.binDir, 'pg_restore'), [
      '--data-only',
      '--table=principles',
      '--file=-',
      body.safetyDump,
    ]);
    expect(stdout.split('\n').filter((l) => /^\d+\tprinciple /.test(l))).toHaveLength(100);
    // every service was stopped and started again (new processes), and answers healthy
    const after = await healthyPids();
    for (const [i, pid] of after.entries()) {
      expect(pid, spec.services[i]?.name).toBeGreaterThan(0);
      expect(pid, spec.services[i]?.name).not.toBe(before[i]);
    }
    expect(body.steps.find((s) => s.name === 'health')?.detail).toBe('healthy: auth, ac, pgc');
    // the window was opened for the services and the database, and is over
    expect(body.window?.subjects).toEqual(['auth', 'ac', 'pgc', 'postgresql']);
    expect(await w.store.listMaintenanceWindows(clock.now())).toEqual([]);
    expect(w.notifier.sent).toEqual([]);
    expect(w.requests.map((r) => r.document + (r.parameters.Action ? `:${r.parameters.Action}` : ''))).toEqual([
      'acgs-stop-all',
      `${RESTORE_DOCUMENT}:safety-dump`,
      `${RESTORE_DOCUMENT}:restore`,
      'acgs-start-all',
    ]);
  }, 120_000);

  it('backs up with parallel pg_dump workers (one tar of the directory format), drills it and restores it with parallel pg_restore', async () => {
    // Prepare: backups.parallelJobs and restoreJobs 2, and a drill; a backup, then the data changes
    const { backups } = config;
    if (!backups) throw new Error('the test config has no backups section');
    const parallel: FleetConfig = {
      ...config,
      backups: {
        ...backups,
        parallelJobs: 2,
        restoreJobs: 2,
        drill: { scratchDatabase: 'acgs_restore_drill', maxAge: 7 * 24 * 60 * MINUTE },
      },
    };
    const w = world(undefined, parallel);
    const id = await backUp(w.ctx);
    await pg.sql(DB, 'DELETE FROM principles WHERE id > 100; UPDATE votes SET approve = NULL WHERE id = 1;');
    // Act
    const drilled = await runDrill(w.ctx, destination);
    const response = await restore(w.ctx, id);
    // Assess: the manifest says the format; the drill restored it in parallel and passed
    const manifest = JSON.parse(readFileSync(join(pg.root, 'backups', `${id}.manifest.json`), 'utf8'));
    expect(manifest).toMatchObject({ id, format: 'directory-tar', tableDataEntries: 2 });
    expect(drilled.manifest.id).toBe(id);
    expect(drilled.result.status, drilled.result.output).toBe('succeeded');
    expect(drilled.result.output).toContain('(directory-tar format)');
    expect(drilled.judgement).toBeDefined();
    // the restore went through every step with 2 pg_restore jobs, and the data is the backup's again
    const body = response.body as ReturnType<typeof restoreView>;
    expect(response.statusCode, JSON.stringify(body, null, 2)).toBe(200);
    expect(body.status).toBe('succeeded');
    expect(w.requests.find((r) => r.parameters.Action === 'restore')?.parameters).toMatchObject({ RestoreJobs: '2' });
    expect(w.requests.find((r) => r.document === 'acgs-backup-database')?.parameters).toMatchObject({
      ParallelJobs: '2',
    });
    expect(await count('principles')).toBe(500);
    expect(await pg.sql(DB, 'SELECT approve FROM votes WHERE id = 1')).toBe('f');
  }, 120_000);

  it('stops at a restore that finds the dump corrupt, leaves the database and the safety dump, pages, and the printed command puts the safety dump back', async () => {
    // Prepare: a good backup, newer data (the marker rows), and a dump that rots between the check and the restore
    const id = await backUp(world().ctx);
    await pg.sql(DB, `INSERT INTO principles (title) SELECT 'marker ' || g FROM generate_series(1, 7) AS g;`);
    const corrupting = (shell: CommandRunner): CommandRunner => ({
      run: (request) => {
        if (request.document === RESTORE_DOCUMENT && request.parameters.Action === 'restore') {
          const dump = request.parameters.Source ?? '';
          const bytes = readFileSync(dump);
          const middle = Math.floor(bytes.length / 2);
          bytes[middle] = (bytes[middle] ?? 0) ^ 0xff;
          writeFileSync(dump, bytes);
        }
        return shell.run(request);
      },
    });
    const w = world(corrupting);
    const open = await w.ctx.incidents.listOpenIncidents();
    // Act
    const response = await restore(w.ctx, id);
    // Assess: it stopped at the restore, which touched nothing
    const body = response.body as ReturnType<typeof restoreView>;
    expect(response.statusCode, JSON.stringify(body, null, 2)).toBe(502);
    expect(body.status).toBe('failed');
    expect(body.steps.map((s) => [s.name, s.status])).toEqual([
      ['window', 'succeeded'],
      ['stop', 'succeeded'],
      ['safety-dump', 'succeeded'],
      ['restore', 'failed'],
    ]);
    expect(body.steps[3]?.detail).toMatch(/exit 3.*sha256 mismatch/);
    expect(await count(`principles WHERE title LIKE 'marker %'`)).toBe(7);
    // it says how to go back, and the safety dump is there
    expect(body.error).toContain(`stopped at restore`);
    expect(body.error).toContain(body.safetyDump);
    expect(body.error).toContain(body.goBack);
    expect(existsSync(body.safetyDump)).toBe(true);
    // the window is over and a P1 was declared, which paged
    expect(await w.store.listMaintenanceWindows(clock.now())).toEqual([]);
    expect(open).toEqual([]);
    const incidents = await w.ctx.incidents.listOpenIncidents();
    expect(incidents.map((i) => [i.id, i.severity, i.title])).toEqual([
      [body.incident, 'P1', `Database restore of ${id} failed at restore`],
    ]);
    expect(w.notifier.sent.map((n) => n.incident.id)).toContain(body.incident);
    const timeline = await w.ctx.incidents.getTimeline(body.incident ?? '');
    expect(timeline.find((e) => e.type === 'procedure')).toMatchObject({
      action: 'backup.restore',
      outcome: 'failed',
      detail: body.error,
    });
    // Act: the data is lost after all; the printed command puts the safety dump back
    await pg.sql(DB, `DELETE FROM principles WHERE title LIKE 'marker %'`);
    const [program = '', ...args] = body.goBack.split(' ');
    await run(program, args, { env: { ...process.env, PGPASSFILE: pgpass } });
    // Assess
    expect(await count(`principles WHERE title LIKE 'marker %'`)).toBe(7);
    // Cleanup: the services are down (the restore stopped before starting them)
    expect(await healthyPids()).toEqual([undefined, undefined, undefined]);
    const started = await startAll(world().ctx);
    expect(started.result.status, started.result.output).toBe('succeeded');
  }, 120_000);

  it('refuses bad requests before anything runs: no confirmation, an unknown or hostile id, a bad body, a backup not verified', async () => {
    // Prepare
    const id = await backUp(world().ctx);
    const w = world();
    const marker = join(tmpdir(), `pwned-restore-${process.pid}-${Date.now().toString(36)}`);
    // Act
    const unconfirmed = await restore(w.ctx, id, { confirm: false });
    const noBody = await restore(w.ctx, id, '');
    const extra = await restore(w.ctx, id, { confirm: true, dropDatabase: true });
    const badTimeout = await restore(w.ctx, id, { confirm: true, timeoutSeconds: 0 });
    const unknown = await restore(w.ctx, `${DB}-19990101T000000Z`);
    const hostile = await Promise.all(
      [...hostileValues(id, marker), '../../etc/passwd', `${id}/../x`, '', ' '].map((value) => restore(w.ctx, value)),
    );
    // Assess
    expect(unconfirmed.statusCode).toBe(400);
    expect((unconfirmed.body as { error: string }).error).toMatch(
      /^restoring .* overwrites database acgs_pgp_db: it would open a maintenance window, stop auth, ac, pgc, take a safety dump .*nothing was done/,
    );
    expect(noBody.statusCode).toBe(400);
    expect((noBody.body as { error: string }).error).toContain('confirm');
    expect(extra.statusCode).toBe(400);
    expect((extra.body as { error: string }).error).toContain('dropDatabase');
    expect(badTimeout.statusCode).toBe(400);
    expect((badTimeout.body as { error: string }).error).toContain('timeoutSeconds');
    expect(unknown.statusCode).toBe(404);
    expect((unknown.body as { error: string }).error).toContain(`backup ${DB}-19990101T000000Z`);
    for (const response of hostile) {
      expect([400, 404], JSON.stringify(response.body)).toContain(response.statusCode);
      if (response.statusCode === 400) expect((response.body as { error: string }).error).toMatch(/backup id/);
    }
    expect(w.requests).toEqual([]);
    expect(existsSync(marker)).toBe(false);
    expect(await w.store.listMaintenanceWindows(clock.now())).toEqual([]);
  }, 60_000);

  it('refuses a backup whose dump no longer has its SHA-256 (409), running nothing', async () => {
    // Prepare: the newest backup's dump altered after publication
    const id = await backUp(world().ctx);
    const w = world();
    const dump = join(pg.root, 'backups', `${id}.dump`);
    const bytes = readFileSync(dump);
    bytes[10] = (bytes[10] ?? 0) ^ 0x01;
    writeFileSync(dump, bytes);
    // Act
    const response = await restore(w.ctx, id);
    // Assess
    expect(response.statusCode).toBe(409);
    expect((response.body as { error: string }).error).toMatch(new RegExp(`backup ${id} is not good: .*SHA-256`));
    expect(w.requests).toEqual([]);
  }, 60_000);

  it('acgs-ops backup restore refuses without --yes (saying what it would do), a hostile id and an unknown one, exit 64, creating nothing', async () => {
    // Prepare
    const configFile = join(pg.root, 'restore-cli.yaml');
    writeFileSync(configFile, configText);
    const stateDir = join(pg.root, 'cli-state');
    const cli = async (...args: string[]) => {
      let stdout = '';
      let stderr = '';
      const code = await runCli(
        [
          'backup',
          ...args,
          '--config',
          configFile,
          '--state',
          stateDir,
          ...(args.includes('aws') ? [] : ['--pg-bin', pg.cluster.binDir]),
        ],
        [backupCommand],
        { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), clock: systemClock },
      );
      return { code, stdout, stderr };
    };
    // Act
    const unconfirmed = await cli('restore', `${DB}-20261201T020000Z`);
    const hostile = await cli('restore', `${DB}-x; touch /tmp/x`);
    const missing = await cli('restore');
    const yesElsewhere = await cli('run', '--yes');
    const awsUnconfirmed = await cli('restore', `${DB}-20261201T020000Z`, '--target', 'aws');
    const awsNoUrl = await cli(
      'restore',
      `${DB}-20261201T020000Z`,
      '--target',
      'aws',
      '--yes',
      '--url',
      '',
      '--region',
      'eu-west-1',
    );
    const awsPrune = await cli('prune', '--target', 'aws');
    // Assess
    expect(unconfirmed.code).toBe(64);
    expect(unconfirmed.stderr).toMatch(
      /overwrites database acgs_pgp_db: it would open a maintenance window, stop auth, ac, pgc/,
    );
    expect(unconfirmed.stderr).toContain('Confirm with --yes');
    expect(hostile.code).toBe(64);
    expect(hostile.stderr).toMatch(/backup id: must be a backup id/);
    expect(missing.code).toBe(64);
    expect(missing.stderr).toContain('needs a backup id');
    expect(yesElsewhere.code).toBe(64);
    expect(yesElsewhere.stderr).toContain('--yes applies to restore only');
    expect(awsUnconfirmed.code).toBe(64);
    expect(awsUnconfirmed.stderr).toContain('nothing was done. Confirm with --yes');
    expect(awsNoUrl.code).toBe(64);
    expect(awsNoUrl.stderr).toContain('--target aws needs --url');
    expect(awsPrune.code).toBe(64);
    expect(awsPrune.stderr).toContain('prune works on this host only');
    expect(existsSync(stateDir)).toBe(false);
  });
});

describe('the other backup routes', () => {
  it('GET /backups shows the catalogue and the judgement, POST /backups takes a backup, POST /backups/drill says why it cannot', async () => {
    // Prepare
    const w = world();
    clock.advance(MINUTE);
    const call = (method: string, path: string, body?: string) =>
      handleApiRequest(w.ctx, { method, path, query: {}, body, caller: 'ops@example.test' });
    // Act
    const taken = await call('POST', '/backups', '{}');
    clock.advance(MINUTE);
    const status = await call('GET', '/backups');
    const extra = await call('POST', '/backups', '{"now": true}');
    const drill = await call('POST', '/backups/drill', '{}');
    // Assess
    const backup = (taken.body as { backup: string }).backup;
    expect(taken.statusCode, JSON.stringify(taken.body)).toBe(200);
    expect(taken.body).toMatchObject({ procedure: 'backup.run', status: 'succeeded', exitCode: 0 });
    expect(status.statusCode).toBe(200);
    const { judgement, catalogue } = status.body as {
      judgement: { status: string; newestGood?: { id: string } };
      catalogue: { backups: { manifest: { id: string }; verdict: string }[] };
    };
    expect(judgement.newestGood?.id).toBe(backup);
    expect(catalogue.backups.find((b) => b.manifest.id === backup)?.verdict).toBe('good');
    expect(extra.statusCode).toBe(400);
    expect((extra.body as { error: string }).error).toContain('now');
    expect(drill.statusCode).toBe(409);
    expect((drill.body as { error: string }).error).toContain('backups.drill is not set');
  }, 60_000);
});

describe('acgs-ops backup restore on this host', () => {
  it('runs the Recovery Procedure with --yes, printing each step with its duration, exit 0', async () => {
    // Prepare: a backup, then changed data; the CLI's own runtime (state, prober, backup store) on the same fleet
    const id = await backUp(world().ctx);
    await pg.sql(DB, 'DELETE FROM votes WHERE id > 10');
    const configFile = join(pg.root, 'restore-cli-yes.yaml');
    writeFileSync(configFile, configText);
    process.env[PASSWORD_ENV] = pg.cluster.password;
    let stdout = '';
    let stderr = '';
    // Act
    const code = await runCli(
      [
        'backup',
        'restore',
        id,
        '--yes',
        '--config',
        configFile,
        '--state',
        join(pg.root, 'cli-yes-state'),
        '--pg-bin',
        pg.cluster.binDir,
        '--by',
        'ops',
      ],
      [backupCommand],
      { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), clock: systemClock },
    ).finally(() => {
      delete process.env[PASSWORD_ENV];
    });
    // Assess
    expect(code, stdout + stderr).toBe(0);
    expect(stdout).toMatch(new RegExp(`^restore of ${id}: succeeded\n`));
    for (const step of DUMP_RESTORE_STEPS) expect(stdout).toMatch(new RegExp(`\n${step} +succeeded +[0-9.]+m?s `));
    expect(stdout).toContain('safety dump: ');
    expect(await count('votes')).toBe(2000);
    expect((await healthyPids()).every((pid) => pid !== undefined && pid > 0)).toBe(true);
  }, 120_000);
});

describe('acgs-restore-database', () => {
  it('rejects every hostile value for every parameter, running nothing', async () => {
    // Prepare
    const marker = join(tmpdir(), `pwned-restore-doc-${process.pid}-${Date.now().toString(36)}`);
    const valid: Record<string, string> = {
      Action: 'restore',
      Source: '/var/backups/acgs-ops/acgs_pgp_db-20261201T020000Z.dump',
      ExpectedSha256: 'd3c0e679def75e96baf2afc217c287be75d35919cc38a9b57efec986ca2da602',
      ExpectedTableDataEntries: '2',
      DatabaseHost: '127.0.0.1',
      DatabasePort: '5432',
      DatabaseName: DB,
      DatabaseUser: 'acgs_user',
      PgpassFile: '/etc/acgs-ops/pgpass',
      PasswordSecretId: 'acgs-1/postgres',
      PasswordSecretField: 'password',
      SafetyDumpLocation: '/var/backups/acgs-ops/pre-restore/acgs_pgp_db-before-restore-20261207T030000Z.dump',
      PgBinDir: '/usr/lib/postgresql/15/bin',
      TimeoutSeconds: '60',
      RestoreJobs: '2',
    };
    // Act & Assess
    const checked = await expectEveryHostileValueRejected(
      [{ document: RESTORE_DOCUMENT, valid, parameters: Object.keys(valid) }],
      {
        marker,
        extra: (_document, parameter, good) => [
          ...(parameter === 'Action' ? ['drop', 'restore --force'] : []),
          ...(parameter === 'SafetyDumpLocation' ? [good.replace('.dump', '.sql'), 's3://b/x.dump'] : []),
          ...(parameter === 'DatabaseName' ? ['acgs_pgp_db --clean'] : []),
        ],
      },
    );
    expect(checked).toBeGreaterThan(250);
  });
});

/*
 * acgs-restore-database, the Automation runbook, run from its file by the local interpreter (the operator API
 * in-process) on the same database and fleet.
 */
const EXECUTION = '9d0e8f7a-0000-4000-8000-00000000000b';

function restoreRunbook(ctx: ControlPlaneContext, params: Record<string, string>) {
  return runLocalRunbook(ctx, clock, 'acgs-restore-database', params, { executionId: EXECUTION, operator: 'e2e' });
}

describe('acgs-restore-database, the runbook, on a real PostgreSQL and a simulated fleet', () => {
  it('round-trips the data of the backup and leaves every service healthy, each step in the outputs', async () => {
    // The database is this file's: earlier tests may have added rows; the backup holds what is there now.
    const atBackup = await count('principles');
    const id = await backUp(world().ctx);
    const w = world();
    await pg.sql(DB, `DELETE FROM principles WHERE id > 100; UPDATE votes SET approve = NULL WHERE id = 1;`);
    const before = await healthyPids();

    const report = await restoreRunbook(w.ctx, { BackupId: id, Confirm: 'true' });

    expect(report.failure).toBeUndefined();
    expect(report.status).toBe('Success');
    expect(report.outputs['restore.Status']).toBe('succeeded');
    expect((report.outputs['restore.Steps'] as { name: string }[]).map((s) => s.name)).toEqual(DUMP_RESTORE_STEPS);
    expect(await count('principles')).toBe(atBackup);
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
