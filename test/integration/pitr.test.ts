import { execFile } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliFor, freePort, scratchSql, writeConfig } from '../support/pitr-fleet.ts';
import { usePostgresCluster } from '../support/postgres-cluster.ts';

/**
 * Continuous WAL archiving and point-in-time recovery on one host, end to end through `acgs-ops backup`: a real
 * PostgreSQL 15 (1 MB WAL segments), archiving enabled by the product's document with a 2 s archive_timeout, a
 * writer committing a row a second, a base backup, the postmaster killed with SIGKILL, and restores into scratch
 * clusters: to latest (every row older than archive_timeout plus a margin is there) and to an earlier time (exactly
 * the rows up to it). Real time: the server's clock stamps the rows and the archive.
 */
const DB = 'acgs_pgp_db';
const ARCHIVE_TIMEOUT_S = 2;
/** Allowed on top of archive_timeout between a commit and its segment in the archive (archiver wake-up, copy). */
const ARCHIVE_MARGIN_MS = 3_000;
const run = promisify(execFile);
const scratchDataDirs: string[] = [];

interface Row {
  readonly id: number;
  /** Commit time (the transaction's now()), epoch ms with microseconds. */
  readonly at: number;
}

function rowsOf(text: string): Row[] {
  return (
    text
      .split('\n')
      // psql prints the command tag (INSERT 0 1) after the rows RETURNING gives.
      .filter((line) => /^\d+\|/.test(line))
      .map((line) => {
        const [id, at] = line.split('|');
        return { id: Number(id), at: Number(at) };
      })
  );
}

const AT_MS = `(extract(epoch FROM at) * 1000)::numeric(20, 3)`;

