import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_DOCUMENTS_DIR, ShellCommandRunner } from '../../lambdas/adapters/local/shell-command-runner.ts';
import { POSTGRES_BIN_DIR } from '../../lambdas/local/postgres-cluster.ts';
import { awsClientConfig, useMotoServer } from '../support/moto.ts';
import { loadDocument } from '../support/unit-ssm-documents.ts';

/**
 * The S3 parts of acgs-pitr-restore run on their own against moto with the real AWS CLI, without PostgreSQL (the full
 * restore from S3 is test/integration/s3-wal-archiving.test.ts): the restore_command it installs (acgs-restore-wal,
 * taken from the document's heredoc and written by bash as the document writes it), one segment at a time, and the
 * upload of its report to ReportLocation (the document's block, run with a report). A segment is archived as
 * acgs-archive-wal uploads it, with the SHA-256 of its bytes in x-amz-meta-sha256; tampering replaces the bytes and
 * keeps that metadata.
 */
const BUCKET = 'acgs-backups';
const S3_PREFIX = 'wal-archive/acgs_pgp_db/';
const SEGMENT = '000000010000000000000003';
const run = promisify(execFile);
const moto = useMotoServer();
const dir = mkdtempSync(join(tmpdir(), 'acgs-restore-wal-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/**
 * The lines of acgs-pitr-restore that write acgs-restore-wal (RESTORE_SCRIPT: into the scratch directory, or beside
 * the archive for a production restore): `cat` to `EOF`, `chmod`.
 */
function restoreScriptWriter(): string {
  const script = String(loadDocument('acgs-pitr-restore').mainSteps[0]?.inputs.runCommand[0]);
  const lines = script.split('\n');
  const start = lines.findIndex((l) => l.trim() === 'cat >"$RESTORE_SCRIPT" <<EOF');
  const end = lines.findIndex((l, i) => i > start && l === 'EOF');
  if (start < 0 || end < 0 || !lines[end + 1]?.trim().startsWith('chmod 755 -- "$RESTORE_SCRIPT"'))
    throw new Error('acgs-pitr-restore no longer writes acgs-restore-wal from a heredoc, then makes it executable');
  return lines.slice(start, end + 2).join('\n');
}

/** The document's block that writes the report to ReportLocation: from its `if` to its `fi`. */
function reportWriter(): string {
  const script = String(loadDocument('acgs-pitr-restore').mainSteps[0]?.inputs.runCommand[0]);
  const lines = script.split('\n');
  const start = lines.indexOf('if [[ -n "$REPORT_LOCATION" ]]; then');
  const end = lines.findIndex((l, i) => i > start && l === 'fi');
  if (start < 0 || end < 0) throw new Error('acgs-pitr-restore no longer writes its report in an if block');
  return lines.slice(start, end + 1).join('\n');
}

let awsEnv: Record<string, string>;
let restoreWal: string;
let s3: S3Client;

beforeAll(async () => {
  const { accessKeyId, secretAccessKey } = awsClientConfig(moto.endpoint).credentials;
  awsEnv = {
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_ACCESS_KEY_ID: accessKeyId,
    AWS_SECRET_ACCESS_KEY: secretAccessKey,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_PAGER: '',
  };
  s3 = new S3Client({ ...awsClientConfig(moto.endpoint), forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  restoreWal = await writeRestoreWal('acgs-restore-wal', 'now + 1 hour', '"$(command -v aws)"');
}, 30_000);

/**
 * acgs-restore-wal written by the document's lines, with its variables as the document sets them for
 * S3Archive=s3://acgs-backups/wal-archive/acgs_pgp_db/ (`deadline` in `date -d` words, `aws` a shell word).
 */
async function writeRestoreWal(name: string, deadline: string, aws: string): Promise<string> {
  const variables = `SCRATCH_DIR='${dir}' RESTORE_SCRIPT='${dir}/${name}' AWS=${aws} S3_BUCKET='${BUCKET}' S3_PREFIX='${S3_PREFIX}' DEADLINE_US="$(date -d '${deadline}' +%s%6N)"`;
  await run('bash', ['-c', `set -euo pipefail\n${variables}\n${restoreScriptWriter()}`]);
  return join(dir, name);
}

/** A segment stored as acgs-archive-wal stores it: its bytes, and the SHA-256 it was archived with. */
async function archive(name: string, bytes: Buffer, archivedSha256 = sha256(bytes)): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: BUCKET,
      Key: `${S3_PREFIX}wal/${name}`,
      Body: bytes,
      Metadata: { sha256: archivedSha256 },
    }),
  );
}

