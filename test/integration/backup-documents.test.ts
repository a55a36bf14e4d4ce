import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  GetObjectCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3HttpClient } from '../../lambdas/adapters/aws/s3-http.ts';
import { S3ObjectStore } from '../../lambdas/adapters/aws/s3-object-store.ts';
import { DEFAULT_DOCUMENTS_DIR, ShellCommandRunner } from '../../lambdas/adapters/local/shell-command-runner.ts';
import {
  backupFailureSchema,
  backupManifestSchema,
  DRILL_REPORT_SUFFIX,
  drillReportSchema,
} from '../../lambdas/core/backup-records.ts';
import { parseFleetConfig } from '../../lambdas/core/config.ts';
import type { FleetConfig } from '../../lambdas/core/config-schema.ts';
import {
  BACKUP_DOCUMENT_PARAMETERS,
  backupCommandParameters,
  drillCommandParameters,
} from '../../lambdas/core/document-parameters.ts';
import { NotFoundError } from '../../lambdas/core/errors.ts';
import { parseSsmDocument, validateParameters } from '../../lambdas/core/ssm-document.ts';
import type { CommandResult } from '../../lambdas/ports.ts';
import { runDrill } from '../../lambdas/use-cases/backups.ts';
import { inlineLikeSsm, noisyPgBinDir, SSM_INLINE_OUTPUT_CHARS } from '../support/drill-output.ts';
import { createHarness, loadShippedConfig } from '../support/harness.ts';
import { expectEveryHostileValueRejected } from '../support/hostile-values.ts';
import { awsCli, awsClientConfig, useMotoServer } from '../support/moto.ts';
import { startPostgresCluster, usePostgresCluster } from '../support/postgres-cluster.ts';
import { mountSmallDisk, unmountSmallDisk } from '../support/small-disk.ts';

/*
 * acgs-backup-database and acgs-restore-drill run through ShellCommandRunner against a throwaway PostgreSQL 15
 * cluster (and moto for S3), exactly as a host would run them: pg_dump and friends from the cluster's binaries,
 * the password from a pgpass file. A machine without PostgreSQL, moto or the AWS CLI fails these tests, naming what
 * is missing.
 */

const execFileAsync = promisify(execFile);
const COMMAND_TIMEOUT_MS = 30_000;
const PRODUCTION = 'acgs_pgp_db';
const SCRATCH = 'acgs_restore_drill';
/** The tables the production database holds (a view too, which is not a table). */
const TABLES = 3;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

const runner = new ShellCommandRunner();
// Throws, listing what is missing, on a machine without the PostgreSQL 15 server binaries.
const pg = usePostgresCluster({ tempPrefix: 'acgs-backup-it-', databases: [PRODUCTION] });
const sql = pg.sql;
let pgpass = '';
let wrongPgpass = '';
let ids = 0;

beforeAll(async () => {
  pgpass = writePgpass('pgpass', pg.cluster.password);
  wrongPgpass = writePgpass('pgpass-wrong', `${pg.cluster.password}-wrong`);
  await sql(
    PRODUCTION,
    `CREATE SCHEMA governance;
     CREATE TABLE principles (id serial PRIMARY KEY, title text NOT NULL);
     CREATE TABLE votes (id bigserial PRIMARY KEY, principle_id int NOT NULL REFERENCES principles (id), approve boolean);
     CREATE TABLE governance.audit_log (at timestamptz NOT NULL DEFAULT now(), entry jsonb NOT NULL);
     CREATE VIEW approvals AS SELECT principle_id, count(*) AS n FROM votes WHERE approve GROUP BY principle_id;
     INSERT INTO principles (title) SELECT 'principle ' || g FROM generate_series(1, 200) AS g;
     INSERT INTO votes (principle_id, approve) SELECT 1 + g % 200, g % 3 = 0 FROM generate_series(1, 3000) AS g;
     INSERT INTO governance.audit_log (entry) SELECT jsonb_build_object('n', g) FROM generate_series(1, 500) AS g;`,
  );
});

/** A pgpass file for the cluster's superuser, mode 0600 (libpq ignores a file others can read). */
function writePgpass(name: string, password: string): string {
  const file = join(pg.root, name);
  writeFileSync(file, `${pg.cluster.host}:${pg.cluster.port}:*:${pg.cluster.user}:${password}\n`, { mode: 0o600 });
  return file;
}

async function databaseExists(name: string): Promise<boolean> {
  return (await sql('postgres', `SELECT count(*) FROM pg_database WHERE datname = '${name}'`)) === '1';
}