describe('point-in-time recovery after the server is killed', () => {
  const pg = usePostgresCluster({ tempPrefix: 'acgs-pitr-it-', databases: [DB], walSegmentMb: 1 });
  // Registered after the fixture, so it runs before the fixture removes the directories (after hooks run in reverse).
  afterAll(async () => {
    for (const data of scratchDataDirs)
      await run('runuser', [
        '-u',
        'postgres',
        '--',
        join(pg.cluster.binDir, 'pg_ctl'),
        '-D',
        data,
        '-m',
        'immediate',
        '-w',
        'stop',
      ]).catch(() => undefined);
  });
  let files: ReturnType<typeof writeConfig>;
  let acgsOps: ReturnType<typeof cliFor>;

  beforeAll(() => {
    files = writeConfig(pg, DB, ARCHIVE_TIMEOUT_S);
    acgsOps = cliFor(pg, files);
  });

  it('enables archiving only with a restart inside a window, then restores to latest and to an earlier time', async () => {
    // Arrange: archiving asked for without --yes: set up, but waiting for the restart, and it says so.
    const unconfirmed = await acgsOps('backup', 'archiving', 'enable');
    expect(unconfirmed.stdout).toContain('archiving enable: restart-needed');
    expect(unconfirmed.stdout).toContain('RESTART NEEDED');
    expect(unconfirmed.code).toBe(4);
    const noWindow = await acgsOps('backup', 'archiving', 'enable', '--yes');
    expect(noWindow.stderr).toContain('needs an open maintenance window covering postgresql');
    expect(noWindow.code).toBe(64);
    expect(await pg.sql('postgres', 'SHOW archive_mode')).toBe('off');
    const window = await acgsOps(
      'maintenance',
      'start',
      '--service',
      'postgresql',
      '--for',
      '15m',
      '--reason',
      'enable WAL archiving',
    );
    expect(window.code, window.stderr).toBe(0);
    const enabled = await acgsOps('backup', 'archiving', 'enable', '--yes');
    expect(enabled.stdout).toContain('archiving enable: active');
    expect(enabled.code, enabled.stderr).toBe(0);
    expect(await pg.sql('postgres', 'SHOW archive_mode')).toBe('on');
    expect(await pg.sql('postgres', 'SHOW archive_timeout')).toBe(`${ARCHIVE_TIMEOUT_S}s`);

    // A writer commits a row a second, stamped with its transaction's time.
    await pg.sql(DB, 'CREATE TABLE ticks (id serial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())');
    const committed: Row[] = [];
    let writing = true;
    const writer = (async () => {
      while (writing) {
        const started = Date.now();
        try {
          committed.push(...rowsOf(await pg.sql(DB, `INSERT INTO ticks DEFAULT VALUES RETURNING id, ${AT_MS}`)));
        } catch {
          // The server is gone (killed): the writer stops.
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, 1_000 - (Date.now() - started))));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const base = await acgsOps('backup', 'base-backup', '--json');
    expect(base.code, base.stdout + base.stderr).toBe(0);
    const manifest = JSON.parse(base.stdout).report as { finishedAt: string; sizeBytes: number; durationMs: number };
    const baseFinished = Date.parse(manifest.finishedAt);
    await new Promise((resolve) => setTimeout(resolve, 9_000));

    // Act: the postmaster is killed; nothing is shut down cleanly.
    const postmaster = Number(readFileSync(join(pg.cluster.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
    process.kill(postmaster, 'SIGKILL');
    const killedAt = Date.now();
    writing = false;
    await writer;
    const latestPort = await freePort();
    const latestDir = join(pg.root, 'scratch-latest');
    scratchDataDirs.push(join(latestDir, 'data'));
    const latest = await acgsOps(
      'backup',
      'restore',
      '--to',
      'latest',
      '--scratch',
      latestDir,
      '--port',
      String(latestPort),
      '--json',
    );

    // Assert: every row committed more than archive_timeout + margin before the kill is restored.
    expect(latest.code, latest.stdout + latest.stderr).toBe(0);
    const latestReport = JSON.parse(latest.stdout).report as { rtoMs: number; replayMs: number; unpackMs: number };
    const restored = rowsOf(await scratchSql(pg, latestPort, DB, `SELECT id, ${AT_MS} FROM ticks ORDER BY id`));
    const restoredIds = new Set(restored.map((r) => r.id));
    const mustHave = committed.filter((r) => r.at < killedAt - ARCHIVE_TIMEOUT_S * 1_000 - ARCHIVE_MARGIN_MS);
    expect(mustHave.length).toBeGreaterThan(5);
    expect(mustHave.filter((r) => !restoredIds.has(r.id))).toEqual([]);
    const newest = Math.max(...restored.map((r) => r.at));
    const rpoMs = killedAt - newest;
    expect(rpoMs).toBeLessThan(ARCHIVE_TIMEOUT_S * 1_000 + ARCHIVE_MARGIN_MS);
    // A restored row is one that was committed (never one the writer did not send).
    expect(Math.max(...restored.map((r) => r.id))).toBeLessThanOrEqual(Math.max(...committed.map((r) => r.id)) + 1);

    // Act: a restore to a time between two commits after the base backup.
    const chosen = committed.find((r) => r.at > baseFinished + 1_500);
    if (!chosen) throw new Error(`no row committed 1.5 s after the base backup: ${JSON.stringify(committed)}`);
    const target = new Date(Math.floor(chosen.at) + 400).toISOString();
    const pitPort = await freePort();
    const pitDir = join(pg.root, 'scratch-pit');
    scratchDataDirs.push(join(pitDir, 'data'));
    const pit = await acgsOps('backup', 'restore', '--to', target, '--scratch', pitDir, '--port', String(pitPort));

    // Assert: exactly the rows committed up to the target.
    expect(pit.code, pit.stdout + pit.stderr).toBe(0);
    expect(pit.stdout).toContain(`point-in-time restore to ${target}`);
    const atTarget = rowsOf(await scratchSql(pg, pitPort, DB, `SELECT id, ${AT_MS} FROM ticks ORDER BY id`));
    expect(atTarget.map((r) => r.id)).toEqual(committed.filter((r) => r.at <= Date.parse(target)).map((r) => r.id));
    expect(atTarget.at(-1)?.id).toBe(chosen.id);

    // A time before the base backup finished cannot be restored: said, and nothing is left behind.
    const tooEarly = new Date(baseFinished - 1_000).toISOString();
    const early = await acgsOps(
      'backup',
      'restore',
      '--to',
      tooEarly,
      '--scratch',
      join(pg.root, 'scratch-early'),
      '--port',
      String(pitPort + 1),
    );
    expect(early.stdout).toContain(`no base backup finished before ${tooEarly}`);
    expect(early.code).toBe(1);
    expect(existsSync(join(pg.root, 'scratch-early'))).toBe(false);

    process.stdout.write(
      `PITR figures: base backup ${manifest.sizeBytes} bytes in ${manifest.durationMs} ms; restore to latest: RTO ${latestReport.rtoMs} ms (unpack ${latestReport.unpackMs} ms, replay ${latestReport.replayMs} ms); RPO ${rpoMs} ms (kill - newest restored row; archive_timeout ${ARCHIVE_TIMEOUT_S} s); ${committed.length} rows committed, ${restored.length} restored\n`,
    );
  }, 120_000);
});

describe('archive_command failures keep the segment in pg_wal', () => {
  const pg = usePostgresCluster({ tempPrefix: 'acgs-pitr-fail-it-', walSegmentMb: 1 });
  let files: ReturnType<typeof writeConfig>;
  let acgsOps: ReturnType<typeof cliFor>;
  let walDir = '';

  beforeAll(async () => {
    files = writeConfig(pg, DB, ARCHIVE_TIMEOUT_S);
    acgsOps = cliFor(pg, files);
    walDir = join(files.archiveDir, 'wal');
    await pg.sql('postgres', 'CREATE DATABASE acgs_pgp_db');
    const window = await acgsOps(
      'maintenance',
      'start',
      '--service',
      'postgresql',
      '--for',
      '15m',
      '--reason',
      'enable WAL archiving',
    );
    expect(window.code, window.stderr).toBe(0);
    const enabled = await acgsOps('backup', 'archiving', 'enable', '--yes');
    expect(enabled.code, enabled.stdout + enabled.stderr).toBe(0);
  }, 60_000);

  const failedCount = async () => Number(await pg.sql('postgres', 'SELECT failed_count FROM pg_stat_archiver'));
  /** Writes WAL and switches segment; returns the segment that was just finished. */
  const switchSegment = async () => {
    await pg.sql('postgres', "SELECT pg_create_restore_point('acgs-test')");
    return pg.sql('postgres', 'SELECT pg_walfile_name(pg_switch_wal())');
  };
  const waitFor = async (what: string, test: () => Promise<boolean>) => {
    for (let i = 0; i < 100; i++) {
      if (await test()) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`timed out waiting for ${what}`);
  };
  const archivedUpTo = async (segment: string) => {
    const last = await pg.sql('postgres', "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver");
    return last.slice(0, 24) >= segment && existsSync(join(walDir, segment));
  };

  it('refuses to overwrite a different segment of the same name, and succeeds for an identical one', async () => {
    // Arrange: a different file already archived under the name of the segment being written.
    const segment = await pg.sql('postgres', 'SELECT pg_walfile_name(pg_current_wal_insert_lsn())');
    const impostor = join(walDir, segment);
    writeFileSync(impostor, "not this cluster's segment\n");
    const before = await failedCount();
    // Act
    expect(await switchSegment()).toBe(segment);
    await waitFor('a failed archive attempt', async () => (await failedCount()) > before);
    // Assert: the impostor is untouched, the segment waits in pg_wal, the failure is visible through the product.
    expect(readFileSync(impostor, 'utf8')).toBe("not this cluster's segment\n");
    expect(existsSync(join(pg.cluster.dir, 'data', 'pg_wal', 'archive_status', `${segment}.ready`))).toBe(true);
    const status = await acgsOps('backup', 'archiving', 'status', '--json');
    const archiver = JSON.parse(status.stdout).report.archiver as { failedCount: number; lastFailedWal: string };
    expect(archiver.lastFailedWal).toBe(segment);
    expect(archiver.failedCount).toBeGreaterThan(before);
    // Since the restart that turned archiving on, the server logs where acgs-wal-archiving's pg_ctl restart said.
    const log = readFileSync(join(pg.cluster.dir, 'data', 'log', 'acgs-restart.log'), 'utf8');
    expect(log).toContain(`REFUSED: ${impostor} exists and differs`);
    // Once the impostor is gone, the next switch archives the waiting segment, and an identical copy is accepted.
    unlinkSync(impostor);
    const next = await switchSegment();
    await waitFor(`${next} archived`, () => archivedUpTo(next));
    expect(existsSync(join(walDir, segment))).toBe(true);
    const script = join(pg.root, 'bin', 'acgs-archive-wal');
    const again = await run(script, [walDir, join(walDir, segment), segment]);
    expect(again.stderr).toContain('already archived, identical');
  }, 40_000);

  it('fails while the archive is read-only, keeps the segment in pg_wal, and catches up once writable', async () => {
    // Arrange: the server's user cannot write to the archive.
    chmodSync(walDir, 0o500);
    const before = await failedCount();
    try {
      // Act
      const segment = await switchSegment();
      await waitFor('a failed archive attempt', async () => (await failedCount()) > before);
      // Assert
      expect(await pg.sql('postgres', 'SELECT last_failed_wal FROM pg_stat_archiver')).toBe(segment);
      expect(existsSync(join(pg.cluster.dir, 'data', 'pg_wal', segment))).toBe(true);
      expect(existsSync(join(pg.cluster.dir, 'data', 'pg_wal', 'archive_status', `${segment}.ready`))).toBe(true);
      expect(existsSync(join(walDir, segment))).toBe(false);
      chmodSync(walDir, 0o700);
      const next = await switchSegment();
      await waitFor(`${next} archived`, () => archivedUpTo(next));
      expect(existsSync(join(walDir, segment))).toBe(true);
    } finally {
      chmodSync(walDir, 0o700);
    }
  }, 40_000);
});
