/**
 * Backup throughput: the real acgs-backup-database document (through ShellCommandRunner, as a host runs it) next to
 * bare `pg_dump -Fc > /dev/null`, and the acgs-restore-drill document's restore next to bare `pg_restore`, on a
 * throwaway PostgreSQL 15 cluster holding a database of at least 200 MB of realistic rows (text, numbers,
 * timestamps; deterministic: generated with a fixed seed). Then the parallel options: ParallelJobs (pg_dump -Fd -j N,
 * published as one tar) next to bare `pg_dump -Fd -j N`, and RestoreJobs (pg_restore -j N) next to bare
 * `pg_restore -j N`. Every figure is the median of `runs` runs, printed with the load average beside it (other
 * processes share the CPU: a figure taken under load is slower than the machine). Asserts nothing about wall-clock.
 */

import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { ShellCommandRunner } from '../lambdas/adapters/local/shell-command-runner.ts';
import { type PostgresCluster, startPostgresCluster } from '../lambdas/local/postgres-cluster.ts';

export interface BackupThroughputOptions {
  /** Rows of each of the four tables (about 160 bytes a row on disk, indexes included). */
  readonly rowsPerTable: number;
  /** Runs of each measurement; the median is printed. */
  readonly runs: number;
  /** N of the parallel options. @default the machine's cores, at least 2 */
  readonly jobs: number;
}

export const DEFAULT_BACKUP_THROUGHPUT: BackupThroughputOptions = {
  rowsPerTable: 350_000,
  runs: 3,
  jobs: Math.max(2, availableParallelism()),
};

const DATABASE = 'acgs_bench';
const SCRATCH = 'acgs_bench_drill';
const MIN_DATABASE_BYTES = 200 * 1024 * 1024;

interface Figure {
  readonly seconds: number;
  /** The lowest and highest 1-minute load average seen around the runs. */
  readonly loadMin: number;
  readonly loadMax: number;
}

