import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ShellCommandRunner } from '../../lambdas/adapters/local/shell-command-runner.ts';
import type { CommandResult } from '../../lambdas/ports.ts';
import { usePostgresCluster } from '../support/postgres-cluster.ts';

/*
 * The backup and drill documents reading the database password from Secrets Manager on the host, as they do in AWS:
 * `aws secretsmanager get-secret-value` is a fake `aws` put first on PATH, which prints the secret it was given and
 * logs its arguments (the real Secrets Manager API is exercised through moto by the adapter tests; here what is
 * proven is the document's side: which secret it asks for, how it takes the field, that the password reaches
 * pg_dump, pg_restore, psql, createdb and dropdb, and that it appears in no output).
 */

const PRODUCTION = 'acgs_pgp_db';
const SCRATCH = 'acgs_restore_drill';
const pg = usePostgresCluster({ tempPrefix: 'acgs-backup-secret-', databases: [PRODUCTION] });
let root = '';
let fakeBin = '';
let secretsDir = '';
let awsLog = '';
let runner: ShellCommandRunner;
let ids = 0;

beforeAll(async () => {
  root = pg.root;
  fakeBin = join(root, 'bin');
  secretsDir = join(root, 'secrets');
  awsLog = join(root, 'aws.log');
  mkdirSync(fakeBin);
  mkdirSync(secretsDir);
  writeFileSync(
    join(fakeBin, 'aws'),
    [
      '#!/bin/bash',
      `printf '%s\\n' "$*" >>'${awsLog}'`,
      'if [[ "$1 $2 $3" == "secretsmanager get-secret-value --secret-id" ]]; then',
      `  file='${secretsDir}/'"\${4//\\//__}"`,
      '  if [[ ! -f "$file" ]]; then',
      '    echo "An error occurred (ResourceNotFoundException) when calling the GetSecretValue operation: Secrets Manager can\'t find the specified secret." >&2',
      '    exit 254',
      '  fi',
      '  cat -- "$file"',
      '  echo',
      '  exit 0',
      'fi',
      'echo "fake aws: unexpected call: $*" >&2',
      'exit 2',
      '',
    ].join('\n'),
  );
  chmodSync(join(fakeBin, 'aws'), 0o755);
  const { BASH_ENV: _b, ENV: _e, ...inherited } = process.env;
  runner = new ShellCommandRunner(undefined, { env: { ...inherited, PATH: `${fakeBin}:${process.env.PATH ?? ''}` } });
  await pg.sql(
    PRODUCTION,
    'CREATE TABLE principles (id serial PRIMARY KEY, title text); INSERT INTO principles (title) SELECT md5(g::text) FROM generate_series(1, 500) AS g',
  );
});

function putSecret(id: string, value: string): void {
  writeFileSync(join(secretsDir, id.replaceAll('/', '__')), value);
}

function backupParameters(overrides: Record<string, string>): Record<string, string> {
  ids += 1;
  const destination = join(root, `backups-${ids}`);
  return {
    DatabaseHost: pg.cluster.host,
    DatabasePort: String(pg.cluster.port),
    DatabaseName: PRODUCTION,
    DatabaseUser: pg.cluster.user,
    PgpassFile: '',
    PasswordSecretId: '',
    PasswordSecretField: '',
    Destination: destination,
    BackupId: `${PRODUCTION}-20261203T1200${String(ids).padStart(2, '0')}Z`,
    MinSizeBytes: '1024',
    KmsKeyId: '',
    PgBinDir: pg.cluster.binDir,
    TimeoutSeconds: '60',
    StartedAt: '',
    ...overrides,
  };
}

const run = (document: string, parameters: Record<string, string>): Promise<CommandResult> =>
  runner.run({ document, parameters, timeoutMs: 60_000 });

const lastLine = (output: string) => output.trimEnd().split('\n').at(-1) ?? '';

