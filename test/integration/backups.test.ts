import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { FileObjectStore } from '../../lambdas/adapters/local/file-object-store.ts';
import { ShellCommandRunner } from '../../lambdas/adapters/local/shell-command-runner.ts';
import { MemoryEventPublisher } from '../../lambdas/adapters/memory/memory-event-publisher.ts';
import { MemoryStateStore } from '../../lambdas/adapters/memory/memory-state-store.ts';
import { DRILL_REPORT_SUFFIX, drillReportSchema } from '../../lambdas/core/backup-records.ts';
import { parseFleetConfig } from '../../lambdas/core/config.ts';
import type { FleetConfig } from '../../lambdas/core/config-schema.ts';
import type { CommandResult, CommandRunner } from '../../lambdas/ports.ts';
import {
  applyRetention,
  type BackupDestination,
  monitorBackups,
  runBackup,
  runDrill,
} from '../../lambdas/use-cases/backups.ts';
import { type ControlPlaneContext, createContext } from '../../lambdas/use-cases/context.ts';
import { inlineLikeSsm, noisyPgBinDir, SSM_INLINE_OUTPUT_CHARS } from '../support/drill-output.ts';
import { ManualClock, RecordingNotifier } from '../support/harness.ts';
import { usePostgresCluster } from '../support/postgres-cluster.ts';
import { runAcgsOps } from '../support/run-cli.ts';

/**
 * The backup use-cases end to end on one host: the real backup and drill documents run by the shell runner against
 * a throwaway PostgreSQL, published to a directory read back through the file object store, judged by the monitor
 * into incidents. The clock is manual: the documents stamp their records with the StartedAt they are given plus the
 * time they ran, so one clock orders everything, and the test moves it instead of sleeping. The dumps are real.
 */
const DB = 'acgs_pgp_db';
let store: MemoryStateStore;
let notifier: RecordingNotifier;
const MINUTE = 60_000;
/** A whole second an hour ago: backups are named by the second, and the acgs-ops CLI (real time) must come after. */
const anHourAgo = () => Math.floor(Date.now() / 1_000) * 1_000 - 60 * MINUTE;
const clock = new ManualClock(anHourAgo());

function configFor(pgpassFile: string, dir: string): FleetConfig {
  const parsed = parseFleetConfig(configYaml(pgpassFile, dir));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
}

/** The repository's fleet config, pointed at the test cluster and a backup directory of the test's. */
function configYaml(pgpassFile: string, dir: string): string {
  const raw = parse(readFileSync(new URL('../../config/acgs-1.yaml', import.meta.url), 'utf8')) as Record<
    string,
    unknown
  > & {
    checks: Record<string, unknown>[];
    backups: Record<string, unknown>;
  };
  raw.checks = raw.checks.map((c) =>
    c.name === 'postgresql'
      ? { ...c, host: pg.cluster.host, port: pg.cluster.port, database: DB, user: pg.cluster.user }
      : c,
  );
  raw.backups = {
    ...raw.backups,
    localDirectory: dir,
    pgpassFile,
    drill: { scratchDatabase: 'acgs_drill', maxAge: '8d' },
  };
  return stringify(raw);
}

interface ContextDeps {
  readonly store: MemoryStateStore;
  readonly notifier: RecordingNotifier;
  readonly clock: ManualClock;
}

function contextFor(config: FleetConfig, deps: ContextDeps = { store, notifier, clock }): ControlPlaneContext {
  return createContext(config, {
    states: deps.store,
    incidents: deps.store,
    control: deps.store,
    notifier: deps.notifier,
    commands: new ShellCommandRunner(),
    events: new MemoryEventPublisher(),
    clock: deps.clock,
    log: () => {},
  });
}

function pgpassWith(password: string, name: string): string {
  const file = join(pg.root, name);
  writeFileSync(file, `${pg.cluster.host}:${pg.cluster.port}:*:${pg.cluster.user}:${password}\n`, { mode: 0o600 });
  return file;
}

let good: ControlPlaneContext;
let badPassword: ControlPlaneContext;
let destination: BackupDestination;
let backupDir = '';

// Throws, naming what is missing, on a machine without the PostgreSQL 15 server binaries.
const pg = usePostgresCluster({ tempPrefix: 'acgs-backups-it-', databases: [DB] });