/** acgs-restore-wal NAME DEST, as PostgreSQL runs restore_command. */
function restore(name: string, dest: string, script = restoreWal): Promise<{ code: number; stderr: string }> {
  return run(script, [name, dest], { env: { ...process.env, ...awsEnv } }).then(
    (r) => ({ code: 0, stderr: r.stderr }),
    (e: { code?: number; stderr?: string }) => ({ code: e.code ?? -1, stderr: e.stderr ?? '' }),
  );
}

describe('the S3 restore_command of acgs-pitr-restore', () => {
  const original = Buffer.alloc(64 * 1024, 'segment 3 ');

  it("cuts a fetch that hangs at the restore's deadline, says so and leaves nothing for recovery", async () => {
    // Arrange: an aws that never answers, and a restore whose deadline is a second away
    const fakeBin = join(dir, 'hanging-fetch-bin');
    mkdirSync(fakeBin, { recursive: true });
    writeFileSync(join(fakeBin, 'aws'), '#!/bin/bash\nexec sleep 30\n');
    chmodSync(join(fakeBin, 'aws'), 0o755);
    const script = await writeRestoreWal('acgs-restore-wal-hanging', 'now + 1 second', `'${join(fakeBin, 'aws')}'`);
    const dest = join(dir, 'pg_wal-HANGING');
    // Act
    const result = await restore(SEGMENT, dest, script);
    // Assess
    expect(result).toEqual({
      code: 1,
      stderr: `acgs-restore-wal: ${SEGMENT} not fetched: no answer from S3 before the restore's deadline\n`,
    });
    expect(existsSync(dest)).toBe(false);
  }, 30_000);

  it('hands recovery a segment whose bytes are those it was archived with', async () => {
    // Arrange
    await archive(SEGMENT, original);
    const dest = join(dir, 'pg_wal-RECOVERYXLOG');
    // Act
    const result = await restore(SEGMENT, dest);
    // Assess
    expect(result).toEqual({ code: 0, stderr: '' });
    expect(readFileSync(dest).equals(original)).toBe(true);
  }, 30_000);

  it('refuses a segment whose bytes changed after upload, naming both hashes, and leaves nothing for recovery', async () => {
    // Arrange: the object's bytes replaced in the bucket, the SHA-256 it was archived with kept.
    const tampered = Buffer.from(original);
    tampered[4096] = 0x58;
    await archive(SEGMENT, tampered, sha256(original));
    const dest = join(dir, 'pg_wal-RECOVERYXLOG-tampered');
    // Act
    const result = await restore(SEGMENT, dest);
    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(
      `acgs-restore-wal: ${SEGMENT} has SHA-256 ${sha256(tampered)}, it was archived with ${sha256(original)}: not restored`,
    );
    expect(existsSync(dest)).toBe(false);
  }, 30_000);
});

