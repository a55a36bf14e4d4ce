import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_DOCUMENTS_DIR, ShellCommandRunner } from '../../lambdas/adapters/local/shell-command-runner.ts';
import { POSTGRES_BIN_DIR } from '../../lambdas/local/postgres-cluster.ts';

/**
 * acgs-pitr-restore's refusals of a production data directory it cannot restore into safely, run as the document runs
 * (bash, the real PostgreSQL binaries) against a data directory laid out on disk; no server is needed, since each is
 * refused before anything is read from the archive or stopped. The restores themselves run on a real PostgreSQL in
 * pitr-production.test.ts.
 */
const root = mkdtempSync(join(tmpdir(), 'acgs-pitr-refusals-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const runner = new ShellCommandRunner(DEFAULT_DOCUMENTS_DIR);

/** A data directory as PostgreSQL lays it out, in its own parent (the safety copy goes beside it). */
function dataDirectory(name: string): string {
  const data = join(root, name, 'data');
  mkdirSync(join(data, 'pg_wal'), { recursive: true });
  mkdirSync(join(data, 'pg_tblspc'), { recursive: true });
  writeFileSync(join(data, 'PG_VERSION'), '15\n');
  return data;
}

async function restoreInto(data: string, mode: 'plan' | 'production', safety = '') {
  const archive = join(root, 'archive');
  mkdirSync(join(archive, 'wal'), { recursive: true });
  mkdirSync(join(archive, 'base'), { recursive: true });
  return runner.run({
    document: 'acgs-pitr-restore',
    timeoutMs: 30_000,
    parameters: {
      ArchiveDirectory: archive,
      TargetTime: 'latest',
      Mode: mode,
      DataDirectory: data,
      SafetyDirectory: safety,
      DatabaseUser: 'acgs',
      DatabaseName: 'acgs_pgp_db',
      PgBinDir: POSTGRES_BIN_DIR,
      TimeoutSeconds: '60',
    },
  });
}

describe('acgs-pitr-restore refuses a production data directory it cannot restore into safely', () => {
  it.each(['plan', 'production'] as const)(
    '%s: one with tablespaces, naming them and the way out',
    async (mode) => {
      // Prepare: a tablespace link, as CREATE TABLESPACE makes it
      const data = dataDirectory(`tablespace-${mode}`);
      const location = join(root, `tablespace-${mode}-location`);
      mkdirSync(location);
      symlinkSync(location, join(data, 'pg_tblspc', '16384'));
      // Act
      const result = await restoreInto(data, mode);
      // Assess
      expect(result.status, result.output).toBe('failed');
      expect(result.exitCode).toBe(2);
      expect(result.output).toContain(
        `${data} has tablespaces (pg_tblspc is not empty): a point-in-time restore into production does not handle them`,
      );
    },
    60_000,
  );

  it('production: one whose pg_wal is a link to another disk, naming where it points', async () => {
    const data = dataDirectory('wal-link');
    const wal = join(root, 'wal-disk');
    mkdirSync(wal);
    rmSync(join(data, 'pg_wal'), { recursive: true });
    symlinkSync(wal, join(data, 'pg_wal'));
    const result = await restoreInto(data, 'production');
    expect(result.status, result.output).toBe('failed');
    expect(result.output).toContain(`${data}/pg_wal is a symbolic link (to ${wal})`);
  }, 60_000);

  it('production: a safety directory that does not exist, or a data directory that is not one', async () => {
    const data = dataDirectory('no-safety');
    const missing = join(root, 'no-such-dir');
    const noSafety = await restoreInto(data, 'production', missing);
    expect(noSafety.output).toContain(`SafetyDirectory ${missing} does not exist`);
    const empty = join(root, 'empty', 'data');
    mkdirSync(empty, { recursive: true });
    const notData = await restoreInto(empty, 'production');
    expect(notData.output).toContain(`${empty} is not a PostgreSQL data directory (no PG_VERSION)`);
  }, 60_000);
});