beforeAll(async () => {
  backupDir = join(pg.root, 'backups');
  await pg.sql(
    DB,
    `CREATE TABLE principles (id serial PRIMARY KEY, title text NOT NULL);
       INSERT INTO principles (title) SELECT 'principle ' || g FROM generate_series(1, 500) AS g;
       CREATE TABLE votes (id bigserial PRIMARY KEY, approve boolean);
       INSERT INTO votes (approve) SELECT g % 2 = 0 FROM generate_series(1, 2000) AS g;`,
  );
  store = new MemoryStateStore();
  notifier = new RecordingNotifier();
  good = contextFor(configFor(pgpassWith(pg.cluster.password, 'pgpass'), backupDir));
  badPassword = contextFor(configFor(pgpassWith(`${pg.cluster.password}-wrong`, 'pgpass-wrong'), backupDir));
  destination = { objects: new FileObjectStore(backupDir), pgBinDir: pg.cluster.binDir };
}, 120_000);

/** What an incident is about: backup, drill, rpo (the standing dumps-only verdict), archive, base-backup. */
const subjectOf = (incident: { readonly dedupKey: string }) => incident.dedupKey.split(':')[0];

describe('backups on one host, against a real PostgreSQL', () => {
  it('raises a P2 backup incident when there is no backup at all', async () => {
    const judgement = await monitorBackups(good, destination.objects);
    expect(judgement.status).toBe('missing');
    const open = await store.listOpenIncidents();
    // (the shipped daily dumps cannot meet its 15-minute RPO: the standing P3 says so)
    expect(open.map((i) => [subjectOf(i), i.severity])).toEqual([
      ['backup', 'P2'],
      ['drill', 'P3'],
      ['rpo', 'P3'],
    ]);
    expect(notifier.lines().some((l) => l.includes('backup:postgresql@127.0.0.1'))).toBe(true);
  });

  it('takes a real backup and resolves the backup incident once the monitor sees it', async () => {
    const run = await runBackup(good, destination);
    expect(run.result.status).toBe('succeeded');
    expect(readdirSync(backupDir).sort()).toEqual([`${run.id}.dump`, `${run.id}.manifest.json`]);
    const judgement = await monitorBackups(good, destination.objects);
    expect(judgement.reasons).toEqual([]);
    expect(judgement.status).toBe('ok');
    expect(judgement.newestGood?.id).toBe(run.id);
    expect((await store.listOpenIncidents()).map(subjectOf)).toEqual(['drill', 'rpo']);
  }, 60_000);

  it('publishes nothing for a backup that cannot authenticate, and the monitor and retention see the failure', async () => {
    clock.advance(MINUTE); // backup ids are per second: the next one must not collide
    const run = await runBackup(badPassword, destination);
    expect(run.result.status).toBe('failed');
    expect(readdirSync(backupDir).filter((f) => f.startsWith(run.id))).toEqual([`${run.id}.failed.json`]);
    const judgement = await monitorBackups(good, destination.objects);
    expect(judgement.status).toBe('failed');
    expect(judgement.reasons.join(' ')).toMatch(/password authentication failed/);
    const retention = await applyRetention(good, destination.objects);
    expect(retention.plan.refused).toBeDefined();
    expect(retention.deleted).toEqual([]);
  }, 60_000);

  it('restores the newest good backup in a drill, measures RTO and RPO, and resolves the drill incident', async () => {
    clock.advance(MINUTE); // backup ids are per second: the next one must not collide
    const fresh = await runBackup(good, destination);
    expect(fresh.result.status).toBe('succeeded');
    clock.advance(MINUTE); // the drill comes after the backup finished
    const drill = await runDrill(good, destination);
    expect(drill.result.status).toBe('succeeded');
    expect(drill.manifest.id).toBe(fresh.id);
    expect(drill.judgement?.contentMatches).toBe(true);
    expect(drill.judgement?.rto.met).toBe(true);
    // What a disaster at the drill's moment would lose with dumps only: the day between dumps + the dump's time
    expect(drill.judgement?.rpo).toMatchObject({ basis: 'dump-schedule', met: false });
    expect(drill.judgement?.rpo.measuredMs).toBeGreaterThanOrEqual(24 * 3_600_000);
    expect(drill.judgement?.passed).toBe(true);
    expect(drill.reportKey && readdirSync(backupDir)).toContain(drill.reportKey);
    const judgement = await monitorBackups(good, destination.objects);
    expect([judgement.status, judgement.drillStatus]).toEqual(['ok', 'ok']);
    expect((await store.listOpenIncidents()).map(subjectOf)).toEqual(['rpo']);
  }, 90_000);

  it('reads the whole drill report from the file the drill document wrote, though the command output is cut short', async () => {
    // Prepare: pg_restore warnings make the output longer than SSM returns inline, which cuts the report off.
    clock.advance(MINUTE);
    const seen: CommandResult[] = [];
    const runner = inlineLikeSsm(new ShellCommandRunner(), seen);
    const noisy = { ...destination, pgBinDir: noisyPgBinDir(join(pg.root, 'noisy-bin'), pg.cluster.binDir) };
    // Act
    const drill = await runDrill(good, noisy, runner);
    // Assess: the report was not in the output the control plane got, yet it arrived whole
    const full = seen[0]?.output ?? '';
    expect(full.length).toBeGreaterThan(SSM_INLINE_OUTPUT_CHARS);
    expect(drill.result.output).not.toContain('"acgs-ops.drill"');
    expect(drill.result.status).toBe('succeeded');
    expect(drill.reportFrom).toBe('object');
    expect(drill.judgement?.contentMatches).toBe(true);
    const printed = full
      .trim()
      .split('\n')
      .find((l) => l.startsWith('{"kind":"acgs-ops.drill"'));
    const recorded = readFileSync(join(backupDir, drill.reportKey ?? ''), 'utf8');
    // The document's report, whole, with the control plane's verdict added
    const { verdict, ...report } = JSON.parse(recorded) as Record<string, unknown>;
    expect(report).toEqual(JSON.parse(printed ?? '{}'));
    expect(verdict).toMatchObject({ passed: true, met: false });
    expect(drillReportSchema.parse(JSON.parse(recorded))).toMatchObject({ tables: 2, tableDataEntries: 2 });
    // The document's copy served and is gone; the record stays.
    expect(readdirSync(backupDir).filter((f) => f.endsWith(DRILL_REPORT_SUFFIX))).toEqual([]);
    const judgement = await monitorBackups(good, destination.objects);
    expect(judgement.drillStatus).toBe('ok');
  }, 90_000);

  it("falls back to the report in the command's output when the drill wrote no report file", async () => {
    clock.advance(MINUTE);
    const shell = new ShellCommandRunner();
    const writesNoFile: CommandRunner = {
      run: (request) => shell.run({ ...request, parameters: { ...request.parameters, ReportLocation: '' } }),
    };
    const drill = await runDrill(good, destination, writesNoFile);
    expect(drill.reportFrom).toBe('inline-output');
    expect(drill.judgement?.contentMatches).toBe(true);
  }, 90_000);

  it('calls the backups stale when the newest good one is older than maxAge', async () => {
    clock.advance(27 * 3_600_000);
    const judgement = await monitorBackups(good, destination.objects);
    expect(judgement.status).toBe('stale');
    expect((await store.listOpenIncidents()).map((i) => [i.kind, i.severity])).toContainEqual(['backup', 'P2']);
  });
});