/** A fresh directory under the test root. */
function directory(name: string): string {
  const dir = join(pg.root, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

function nextBackupId(): string {
  ids += 1;
  return `${PRODUCTION}-20261201T0200${String(ids).padStart(2, '0')}Z`;
}

function backupParameters(destination: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    DatabaseHost: pg.cluster.host,
    DatabasePort: String(pg.cluster.port),
    DatabaseName: PRODUCTION,
    DatabaseUser: pg.cluster.user,
    PgpassFile: pgpass,
    PasswordSecretId: '',
    PasswordSecretField: '',
    Destination: destination,
    BackupId: nextBackupId(),
    MinSizeBytes: '1024',
    KmsKeyId: '',
    PgBinDir: pg.cluster.binDir,
    TimeoutSeconds: '60',
    StartedAt: '',
    ParallelJobs: '1',
    ...overrides,
  };
}

function drillParameters(source: string, manifest: Manifest, overrides: Record<string, string> = {}) {
  return {
    Source: source,
    ExpectedSha256: manifest.sha256,
    ExpectedTableDataEntries: String(manifest.tableDataEntries),
    DatabaseHost: pg.cluster.host,
    DatabasePort: String(pg.cluster.port),
    DatabaseUser: pg.cluster.user,
    PgpassFile: pgpass,
    PasswordSecretId: '',
    PasswordSecretField: '',
    ScratchDatabase: SCRATCH,
    ProductionDatabase: PRODUCTION,
    PgBinDir: pg.cluster.binDir,
    TimeoutSeconds: '60',
    StartedAt: '',
    ReportLocation: '',
    KmsKeyId: '',
    RestoreJobs: '1',
    ...overrides,
  };
}

function run(document: string, parameters: Record<string, string>, using = runner): Promise<CommandResult> {
  return using.run({ document, parameters, timeoutMs: COMMAND_TIMEOUT_MS });
}

function lastLine(output: string): string {
  return output.trimEnd().split('\n').at(-1) ?? '';
}

interface Manifest {
  readonly kind: string;
  readonly id: string;
  readonly dumpKey: string;
  readonly sizeBytes: number;
  readonly sha256: string;
  readonly tableDataEntries: number;
  readonly [field: string]: unknown;
}

interface FailureRecord {
  readonly kind: string;
  readonly id: string;
  readonly reason: string;
  readonly [field: string]: unknown;
}

function expectSucceeded(result: CommandResult): void {
  expect(result.status, result.output).toBe('succeeded');
  expect(result.exitCode).toBe(0);
}

function expectFailed(result: CommandResult, exitCode = 1): void {
  expect(result.status, result.output).toBe('failed');
  expect(result.exitCode, result.output).toBe(exitCode);
}

function sha256Of(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Backs up the production database to `destination` and returns the printed manifest. */
async function backUp(destination: string, overrides: Record<string, string> = {}, using = runner): Promise<Manifest> {
  const result = await run('acgs-backup-database', backupParameters(destination, overrides), using);
  expectSucceeded(result);
  return JSON.parse(lastLine(result.output)) as Manifest;
}

/**
 * A PgBinDir whose `tool` is a small Node program: it runs the cluster's own with the same arguments, then does
 * `after` (a JavaScript body with `args`, `file` (the `--file=` argument), `fs` and `process` in scope). The other
 * client tools are the cluster's own.
 */
function pgBinWith(name: string, tool: string, after: string): string {
  return pgBinProgram(name, tool, [
    `const ran = spawnSync(${JSON.stringify(join(pg.cluster.binDir, tool))}, args, { stdio: 'inherit' });`,
    'if (ran.status !== 0) process.exit(ran.status ?? 1);',
    "const file = (args.find((a) => a.startsWith('--file=')) ?? '').slice('--file='.length);",
    after,
  ]);
}

/** A PgBinDir whose `tool` is a small Node program of `body` (`args`, `spawnSync` and `fs` in scope). */
function pgBinProgram(name: string, tool: string, body: readonly string[]): string {
  const dir = directory(name);
  const program = [
    `#!${process.execPath}`,
    "const { spawnSync } = require('node:child_process');",
    "const fs = require('node:fs');",
    'const args = process.argv.slice(2);',
    ...body,
    '',
  ].join('\n');
  writeFileSync(join(dir, tool), program, { mode: 0o755 });
  writeFileSync(join(dir, 'package.json'), '{"type":"commonjs"}');
  for (const other of ['pg_dump', 'pg_restore', 'psql', 'createdb', 'dropdb'].filter((t) => t !== tool))
    symlinkSync(join(pg.cluster.binDir, other), join(dir, other));
  return dir;
}

/**
 * A PgBinDir whose pg_dump streams the first four fifths of the real pg_dump's archive to its output, then exits
 * with `exitCode` (saying, for a failure, that the connection was lost). The other client tools are the cluster's own.
 */
function pgDumpCuttingShort(name: string, exitCode: number): string {
  return pgBinProgram(name, 'pg_dump', [
    `const ran = spawnSync(${JSON.stringify(join(pg.cluster.binDir, 'pg_dump'))}, args, { stdio: ['inherit', 'pipe', 'inherit'], maxBuffer: 1 << 30 });`,
    'if (ran.status !== 0) process.exit(ran.status ?? 1);',
    "if (args.includes('--version')) { process.stdout.write(ran.stdout); process.exit(0); }",
    'fs.writeSync(1, ran.stdout.subarray(0, Math.floor(ran.stdout.length * 0.8)));',
    `if (${exitCode} !== 0) process.stderr.write('pg_dump: error: connection to server lost\\n');`,
    `process.exit(${exitCode});`,
  ]);
}

/** A backup that failed leaves its failure record and nothing else in a local destination. */
function expectOnlyFailureRecord(destination: string, id: string, database = PRODUCTION): FailureRecord {
  expect(readdirSync(destination)).toEqual([`${id}.failed.json`]);
  const record = JSON.parse(readFileSync(join(destination, `${id}.failed.json`), 'utf8')) as FailureRecord;
  expect(backupFailureSchema.safeParse(record).error).toBeUndefined();
  expect(record).toMatchObject({ kind: 'acgs-ops.backup-failure', version: 1, id, database });
  expect(record.startedAt).toMatch(ISO_UTC);
  expect(record.failedAt).toMatch(ISO_UTC);
  return record;
}

describe('acgs-backup-database to a local directory', () => {
  it('publishes a private dump and a manifest that describes it, leaving no partial file', async () => {
    // Prepare: the destination does not exist yet
    const destination = join(pg.root, 'local-good');
    const params = backupParameters(destination);
    const id = params.BackupId ?? '';
    // Act
    const result = await run('acgs-backup-database', params);
    // Assess
    expectSucceeded(result);
    expect(readdirSync(destination).sort()).toEqual([`${id}.dump`, `${id}.manifest.json`]);
    const dump = join(destination, `${id}.dump`);
    const manifestText = readFileSync(join(destination, `${id}.manifest.json`), 'utf8');
    const manifest = JSON.parse(manifestText) as Manifest;
    expect(lastLine(result.output)).toBe(manifestText.trimEnd());
    expect(backupManifestSchema.safeParse(manifest).error).toBeUndefined();
    expect(manifest).toMatchObject({
      kind: 'acgs-ops.backup',
      version: 1,
      id,
      database: PRODUCTION,
      host: pg.cluster.host,
      port: pg.cluster.port,
      dumpKey: `${id}.dump`,
      format: 'custom',
      sizeBytes: statSync(dump).size,
      sha256: sha256Of(dump),
      tableDataEntries: TABLES,
    });
    expect(manifest.sizeBytes).toBeGreaterThanOrEqual(1024);
    expect(manifest.tocEntries).toBeGreaterThan(TABLES);
    expect(manifest).toMatchObject({ checksumStored: true }); // a local file is always hashed
    expect(manifest.pgDumpVersion).toMatch(/^15\.\d+/);
    expect(manifest.startedAt).toMatch(ISO_UTC);
    expect(manifest.finishedAt).toMatch(ISO_UTC);
    expect(String(manifest.finishedAt) >= String(manifest.startedAt)).toBe(true);
    const { stdout: toc } = await execFileAsync(join(pg.cluster.binDir, 'pg_restore'), ['--list', dump]);
    expect(toc.match(/ TABLE DATA /g)).toHaveLength(TABLES);
    expect(toc).toMatch(/ TABLE DATA governance audit_log /);
    expect(statSync(dump).mode & 0o777).toBe(0o600);
    expect(statSync(join(destination, `${id}.manifest.json`)).mode & 0o777).toBe(0o600);
  });

  it("stamps the manifest with the StartedAt it is given plus the time it ran (the control plane's clock)", async () => {
    // Act
    const manifest = await backUp(directory('local-started-at'), {
      BackupId: 'acgs_pgp_db-20300101T000000Z',
      StartedAt: '2030-01-01T00:00:00Z',
    });
    // Assess
    expect(manifest).toMatchObject({ startedAt: '2030-01-01T00:00:00Z' });
    const finishedAt = Date.parse((manifest as unknown as { finishedAt: string }).finishedAt);
    expect(finishedAt).toBeGreaterThanOrEqual(Date.parse('2030-01-01T00:00:00Z'));
    expect(finishedAt).toBeLessThan(Date.parse('2030-01-01T00:01:00Z'));
  });

  it('fails, publishing only a failure record that names authentication, when the password is wrong', async () => {
    // Prepare
    const destination = directory('local-wrong-password');
    const params = backupParameters(destination, { PgpassFile: wrongPgpass });
    // Act
    const result = await run('acgs-backup-database', params);
    // Assess
    expectFailed(result);
    expect(lastLine(result.output)).toMatch(/nothing was published: pg_dump failed .*password authentication failed/);
    const record = expectOnlyFailureRecord(destination, params.BackupId ?? '');
    expect(record.reason).toMatch(/password authentication failed for user "probe_admin"/);
  });

  it('fails, publishing nothing, when the database does not exist', async () => {
    // Prepare
    const destination = directory('local-no-database');
    const params = backupParameters(destination, { DatabaseName: 'no_such_database' });
    // Act
    const result = await run('acgs-backup-database', params);
    // Assess
    expectFailed(result);
    const record = expectOnlyFailureRecord(destination, params.BackupId ?? '', 'no_such_database');
    expect(record.reason).toMatch(/database "no_such_database" does not exist/);
  });

  it('fails, publishing nothing, when the server is stopped', async () => {
    // Prepare: a second cluster, stopped
    const stopped = await startPostgresCluster();
    const destination = directory('local-stopped');
    const params = backupParameters(destination, { DatabasePort: String(stopped.port) });
    try {
      await stopped.runBinary('pg_ctl', ['-D', join(stopped.dir, 'data'), '-m', 'fast', '-w', 'stop']);
      // Act
      const result = await run('acgs-backup-database', params);
      // Assess
      expectFailed(result);
      const record = expectOnlyFailureRecord(destination, params.BackupId ?? '');
      expect(record.reason).toMatch(/Connection refused/);
    } finally {
      await stopped.stop();
    }
  });

  it('fails, publishing nothing, when the dump is smaller than MinSizeBytes', async () => {
    // Prepare
    const destination = directory('local-too-small');
    const params = backupParameters(destination, { MinSizeBytes: '999999999' });
    // Act
    const result = await run('acgs-backup-database', params);
    // Assess
    expectFailed(result);
    const record = expectOnlyFailureRecord(destination, params.BackupId ?? '');
    expect(record.reason).toMatch(/less than MinSizeBytes \(999999999\)/);
  });

  it('fails, publishing nothing, when pg_dump outlasts TimeoutSeconds', async () => {
    // Prepare: another session holds an exclusive lock on a table, so pg_dump waits for it
    const destination = directory('local-hung');
    const params = backupParameters(destination, { TimeoutSeconds: '1' });
    const locker = sql(PRODUCTION, 'BEGIN; LOCK TABLE votes IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(20);').catch(
      () => 'terminated',
    );
    const lockHeld =
      "SELECT count(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND relation = 'votes'::regclass";
    while ((await sql(PRODUCTION, lockHeld)) !== '1') await new Promise((resolve) => setTimeout(resolve, 50));
    try {
      // Act
      const result = await run('acgs-backup-database', params);
      // Assess
      expectFailed(result);
      const record = expectOnlyFailureRecord(destination, params.BackupId ?? '');
      expect(record.reason).toBe('pg_dump did not finish within TimeoutSeconds (1s)');
    } finally {
      await sql(
        'postgres',
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(20)%' AND pid <> pg_backend_pid()",
      );
      await locker;
    }
  });

  it('fails, publishing nothing, when pg_dump fails mid-stream after writing most of the archive', async () => {
    // Prepare: pg_dump streams the first four fifths of a real archive, then fails (the connection lost)
    const pgBin = pgDumpCuttingShort('bin-failing-mid-stream', 1);
    const destination = directory('local-failing-mid-stream');
    const params = backupParameters(destination, { PgBinDir: pgBin });
    // Act
    const result = await run('acgs-backup-database', params);
    // Assess
    expectFailed(result);
    const record = expectOnlyFailureRecord(destination, params.BackupId ?? '');
    expect(record.reason).toBe('pg_dump failed (exit 1): pg_dump: error: connection to server lost');
  });

  it('fails, publishing nothing, when the dump is cut short though pg_dump exits 0 and pg_restore --list reads it', async () => {
    // Prepare: pg_dump "succeeds" but its archive loses its last fifth (its table of contents is at the start)
    const pgBin = pgDumpCuttingShort('bin-truncating', 0);
    const destination = directory('local-truncated');
    const params = backupParameters(destination, { PgBinDir: pgBin });
    // Act
    const result = await run('acgs-backup-database', params);
    // Assess
    expectFailed(result);
    const record = expectOnlyFailureRecord(destination, params.BackupId ?? '');
    expect(record.reason).toMatch(
      /^reading the whole dump \(pg_restore --file=\/dev\/null\) failed \(exit 1\): pg_restore: error: .*end of file/,
    );
  });

  it('fails, publishing nothing, when a data file of a parallel (directory-format) dump is cut short though pg_dump exits 0', async () => {
    // Prepare: pg_dump --jobs "succeeds" but one table's data file loses its second half
    const pgBin = pgBinWith(
      'bin-truncating-directory',
      'pg_dump',
      [
        'if (file) {',
        "  const data = fs.readdirSync(file).filter((f) => f.endsWith('.dat.gz')).sort()[0];",
        "  const path = file + '/' + data;",
        '  fs.truncateSync(path, Math.floor(fs.statSync(path).size / 2));',
        '}',
      ].join('\n'),
    );
    const destination = directory('local-truncated-directory');
    const params = backupParameters(destination, { PgBinDir: pgBin, ParallelJobs: '2' });
    // Act
    const result = await run('acgs-backup-database', params);
    // Assess
    expectFailed(result);
    const record = expectOnlyFailureRecord(destination, params.BackupId ?? '');
    expect(record.reason).toMatch(
      /^reading the whole dump \(gzip -t on every data file\) failed \(exit 123\): gzip: .*unexpected end of file/,
    );
  });

  it('fails, publishing only the failure record, when the destination fills up while the dump streams into it', async () => {
    // Prepare: the destination is a file system of 8 KiB, smaller than the dump
    const destination = directory('local-full');
    mountSmallDisk(destination, '8k');
    try {
      const params = backupParameters(destination);
      // Act
      const result = await run('acgs-backup-database', params);
      // Assess
      expectFailed(result);
      const record = expectOnlyFailureRecord(destination, params.BackupId ?? '');
      expect(record.reason).toMatch(
        new RegExp(
          `^cannot write the dump to ${destination}/\\.${params.BackupId}\\.dump\\.partial \\(tee exit 1\\): tee: .*No space left on device`,
        ),
      );
    } finally {
      unmountSmallDisk(destination);
    }
  });

  it('reports a pg_dump killed by a signal as killed, naming the signal, not as a timeout', async () => {
    // Prepare: pg_dump writes its archive, then is killed (the OOM killer, an operator)
    const pgBin = pgBinWith(
      'bin-killed',
      'pg_dump',
      "if (!args.includes('--version')) process.kill(process.pid, 'SIGKILL');",
    );
    const destination = directory('local-killed');
    const params = backupParameters(destination, { PgBinDir: pgBin, TimeoutSeconds: '60' });
    // Act
    const result = await run('acgs-backup-database', params);
    // Assess
    expectFailed(result);
    const record = expectOnlyFailureRecord(destination, params.BackupId ?? '');
    expect(record.reason).toMatch(/^pg_dump was killed by SIGKILL \(exit 137\)/);
  });

  it('refuses (exit 2) to overwrite a published backup, leaving it as it was', async () => {
    // Prepare
    const destination = directory('local-twice');
    const params = backupParameters(destination);
    const first = await run('acgs-backup-database', params);
    expectSucceeded(first);
    const before = readdirSync(destination).map((f) => [f, sha256Of(join(destination, f))]);
    // Act
    const second = await run('acgs-backup-database', params);
    // Assess
    expectFailed(second, 2);
    expect(lastLine(second.output)).toMatch(/refusing to back up: .*manifest\.json exists/);
    expect(readdirSync(destination).map((f) => [f, sha256Of(join(destination, f))])).toEqual(before);
  });
});

describe('acgs-restore-drill', () => {
  let backupDir = '';
  let manifest: Manifest;
  let source = '';

  beforeAll(async () => {
    backupDir = directory('drill-backups');
    manifest = await backUp(backupDir);
    source = join(backupDir, manifest.dumpKey);
  });

  it('restores the backup into the scratch database, counts its tables and drops it again', async () => {
    // Act
    const result = await run('acgs-restore-drill', drillParameters(source, manifest));
    // Assess
    expectSucceeded(result);
    const report = JSON.parse(lastLine(result.output));
    expect(report).toEqual({
      kind: 'acgs-ops.drill',
      version: 1,
      source,
      sha256: manifest.sha256,
      restoreSeconds: expect.any(Number),
      tables: TABLES,
      tableDataEntries: TABLES,
      startedAt: expect.stringMatching(ISO_UTC),
      finishedAt: expect.stringMatching(ISO_UTC),
    });
    expect(report.restoreSeconds).toBeGreaterThan(0);
    expect(drillReportSchema.safeParse(report).error).toBeUndefined();
    expect(await databaseExists(SCRATCH)).toBe(false);
  });

  it('backs up with parallel pg_dump workers as one tar of the directory format, and drills it with parallel pg_restore', async () => {
    // Prepare
    const destination = directory('drill-parallel');
    // Act
    const parallel = await backUp(destination, { ParallelJobs: '2' });
    const dump = join(destination, parallel.dumpKey);
    const result = await run('acgs-restore-drill', drillParameters(dump, parallel, { RestoreJobs: '2' }));
    // Assess: the manifest describes the one object published, a tar holding the directory format's table of contents
    expect(backupManifestSchema.safeParse(parallel).error).toBeUndefined();
    expect(parallel).toMatchObject({
      format: 'directory-tar',
      sizeBytes: statSync(dump).size,
      sha256: sha256Of(dump),
      tableDataEntries: TABLES,
    });
    expect(readdirSync(destination).sort()).toEqual([parallel.dumpKey, `${parallel.id}.manifest.json`]);
    const { stdout: members } = await execFileAsync('tar', ['-tf', dump]);
    expect(members.split('\n')).toContain('./toc.dat');
    expect(members.match(/\.dat\.gz$/gm)).toHaveLength(TABLES);
    expectSucceeded(result);
    expect(result.output).toMatch(/dump verified: sha256 [0-9a-f]{64}, 3 TABLE DATA entries \(directory-tar format\)/);
    expect(JSON.parse(lastLine(result.output))).toMatchObject({ sha256: parallel.sha256, tables: TABLES });
    expect(await databaseExists(SCRATCH)).toBe(false);
  });

  it("stamps the report with the StartedAt it is given plus the time it ran (the control plane's clock)", async () => {
    // Act
    const result = await run(
      'acgs-restore-drill',
      drillParameters(source, manifest, { StartedAt: '2030-01-01T00:00:00Z' }),
    );
    // Assess
    expectSucceeded(result);
    const report = drillReportSchema.parse(JSON.parse(lastLine(result.output)));
    expect(report.startedAt).toBe(Date.parse('2030-01-01T00:00:00Z'));
    expect(report.finishedAt).toBeLessThan(Date.parse('2030-01-01T00:01:00Z'));
  });

  it('drops a scratch database an interrupted drill left behind before restoring', async () => {
    // Prepare
    await sql('postgres', `CREATE DATABASE ${SCRATCH}`);
    await sql(SCRATCH, 'CREATE TABLE leftover (x int)');
    // Act
    const result = await run('acgs-restore-drill', drillParameters(source, manifest));
    // Assess
    expectSucceeded(result);
    expect(JSON.parse(lastLine(result.output))).toMatchObject({ tables: TABLES });
    expect(await databaseExists(SCRATCH)).toBe(false);
  });

  it('fails on the checksum with exit 3 (the content), creating nothing, when the dump was altered', async () => {
    // Prepare: the same file name, a few bytes flipped in the middle
    const tampered = join(directory('drill-tampered'), manifest.dumpKey);
    copyFileSync(source, tampered);
    const bytes = readFileSync(tampered);
    for (let i = 0; i < 4; i++)
      bytes[Math.floor(bytes.length / 2) + i] = (bytes[Math.floor(bytes.length / 2) + i] ?? 0) ^ 0xff;
    writeFileSync(tampered, bytes);
    // Act
    const result = await run('acgs-restore-drill', drillParameters(tampered, manifest));
    // Assess
    expectFailed(result, 3);
    expect(lastLine(result.output)).toMatch(/sha256 mismatch: the dump has [0-9a-f]{64}, its manifest says/);
    expect(await databaseExists(SCRATCH)).toBe(false);
  });

  it('fails with exit 3 (the content) when the dump lists another number of TABLE DATA entries than its manifest', async () => {
    // Act
    const result = await run(
      'acgs-restore-drill',
      drillParameters(source, manifest, { ExpectedTableDataEntries: String(TABLES + 1) }),
    );
    // Assess
    expectFailed(result, 3);
    expect(lastLine(result.output)).toMatch(/lists 3 TABLE DATA entries, its manifest says 4/);
  });

  it('reports a pg_restore killed by a signal as killed, naming the signal, not as a timeout', async () => {
    // Prepare: the restore runs, then pg_restore is killed (the OOM killer, an operator); --list is left alone
    const pgBin = pgBinWith(
      'bin-restore-killed',
      'pg_restore',
      "if (!args.includes('--list')) process.kill(process.pid, 'SIGKILL');",
    );
    // Act
    const result = await run('acgs-restore-drill', drillParameters(source, manifest, { PgBinDir: pgBin }));
    // Assess
    expectFailed(result);
    expect(lastLine(result.output)).toMatch(/pg_restore was killed by SIGKILL \(exit 137\)/);
    expect(await databaseExists(SCRATCH)).toBe(false);
  });

  it('fails with exit 1 (the environment, not the dump) when the scratch server refuses the password', async () => {
    // Act
    const result = await run('acgs-restore-drill', drillParameters(source, manifest, { PgpassFile: wrongPgpass }));
    // Assess
    expectFailed(result, 1);
    expect(lastLine(result.output)).toMatch(/password authentication failed/);
  });

  it('fails with exit 3 (the content) when pg_restore cannot read the archive while restoring', async () => {
    // Prepare: the restore ends with the error pg_restore gives for a corrupt data block; --list is left alone
    const pgBin = pgBinWith(
      'bin-restore-corrupt',
      'pg_restore',
      "if (!args.includes('--list')) { process.stderr.write('pg_restore: error: could not uncompress data: incorrect data check\\n'); process.exit(1); }",
    );
    // Act
    const result = await run('acgs-restore-drill', drillParameters(source, manifest, { PgBinDir: pgBin }));
    // Assess
    expectFailed(result, 3);
    expect(lastLine(result.output)).toMatch(
      /pg_restore failed \(exit 1\): pg_restore: error: could not uncompress data/,
    );
    expect(await databaseExists(SCRATCH)).toBe(false);
  });

  it('fails with exit 1 (the environment) when the scratch server cannot read its own disk during the restore', async () => {
    // Prepare: the server's error, passed on by pg_restore, names a read failure that is not the dump's
    const pgBin = pgBinWith(
      'bin-restore-server-disk',
      'pg_restore',
      "if (!args.includes('--list')) { process.stderr.write('pg_restore: error: could not execute query: ERROR:  could not read block 0 in file \\\"base/1/2\\\": read only 0 of 8192 bytes\\n'); process.exit(1); }",
    );
    // Act
    const result = await run('acgs-restore-drill', drillParameters(source, manifest, { PgBinDir: pgBin }));
    // Assess
    expectFailed(result, 1);
    expect(lastLine(result.output)).toMatch(/could not read block 0/);
  });

  it('drops the scratch database when the restore itself fails', async () => {
    // Prepare: every new database starts with a table the dump also creates, so the restore fails midway
    await sql('template1', 'CREATE TABLE principles (id int)');
    try {
      // Act
      const result = await run('acgs-restore-drill', drillParameters(source, manifest));
      // Assess
      expectFailed(result);
      expect(lastLine(result.output)).toMatch(/pg_restore failed .*relation "principles" already exists/);
      expect(result.output).toContain(`dropped the scratch database ${SCRATCH}`);
      expect(await databaseExists(SCRATCH)).toBe(false);
    } finally {
      await sql('template1', 'DROP TABLE principles');
    }
  });

  it.each([PRODUCTION, PRODUCTION.toUpperCase(), 'postgres', 'template1'])(
    'refuses (exit 2) the scratch database %s, leaving the production database as it was',
    async (scratch) => {
      // Act
      const result = await run('acgs-restore-drill', drillParameters(source, manifest, { ScratchDatabase: scratch }));
      // Assess
      expectFailed(result, 2);
      expect(lastLine(result.output)).toMatch(
        /refusing to drill: ScratchDatabase .* is (the production|a system) database/,
      );
      expect(await sql(PRODUCTION, 'SELECT count(*) FROM votes')).toBe('3000');
    },
  );
});

describe('the backup documents with S3', () => {
  const moto = useMotoServer();
  const bucket = 'acgs-backups';
  const prefix = 'backups/acgs_pgp_db/';
  let s3: S3Client;
  /** The control plane's own S3 client, which its object store reads through. */
  let s3Objects: S3HttpClient;
  let s3Runner: ShellCommandRunner;

  beforeAll(async () => {
    // awsCli fails naming the AWS CLI when it is not on PATH: the documents upload with it.
    await awsCli(moto.endpoint, ['s3api', 'create-bucket', '--bucket', bucket]);
    s3 = new S3Client({ ...awsClientConfig(moto.endpoint), forcePathStyle: true });
    s3Objects = new S3HttpClient(awsClientConfig(moto.endpoint));
    const { accessKeyId, secretAccessKey } = awsClientConfig(moto.endpoint).credentials;
    const { BASH_ENV: _bashEnv, ENV: _env, ...inherited } = process.env;
    // The AWS CLI v1 (botocore >= 1.31) honours AWS_ENDPOINT_URL: the documents need no test-only parameter.
    s3Runner = new ShellCommandRunner(DEFAULT_DOCUMENTS_DIR, {
      env: {
        ...inherited,
        AWS_ENDPOINT_URL: moto.endpoint,
        AWS_ACCESS_KEY_ID: accessKeyId,
        AWS_SECRET_ACCESS_KEY: secretAccessKey,
        AWS_DEFAULT_REGION: 'us-east-1',
        AWS_PAGER: '',
      },
    });
  });

  afterAll(() => {
    s3?.destroy();
  });

  async function keys(): Promise<string[]> {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    return (listed.Contents ?? []).map((o) => o.Key ?? '').sort();
  }

  async function body(key: string): Promise<Buffer> {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from((await object.Body?.transformToByteArray()) ?? []);
  }

  it('uploads the dump and then its manifest, encrypted, and the drill restores it from S3', async () => {
    // Act
    const manifest = await backUp(`s3://${bucket}/${prefix}`, {}, s3Runner);
    const drill = await run(
      'acgs-restore-drill',
      drillParameters(`s3://${bucket}/${prefix}${manifest.dumpKey}`, manifest),
      s3Runner,
    );
    // Assess
    const dumpKey = `${prefix}${manifest.id}.dump`;
    const manifestKey = `${prefix}${manifest.id}.manifest.json`;
    expect(await keys()).toEqual([dumpKey, manifestKey]);
    const dump = await body(dumpKey);
    expect(dump.length).toBe(manifest.sizeBytes);
    expect(createHash('sha256').update(dump).digest('hex')).toBe(manifest.sha256);
    expect(JSON.parse((await body(manifestKey)).toString('utf8'))).toEqual(manifest);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: dumpKey }));
    expect(head.ServerSideEncryption).toBe('AES256');
    expectSucceeded(drill);
    expect(JSON.parse(lastLine(drill.output))).toMatchObject({ tables: TABLES, sha256: manifest.sha256 });
    expect(await databaseExists(SCRATCH)).toBe(false);
  });

  it('stores the dump with its SHA-256 as an S3 checksum, so the monitor verifies it without downloading it', async () => {
    // Act
    const manifest = await backUp(`s3://${bucket}/${prefix}`, {}, s3Runner);
    // Assess
    const objects = new S3ObjectStore(s3Objects, { bucket, prefix });
    expect(await objects.contentSha256(manifest.dumpKey)).toBe(manifest.sha256);
    // and says so in the manifest: a dump the store later gives no checksum for is not this one
    expect(manifest).toMatchObject({ checksumStored: true });
  });

  it('encrypts with the KMS key given as KmsKeyId', async () => {
    // Prepare
    const created = (await awsCli(moto.endpoint, ['kms', 'create-key'])) as { KeyMetadata: { KeyId: string } };
    const keyId = created.KeyMetadata.KeyId;
    // Act
    const manifest = await backUp(`s3://${bucket}/${prefix}`, { KmsKeyId: keyId }, s3Runner);
    // Assess
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: `${prefix}${manifest.dumpKey}` }));
    expect(head.ServerSideEncryption).toBe('aws:kms');
    expect(head.SSEKMSKeyId).toContain(keyId);
  });

  it('writes the whole drill report to S3 (checksummed, KMS-encrypted), where runDrill reads it though SSM cut the output', async () => {
    // Prepare: a KMS-encrypted backup under a prefix of its own, and pg_restore warnings that make the drill's
    // output longer than SSM returns inline
    const reportPrefix = 'drill-report-it/';
    const created = (await awsCli(moto.endpoint, ['kms', 'create-key'])) as { KeyMetadata: { KeyId: string } };
    const kmsKeyId = created.KeyMetadata.KeyId;
    await backUp(`s3://${bucket}/${reportPrefix}`, { KmsKeyId: kmsKeyId }, s3Runner);
    const shipped = loadShippedConfig();
    const h = createHarness({
      ...shipped,
      // This cluster's password is in the pgpass file, not in a secret (backup-secret.test.ts covers the secret).
      checks: shipped.checks.map((c) => {
        if (c.kind !== 'postgres') return c;
        const { passwordSecret: _secret, ...check } = c;
        return { ...check, host: pg.cluster.host, port: pg.cluster.port, user: pg.cluster.user };
      }),
      backups: shipped.backups && { ...shipped.backups, s3Prefix: reportPrefix, pgpassFile: pgpass },
    });
    h.clock.set(Math.floor(Date.now() / 1000) * 1000 + 60_000);
    const heads: HeadObjectCommandOutput[] = [];
    class WatchedStore extends S3ObjectStore {
      override async delete(key: string): Promise<void> {
        heads.push(
          await s3.send(
            new HeadObjectCommand({ Bucket: bucket, Key: `${reportPrefix}${key}`, ChecksumMode: 'ENABLED' }),
          ),
        );
        return super.delete(key);
      }
    }
    const objects = new WatchedStore(s3Objects, { bucket, prefix: reportPrefix, kmsKeyId });
    const seen: CommandResult[] = [];
    const pgBinDir = noisyPgBinDir(directory('noisy-s3-bin'), pg.cluster.binDir);
    // Act
    const drill = await runDrill(h.ctx, { objects, bucket, kmsKeyId, pgBinDir }, inlineLikeSsm(s3Runner, seen));
    // Assess: the control plane's copy of the output had no report, yet the report arrived whole
    const full = seen[0]?.output ?? '';
    expect(full.length).toBeGreaterThan(SSM_INLINE_OUTPUT_CHARS);
    expect(drill.result.output).not.toContain('"acgs-ops.drill"');
    expect(drill.result.status, full).toBe('succeeded');
    expect(drill.reportFrom).toBe('object');
    expect(drill.judgement?.contentMatches).toBe(true);
    const printed = full
      .trim()
      .split('\n')
      .find((l) => l.startsWith('{"kind":"acgs-ops.drill"'));
    // The document's report, whole, with the control plane's verdict added
    const { verdict, ...recorded } = JSON.parse((await body(`${reportPrefix}${drill.reportKey}`)).toString('utf8'));
    expect(recorded).toEqual(JSON.parse(printed ?? '{}'));
    expect(verdict).toMatchObject({ passed: true });
    // The document's object was encrypted with the key and carried its SHA-256; it is gone once recorded.
    expect(heads).toHaveLength(1);
    expect(heads[0]?.ServerSideEncryption).toBe('aws:kms');
    expect(heads[0]?.SSEKMSKeyId).toContain(kmsKeyId);
    expect(heads[0]?.ChecksumSHA256).toBe(createHash('sha256').update(`${printed}\n`).digest('base64'));
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: reportPrefix }));
    expect((listed.Contents ?? []).filter((o) => o.Key?.endsWith(DRILL_REPORT_SUFFIX))).toEqual([]);
  }, 120_000);

  it('uploads only a failure record when the backup fails', async () => {
    // Prepare
    const params = backupParameters(`s3://${bucket}/${prefix}`, { PgpassFile: wrongPgpass });
    const id = params.BackupId ?? '';
    // Act
    const result = await run('acgs-backup-database', params, s3Runner);
    // Assess
    expectFailed(result);
    expect((await keys()).filter((k) => k.includes(id))).toEqual([`${prefix}${id}.failed.json`]);
    const record = JSON.parse((await body(`${prefix}${id}.failed.json`)).toString('utf8')) as FailureRecord;
    expect(record).toMatchObject({ kind: 'acgs-ops.backup-failure', id });
    expect(record.reason).toMatch(/password authentication failed/);
  });
});

