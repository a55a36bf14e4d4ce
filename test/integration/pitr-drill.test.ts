import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ShellCommandRunner } from '../../lambdas/adapters/local/shell-command-runner.ts';
import { type ArchivingAction, archivingCommandParameters, lastReport } from '../../lambdas/core/backup-archiving.ts';
import { parseFleetConfig } from '../../lambdas/core/config.ts';
import type { FleetConfig } from '../../lambdas/core/config-schema.ts';
import { WAL_ARCHIVING_DOCUMENT } from '../../lambdas/core/document-names.ts';
import { startDaemon, waitUntil } from '../support/daemon-process.ts';
import { cliFor, freePort, writeConfig } from '../support/pitr-fleet.ts';
import { usePostgresCluster } from '../support/postgres-cluster.ts';

/**
 * The point-in-time restore drill on a real PostgreSQL 15 with archiving enabled by the product's document (2 s
 * archive_timeout, 1 MB segments): canaries written by it (Action canary, the parameters the control plane derives;
 * run in-process rather than through the CLI, whose start-up would dominate the run on a loaded machine) while a
 * writer commits a row a second, a base backup (its canary and snapshot of row counts in its manifest), then
 * `acgs-ops backup drill --pitr`
 * to latest: it passes, with RTO and achieved RPO under a minute, removes its scratch cluster and is listed by
 * `backup status`. Then a table the snapshot counted is dropped in production: the next drill restores its absence
 * faithfully and fails data validation, recorded failed with the reason. Real time: the server stamps the rows.
 */
const DB = 'acgs_pgp_db';
const ARCHIVE_TIMEOUT_S = 2;
/** Allowed on top of archive_timeout between a commit and its segment in the archive (archiver wake-up, copy). */
const ARCHIVE_MARGIN_MS = 3_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const runner = new ShellCommandRunner();

interface DrillJson {
  readonly outcome: 'passed' | 'failed';
  readonly key: string | null;
  readonly record: {
    readonly rtoMs: number | null;
    readonly rpoMs: number | null;
    readonly newestCanaryAt: string | null;
    readonly tables: number | null;
    readonly reasons: readonly string[];
    readonly baseBackup: string | null;
  };
}