/**
 * What issue 7 found: a dump altered after publication, a drill that could not run, and an attempt that could not
 * write anything at all. Each test has a directory, an incident store and a clock of its own.
 */
describe('backup reliability against a real PostgreSQL', () => {
  interface Reliability extends ContextDeps {
    readonly dir: string;
    readonly ctx: ControlPlaneContext;
    readonly objects: FileObjectStore;
    readonly local: BackupDestination;
    readonly ids: string[];
    /** The next backup into `dir`, a minute after the last on the test's clock. */
    backUp(): Promise<string>;
    /** A context like `ctx` on another config: the same store, notifier and clock. */
    contextWith(config: FleetConfig): ControlPlaneContext;
  }

  async function reliability(name: string, backups = 3, startAt = anHourAgo()): Promise<Reliability> {
    const deps = { store: new MemoryStateStore(), notifier: new RecordingNotifier(), clock: new ManualClock(startAt) };
    const dir = join(pg.root, name);
    const ctx = contextFor(configFor(pgpassWith(pg.cluster.password, `pgpass-${name}`), dir), deps);
    // Its hash cache a minute ahead: it caches the hashes of dumps just written, as it would of older ones, so
    // that a dump altered after the cache vouched for it is still caught (the write changes its mtime and ctime).
    const objects = new FileObjectStore(dir, { now: () => Date.now() + MINUTE });
    const local = { objects, pgBinDir: pg.cluster.binDir };
    const ids: string[] = [];
    const backUp = async () => {
      deps.clock.advance(MINUTE);
      const run = await runBackup(ctx, local);
      expect(run.result.status, run.result.output).toBe('succeeded');
      ids.push(run.id);
      return run.id;
    };
    for (let i = 0; i < backups; i += 1) await backUp();
    return { ...deps, dir, ctx, objects, local, ids, backUp, contextWith: (config) => contextFor(config, deps) };
  }

  it('keeps every older good backup when the newest dump is altered in place at the same size, and drills an older one', async () => {
    // Prepare: flip 64 bytes in the middle of the newest dump; size, name and inode stay the same
    const { dir, ctx, objects, local, ids, store: incidents, clock: time } = await reliability('altered');
    const [, previous, newest] = ids;
    time.advance(MINUTE);
    expect((await monitorBackups(ctx, objects)).status).toBe('ok');
    expect(readdirSync(dir, { recursive: true })).toContain('.sha256-cache.json'); // the hashes are cached
    const dumpFile = join(dir, `${newest}.dump`);
    const bytes = readFileSync(dumpFile);
    const middle = Math.floor(bytes.length / 2);
    for (let i = middle; i < middle + 64; i += 1) bytes[i] = (bytes[i] ?? 0) ^ 0xff;
    writeFileSync(dumpFile, bytes);
    // Act
    const status = await monitorBackups(ctx, objects);
    const prune = await applyRetention(ctx, objects);
    const drill = await runDrill(ctx, local);
    // Assess: the corruption is reported, nothing is pruned, and the drill restored the previous good backup
    expect(status.status).toBe('failed');
    expect(status.reasons.join(' ')).toContain(`latest attempt ${newest} is not a usable backup: dump ${newest}.dump`);
    expect(status.reasons.join(' ')).toMatch(/has SHA-256 [0-9a-f]{64}, the manifest says [0-9a-f]{64}/);
    expect(status.newestGood?.id).toBe(previous);
    expect(prune.deleted).toEqual([]);
    expect(prune.plan.refused).toMatch(/is not a usable backup/);
    for (const backupId of ids) expect(readdirSync(dir)).toContain(`${backupId}.dump`);
    expect(drill.result.status, drill.result.output).toBe('succeeded');
    expect(drill.manifest.id).toBe(previous);
    expect(drill.judgement?.contentMatches).toBe(true);
    expect((await incidents.listOpenIncidents()).map((i) => [i.kind, i.severity])).toContainEqual(['backup', 'P2']);
  }, 90_000);

  it('records a drill that could not run, keeps its backup good, and keeps the drill incident open until a drill passes', async () => {
    // Prepare: the drill cannot log in to the scratch server (its environment, not the dump)
    const r = await reliability('drill-environment');
    const [, , newest] = r.ids;
    const wrong = r.contextWith(configFor(pgpassWith(`${pg.cluster.password}-wrong`, 'pgpass-drill-wrong'), r.dir));
    r.clock.advance(MINUTE);
    // Act
    const failed = await runDrill(wrong, r.local);
    r.clock.advance(MINUTE);
    const status = await monitorBackups(r.ctx, r.objects);
    // Assess: the drill failed and says why; the backup it was given is still the newest good one, and no backup
    // incident was opened on the strength of it
    expect(failed.result.status).toBe('failed');
    expect(failed.result.exitCode).toBe(1);
    expect(readdirSync(r.dir).filter((f) => f.endsWith('.drill-failed.json'))).toHaveLength(1);
    expect(status.drillStatus).toBe('failed');
    expect(status.drillReasons.join(' ')).toMatch(/could not run \(not the dump\).*password authentication failed/);
    expect(status.status).toBe('ok');
    expect(status.newestGood?.id).toBe(newest);
    const open = await r.store.listOpenIncidents();
    expect(open.map(subjectOf).sort()).toEqual(['drill', 'rpo']);
    expect(open.find((i) => i.kind === 'drill')?.detail).toMatch(/password authentication failed/);
    // Act: the environment is fixed; the next drill takes the same backup, and passes
    r.clock.advance(MINUTE);
    const passed = await runDrill(r.ctx, r.local);
    r.clock.advance(MINUTE);
    const after = await monitorBackups(r.ctx, r.objects);
    // Assess
    expect(passed.manifest.id).toBe(newest);
    expect(passed.judgement?.passed).toBe(true);
    expect(after.drillStatus).toBe('ok');
    expect((await r.store.listOpenIncidents()).map((i) => i.kind)).not.toContain('drill');
  }, 90_000);

  it('opens the backup incident with the real cause when the attempt cannot write anything at all', async () => {
    // Prepare: a fresh good backup is published, and the monitor is content
    const r = await reliability('unwritable', 1);
    const [fresh] = r.ids;
    expect((await monitorBackups(r.ctx, r.objects)).newestGood?.id).toBe(fresh);
    const blocked = join(pg.root, 'unwritable-a-file');
    writeFileSync(blocked, 'not a directory');
    const unwritable = r.contextWith(
      configFor(pgpassWith(pg.cluster.password, 'pgpass-unwritable'), join(blocked, 'backups')),
    );
    r.clock.advance(MINUTE);
    // Act
    const run = await runBackup(unwritable, {
      objects: new FileObjectStore(join(blocked, 'backups')),
      pgBinDir: pg.cluster.binDir,
    });
    const judged = await monitorBackups(r.ctx, r.objects);
    // Assess: the attempt opened the incident, and the monitor, seeing only the earlier good backup, keeps it open
    expect(run.result.status).toBe('failed');
    const incident = (await r.store.listOpenIncidents()).find((i) => subjectOf(i) === 'backup');
    expect(incident?.severity).toBe('P2');
    expect(incident?.detail).toContain(`backup ${run.id} failed`);
    expect(incident?.detail).toContain('cannot create the destination directory');
    expect(judged.status).toBe('failed');
    // Act: the next attempt works
    await r.backUp();
    await monitorBackups(r.ctx, r.objects);
    // Assess
    expect((await r.store.listOpenIncidents()).filter((i) => subjectOf(i) === 'backup')).toEqual([]);
  }, 90_000);

  it('does the same through acgs-ops: backup status reports the altered dump, prune deletes nothing, drill takes an older one', async () => {
    // Prepare: two backups taken minutes before (on the test's clock), one by the CLI now (real time), into a
    // directory of their own; then the newest altered in place
    const r = await reliability('reliability-cli', 2, anHourAgo() + 55 * MINUTE);
    const configFile = join(pg.root, 'reliability-cli.yaml');
    writeFileSync(configFile, configYaml(pgpassWith(pg.cluster.password, 'pgpass-cli'), r.dir));
    const cli = (...args: string[]) =>
      runAcgsOps(
        [
          'backup',
          ...args,
          '--config',
          configFile,
          '--state',
          join(pg.root, 'cli-state'),
          '--pg-bin',
          pg.cluster.binDir,
        ],
        {
          killAfterMs: 60_000,
        },
      );
    const run = await cli('run');
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const made = [...r.ids, /^backup (\S+): succeeded/.exec(run.stdout)?.[1] ?? ''];
    const [, previous, newest] = made;
    const dumpFile = join(r.dir, `${newest}.dump`);
    const bytes = readFileSync(dumpFile);
    bytes[Math.floor(bytes.length / 2)] = (bytes[Math.floor(bytes.length / 2)] ?? 0) ^ 0x01;
    writeFileSync(dumpFile, bytes);
    // Act
    const status = await cli('status');
    const prune = await cli('prune');
    const listed = await cli('list');
    const drill = await cli('drill');
    // Assess
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(/^backups: failed /);
    expect(status.stdout).toMatch(new RegExp(`latest attempt ${newest} is not a usable backup: .*has SHA-256`));
    expect(prune.code).toBe(0);
    expect(prune.stdout).toMatch(/^nothing deleted: latest attempt .* is not a usable backup/);
    for (const backupId of made) expect(readdirSync(r.dir)).toContain(`${backupId}.dump`);
    expect(listed.stdout).toMatch(new RegExp(`${newest}\\s+bad\\s`));
    expect(listed.stdout).toMatch(new RegExp(`${previous}\\s+good\\s.*SHA-256 verified`));
    expect(drill.code, drill.stdout + drill.stderr).toBe(0);
    expect(drill.stdout).toMatch(
      new RegExp(`^drill of ${previous}: restore proven; the RPO objective is not achievable with dumps only`),
    );
  }, 120_000);
});