describe('the backup document with PasswordSecretId', () => {
  it('reads the password field of the JSON secret on the host and backs up with it, never printing it', async () => {
    // Prepare
    putSecret('acgs-1/postgres', JSON.stringify({ username: pg.cluster.user, password: pg.cluster.password }));
    writeFileSync(awsLog, '');
    // Act
    const result = await run('acgs-backup-database', backupParameters({ PasswordSecretId: 'acgs-1/postgres' }));
    // Assess
    expect(result.status, result.output).toBe('succeeded');
    expect(JSON.parse(lastLine(result.output))).toMatchObject({ kind: 'acgs-ops.backup' });
    expect(result.output).toContain('the database password comes from secret acgs-1/postgres');
    expect(readFileSync(awsLog, 'utf8')).toBe(
      'secretsmanager get-secret-value --secret-id acgs-1/postgres --query SecretString --output text\n',
    );
    expect(result.output).not.toContain(pg.cluster.password);
  });

  it('uses the secret rather than the pgpass file when both are given, and the field PasswordSecretField names', async () => {
    // Prepare: the pgpass file is wrong; the secret keeps the password under another field.
    const wrong = join(root, 'pgpass-wrong');
    writeFileSync(wrong, `*:*:*:*:not-the-password\n`, { mode: 0o600 });
    putSecret('acgs-1/custom', JSON.stringify({ user: pg.cluster.user, db_password: pg.cluster.password }));
    // Act
    const result = await run(
      'acgs-backup-database',
      backupParameters({ PgpassFile: wrong, PasswordSecretId: 'acgs-1/custom', PasswordSecretField: 'db_password' }),
    );
    // Assess
    expect(result.status, result.output).toBe('succeeded');
  });

  it('takes a plain-string secret whole', async () => {
    putSecret('acgs-1/plain', pg.cluster.password);
    const result = await run('acgs-backup-database', backupParameters({ PasswordSecretId: 'acgs-1/plain' }));
    expect(result.status, result.output).toBe('succeeded');
  });

  it.each([
    [
      'the secret does not exist',
      'acgs-1/absent',
      '',
      'cannot read the password from secret acgs-1/absent (exit 254): An error occurred (ResourceNotFoundException)',
    ],
    [
      'the JSON secret has no such field',
      'acgs-1/no-field',
      '',
      'secret acgs-1/no-field is JSON without a non-empty string field password',
    ],
    [
      'a field is named for a plain secret',
      'acgs-1/plain-too',
      'password',
      'secret acgs-1/plain-too is not a JSON object, but PasswordSecretField names field password',
    ],
  ])('fails, saying so, when %s', async (_case, id, field, reason) => {
    putSecret('acgs-1/no-field', JSON.stringify({ pass: 'hunter2-not-shown' }));
    putSecret('acgs-1/plain-too', 'hunter3-not-shown');
    const result = await run(
      'acgs-backup-database',
      backupParameters({ PasswordSecretId: id, PasswordSecretField: field }),
    );
    expect(result.status, result.output).toBe('failed');
    expect(result.output).toContain(reason);
    expect(result.output).not.toMatch(/hunter[23]-not-shown/);
  });

  it("fails on a wrong password in the secret with pg_dump's reason and without the password", async () => {
    putSecret('acgs-1/wrong', JSON.stringify({ password: 'wrong-password-not-shown' }));
    const result = await run('acgs-backup-database', backupParameters({ PasswordSecretId: 'acgs-1/wrong' }));
    expect(result.status, result.output).toBe('failed');
    expect(result.output).toContain('password authentication failed');
    expect(result.output).not.toContain('wrong-password-not-shown');
  });

  it('refuses to run with neither a secret nor a pgpass file', async () => {
    const result = await run('acgs-backup-database', backupParameters({}));
    expect(result.status, result.output).toBe('failed');
    expect(lastLine(result.output)).toContain('neither PasswordSecretId nor PgpassFile is set');
  });
});

describe('the restore drill with PasswordSecretId', () => {
  it('restores the backup into the scratch database and drops it, with the password from the secret', async () => {
    // Prepare
    putSecret('acgs-1/postgres', JSON.stringify({ password: pg.cluster.password }));
    const backup = await run('acgs-backup-database', backupParameters({ PasswordSecretId: 'acgs-1/postgres' }));
    expect(backup.status, backup.output).toBe('succeeded');
    const manifest = JSON.parse(lastLine(backup.output)) as {
      dumpKey: string;
      sha256: string;
      tableDataEntries: number;
    };
    const destination = join(root, `backups-${ids}`);
    // Act
    const drill = await run('acgs-restore-drill', {
      Source: join(destination, manifest.dumpKey),
      ExpectedSha256: manifest.sha256,
      ExpectedTableDataEntries: String(manifest.tableDataEntries),
      DatabaseHost: pg.cluster.host,
      DatabasePort: String(pg.cluster.port),
      DatabaseUser: pg.cluster.user,
      PgpassFile: '',
      PasswordSecretId: 'acgs-1/postgres',
      PasswordSecretField: '',
      ScratchDatabase: SCRATCH,
      ProductionDatabase: PRODUCTION,
      PgBinDir: pg.cluster.binDir,
      TimeoutSeconds: '60',
      StartedAt: '',
    });
    // Assess
    expect(drill.status, drill.output).toBe('succeeded');
    expect(JSON.parse(lastLine(drill.output))).toMatchObject({ tables: 1 });
    expect(drill.output).not.toContain(pg.cluster.password);
  });
});
