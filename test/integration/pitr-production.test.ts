import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { cliFor, freePort, scratchSql, writeConfig } from '../support/pitr-fleet.ts';
import { usePostgresCluster } from '../support/postgres-cluster.ts';
import { PITR_PRODUCTION_STEPS } from '../support/recovery-host.ts';

/**
 * Point-in-time recovery INTO PRODUCTION on one host, end to end through `acgs-ops backup restore --to TIME
 * --production --yes`: a real PostgreSQL 15 (1 MB WAL segments) archiving through the product's document
 * (archive_timeout 2 s), a writer committing rows, a base backup; a restore of the production data directory to a
 * time between two commits (exactly the rows up to it; the data directory as it was kept as the safety copy, which
 * holds the later rows); a restore that fails after PostgreSQL was stopped (a target beyond the archive) rolls back
 * (the data as it was, the server up); a target before any base backup is refused with nothing stopped; and after the
 * production restore, a second one to latest works from the new timeline's archive and fresh base backup, and a third,
 * from that base backup corrupted in the archive, is refused on its SHA-256 before PostgreSQL is stopped. No service
 * depends on the database in this fleet: PostgreSQL's own downtime is measured.
 */
const DB = 'acgs_pgp_db';
const ARCHIVE_TIMEOUT_S = 2;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Report {
  readonly baseBackup: string;
  readonly safetyCopy: string;
  readonly timeline: string;
  readonly downMs: number;
  readonly rtoMs: number;
  readonly unpackMs: number;
  readonly replayMs: number;
}

