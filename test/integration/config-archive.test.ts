import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_DOCUMENTS_DIR, ShellCommandRunner } from '../../lambdas/adapters/local/shell-command-runner.ts';
import {
  CONFIG_ARCHIVE_DAMAGED_EXIT,
  CONFIG_ARCHIVE_DOCUMENT_PARAMETERS,
  CONFIG_ARCHIVE_REFUSED_EXIT,
  configArchiveListOf,
  configArchiveReportOf,
  configRestoreReportOf,
} from '../../lambdas/core/config-archive.ts';
import { CONFIG_ARCHIVE_DOCUMENT } from '../../lambdas/core/document-names.ts';
import type { CommandResult } from '../../lambdas/ports.ts';
import { expectEveryHostileValueRejected } from '../support/hostile-values.ts';
import { awsCli, awsClientConfig, useMotoServer } from '../support/moto.ts';

/*
 * The real acgs-config-archive document, run by the local command runner over a temporary tree shaped like an
 * ACGS-1 host (the control plane's directory, systemd units, service directories) with secrets planted in it.
 */

/** Every planted secret carries this marker: no byte of the archive or its manifest may. */
const MARKER = 'PLANTEDSECRET';

let root: string;
let tree: string;
const runner = new ShellCommandRunner();

/** path under the tree -> content; the files that must be archived. */
const KEPT: Record<string, string> = {
  'etc/acgs-ops/acgs-1.yaml':
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the YAML refers to a variable: a reference, not a secret
    'fleet:\n  name: acgs-1\n  pgpassFile: /etc/acgs-ops/pgpass\n  passwordEnv: ACGS_DB_PASSWORD\n  passwordSecret: { id: acgs-1/postgres }\n  token: ${ACGS_TOKEN}\n',
  'etc/systemd/system/acgs-auth.service': '[Service]\nExecStart=/usr/bin/uvicorn app.main:app --port 8000\n',
  'etc/systemd/system/acgs-auth.service.d/limits.conf': '[Service]\nLimitNOFILE=65536\n',
  'srv/acgs/auth/config/app.yaml': 'port: 8000\nlog_level: info\nmax_tokens: 1000\n',
  'srv/acgs/auth/requirements.txt': 'fastapi==0.110\n',
  'srv/acgs/auth/start.sh': '#!/bin/sh\nexec uvicorn app.main:app\n',
};

/** path under the tree -> [content, the reason the manifest must give]. */
const SECRETS: Record<string, [string, RegExp]> = {
  'etc/acgs-ops/pgpass': [`127.0.0.1:5432:*:acgs_user:${MARKER}1\n`, /^secret by name: pgpass/],
  'etc/acgs-ops/tls/server.key': [`${MARKER}2\n`, /^secret by name: \*\.key/],
  'etc/acgs-ops/tls/server.pem': [`${MARKER}3\n`, /^secret by name: \*\.pem/],
  'etc/acgs-ops/client.p12': [`${MARKER}4\n`, /^secret by name: \*\.p12/],
  'etc/acgs-ops/id_ed25519': [`${MARKER}5\n`, /^secret by name: id_\*/],
  'etc/acgs-ops/aws-credentials.ini': [`${MARKER}6\n`, /^secret by name: \*credential\*/],
  'etc/acgs-ops/jwt_secret.txt': [`${MARKER}7\n`, /^secret by name: \*secret\*/],
  'etc/acgs-ops/shadow': [`ops:$6$${MARKER}15:19000:0:99999:7:::\n`, /^secret by name: shadow \(password hashes\)/],
  'etc/systemd/system/acgs-auth.service.d/env.conf': [
    `[Service]\nEnvironment=JWT_SECRET_KEY=${MARKER}8\n`,
    /^secret by content: a password, token or secret with a value \(line 2\)/,
  ],
  'srv/acgs/auth/.env': [`DB_PASSWORD=${MARKER}9\n`, /^secret by name: \.env/],
  'srv/acgs/auth/prod.env': [`X=${MARKER}10\n`, /^secret by name: \.env/],
  'srv/acgs/auth/config/db.yaml': [
    `database:\n  host: db\n  password: "${MARKER}11"\n`,
    /^secret by content: a password, token or secret with a value \(line 3\)/,
  ],
  'srv/acgs/auth/config/settings.json': [
    `{"url": "postgresql://acgs:${MARKER}12@db:5432/acgs"}\n`,
    /^secret by content: credentials in a URL \(line 1\)/,
  ],
  'srv/acgs/auth/config/deploy.conf': [
    `# deploy key\n-----BEGIN OPENSSH PRIVATE KEY-----\n${MARKER}13\n-----END OPENSSH PRIVATE KEY-----\n`,
    /^secret by content: a private key block \(line 2\)/,
  ],
  'srv/acgs/auth/config/aws.cfg': [
    `[default]\nregion = eu-west-1\nkey_id = AKIA${MARKER.slice(0, 13)}XYZ\n`,
    /^secret by content: an AWS access key id \(line 3\)/,
  ],
  'srv/acgs/auth/config/api.toml': [`[api]\napi_key = '${MARKER}14'\n`, /^secret by content: a password/],
};

