import { chmodSync, existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { SqliteStateStore } from '../../lambdas/adapters/local/sqlite-state-store.ts';
import type { Incident } from '../../lambdas/core/incident.ts';
import { type PostgresFixture, usePostgresCluster } from '../support/postgres-cluster.ts';
import { runAcgsOps } from '../support/run-cli.ts';

/**
 * The monitor's recovery point on a real PostgreSQL 15, through `acgs-ops backup status` (the hourly monitor's run
 * on one host): archiving enabled by the product (1 MB segments, archive_timeout 2 s), then the archive made
 * read-only and archive_command refusing a segment, each opening the archive incident naming the failure and
 * resolved once segments reach the archive again; and, without archiving, the standing P3 naming the dump schedule's
 * worst case.
 */
const DB = 'acgs_pgp_db';

interface Files {
  readonly configFile: string;
  readonly stateDir: string;
  readonly archiveDir: string;
}

/** The shipped config pointed at the fixture's cluster; archiving into `root/archive` when `archiving`. */
function writeConfig(pg: PostgresFixture, archiving: boolean): Files {
  const { cluster, root } = pg;
  // The server runs as "postgres": it must reach the archive and the script under the test's directory.
  chmodSync(root, 0o755);
  const pgpassFile = join(root, 'pgpass');
  writeFileSync(pgpassFile, `${cluster.host}:${cluster.port}:*:${cluster.user}:${cluster.password}\n`, { mode: 0o600 });
  const raw = parse(readFileSync(new URL('../../config/acgs-1.yaml', import.meta.url), 'utf8')) as Record<
    string,
    unknown
  > & { checks: Record<string, unknown>[]; backups: Record<string, unknown> };
  raw.checks = raw.checks.map((c) =>
    c.name === 'postgresql' ? { ...c, host: cluster.host, port: cluster.port, database: DB, user: cluster.user } : c,
  );
  const archiveDir = join(root, 'archive');
  raw.backups = {
    ...raw.backups,
    localDirectory: join(root, 'backups'),
    pgpassFile,
    ...(archiving
      ? { archiving: { directory: archiveDir, scriptDirectory: join(root, 'bin'), archiveTimeout: '2s' } }
      : {}),
  };
  const configFile = join(root, 'fleet.yaml');
  writeFileSync(configFile, stringify(raw));
  return { configFile, stateDir: join(root, 'state'), archiveDir };
}

function cliFor(pg: PostgresFixture, files: Files) {
  return (...args: string[]) =>
    runAcgsOps(
      [
        ...args,
        '--config',
        files.configFile,
        '--state',
        files.stateDir,
        ...(args[0] === 'backup' ? ['--pg-bin', pg.cluster.binDir] : []),
      ],
      { killAfterMs: 60_000 },
    );
}

interface StatusJson {
  readonly recovery: {
    readonly point: { basis: string; lossMs?: number; met: boolean; detail: string };
    readonly archive?: { ok: boolean; reasons: string[] };
    readonly baseBackup?: { status: string };
  };
}

/** The open incidents in the state `acgs-ops` keeps (the API's views carry no dedup key nor detail). */
async function openIncidents(files: Files): Promise<Incident[]> {
  const store = new SqliteStateStore(join(files.stateDir, 'state.db'));
  try {
    return await store.listOpenIncidents();
  } finally {
    store.close();
  }
}

async function waitFor(what: string, test: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await test()) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('the archive incident, on a real PostgreSQL with archiving enabled by acgs-ops', () => {
  const pg = usePostgresCluster({ tempPrefix: 'acgs-archive-monitor-it-', databases: [DB], walSegmentMb: 1 });
  let acgsOps: ReturnType<typeof cliFor>;
  let files: Files;
  let walDir = '';

  const status = async () => {
    const run = await acgsOps('backup', 'status', '--json');
    return { code: run.code, json: JSON.parse(run.stdout) as StatusJson, stderr: run.stderr };
  };
  const openArchiveIncident = async () => (await openIncidents(files)).find((i) => i.dedupKey.startsWith('archive:'));
  /**
   * `backup status` once segments reach the archive again. The archiver retries a failing segment on its own, so the
   * failure count may still have risen after the failing run read it: the first run after the fix then reports those
   * failures (failed_count rising since the last run), and the next one finds the archive healthy.
   */
  const healedStatus = async () => {
    const first = await status();
    if (first.json.recovery.archive?.ok) return first;
    expect(first.json.recovery.archive?.reasons.join(' ')).toMatch(/^archive_command failed \d+ times since /);
    return status();
  };
  const failedCount = async () => Number(await pg.sql('postgres', 'SELECT failed_count FROM pg_stat_archiver'));
  const switchSegment = async () => {
    await pg.sql('postgres', "SELECT pg_create_restore_point('acgs-test')");
    return pg.sql('postgres', 'SELECT pg_walfile_name(pg_switch_wal())');
  };
  const archived = async (segment: string) => {
    const last = await pg.sql('postgres', "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver");
    return last.slice(0, 24) >= segment && existsSync(join(walDir, segment));
  };

  beforeAll(async () => {
    files = writeConfig(pg, true);
    acgsOps = cliFor(pg, files);
    walDir = join(files.archiveDir, 'wal');
    await pg.sql(DB, 'CREATE TABLE ticks (id serial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())');
    // Configured, not yet enabled (no archive directory either): the monitor says archiving is off
    const before = await status();
    expect(before.code).toBe(1);
    expect(before.json.recovery.archive?.reasons).toContain(
      'WAL archiving is off (archive_mode off): nothing is archived',
    );
    expect((await openArchiveIncident())?.severity).toBe('P2');
    const window = await acgsOps('maintenance', 'start', '--service', 'postgresql', '--for', '15m', '--reason', 'WAL');
    expect(window.code, window.stderr).toBe(0);
    const enabled = await acgsOps('backup', 'archiving', 'enable', '--yes');
    expect(enabled.code, enabled.stdout + enabled.stderr).toBe(0);
    const base = await acgsOps('backup', 'base-backup');
    expect(base.code, base.stdout + base.stderr).toBe(0);
    const dump = await acgsOps('backup', 'run');
    expect(dump.code, dump.stdout + dump.stderr).toBe(0);
  }, 90_000);

  it('measures the RPO from the archive while it works, with no archive incident', async () => {
    // Act
    await pg.sql(DB, 'INSERT INTO ticks DEFAULT VALUES');
    const segment = await switchSegment();
    await waitFor(`${segment} archived`, () => archived(segment));
    const healthy = await status();
    // Assess
    expect(healthy.json.recovery.point).toMatchObject({ basis: 'archive', met: true });
    expect(healthy.json.recovery.point.lossMs).toBeLessThan(60_000);
    expect(healthy.json.recovery.archive).toEqual({ ok: true, reasons: [] });
    expect(healthy.json.recovery.baseBackup?.status).toBe('ok');
    expect(await openArchiveIncident()).toBeUndefined();
  }, 60_000);

  it('opens the archive incident naming the failing segment while the archive is read-only, and resolves it after', async () => {
    // Prepare: the server's user cannot write to the archive
    const lastArchived = await pg.sql('postgres', 'SELECT last_archived_wal FROM pg_stat_archiver');
    chmodSync(walDir, 0o500);
    try {
      const before = await failedCount();
      await pg.sql(DB, 'INSERT INTO ticks DEFAULT VALUES');
      const segment = await switchSegment();
      await waitFor('a failed archive attempt', async () => (await failedCount()) > before);
      // Act
      const failing = await status();
      // Assess
      expect(failing.code).toBe(1);
      expect(failing.json.recovery.archive?.ok).toBe(false);
      const incident = await openArchiveIncident();
      expect(incident?.severity).toBe('P2');
      expect(incident?.title).toBe('WAL archive of postgresql: archive_command is failing');
      // The first segment that failed: the one switched here, or one PostgreSQL closed on its own (archive_timeout)
      // after the last archived one and before it
      const named = /^archive_command is failing: segment ([0-9A-F]{24}) failed at /.exec(incident?.detail ?? '')?.[1];
      expect(named, incident?.detail).toBeDefined();
      expect(
        named && named > lastArchived && named <= segment,
        `${named} after ${lastArchived}, up to ${segment}`,
      ).toBe(true);
      // Act: writable again; the waiting segment and a new one reach the archive
      chmodSync(walDir, 0o700);
      const next = await switchSegment();
      await waitFor(`${next} archived`, () => archived(next));
      const healed = await healedStatus();
      // Assess
      expect(healed.json.recovery.archive?.ok, JSON.stringify(healed.json.recovery)).toBe(true);
      expect(await openArchiveIncident()).toBeUndefined();
    } finally {
      chmodSync(walDir, 0o700);
    }
  }, 60_000);

  it('opens the archive incident when archive_command refuses a segment (a different one of that name archived)', async () => {
    // Prepare: a different file already in the archive under the name of the segment being written
    const segment = await pg.sql('postgres', 'SELECT pg_walfile_name(pg_current_wal_insert_lsn())');
    const impostor = join(walDir, segment);
    writeFileSync(impostor, "not this cluster's segment\n");
    try {
      const before = await failedCount();
      expect(await switchSegment()).toBe(segment);
      await waitFor('a failed archive attempt', async () => (await failedCount()) > before);
      // Act
      const failing = await status();
      // Assess
      expect(failing.code).toBe(1);
      const incident = await openArchiveIncident();
      expect(incident?.severity).toBe('P2');
      expect(incident?.detail).toMatch(new RegExp(`archive_command is failing: segment ${segment} failed at `));
      expect(incident?.detail).toMatch(/\(failed_count [1-9][0-9]*\)/);
    } finally {
      unlinkSync(impostor);
    }
    // Act: the impostor gone, the segment is archived
    const next = await switchSegment();
    await waitFor(`${next} archived`, () => archived(next));
    await healedStatus();
    // Assess
    expect(await openArchiveIncident()).toBeUndefined();
  }, 60_000);
});

describe('the standing verdict without archiving, on a real PostgreSQL', () => {
  const pg = usePostgresCluster({ tempPrefix: 'acgs-rpo-standing-it-', databases: [DB] });
  let acgsOps: ReturnType<typeof cliFor>;
  let files: Files;

  beforeAll(async () => {
    files = writeConfig(pg, false);
    acgsOps = cliFor(pg, files);
    await pg.sql(DB, 'CREATE TABLE ticks (id serial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())');
    const dump = await acgsOps('backup', 'run');
    expect(dump.code, dump.stdout + dump.stderr).toBe(0);
  }, 60_000);

  it("opens one P3 naming the worst case (the daily schedule + the dump's duration), kept by the next run", async () => {
    // Act
    const first = await acgsOps('backup', 'status');
    const again = await acgsOps('backup', 'status', '--json');
    // Assess: the backups are fine (exit 0); the objective cannot be met, said once, by one open incident
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.stdout).toMatch(
      /^recovery point: NOT ACHIEVABLE \(a disaster now loses up to 1d( \d+s)?; objective 15m; dumps only\)$/m,
    );
    const point = (JSON.parse(again.stdout) as StatusJson).recovery.point;
    expect(point.basis).toBe('dump-schedule');
    expect(point.lossMs).toBeGreaterThanOrEqual(24 * 3_600_000);
    expect(point.lossMs).toBeLessThan(24 * 3_600_000 + 60_000);
    const rpo = (await openIncidents(files)).filter((i) => i.dedupKey.startsWith('rpo:'));
    expect(rpo.map((i) => [i.severity, i.title, i.count])).toEqual([
      ['P3', 'Recovery point objective of postgresql not achievable with dumps only', 2],
    ]);
    expect(rpo[0]?.detail).toMatch(
      /^the RPO objective 15m cannot be met with the configured dump schedule: worst case 1d( \d+s)? \(a dump every 1d \+ the last good dump's (\d+ms|\d+s)\)/,
    );
  }, 60_000);
});