describe('the point-in-time restore drill', () => {
  const pg = usePostgresCluster({ tempPrefix: 'acgs-pitr-drill-it-', databases: [DB], walSegmentMb: 1 });
  let acgsOps: ReturnType<typeof cliFor>;
  let files: ReturnType<typeof writeConfig>;
  let config: FleetConfig;
  /** acgs-wal-archiving's `action` with the parameters the control plane derives; its JSON report. */
  const archiving = async (action: ArchivingAction, kind: string, restart = false) => {
    const parameters = archivingCommandParameters(config, action, { pgBinDir: pg.cluster.binDir, restart });
    const result = await runner.run({ document: WAL_ARCHIVING_DOCUMENT, parameters, timeoutMs: 60_000 });
    expect(result.status, result.output).toBe('succeeded');
    const report = lastReport(result.output, kind);
    if (!report) throw new Error(`${action} printed no ${kind} report: ${result.output}`);
    return report;
  };

  beforeAll(async () => {
    files = writeConfig(pg, DB, ARCHIVE_TIMEOUT_S);
    acgsOps = cliFor(pg, files);
    const parsed = parseFleetConfig(readFileSync(files.configFile, 'utf8'));
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    config = parsed.config;
    expect(await archiving('enable', 'acgs-ops.wal-archiving', true)).toMatchObject({ state: 'active' });
    await pg.sql(DB, 'CREATE TABLE ticks (id serial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())');
    await pg.sql(DB, 'CREATE TABLE ballots (id int PRIMARY KEY)');
    await pg.sql(DB, 'INSERT INTO ballots SELECT generate_series(1, 50)');
  }, 60_000);

  it('passes with a writer running, with RTO and achieved RPO under a minute, then fails once a table is lost', async () => {
    // Arrange: a writer commits a row a second; canaries are written one after the other through the product.
    let writing = true;
    const writer = (async () => {
      while (writing) {
        await pg.sql(DB, 'INSERT INTO ticks DEFAULT VALUES');
        await sleep(1_000);
      }
    })();
    const canaries: number[] = [];
    const canaryWriter = (async () => {
      while (writing) {
        const report = (await archiving('canary', 'acgs-ops.canary')) as { canary: { writtenAt: string } };
        canaries.push(Date.parse(report.canary.writtenAt));
        await sleep(500);
      }
    })();
    await sleep(2_000);
    const manifest = (await archiving('base-backup', 'acgs-ops.base-backup')) as {
      id: string;
      canary: { writtenAt: string };
      snapshot: { at: string; rowCounts: Record<string, number> };
    };
    // The base backup wrote its canary and counted every table before pg_basebackup started (not the canary).
    expect(manifest.snapshot.rowCounts['public.ballots']).toBe(50);
    expect(manifest.snapshot.rowCounts['public.ticks']).toBeGreaterThan(0);
    expect(Object.keys(manifest.snapshot.rowCounts).sort()).toEqual(['public.ballots', 'public.ticks']);
    expect(Date.parse(manifest.canary.writtenAt)).toBeLessThanOrEqual(Date.parse(manifest.snapshot.at));
    await sleep(4_000);

    // Act: the drill, to latest, while the writer and the canaries go on.
    const scratch = join(pg.root, 'drill-scratch');
    const drillStarted = Date.now();
    const passed = await acgsOps(
      'backup',
      'drill',
      '--pitr',
      '--scratch',
      scratch,
      '--port',
      String(await freePort()),
      '--json',
    );

    // Assert: passed, measured, cleaned up and recorded.
    expect(passed.code, passed.stdout + passed.stderr).toBe(0);
    const ok = JSON.parse(passed.stdout) as DrillJson;
    expect(ok.outcome).toBe('passed');
    expect(ok.record.baseBackup).toBe(manifest.id);
    expect(ok.record.tables).toBe(2);
    expect(ok.record.rtoMs).toBeGreaterThan(0);
    expect(ok.record.rtoMs).toBeLessThan(60_000);
    expect(ok.record.rpoMs).toBeLessThan(60_000);
    // The newest canary restored is at least every canary written archive_timeout + margin before the drill began;
    // the RPO is the end of recovery minus it.
    const newestCanary = Date.parse(ok.record.newestCanaryAt ?? '');
    const settled = canaries.filter((c) => c < drillStarted - ARCHIVE_TIMEOUT_S * 1_000 - ARCHIVE_MARGIN_MS);
    expect(settled.length).toBeGreaterThan(0);
    expect(newestCanary).toBeGreaterThanOrEqual(Math.max(...settled));
    expect(ok.record.rpoMs).toBeGreaterThan(0);
    expect(ok.record.rpoMs).toBeLessThanOrEqual(Date.now() - newestCanary);
    expect(existsSync(scratch)).toBe(false);
    expect(ok.key && existsSync(join(files.backupDir, ok.key))).toBe(true);

    // Arrange: a table the snapshot counted is lost in production after the base backup.
    await pg.sql(DB, 'DROP TABLE ballots');
    await sleep(ARCHIVE_TIMEOUT_S * 1_000 + ARCHIVE_MARGIN_MS);

    // Act
    const failed = await acgsOps(
      'backup',
      'drill',
      '--pitr',
      '--scratch',
      scratch,
      '--port',
      String(await freePort()),
      '--json',
    );
    writing = false;
    await Promise.all([writer, canaryWriter]);

    // Assert: failed on the data, with the reason, recorded, cleaned up, and the drill's status failed.
    expect(failed.code, failed.stdout + failed.stderr).toBe(1);
    const bad = JSON.parse(failed.stdout) as DrillJson;
    expect(bad.outcome).toBe('failed');
    expect(bad.record.reasons.join('\n')).toContain(
      `table public.ballots is missing from the restored ${DB} (the snapshot counted 50 rows)`,
    );
    expect(existsSync(scratch)).toBe(false);
    const recorded = readdirSync(files.backupDir).filter((f) => f.endsWith('.pitr-drill.json'));
    expect(recorded).toHaveLength(2);
    expect(JSON.parse(readFileSync(join(files.backupDir, bad.key ?? ''), 'utf8'))).toMatchObject({ outcome: 'failed' });
    const after = await acgsOps('backup', 'status', '--json');
    const judgement = JSON.parse(after.stdout) as { drillStatus: string; drillReasons: string[] };
    expect(judgement.drillStatus).toBe('failed');
    expect(judgement.drillReasons.join('\n')).toContain('table public.ballots is missing');
    const list = await acgsOps('backup', 'list');
    expect(list.stdout).toMatch(new RegExp(`${manifest.id} +pitr drill passed`));
    expect(list.stdout).toMatch(new RegExp(`${manifest.id} +pitr drill failed .*table public\\.ballots is missing`));

    process.stdout.write(
      `PITR drill figures: RTO ${ok.record.rtoMs} ms, achieved RPO ${ok.record.rpoMs} ms (end of recovery - newest canary restored; ${canaries.length} canaries written, archive_timeout ${ARCHIVE_TIMEOUT_S} s)\n`,
    );
  }, 150_000);

  it('is fed by the daemon, which writes a canary on the canary schedule', async () => {
    // Arrange: the same fleet with a canary every 2 s.
    writeConfig(pg, DB, ARCHIVE_TIMEOUT_S, { canary: { every: '2s' } });
    const count = async () => Number(await pg.sql(DB, 'SELECT count(*) FROM acgs_ops_canary'));
    const before = await count();
    // Act
    const daemon = startDaemon({ configFile: files.configFile, stateDir: files.stateDir });
    try {
      // Assess: canaries keep coming, a schedule's worth apart.
      await waitUntil(async () => (await count()) >= before + 3, 60_000, 'three canaries from the daemon', {
        explain: () => daemon.output().slice(-2_000),
      });
      const gaps = (
        await pg.sql(
          DB,
          `SELECT extract(epoch FROM written_at - lag(written_at) OVER (ORDER BY id)) FROM acgs_ops_canary WHERE id > (SELECT max(id) - 3 FROM acgs_ops_canary)`,
        )
      )
        .split('\n')
        .filter((line) => line !== '')
        .map(Number);
      expect(gaps.length).toBe(2);
      for (const gap of gaps) expect(gap).toBeGreaterThan(1);
    } finally {
      await daemon.stop();
    }
  }, 90_000);
});