describe('parameters derived from the fleet config', () => {
  const parsed = parseFleetConfig(readFileSync(new URL('../../config/acgs-1.yaml', import.meta.url), 'utf8'));
  if (!parsed.ok) throw new Error('config/acgs-1.yaml is invalid');
  const config: FleetConfig = parsed.config;
  const at = new Date('2026-12-01T02:00:00.000Z');
  const manifest = { dumpKey: 'acgs_pgp_db-20261201T020000Z.dump', sha256: 'c'.repeat(64), tableDataEntries: 42 };

  function documentOf(name: string) {
    const doc = parseSsmDocument(readFileSync(join(DEFAULT_DOCUMENTS_DIR, `${name}.yaml`), 'utf8'));
    if (!doc.ok) throw new Error(`${name} is invalid`);
    return doc.document;
  }

  /** The config with its postgres check, backup directory and pgpass file pointed at this test's pg.cluster. */
  function configForCluster(localDirectory: string): FleetConfig {
    const { backups } = config;
    if (!backups) throw new Error('config/acgs-1.yaml has no backups section');
    return {
      ...config,
      checks: config.checks.map((c) =>
        c.kind === 'postgres' ? { ...c, host: pg.cluster.host, port: pg.cluster.port, user: pg.cluster.user } : c,
      ),
      backups: { ...backups, localDirectory, pgpassFile: pgpass },
    };
  }

  it('gives acgs-backup-database the database of backups.database, named by the start time', () => {
    // Act
    const local = backupCommandParameters(config, { at });
    const s3 = backupCommandParameters(config, {
      at,
      bucket: 'acgs-backups',
      kmsKeyId: 'alias/acgs',
      timeoutSeconds: 600,
    });
    // Assess
    expect(local).toEqual({
      DatabaseHost: '127.0.0.1',
      DatabasePort: '5432',
      DatabaseName: 'acgs_pgp_db',
      DatabaseUser: 'acgs_user',
      PgpassFile: '/etc/acgs-ops/pgpass',
      // One host (a local directory): the pgpass file; the check's secret is for AWS.
      PasswordSecretId: '',
      PasswordSecretField: '',
      Destination: '/var/backups/acgs-pgp',
      BackupId: 'acgs_pgp_db-20261201T020000Z',
      MinSizeBytes: '1024',
      KmsKeyId: '',
      PgBinDir: '',
      TimeoutSeconds: '3600',
      StartedAt: '2026-12-01T02:00:00Z',
      ParallelJobs: '1',
    });
    expect(s3).toMatchObject({
      Destination: 's3://acgs-backups/backups/acgs_pgp_db/',
      KmsKeyId: 'alias/acgs',
      TimeoutSeconds: '600',
      // AWS (the stack's bucket): the host reads the secret the postgres check names.
      PasswordSecretId: 'acgs-1/postgres',
      PasswordSecretField: '',
    });
    for (const params of [local, s3])
      expect(validateParameters(documentOf('acgs-backup-database'), params)).toEqual([]);
  });

  it('gives acgs-restore-drill the dump of a manifest, the scratch database and the production name', () => {
    // Act
    const local = drillCommandParameters(config, manifest);
    const s3 = drillCommandParameters(config, manifest, {
      bucket: 'acgs-backups',
      at,
      reportKey: 'acgs_pgp_db-20261201T020000Z-20261207T030000000Z.drill-report.json',
      kmsKeyId: 'alias/acgs',
    });
    // Assess
    expect(local).toEqual({
      Source: '/var/backups/acgs-pgp/acgs_pgp_db-20261201T020000Z.dump',
      ExpectedSha256: 'c'.repeat(64),
      ExpectedTableDataEntries: '42',
      DatabaseHost: '127.0.0.1',
      DatabasePort: '5432',
      DatabaseUser: 'acgs_user',
      PgpassFile: '/etc/acgs-ops/pgpass',
      PasswordSecretId: '',
      PasswordSecretField: '',
      ScratchDatabase: 'acgs_restore_drill',
      ProductionDatabase: 'acgs_pgp_db',
      PgBinDir: '',
      TimeoutSeconds: '3600',
      StartedAt: '',
      ReportLocation: '',
      KmsKeyId: '',
      RestoreJobs: '1',
    });
    expect(s3.StartedAt).toBe('2026-12-01T02:00:00Z');
    expect(s3.ReportLocation).toBe(
      's3://acgs-backups/backups/acgs_pgp_db/acgs_pgp_db-20261201T020000Z-20261207T030000000Z.drill-report.json',
    );
    expect(s3.KmsKeyId).toBe('alias/acgs');
    expect(s3.PasswordSecretId).toBe('acgs-1/postgres');
    expect(s3.Source).toBe('s3://acgs-backups/backups/acgs_pgp_db/acgs_pgp_db-20261201T020000Z.dump');
    for (const params of [local, s3]) expect(validateParameters(documentOf('acgs-restore-drill'), params)).toEqual([]);
  });

  it('passes backups.parallelJobs to the backup and backups.restoreJobs to the drill, both valid for their documents', () => {
    // Prepare
    const { backups } = config;
    if (!backups) throw new Error('config/acgs-1.yaml has no backups section');
    const parallel: FleetConfig = { ...config, backups: { ...backups, parallelJobs: 4, restoreJobs: 3 } };
    // Act
    const backup = backupCommandParameters(parallel, { at });
    const drill = drillCommandParameters(parallel, manifest);
    // Assess
    expect(backup).toMatchObject({ ParallelJobs: '4' });
    expect(drill).toMatchObject({ RestoreJobs: '3' });
    expect(validateParameters(documentOf('acgs-backup-database'), backup)).toEqual([]);
    expect(validateParameters(documentOf('acgs-restore-drill'), drill)).toEqual([]);
  });

  it('throws, naming the field, when the config lacks what the documents need', () => {
    // Prepare
    const { backups } = config;
    if (!backups) throw new Error('config/acgs-1.yaml has no backups section');
    const { drill: _drill, ...withoutDrill } = backups;
    const { pgpassFile: _pgpass, ...withoutPgpass } = backups;
    // Act & Assess
    expect(() => backupCommandParameters({ ...config, backups: undefined }, { at })).toThrow(/no backups section/);
    expect(() => backupCommandParameters({ ...config, backups: withoutPgpass }, { at })).toThrow(
      expect.objectContaining({ code: 'BACKUPS_NOT_CONFIGURED', message: expect.stringContaining('pgpassFile') }),
    );
    // In AWS the check's secret serves without a pgpass file; with neither, the error names both fields.
    expect(backupCommandParameters({ ...config, backups: withoutPgpass }, { at, bucket: 'b-1' })).toMatchObject({
      PgpassFile: '',
      PasswordSecretId: 'acgs-1/postgres',
    });
    const withoutSecret = config.checks.map((c) => (c.kind === 'postgres' ? { ...c, passwordSecret: undefined } : c));
    expect(() =>
      backupCommandParameters({ ...config, checks: withoutSecret, backups: withoutPgpass }, { at, bucket: 'b-1' }),
    ).toThrow(/neither backups\.pgpassFile nor the passwordSecret of check "postgresql" is set/);
    expect(() => drillCommandParameters({ ...config, backups: withoutDrill }, manifest)).toThrow(/backups\.drill/);
    expect(() => backupCommandParameters({ ...config, backups: { ...backups, database: 'redis' } }, { at })).toThrow(
      NotFoundError,
    );
  });

  it('backs up and drills the cluster end to end with the derived parameters', async () => {
    // Prepare
    const configured = configForCluster(directory('from-config'));
    const options = { at: new Date(), pgBinDir: pg.cluster.binDir, timeoutSeconds: 60 };
    // Act
    const backup = await run('acgs-backup-database', backupCommandParameters(configured, options));
    expectSucceeded(backup);
    const manifest = JSON.parse(lastLine(backup.output)) as Manifest;
    const drill = await run('acgs-restore-drill', drillCommandParameters(configured, manifest, options));
    // Assess
    expectSucceeded(drill);
    expect(JSON.parse(lastLine(drill.output))).toMatchObject({ tables: TABLES, sha256: manifest.sha256 });
  });
});