export async function backupThroughput(options: BackupThroughputOptions = DEFAULT_BACKUP_THROUGHPUT): Promise<void> {
  const cluster = await startPostgresCluster();
  const work = await mkdtemp(join(tmpdir(), 'acgs-bench-backup-'));
  try {
    const client = clientOf(cluster);
    await client.psql('postgres', `CREATE DATABASE ${DATABASE}`);
    const built = performance.now();
    await client.psql(DATABASE, buildSql(options.rowsPerTable));
    const bytes = Number(await client.psql(DATABASE, `SELECT pg_database_size('${DATABASE}')`));
    log(`database ${DATABASE}: ${mb(bytes)} MB in 4 tables, built in ${seconds(performance.now() - built)} s`);
    if (bytes < MIN_DATABASE_BYTES)
      throw new Error(`the database is ${mb(bytes)} MB, less than the 200 MB asked for: raise rowsPerTable`);

    const pgpass = join(work, 'pgpass');
    await writeFile(pgpass, `${cluster.host}:${cluster.port}:*:${cluster.user}:${cluster.password}\n`, { mode: 0o600 });
    const runner = new ShellCommandRunner();
    const connection = {
      DatabaseHost: cluster.host,
      DatabasePort: String(cluster.port),
      DatabaseUser: cluster.user,
      PgpassFile: pgpass,
      PgBinDir: cluster.binDir,
      TimeoutSeconds: '3600',
    };
    let backups = 0;
    const backUp = async (parallelJobs: number) => {
      backups += 1;
      const destination = join(work, `backups-${backups}`);
      const result = await runner.run({
        document: 'acgs-backup-database',
        parameters: {
          ...connection,
          DatabaseName: DATABASE,
          Destination: destination,
          BackupId: `${DATABASE}-${String(backups).padStart(4, '0')}`,
          ParallelJobs: String(parallelJobs),
        },
        timeoutMs: 3_600_000,
      });
      if (result.status !== 'succeeded') throw new Error(`acgs-backup-database failed:\n${result.output}`);
      const manifest = JSON.parse(result.output.trimEnd().split('\n').at(-1) ?? '') as Record<string, unknown>;
      return { manifest, dump: join(destination, String(manifest.dumpKey)) };
    };
    const drill = async (dump: { manifest: Record<string, unknown>; dump: string }, restoreJobs: number) => {
      const result = await runner.run({
        document: 'acgs-restore-drill',
        parameters: {
          ...connection,
          Source: dump.dump,
          ExpectedSha256: String(dump.manifest.sha256),
          ExpectedTableDataEntries: String(dump.manifest.tableDataEntries),
          ScratchDatabase: SCRATCH,
          ProductionDatabase: DATABASE,
          RestoreJobs: String(restoreJobs),
        },
        timeoutMs: 3_600_000,
      });
      if (result.status !== 'succeeded') throw new Error(`acgs-restore-drill failed:\n${result.output}`);
      return Number(
        (JSON.parse(result.output.trimEnd().split('\n').at(-1) ?? '') as { restoreSeconds: number }).restoreSeconds,
      );
    };

    const { runs, jobs } = options;
    log(
      `medians of ${runs} interleaved rounds; ${availableParallelism()} cores; N = ${jobs}; load: 1-minute load average`,
    );
    log('');
    log(HEADER.replace('name', 'backup'));
    const dumps = await interleaved(runs, [
      [
        'bare pg_dump -Fc > /dev/null',
        timed(() => client.tool('pg_dump', ['-Fc', `--dbname=${DATABASE}`], '/dev/null')),
      ],
      ['acgs-backup-database (custom, one pass)', timed(() => backUp(1))],
      [
        `bare pg_dump -Fd -j ${jobs}`,
        timed(async () => {
          const dir = join(work, 'bare-directory');
          await client.tool('pg_dump', ['-Fd', `-j${jobs}`, `--dbname=${DATABASE}`, `--file=${dir}`]);
          await rm(dir, { recursive: true, force: true });
        }),
      ],
      [`acgs-backup-database (ParallelJobs ${jobs})`, timed(() => backUp(jobs))],
    ]);
    printRows(dumps, bytes);

    const custom = await backUp(1);
    const directory = await backUp(jobs);
    const restoreInto = async (args: readonly string[]) => {
      await client.psql('postgres', `DROP DATABASE IF EXISTS ${SCRATCH}`);
      await client.psql('postgres', `CREATE DATABASE ${SCRATCH}`);
      const started = performance.now();
      await client.tool('pg_restore', [
        '--no-owner',
        '--no-privileges',
        '--exit-on-error',
        `--dbname=${SCRATCH}`,
        ...args,
      ]);
      const took = (performance.now() - started) / 1_000;
      await client.psql('postgres', `DROP DATABASE ${SCRATCH}`);
      return took;
    };
    log('');
    log(HEADER.replace('name', 'restore'));
    const restores = await interleaved(runs, [
      ['bare pg_restore (custom)', () => restoreInto([custom.dump])],
      ['acgs-restore-drill (custom)', () => drill(custom, 1)],
      [`bare pg_restore -j ${jobs} (custom)`, () => restoreInto([`-j${jobs}`, custom.dump])],
      [`acgs-restore-drill (custom, RestoreJobs ${jobs})`, () => drill(custom, jobs)],
      [`acgs-restore-drill (dir-tar, RestoreJobs ${jobs})`, () => drill(directory, jobs)],
    ]);
    printRows(restores, bytes);
    log('');
    log(
      `dumps: custom ${mb(Number(custom.manifest.sizeBytes))} MB, directory-tar ${mb(Number(directory.manifest.sizeBytes))} MB. ` +
        'The drill figures are its pg_restore step (restoreSeconds), as bare pg_restore is; x bare = bare seconds / seconds.',
    );
  } finally {
    await cluster.stop();
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Four tables shaped like the platform's (votes, audit events, policies, sessions): ids, integers, numerics, md5 text,
 * timestamps, each table from its own fixed seed, so every run builds the same data.
 */
function buildSql(rows: number): string {
  const table = (name: string, seed: number) => `
    SELECT setseed(${seed});
    CREATE TABLE ${name} AS
      SELECT g AS id, (random() * 10000)::int AS principle_id, md5(g::text || '${name}') AS actor,
        round((random() * 1000)::numeric, 4) AS weight,
        timestamptz '2026-01-01' + random() * interval '300 days' AS at,
        md5(random()::text) || ' ' || md5(random()::text) AS detail
      FROM generate_series(1, ${rows}) AS g;
    ALTER TABLE ${name} ADD PRIMARY KEY (id);`;
  return [
    table('votes', 0.11),
    table('audit_events', 0.22),
    table('policies', 0.33),
    table('sessions', 0.44),
    'ANALYZE;',
  ].join('\n');
}

function clientOf(cluster: PostgresCluster) {
  const env = { ...process.env, PGPASSWORD: cluster.password, PGHOST: cluster.host, PGPORT: String(cluster.port) };
  const user = `--username=${cluster.user}`;
  /** Runs a client tool as this user; stdout to `stdoutFile` (e.g. /dev/null) or collected. */
  const tool = (name: string, args: readonly string[], stdoutFile?: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const fd = stdoutFile === undefined ? undefined : openSync(stdoutFile, 'w');
      const child = spawn(join(cluster.binDir, name), [user, '--no-password', ...args], {
        env,
        stdio: ['ignore', fd ?? 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
      });
      child.stderr?.on('data', (chunk: Buffer) => {
        err += chunk.toString();
      });
      child.once('error', reject);
      child.once('close', (code) => {
        if (fd !== undefined) closeSync(fd);
        if (code === 0) resolve(out.trim());
        else reject(new Error(`${name} ${args.join(' ')} exited ${code}: ${err.trim()}`));
      });
    });
  const psql = (database: string, sql: string) =>
    tool('psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', `--dbname=${database}`, '-c', sql]);
  return { tool, psql };
}

type Case = readonly [name: string, once: () => Promise<number>];

function timed(once: () => Promise<unknown>): () => Promise<number> {
  return async () => {
    const started = performance.now();
    await once();
    return (performance.now() - started) / 1_000;
  };
}

/**
 * Runs every case once per round, `runs` rounds (so a burst of load from elsewhere hits them all alike), and gives
 * each case's median seconds with the lowest and highest load average seen around its runs.
 */
async function interleaved(runs: number, cases: readonly Case[]): Promise<Array<readonly [string, Figure]>> {
  const times = cases.map((): number[] => []);
  const loads = cases.map((): number[] => []);
  for (let round = 0; round < runs; round++) {
    for (const [i, [, once]] of cases.entries()) {
      loads[i]?.push(await load());
      times[i]?.push(await once());
      loads[i]?.push(await load());
    }
  }
  return cases.map(([name], i) => {
    const sorted = [...(times[i] ?? [])].sort((a, b) => a - b);
    const seen = loads[i] ?? [];
    return [
      name,
      {
        seconds: sorted[Math.floor(sorted.length / 2)] ?? Number.NaN,
        loadMin: Math.min(...seen),
        loadMax: Math.max(...seen),
      },
    ] as const;
  });
}

/** The 1-minute load average, as uptime prints it. */
async function load(): Promise<number> {
  const text = await readFile('/proc/loadavg', 'utf8').catch(() => '');
  const first = Number(text.split(' ')[0]);
  return Number.isFinite(first) ? first : (loadavg()[0] ?? Number.NaN);
}

const HEADER = `${'name'.padEnd(44)}  seconds   MB/s of database   x bare   load (min-max)`;

/** One line a figure; "x bare" against the first row (bare seconds / seconds: above 1 is faster than bare). */
function printRows(rows: ReadonlyArray<readonly [string, Figure]>, bytes: number): void {
  const bare = rows[0]?.[1].seconds ?? Number.NaN;
  for (const [name, figure] of rows) {
    const throughput = bytes / 1024 / 1024 / figure.seconds;
    log(
      `${name.padEnd(44)}  ${figure.seconds.toFixed(2).padStart(7)}   ${throughput.toFixed(1).padStart(16)}   ${(bare / figure.seconds).toFixed(2).padStart(5)}x   ${figure.loadMin.toFixed(2)}-${figure.loadMax.toFixed(2)}`,
    );
  }
}

function mb(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}

function seconds(ms: number): string {
  return (ms / 1_000).toFixed(1);
}

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await backupThroughput();
}