/** Files that are neither configuration nor in a configured path: never considered. */
const IGNORED = [
  'srv/acgs/auth/main.py',
  'srv/acgs/auth/.venv/lib/site.json',
  'srv/acgs/auth/.git/config',
  'etc/systemd/system/other.service',
];

function write(relative: string, content: string): void {
  const path = join(tree, relative);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function parameters(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    Action: 'archive',
    Paths: `${join(tree, 'etc/acgs-ops')},${join(tree, 'etc/missing.yaml')}`,
    ServiceDirectories: join(tree, 'srv/acgs/auth'),
    UnitDirectory: join(tree, 'etc/systemd/system'),
    UnitPrefix: 'acgs-',
    ArchiveDirectory: join(root, 'archives'),
    ArchiveId: '',
    Keep: '14',
    S3Destination: '',
    KmsKeyId: '',
    TargetDirectory: '',
    Overwrite: 'no',
    TimeoutSeconds: '120',
    ...overrides,
  };
}

function run(overrides: Record<string, string>): Promise<CommandResult> {
  return runner.run({ document: CONFIG_ARCHIVE_DOCUMENT, parameters: parameters(overrides), timeoutMs: 150_000 });
}

interface Manifest {
  id: string;
  sha256: string;
  sizeBytes: number;
  fileCount: number;
  files: { path: string; sizeBytes: number; mode: string; sha256: string }[];
  excluded: { path: string; reason: string }[];
  missing: string[];
}

function manifestOf(id: string): Manifest {
  return JSON.parse(readFileSync(join(root, 'archives', `${id}.manifest.json`), 'utf8')) as Manifest;
}

/** Every byte of every member of the archive, read by tar. */
function archiveContents(id: string): string {
  return execFileSync('tar', ['--extract', '--gzip', '--to-stdout', '--file', join(root, 'archives', `${id}.tar.gz`)], {
    encoding: 'latin1',
    maxBuffer: 64 * 1024 * 1024,
  });
}

function archiveMembers(id: string): string[] {
  return execFileSync('tar', ['--list', '--gzip', '--file', join(root, 'archives', `${id}.tar.gz`)], {
    encoding: 'utf8',
  })
    .split('\n')
    .filter((m) => m !== '' && !m.endsWith('/'));
}

