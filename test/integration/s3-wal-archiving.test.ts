import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_DOCUMENTS_DIR, ShellCommandRunner } from '../../lambdas/adapters/local/shell-command-runner.ts';
import { archivingCommandParameters, lastReport, pitrRestoreParameters } from '../../lambdas/core/backup-archiving.ts';
import { parseFleetConfig } from '../../lambdas/core/config.ts';
import type { FleetConfig } from '../../lambdas/core/config-schema.ts';
import type { CommandResult } from '../../lambdas/ports.ts';
import { awsCli, awsClientConfig, useMotoServer } from '../support/moto.ts';
import { freePort, writeConfig } from '../support/pitr-fleet.ts';
import { usePostgresCluster } from '../support/postgres-cluster.ts';
import { serverReachableAwsCli } from '../support/server-aws-cli.ts';

/**
 * WAL archiving to S3 through the host's credentials, end to end: a real PostgreSQL 15 (1 MB segments) whose
 * archive_command (the product's acgs-archive-wal, installed by acgs-wal-archiving) uploads every segment to moto with
 * the real AWS CLI, a base backup uploaded beside them, and a restore to latest from S3 into a scratch cluster.
 *
 * archive_command runs in the postmaster's environment: the AWS settings (endpoint, credentials, region) reach it
 * because the document restarts PostgreSQL (Restart=yes, pg_ctl as the server's user) from its own environment,
 * which carries them (and PATH: the server's user runs the AWS CLI, copied where it can reach it, see
 * server-aws-cli.ts). On a real host the AWS CLI finds the instance role itself and the server needs none of them.
 *
 * moto 5.2.1 honours If-None-Match (a second upload of a key is refused with 412) but neither checks nor echoes
 * SHA-256 checksums, and accepts any KMS key id: the test checks the bytes against the SHA-256 the script sent
 * (x-amz-meta-sha256, and its own hash of what it reads back), not S3's checksum validation or the encryption.
 */
const DB = 'acgs_pgp_db';
const BUCKET = 'acgs-backups';
const S3_PREFIX = 'wal-archive/acgs_pgp_db/';
const run = promisify(execFile);

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