describe('the report acgs-pitr-restore writes to ReportLocation', () => {
  const report = JSON.stringify({ kind: 'acgs-ops.pitr-restore', version: 1, rowCounts: { 'public.a': 1 } });
  /**
   * The block, run as the document runs it (set -euo pipefail, its say), with the report, a work directory and the
   * upload's bound; `path` first on PATH (a fake aws).
   */
  function writeReport(location: string, uploadSeconds = 60, path = ''): Promise<{ stdout: string }> {
    const work = mkdtempSync(join(dir, 'work-'));
    const prelude = `set -euo pipefail\nsay() { printf '%s\\n' "$*"; }\nWORK_DIR='${work}' REPORT_LOCATION='${location}' REPORT='${report}' STEP='' REPORT_UPLOAD_SECONDS=${uploadSeconds}`;
    const env = { ...process.env, ...awsEnv, PATH: `${path}${path ? ':' : ''}${process.env.PATH}` };
    return run('bash', ['-c', `${prelude}\n${reportWriter()}`], { env, timeout: 20_000 });
  }

  it('puts the whole report, one line, at ReportLocation', async () => {
    // Act
    const result = await writeReport(`s3://${BUCKET}/backups/acgs_pgp_db/pitr-1.pitr-report.json`);
    // Assess
    expect(result.stdout).toBe('');
    const object = await s3.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: 'backups/acgs_pgp_db/pitr-1.pitr-report.json' }),
    );
    expect(await object.Body?.transformToString()).toBe(`${report}\n`);
    expect(object.ContentType).toBe('application/json');
  }, 30_000);

  it('says so and carries on (the report is printed anyway) when the upload fails', async () => {
    // Act
    const result = await writeReport('s3://no-such-bucket/pitr-1.pitr-report.json');
    // Assess
    expect(result.stdout).toMatch(
      /^could not write the report to s3:\/\/no-such-bucket\/pitr-1\.pitr-report\.json: .*NoSuchBucket/,
    );
  }, 30_000);

  it('cuts off an upload that hangs at its bound, says so and carries on', async () => {
    // Arrange: an aws that never answers.
    const fakeBin = join(dir, 'hanging-bin');
    mkdirSync(fakeBin, { recursive: true });
    writeFileSync(join(fakeBin, 'aws'), '#!/bin/bash\nexec sleep 30\n');
    chmodSync(join(fakeBin, 'aws'), 0o755);
    const started = Date.now();
    // Act
    const result = await writeReport(`s3://${BUCKET}/pitr-2.pitr-report.json`, 1, fakeBin);
    // Assess
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result.stdout).toBe(
      `could not write the report to s3://${BUCKET}/pitr-2.pitr-report.json: the upload did not finish within 1s\n`,
    );
  }, 30_000);

  it('gives the upload a minute in the document', () => {
    const script = String(loadDocument('acgs-pitr-restore').mainSteps[0]?.inputs.runCommand[0]);
    expect(script).toContain('\nREPORT_UPLOAD_SECONDS=60\n');
  });
});

describe('acgs-pitr-restore reading an archive in S3 that never answers', () => {
  it("fails at the restore's deadline, naming the listing that hung, instead of outliving TimeoutSeconds", async () => {
    // Arrange: an aws that never answers, first on PATH; the local archive directory exists (its owner would run the
    // scratch cluster)
    const fakeBin = join(dir, 'hanging-list-bin');
    mkdirSync(fakeBin, { recursive: true });
    writeFileSync(join(fakeBin, 'aws'), '#!/bin/bash\nexec sleep 60\n');
    chmodSync(join(fakeBin, 'aws'), 0o755);
    mkdirSync(join(dir, 'archive'), { recursive: true });
    const runner = new ShellCommandRunner(DEFAULT_DOCUMENTS_DIR, {
      env: { ...process.env, PATH: `${fakeBin}:${process.env.PATH ?? '/usr/bin:/bin'}` },
    });
    // Act
    const result = await runner.run({
      document: 'acgs-pitr-restore',
      timeoutMs: 50_000,
      parameters: {
        ArchiveDirectory: join(dir, 'archive'),
        S3Archive: `s3://${BUCKET}/${S3_PREFIX}`,
        TargetTime: 'latest',
        ScratchDirectory: join(dir, 'scratch'),
        ScratchPort: '55999',
        DatabaseUser: 'acgs',
        DatabaseName: 'acgs_pgp_db',
        PgBinDir: POSTGRES_BIN_DIR,
        TimeoutSeconds: '2',
      },
    });
    // Assess: the document's own failure, not the runner's timeout
    expect(result.status, result.output).toBe('failed');
    expect(result.output).toContain(
      `cannot list s3://${BUCKET}/${S3_PREFIX}: no answer from S3 before the restore's deadline (TimeoutSeconds 2s)`,
    );
  }, 60_000);
});