let first: CommandResult;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'acgs-config-archive-'));
  tree = join(root, 'host');
  for (const [path, content] of Object.entries(KEPT)) write(path, content);
  for (const [path, [content]] of Object.entries(SECRETS)) write(path, content);
  for (const path of IGNORED) write(path, `${MARKER}ignored\n`);
  chmodSync(join(tree, 'srv/acgs/auth/start.sh'), 0o750);
  // Prepare & Act (once, shared by the assertions about the archive it writes)
  first = await run({ ArchiveId: 'config-first' });
}, 180_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('acgs-config-archive archive', () => {
  it('archives exactly the configuration files, each with its size, mode and SHA-256 in the manifest', () => {
    // Assess
    expect(first.status, first.output).toBe('succeeded');
    const manifest = manifestOf('config-first');
    expect(manifest.files.map((f) => f.path).sort()).toEqual(
      Object.keys(KEPT)
        .map((p) => join(tree, p))
        .sort(),
    );
    for (const file of manifest.files) {
      const content = readFileSync(file.path);
      expect(file.sha256, file.path).toBe(sha256(content));
      expect(file.sizeBytes).toBe(content.length);
    }
    expect(manifest.files.find((f) => f.path.endsWith('start.sh'))?.mode).toBe('750');
    expect(
      archiveMembers('config-first')
        .map((m) => m.replace(/^\.\//, '/'))
        .sort(),
    ).toEqual(manifest.files.map((f) => f.path).sort());
    expect(manifest.sha256).toBe(sha256(readFileSync(join(root, 'archives', 'config-first.tar.gz'))));
  });

  it('lets no planted secret reach the archive or the manifest', () => {
    // Assess: the content of every member, the compressed file and the manifest
    const contents = archiveContents('config-first');
    expect(contents).not.toContain(MARKER);
    expect(contents).toContain('LimitNOFILE=65536');
    expect(readFileSync(join(root, 'archives', 'config-first.manifest.json'), 'utf8')).not.toContain(MARKER);
    expect(first.output).not.toContain(MARKER);
  });

  it('lists every secret it left out with the reason, and the configured path that does not exist', () => {
    // Assess
    const manifest = manifestOf('config-first');
    const reasons = new Map(manifest.excluded.map((e) => [e.path, e.reason]));
    for (const [path, [, reason]] of Object.entries(SECRETS))
      expect(reasons.get(join(tree, path)), path).toMatch(reason);
    expect(manifest.excluded).toHaveLength(Object.keys(SECRETS).length);
    expect(manifest.missing).toEqual([join(tree, 'etc/missing.yaml')]);
    expect(configArchiveReportOf(first.output)).toMatchObject({
      id: 'config-first',
      fileCount: Object.keys(KEPT).length,
      excludedCount: Object.keys(SECRETS).length,
      missingCount: 1,
      copiedTo: null,
    });
  });

  it('refuses to overwrite an archive of the same id, leaving it as it was', async () => {
    // Prepare
    const before = readFileSync(join(root, 'archives', 'config-first.tar.gz'));
    // Act
    const again = await run({ ArchiveId: 'config-first' });
    // Assess
    expect(again.status).toBe('failed');
    expect(again.exitCode).toBe(CONFIG_ARCHIVE_REFUSED_EXIT);
    expect(again.output).toMatch(/refusing to archive as config-first: .* exists/);
    expect(readFileSync(join(root, 'archives', 'config-first.tar.gz')).equals(before)).toBe(true);
  });

  it('fails, writing nothing, when no configured path holds a file it may archive', async () => {
    // Act
    const result = await run({
      ArchiveId: 'config-nothing',
      Paths: join(tree, 'etc/acgs-ops/pgpass'),
      ServiceDirectories: '',
      UnitPrefix: '',
    });
    // Assess
    expect(result.status).toBe('failed');
    expect(result.output).toMatch(/nothing to archive: .*1 left out/);
    expect(readdirSync(join(root, 'archives')).filter((f) => f.startsWith('config-nothing'))).toEqual([]);
  });
});

describe('acgs-config-archive list and pruning', () => {
  it('lists published archives only, newest first, and keeps the newest Keep after an archive', async () => {
    // Prepare: a half-written archive (no manifest) and a partial must never be listed
    const dir = join(root, 'prune');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config-halfway.tar.gz'), 'x');
    writeFileSync(join(dir, '.config-b.tar.gz.partial'), 'x');
    const small = { ArchiveDirectory: dir, ServiceDirectories: '', UnitPrefix: '', Keep: '2' };
    // Act
    for (const id of ['config-a', 'config-b', 'config-c'])
      expect((await run({ ...small, ArchiveId: id })).status).toBe('succeeded');
    const third = configArchiveReportOf((await run({ ...small, ArchiveId: 'config-d' })).output);
    const listed = configArchiveListOf((await run({ Action: 'list', ArchiveDirectory: dir })).output);
    // Assess
    expect(third?.pruned).toEqual(['config-b']);
    expect(listed?.map((a) => a.id)).toEqual(['config-d', 'config-c']);
    expect(readdirSync(dir).sort()).toEqual(
      [
        'config-c.manifest.json',
        'config-c.tar.gz',
        'config-d.manifest.json',
        'config-d.tar.gz',
        'config-halfway.tar.gz',
      ].sort(),
    );
  }, 120_000);
});

describe('acgs-config-archive restore', () => {
  it('writes every file under the target at its original path, byte for byte, once the hashes match', async () => {
    // Prepare
    const target = join(root, 'restore-fresh');
    // Act
    const result = await run({ Action: 'restore', ArchiveId: 'config-first', TargetDirectory: target });
    // Assess
    expect(result.status, result.output).toBe('succeeded');
    const report = configRestoreReportOf(result.output);
    expect(report).toMatchObject({ id: 'config-first', fileCount: Object.keys(KEPT).length, overwrittenCount: 0 });
    for (const [path, content] of Object.entries(KEPT))
      expect(readFileSync(join(target, tree, path), 'utf8'), path).toBe(content);
    expect(report?.written).toHaveLength(Object.keys(KEPT).length);
    for (const path of Object.keys(SECRETS)) expect(existsSync(join(target, tree, path))).toBe(false);
  });

  it('refuses to overwrite existing files without Overwrite=yes, writing nothing, and replaces them with it', async () => {
    // Prepare
    const target = join(root, 'restore-existing');
    const existing = join(target, tree, 'etc/acgs-ops/acgs-1.yaml');
    mkdirSync(dirname(existing), { recursive: true });
    writeFileSync(existing, 'edited by hand\n');
    // Act
    const refused = await run({ Action: 'restore', ArchiveId: 'config-first', TargetDirectory: target });
    // Assess
    expect(refused.status).toBe('failed');
    expect(refused.exitCode).toBe(CONFIG_ARCHIVE_REFUSED_EXIT);
    expect(refused.output).toMatch(/refusing to overwrite 1 existing files .*acgs-1\.yaml.*confirm with Overwrite=yes/);
    expect(readFileSync(existing, 'utf8')).toBe('edited by hand\n');
    expect(existsSync(join(target, tree, 'srv/acgs/auth/config/app.yaml'))).toBe(false);
    expect(readdirSync(target)).toEqual([tree.split('/')[1]]);

    // Act
    const confirmed = await run({
      Action: 'restore',
      ArchiveId: 'config-first',
      TargetDirectory: target,
      Overwrite: 'yes',
    });
    // Assess
    expect(confirmed.status, confirmed.output).toBe('succeeded');
    expect(configRestoreReportOf(confirmed.output)?.overwrittenCount).toBe(1);
    expect(readFileSync(existing, 'utf8')).toBe(KEPT['etc/acgs-ops/acgs-1.yaml']);
  });

  it("refuses an archive whose SHA-256 is not its manifest's, writing nothing", async () => {
    // Prepare: a copy of the archive, one byte appended
    const dir = join(root, 'tampered');
    mkdirSync(dir, { recursive: true });
    for (const suffix of ['.tar.gz', '.manifest.json'])
      writeFileSync(join(dir, `config-first${suffix}`), readFileSync(join(root, 'archives', `config-first${suffix}`)));
    appendFileSync(join(dir, 'config-first.tar.gz'), 'x');
    const target = join(root, 'restore-tampered');
    // Act
    const result = await run({
      Action: 'restore',
      ArchiveId: 'config-first',
      ArchiveDirectory: dir,
      TargetDirectory: target,
    });
    // Assess
    expect(result.status).toBe('failed');
    expect(result.exitCode).toBe(CONFIG_ARCHIVE_DAMAGED_EXIT);
    expect(result.output).toMatch(/REFUSED: .* has SHA-256 [0-9a-f]{64}, its manifest says [0-9a-f]{64}/);
    expect(existsSync(target)).toBe(false);
  });

  it('refuses an archive rebuilt with a changed file and a matching archive hash, writing nothing', async () => {
    // Prepare: the archive rebuilt with one file changed, and the manifest's archive hash updated to match
    const dir = join(root, 'rebuilt');
    const unpacked = join(root, 'rebuilt-tree');
    mkdirSync(dir, { recursive: true });
    mkdirSync(unpacked, { recursive: true });
    execFileSync('tar', [
      '--extract',
      '--gzip',
      '--file',
      join(root, 'archives', 'config-first.tar.gz'),
      '-C',
      unpacked,
    ]);
    appendFileSync(join(unpacked, tree, 'etc/acgs-ops/acgs-1.yaml'), 'extra: true\n');
    execFileSync('tar', ['--create', '--gzip', '--file', join(dir, 'config-first.tar.gz'), '-C', unpacked, '.']);
    const forged = readFileSync(join(root, 'archives', 'config-first.manifest.json'), 'utf8').replace(
      /"sha256":"[0-9a-f]{64}"/,
      `"sha256":"${sha256(readFileSync(join(dir, 'config-first.tar.gz')))}"`,
    );
    writeFileSync(join(dir, 'config-first.manifest.json'), forged);
    const target = join(root, 'restore-rebuilt');
    // Act
    const result = await run({
      Action: 'restore',
      ArchiveId: 'config-first',
      ArchiveDirectory: dir,
      TargetDirectory: target,
    });
    // Assess
    expect(result.status).toBe('failed');
    expect(result.exitCode).toBe(CONFIG_ARCHIVE_DAMAGED_EXIT);
    expect(result.output).toMatch(/REFUSED: .*acgs-1\.yaml in the archive does not match its manifest entry/);
    expect(readdirSync(target)).toEqual([]);
  });

  it('refuses an archive id that does not exist', async () => {
    // Act
    const result = await run({ Action: 'restore', ArchiveId: 'config-nope', TargetDirectory: join(root, 'r') });
    // Assess
    expect(result.exitCode).toBe(CONFIG_ARCHIVE_REFUSED_EXIT);
    expect(result.output).toMatch(/there is no archive config-nope in /);
  });
});

describe('acgs-config-archive with S3', () => {
  const moto = useMotoServer();
  const bucket = 'acgs-backups';

  it('copies the archive and then its manifest to S3Destination, encrypted with the KMS key, byte for byte', async () => {
    // Prepare: the real AWS CLI in the document, pointed at moto
    await awsCli(moto.endpoint, ['s3api', 'create-bucket', '--bucket', bucket]);
    const created = (await awsCli(moto.endpoint, ['kms', 'create-key'])) as { KeyMetadata: { KeyId: string } };
    const keyId = created.KeyMetadata.KeyId;
    const { accessKeyId, secretAccessKey } = awsClientConfig(moto.endpoint).credentials;
    const { BASH_ENV: _bashEnv, ENV: _env, ...inherited } = process.env;
    const s3Runner = new ShellCommandRunner(DEFAULT_DOCUMENTS_DIR, {
      env: {
        ...inherited,
        AWS_ENDPOINT_URL: moto.endpoint,
        AWS_ACCESS_KEY_ID: accessKeyId,
        AWS_SECRET_ACCESS_KEY: secretAccessKey,
        AWS_DEFAULT_REGION: 'us-east-1',
        AWS_PAGER: '',
      },
    });
    const s3 = new S3Client({ ...awsClientConfig(moto.endpoint), forcePathStyle: true });
    // Act
    const result = await s3Runner.run({
      document: CONFIG_ARCHIVE_DOCUMENT,
      parameters: parameters({
        ArchiveId: 'config-s3',
        S3Destination: `s3://${bucket}/config-archives/`,
        KmsKeyId: keyId,
      }),
      timeoutMs: 150_000,
    });
    // Assess
    expect(result.status, result.output).toBe('succeeded');
    expect(configArchiveReportOf(result.output)?.copiedTo).toBe(`s3://${bucket}/config-archives/config-s3.tar.gz`);
    for (const key of ['config-archives/config-s3.tar.gz', 'config-archives/config-s3.manifest.json']) {
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      expect(head.ServerSideEncryption, key).toBe('aws:kms');
      expect(head.SSEKMSKeyId, key).toContain(keyId);
    }
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'config-archives/config-s3.tar.gz' }));
    const bytes = Buffer.from((await object.Body?.transformToByteArray()) ?? []);
    expect(sha256(bytes)).toBe(manifestOf('config-s3').sha256);
    s3.destroy();
  }, 180_000);
});

describe('injection into acgs-config-archive', () => {
  it('rejects every hostile value for every parameter, running nothing', async () => {
    // Prepare
    const names = CONFIG_ARCHIVE_DOCUMENT_PARAMETERS[CONFIG_ARCHIVE_DOCUMENT];
    const valid = parameters({ S3Destination: 's3://acgs-backups/config-archives/', KmsKeyId: 'alias/acgs-backups' });
    expect(Object.keys(valid).sort()).toEqual([...names].sort());
    // Act & Assess
    const checked = await expectEveryHostileValueRejected(
      [{ document: CONFIG_ARCHIVE_DOCUMENT, valid, parameters: names }],
      { marker: join(root, 'pwned') },
    );
    // 13 parameters, 19 values each
    expect(checked).toBe(13 * 19);
  }, 120_000);
});