describe('WAL archiving to S3 with the AWS CLI', () => {
  const pg = usePostgresCluster({ tempPrefix: 'acgs-s3-wal-it-', databases: [DB], walSegmentMb: 1 });
  const moto = useMotoServer();
  let config: FleetConfig;
  let runner: ShellCommandRunner;
  let awsEnv: Record<string, string>;
  let kmsKeyId = '';

  beforeAll(async () => {
    await awsCli(moto.endpoint, ['s3api', 'create-bucket', '--bucket', BUCKET]);
    const created = (await awsCli(moto.endpoint, ['kms', 'create-key'])) as { KeyMetadata: { KeyId: string } };
    kmsKeyId = created.KeyMetadata.KeyId;
    const files = writeConfig(pg, DB, 2);
    const raw = readFileSync(files.configFile, 'utf8').replace(
      /^( +)archiveTimeout: (.*)$/m,
      `$1archiveTimeout: $2\n$1s3Prefix: ${S3_PREFIX}`,
    );
    writeFileSync(files.configFile, raw);
    const parsed = parseFleetConfig(raw);
    if (!parsed.ok) throw new Error(`the test's config is invalid: ${JSON.stringify(parsed.problems)}`);
    config = parsed.config;
    const { accessKeyId, secretAccessKey } = awsClientConfig(moto.endpoint).credentials;
    const awsBin = await serverReachableAwsCli(join(pg.root, 'aws-cli'));
    awsEnv = {
      PATH: `${awsBin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_ACCESS_KEY_ID: accessKeyId,
      AWS_SECRET_ACCESS_KEY: secretAccessKey,
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_PAGER: '',
    };
    const { BASH_ENV: _bashEnv, ENV: _env, ...inherited } = process.env;
    runner = new ShellCommandRunner(DEFAULT_DOCUMENTS_DIR, { env: { ...inherited, ...awsEnv } });
  });
  // Registered after the fixture: runs first, so a scratch cluster left by a failure is stopped before removal.
  const scratchData: string[] = [];
  afterAll(async () => {
    for (const data of scratchData)
      await run('runuser', [
        '-u',
        'postgres',
        '--',
        join(pg.cluster.binDir, 'pg_ctl'),
        '-D',
        data,
        '-m',
        'immediate',
        'stop',
      ]).catch(() => undefined);
  });

  function document(name: string, parameters: Record<string, string>): Promise<CommandResult> {
    return runner.run({ document: name, parameters, timeoutMs: 180_000 });
  }
  function archiving(
    action: 'enable' | 'status' | 'base-backup',
    extra: { restart?: boolean; baseBackupId?: string } = {},
  ) {
    return document(
      'acgs-wal-archiving',
      archivingCommandParameters(config, action, {
        bucket: BUCKET,
        kmsKeyId,
        pgBinDir: pg.cluster.binDir,
        timeoutSeconds: 120,
        ...extra,
      }),
    );
  }
  async function keys(prefix: string): Promise<string[]> {
    const listed = (await awsCli(moto.endpoint, [
      's3api',
      'list-objects-v2',
      '--bucket',
      BUCKET,
      '--prefix',
      `${S3_PREFIX}${prefix}`,
    ])) as { Contents?: { Key: string }[] } | undefined;
    return (listed?.Contents ?? []).map((c) => c.Key.slice(S3_PREFIX.length)).sort();
  }
  async function object(key: string): Promise<{ bytes: Buffer; sha256Metadata?: string }> {
    const file = join(pg.root, 'downloaded');
    const answer = (await awsCli(moto.endpoint, [
      's3api',
      'get-object',
      '--bucket',
      BUCKET,
      '--key',
      `${S3_PREFIX}${key}`,
      file,
    ])) as {
      Metadata?: { sha256?: string };
    };
    const got = { bytes: readFileSync(file) };
    return answer.Metadata?.sha256 === undefined ? got : { ...got, sha256Metadata: answer.Metadata.sha256 };
  }
  /** The installed archive script, run as PostgreSQL runs it (as the server's user, with the AWS environment). */
  function archiveScript(path: string, name: string): Promise<{ code: number; stderr: string }> {
    const script = join(pg.root, 'bin', 'acgs-archive-wal');
    return run('runuser', ['-u', 'postgres', '--', script, `s3://${BUCKET}/${S3_PREFIX}wal`, path, name, kmsKeyId], {
      env: { ...process.env, ...awsEnv },
    }).then(
      (r) => ({ code: 0, stderr: r.stderr }),
      (e: { code?: number; stderr?: string }) => ({ code: e.code ?? -1, stderr: e.stderr ?? '' }),
    );
  }

  it('archives every segment to S3 with its SHA-256, refuses a different segment of the same name, and restores to latest from S3', async () => {
    // Arrange: archiving enabled by the document, PostgreSQL restarted by it.
    const enabled = await archiving('enable', { restart: true });
    expect(enabled.output).toContain(`archiving works: segment`);
    expect(enabled.status).toBe('succeeded');
    expect(lastReport(enabled.output, 'acgs-ops.wal-archiving')).toMatchObject({ state: 'active', restarted: true });
    expect(await pg.sql('postgres', 'SHOW archive_command')).toBe(
      `${join(pg.root, 'bin', 'acgs-archive-wal')} s3://${BUCKET}/${S3_PREFIX}wal %p %f ${kmsKeyId}`,
    );

    // Assess: the segments are in S3, each with the SHA-256 of its bytes.
    const segments = (await keys('wal/')).filter((k) => /^wal\/[0-9A-F]{24}$/.test(k));
    expect(segments.length).toBeGreaterThan(0);
    for (const key of segments) {
      const { bytes, sha256Metadata } = await object(key);
      expect(bytes.length).toBe(1024 * 1024);
      expect(sha256Metadata).toBe(sha256(bytes));
    }

    // Act: the same segment again (a retry after a crash) is success; different bytes under its name are refused.
    const first = segments[0] ?? '';
    const name = first.slice('wal/'.length);
    const same = join(pg.root, 'same-segment');
    writeFileSync(same, (await object(first)).bytes, { mode: 0o644 });
    const retried = await archiveScript(same, name);
    const other = join(pg.root, 'other-segment');
    writeFileSync(other, Buffer.alloc(1024 * 1024, 7), { mode: 0o644 });
    const refused = await archiveScript(other, name);

    // Assess
    expect(retried).toMatchObject({ code: 0 });
    expect(retried.stderr).toContain('already archived');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`REFUSED: s3://${BUCKET}/${S3_PREFIX}${first} exists and differs`);
    expect(sha256((await object(first)).bytes)).toBe((await object(first)).sha256Metadata);
    expect((await object(first)).bytes.equals(readFileSync(same))).toBe(true);

    // Arrange: rows, a base backup uploaded to S3, more rows after it, their segment archived.
    await pg.sql(
      DB,
      'CREATE TABLE orders (id int PRIMARY KEY, note text); INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(1, 500) g',
    );
    const base = await archiving('base-backup', { baseBackupId: 'base-s3' });
    expect(base.output).toContain('published base backup base-s3 to');
    expect(base.status).toBe('succeeded');
    expect(await keys('base/base-s3/')).toEqual([
      'base/base-s3/backup_manifest',
      'base/base-s3/base.tar.gz',
      'base/base-s3/manifest.json',
      'base/base-s3/pg_wal.tar.gz',
    ]);
    const again = await archiving('base-backup', { baseBackupId: 'base-s3' });
    expect(again.exitCode).toBe(2);
    expect(again.output).toContain('base-s3 exists');
    await pg.sql(DB, 'INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(501, 1200) g');
    const switched = await pg.sql('postgres', 'SELECT pg_walfile_name(pg_switch_wal())');
    await expect.poll(() => keys('wal/'), { timeout: 30_000, interval: 500 }).toContain(`wal/${switched}`);
    const status = await archiving('status');
    const report = lastReport(status.output, 'acgs-ops.wal-archiving');
    expect(report).toMatchObject({ state: 'active', newestBaseBackup: 'base-s3' });
    expect(String(report?.newestSegment) >= switched).toBe(true);
    expect(report?.newestSegmentAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);

    // Act: a restore to latest from S3 into a scratch cluster (the drill: inventory, then removed).
    const scratch = join(pg.root, 'scratch');
    scratchData.push(join(scratch, 'data'));
    const restored = await document(
      'acgs-pitr-restore',
      pitrRestoreParameters(config, {
        target: 'latest',
        scratchDirectory: scratch,
        port: await freePort(),
        drill: true,
        pgBinDir: pg.cluster.binDir,
        timeoutSeconds: 120,
        bucket: BUCKET,
      }),
    );

    // Assess: every row, the ones after the base backup replayed from the segments in S3.
    expect(restored.status).toBe('succeeded');
    const pitr = lastReport(restored.output, 'acgs-ops.pitr-restore') as {
      baseBackup: string;
      drill: { inventory: { rowCounts: Record<string, number> } };
    };
    expect(pitr.baseBackup).toBe('base-s3');
    expect(pitr.drill.inventory.rowCounts['public.orders']).toBe(1200);
  }, 300_000);
});
