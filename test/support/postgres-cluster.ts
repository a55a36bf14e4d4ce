import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { type PostgresCluster, startPostgresCluster } from '../../lambdas/local/postgres-cluster.ts';

export {
  missingPostgresPrerequisites,
  POSTGRES_BIN_DIR,
  type PostgresCluster,
  startPostgresCluster,
} from '../../lambdas/local/postgres-cluster.ts';

/** A throwaway PostgreSQL cluster of one file (or describe), read once `beforeAll` has run. */
export interface PostgresFixture {
  readonly cluster: PostgresCluster;
  /** The temporary directory of the test (empty when none was asked for). */
  readonly root: string;
  /** Runs SQL with psql as the superuser (stopping at the first error) and returns its unaligned output, trimmed. */
  sql(database: string, text: string): Promise<string>;
}

export interface PostgresFixtureOptions {
  /** Prefix of a temporary directory made beside the cluster (`root`), removed with it. */
  readonly tempPrefix?: string;
  /** Databases created once the cluster is up. */
  readonly databases?: readonly string[];
  /** WAL segment size in MB (see PostgresClusterOptions). */
  readonly walSegmentMb?: number;
}

/**
 * Registers a throwaway PostgreSQL 15 cluster: `beforeAll` starts it (failing, never skipping, with the list of what
 * is missing on a machine without PostgreSQL), makes the temporary directory and creates the databases; `afterAll`
 * stops it and removes the directory. Register it before the hooks that use it: they run after it.
 */
export function usePostgresCluster(options: PostgresFixtureOptions = {}): PostgresFixture {
  let cluster: PostgresCluster | undefined;
  let root = '';
  const started = (): PostgresCluster => {
    if (!cluster) throw new Error('cluster did not start');
    return cluster;
  };
  const sql = async (database: string, text: string): Promise<string> => {
    const c = started();
    const { stdout } = await c.runBinary(
      'psql',
      [
        '-X',
        '-At',
        '-v',
        'ON_ERROR_STOP=1',
        '-h',
        c.host,
        '-p',
        String(c.port),
        '-U',
        c.user,
        '-d',
        database,
        '-c',
        text,
      ],
      { PGPASSWORD: c.password },
    );
    return stdout.trim();
  };
  beforeAll(async () => {
    cluster = await startPostgresCluster(
      options.walSegmentMb === undefined ? {} : { walSegmentMb: options.walSegmentMb },
    );
    if (options.tempPrefix) root = mkdtempSync(join(tmpdir(), options.tempPrefix));
    for (const database of options.databases ?? []) await sql('postgres', `CREATE DATABASE ${database}`);
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });
  return {
    get cluster() {
      return started();
    },
    get root() {
      return root;
    },
    sql,
  };
}