describe('point-in-time recovery into production', () => {
  const pg = usePostgresCluster({ tempPrefix: 'acgs-pitr-prod-it-', databases: [DB], walSegmentMb: 1 });
  let acgsOps: ReturnType<typeof cliFor>;
  let archiveDir = '';
  const dataDir = () => join(pg.cluster.dir, 'data');

  beforeAll(async () => {
    const files = writeConfig(pg, DB, ARCHIVE_TIMEOUT_S);
    archiveDir = files.archiveDir;
    // The production data directory, and a fleet whose services do not depend on the database (none runs here).
    const raw = parse(readFileSync(files.configFile, 'utf8')) as {
      backups: { archiving: Record<string, unknown> };
      services: { dependsOn?: string[] }[];
    };
    raw.backups.archiving.dataDirectory = dataDir();
    raw.services = raw.services.map((s) => ({ ...s, dependsOn: [] }));
    writeFileSync(files.configFile, stringify(raw));
    acgsOps = cliFor(pg, files);
    const window = await acgsOps('maintenance', 'start', '--service', 'postgresql', '--for', '30m', '--reason', 'it');
    expect(window.code, window.stderr).toBe(0);
    const enabled = await acgsOps('backup', 'archiving', 'enable', '--yes');
    expect(enabled.code, enabled.stdout + enabled.stderr).toBe(0);
  }, 60_000);

  const ids = async () =>
    (await pg.sql(DB, 'SELECT id FROM ticks ORDER BY id')).split('\n').filter(Boolean).map(Number);
  /** Until every row committed so far is in the archive: a segment switch, then archive_timeout and a margin. */
  const archived = async () => {
    await pg.sql('postgres', 'SELECT pg_switch_wal()');
    await pause(ARCHIVE_TIMEOUT_S * 1_000 + 1_500);
  };

  it('restores production to a time, keeps the safety copy, rolls back a failed restore, restores again to latest, and refuses a corrupt base backup with nothing stopped', async () => {
    // Prepare: rows committed before and after a base backup, each stamped by its transaction
    await pg.sql(DB, 'CREATE TABLE ticks (id serial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())');
    for (let i = 0; i < 3; i++) await pg.sql(DB, 'INSERT INTO ticks DEFAULT VALUES');
    const base = await acgsOps('backup', 'base-backup', '--json');
    expect(base.code, base.stdout + base.stderr).toBe(0);
    const baseFinished = Date.parse((JSON.parse(base.stdout).report as { finishedAt: string }).finishedAt);
    const committed: { id: number; at: number }[] = [];
    for (let i = 0; i < 8; i++) {
      const row = await pg.sql(DB, 'INSERT INTO ticks DEFAULT VALUES RETURNING id, extract(epoch FROM at) * 1000');
      const [id, at] = (row.split('\n')[0] ?? '').split('|');
      committed.push({ id: Number(id), at: Number(at) });
      await pause(400);
    }
    await archived();
    const before = await ids();
    const chosen = committed[3];
    if (!chosen) throw new Error('no rows');
    const target = new Date(Math.floor(chosen.at) + 150).toISOString();

    // Act: without --yes, the plan only
    const plan = await acgsOps('backup', 'restore', '--to', target, '--production');
    // Assess
    expect(plan.code).toBe(64);
    expect(plan.stderr).toMatch(/would open a maintenance window.*replay \d+ archived WAL segments.*Nothing was done/);
    expect(await ids()).toEqual(before);

    // Act: confirmed
    const t0 = Date.now();
    const restored = await acgsOps('backup', 'restore', '--to', target, '--production', '--yes', '--json');
    const wallMs = Date.now() - t0;
    // Assess: exactly the rows up to the target; the safety copy holds the later ones
    expect(restored.code, restored.stdout + restored.stderr).toBe(0);
    const view = JSON.parse(restored.stdout) as { report: Report; steps: { name: string }[]; baseBackup: string };
    expect(view.steps.map((s) => s.name)).toEqual(PITR_PRODUCTION_STEPS);
    expect(await ids()).toEqual(before.filter((id) => id <= chosen.id));
    expect(view.report.safetyCopy).toMatch(/\/data\.before-pitr-\d{8}T\d{6}Z$/);
    expect(existsSync(join(view.report.safetyCopy, 'PG_VERSION'))).toBe(true);
    const safetyPort = await freePort();
    const pgCtl = (...args: string[]) => pg.cluster.runBinary('pg_ctl', args);
    await pgCtl(
      '-D',
      view.report.safetyCopy,
      '-l',
      join(view.report.safetyCopy, 'safety.log'),
      '-w',
      '-o',
      `-c port=${safetyPort} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${view.report.safetyCopy} -c archive_mode=off`,
      'start',
    );
    try {
      const safetyIds = (await scratchSql(pg, safetyPort, DB, 'SELECT id FROM ticks ORDER BY id'))
        .split('\n')
        .map(Number);
      expect(safetyIds).toEqual(before);
    } finally {
      await pgCtl('-D', view.report.safetyCopy, '-m', 'fast', '-w', 'stop');
    }
    expect(existsSync(join(archiveDir, 'wal', `${view.report.timeline}.history`))).toBe(true);
    expect(view.baseBackup).toMatch(/^base-/);
    // The restore's own recovery settings are gone once promoted
    expect(readFileSync(join(dataDir(), 'postgresql.auto.conf'), 'utf8')).not.toContain('recovery_target_time');

    // Act: a target beyond the archive fails after PostgreSQL was stopped
    const afterRestore = await ids();
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const failed = await acgsOps('backup', 'restore', '--to', future, '--production', '--yes');
    // Assess: rolled back, the data as it was, the server up
    expect(failed.code, failed.stdout + failed.stderr).toBe(1);
    expect(failed.stdout + failed.stderr).toContain('rolled back');
    expect(await ids()).toEqual(afterRestore);
    expect(existsSync(join(dataDir(), 'PG_VERSION'))).toBe(true);

    // Act: a target before any base backup is refused, nothing stopped
    const early = await acgsOps(
      'backup',
      'restore',
      '--to',
      new Date(baseFinished - 60_000).toISOString(),
      '--production',
      '--yes',
    );
    // Assess
    expect(early.code).toBe(1);
    expect(early.stderr).toContain('PITR_NOT_RESTORABLE');
    expect(await ids()).toEqual(afterRestore);

    // Act: rows on the new timeline, then production to latest
    for (let i = 0; i < 3; i++) await pg.sql(DB, 'INSERT INTO ticks DEFAULT VALUES');
    const newest = await ids();
    await archived();
    const latest = await acgsOps('backup', 'restore', '--to', 'latest', '--production', '--yes', '--json');
    // Assess: every row of the new timeline is there
    expect(latest.code, latest.stdout + latest.stderr).toBe(0);
    const latestView = JSON.parse(latest.stdout) as { report: Report };
    expect(await ids()).toEqual(newest);
    expect(latestView.report.timeline > view.report.timeline).toBe(true);

    // Act: the newest base backup corrupted in the archive (bit rot), then production to latest again
    const baseDir = join(archiveDir, 'base');
    const newestBase = readdirSync(baseDir)
      .filter((id) => existsSync(join(baseDir, id, 'base.tar.gz')))
      .sort((a, b) => statSync(join(baseDir, b)).mtimeMs - statSync(join(baseDir, a)).mtimeMs)[0];
    if (!newestBase) throw new Error('no base backup in the archive');
    const tarball = join(baseDir, newestBase, 'base.tar.gz');
    const bytes = readFileSync(tarball);
    bytes[Math.floor(bytes.length / 2)] = (bytes[Math.floor(bytes.length / 2)] ?? 0) ^ 0xff;
    writeFileSync(tarball, bytes);
    const startedAt = await pg.sql('postgres', 'SELECT pg_postmaster_start_time()');
    const corrupt = await acgsOps('backup', 'restore', '--to', 'latest', '--production', '--yes');
    // Assess: refused on the checksum before anything stopped: the same server, the same rows
    expect(corrupt.code, corrupt.stdout + corrupt.stderr).toBe(1);
    expect(corrupt.stdout + corrupt.stderr).toMatch(
      new RegExp(`base backup ${newestBase} is corrupt: base\\.tar\\.gz has SHA-256 [0-9a-f]{64}, its manifest says`),
    );
    expect(await pg.sql('postgres', 'SELECT pg_postmaster_start_time()')).toBe(startedAt);
    expect(await ids()).toEqual(newest);

    process.stdout.write(
      `PITR production figures: to a time: PostgreSQL down ${view.report.downMs} ms (unpack ${view.report.unpackMs} ms, replay ${view.report.replayMs} ms), document ${view.report.rtoMs} ms, whole procedure (CLI, plan, steps, fresh base backup) ${wallMs} ms; to latest: down ${latestView.report.downMs} ms\n`,
    );
  }, 180_000);
});