describe('injection into the backup documents', () => {
  it('rejects every hostile value for every parameter of the backup, drill, archiving and PITR documents, running nothing', async () => {
    // Prepare
    const marker = join(pg.root, 'pwned');
    const manifest: Manifest = {
      kind: 'acgs-ops.backup',
      id: 'x',
      dumpKey: 'x.dump',
      sizeBytes: 1,
      sha256: 'a'.repeat(64),
      tableDataEntries: 1,
    };
    const valid: Record<string, Record<string, string>> = {
      'acgs-backup-database': backupParameters(join(pg.root, 'injection')),
      'acgs-restore-drill': drillParameters(join(pg.root, 'injection', `${PRODUCTION}-x.dump`), manifest, {
        StartedAt: '2026-12-01T02:00:00Z',
        ReportLocation: join(pg.root, 'injection', `${PRODUCTION}-x-20261201T020000000Z.drill-report.json`),
        KmsKeyId: 'alias/acgs-backups',
      }),
      // A valid run of these would only read (status) or refuse (no base backup in an empty archive).
      'acgs-wal-archiving': {
        Action: 'status',
        DatabaseHost: pg.cluster.host,
        DatabasePort: String(pg.cluster.port),
        DatabaseName: 'postgres',
        DatabaseUser: pg.cluster.user,
        PgpassFile: pgpass,
        PasswordSecretId: '',
        PasswordSecretField: '',
        ArchiveDirectory: join(pg.root, 'injection', 'archive'),
        S3Archive: '',
        KmsKeyId: '',
        ScriptDirectory: join(pg.root, 'injection', 'bin'),
        ArchiveTimeoutSeconds: '60',
        Restart: 'no',
        ServiceUnit: '',
        BaseBackupId: '',
        PgBinDir: pg.cluster.binDir,
        TimeoutSeconds: '60',
      },
      'acgs-pitr-restore': {
        ArchiveDirectory: join(pg.root, 'injection', 'archive'),
        S3Archive: '',
        TargetTime: 'latest',
        Mode: 'scratch',
        ScratchDirectory: join(pg.root, 'injection', 'scratch'),
        ScratchPort: '55439',
        DataDirectory: '',
        SafetyDirectory: '',
        ServiceUnit: '',
        DatabaseUser: pg.cluster.user,
        DatabaseName: 'postgres',
        Drill: 'no',
        BaseBackupId: '',
        PgBinDir: pg.cluster.binDir,
        TimeoutSeconds: '60',
        ReportLocation: '',
      },
    };
    const targets = Object.entries(BACKUP_DOCUMENT_PARAMETERS).map(([document, names]) => {
      const base = valid[document] ?? {};
      expect(Object.keys(base).sort()).toEqual([...names].sort());
      return { document, valid: base, parameters: names };
    });
    // Act & Assess
    const checked = await expectEveryHostileValueRejected(targets, { marker });
    // 66 parameters (32 of the dump and drill, 18 of archiving, 16 of PITR), 19 values each
    expect(checked).toBe(66 * 19);
  });
});
