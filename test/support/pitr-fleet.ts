import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import type { PostgresFixture } from './postgres-cluster.ts';
import { runAcgsOps } from './run-cli.ts';

/**
 * The point-in-time recovery tests' fleet: the shipped config pointed at a throwaway cluster with archiving, the CLI
 * bound to it, a free port for scratch clusters, and psql against one.
 */

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface PitrFleetFiles {
  readonly configFile: string;
  readonly stateDir: string;
  readonly archiveDir: string;
  readonly backupDir: string;
}

/**
 * The shipped config pointed at the fixture's cluster (database `database`), with archiving into `root/archive`
 * (archive_timeout `archiveTimeoutSeconds`) and dumps and records in `root/backups`; `schedules` are merged in.
 */
export function writeConfig(
  pg: PostgresFixture,
  database: string,
  archiveTimeoutSeconds: number,
  schedules: Record<string, unknown> = {},
): PitrFleetFiles {
  const { cluster, root } = pg;
  // The server runs as "postgres": it must reach the archive and the script under the test's directory.
  chmodSync(root, 0o755);
  const pgpassFile = join(root, 'pgpass');
  writeFileSync(pgpassFile, `${cluster.host}:${cluster.port}:*:${cluster.user}:${cluster.password}\n`, { mode: 0o600 });
  const raw = parse(readFileSync(new URL('../../config/acgs-1.yaml', import.meta.url), 'utf8')) as Record<
    string,
    unknown
  > & { checks: Record<string, unknown>[]; backups: Record<string, unknown>; schedules: Record<string, unknown> };
  raw.checks = raw.checks.map((c) =>
    c.name === 'postgresql' ? { ...c, host: cluster.host, port: cluster.port, database, user: cluster.user } : c,
  );
  const archiveDir = join(root, 'archive');
  const backupDir = join(root, 'backups');
  raw.backups = {
    ...raw.backups,
    localDirectory: backupDir,
    pgpassFile,
    archiving: {
      directory: archiveDir,
      scriptDirectory: join(root, 'bin'),
      archiveTimeout: `${archiveTimeoutSeconds}s`,
    },
  };
  raw.schedules = { ...raw.schedules, ...schedules };
  const configFile = join(root, 'fleet.yaml');
  writeFileSync(configFile, stringify(raw));
  return { configFile, stateDir: join(root, 'state'), archiveDir, backupDir };
}

/** `acgs-ops` on the fleet's config and state (`backup` commands with the cluster's binaries). */
export function cliFor(pg: PostgresFixture, files: { configFile: string; stateDir: string }) {
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

/** psql against a restored scratch cluster (same roles and passwords as production, over TCP). */
export async function scratchSql(pg: PostgresFixture, port: number, database: string, text: string): Promise<string> {
  const { stdout } = await pg.cluster.runBinary(
    'psql',
    [
      '-X',
      '-At',
      '-v',
      'ON_ERROR_STOP=1',
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-U',
      pg.cluster.user,
      '-d',
      database,
      '-c',
      text,
    ],
    { PGPASSWORD: pg.cluster.password },
  );
  return stdout.trim();
}
