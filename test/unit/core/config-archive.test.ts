import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { parseFleetConfig } from '../../../lambdas/core/config.ts';
import {
  configArchiveId,
  configArchiveListOf,
  configArchiveOf,
  configArchiveParameters,
  configArchiveReportOf,
  configRestoreReportOf,
  parseConfigArchiveId,
  parseRestoreDirectory,
  serviceDirectoriesOf,
} from '../../../lambdas/core/config-archive.ts';
import type { FleetConfig } from '../../../lambdas/core/config-schema.ts';
import { UsageError } from '../../../lambdas/core/errors.ts';
import { validateParameters } from '../../../lambdas/core/ssm-document.ts';
import { loadDocument } from '../../support/unit-ssm-documents.ts';

type Raw = { backups?: Record<string, unknown>; schedules: Record<string, unknown> };

function rawConfig(): Raw {
  return parse(readFileSync(new URL('../../../config/acgs-1.yaml', import.meta.url), 'utf8')) as Raw;
}

function parsed(raw: Raw) {
  return parseFleetConfig(stringify(raw));
}

function configWith(configArchive: Record<string, unknown> | undefined): FleetConfig {
  const raw = rawConfig();
  if (raw.backups) {
    if (configArchive) raw.backups.configArchive = configArchive;
    else delete raw.backups.configArchive;
  }
  if (!configArchive) delete raw.schedules.configArchive;
  const result = parsed(raw);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.config;
}

const AT = new Date('2026-12-01T02:30:00.250Z');
const DOCUMENT = loadDocument('acgs-config-archive');

describe('the backups.configArchive defaults', () => {
  it('archive the control plane directory, the acgs- units and every service directory, keeping 14 when given {}', () => {
    // Act
    const settings = configArchiveOf(configWith({}));
    // Assess
    expect(settings).toEqual({
      paths: ['/etc/acgs-ops'],
      serviceDirectories: true,
      unitDirectory: '/etc/systemd/system',
      unitPrefix: 'acgs-',
      directory: '/var/backups/acgs-ops-config',
      keep: 14,
      s3Prefix: 'config-archives/',
    });
  });

  it('names the seven ACGS-1 service directories under fleet.root, each once, when serviceDirectories is on', () => {
    // Act
    const dirs = serviceDirectoriesOf(configWith({}));
    // Assess
    expect(dirs).toHaveLength(7);
    expect(dirs[0]).toBe('/home/dislove/ACGS-1/services/platform/authentication/auth_service');
    expect(dirs.every((d) => d.startsWith('/home/dislove/ACGS-1/services/'))).toBe(true);
    expect(serviceDirectoriesOf(configWith({ serviceDirectories: false }))).toEqual([]);
  });
});

describe('the config refuses', () => {
  it.each([
    { what: 'a relative path', configArchive: { paths: ['etc/acgs-ops'] }, field: 'backups.configArchive.paths.0' },
    { what: 'a glob in a path', configArchive: { paths: ['/etc/*'] }, field: 'backups.configArchive.paths.0' },
    { what: 'keep 0', configArchive: { keep: 0 }, field: 'backups.configArchive.keep' },
    { what: 'keep 1000', configArchive: { keep: 1000 }, field: 'backups.configArchive.keep' },
    {
      what: 'a unit prefix read as an option',
      configArchive: { unitPrefix: '-acgs' },
      field: 'backups.configArchive.unitPrefix',
    },
    {
      what: 'a glob in the unit prefix',
      configArchive: { unitPrefix: 'acgs-*' },
      field: 'backups.configArchive.unitPrefix',
    },
    {
      what: 'a trailing slash',
      configArchive: { directory: '/var/backups/' },
      field: 'backups.configArchive.directory',
    },
    {
      what: 'paths longer than the document takes together',
      configArchive: {
        paths: Array.from({ length: 40 }, (_, i) => `/${String(i).padStart(2, '0')}${'x'.repeat(120)}`),
      },
      field: 'backups.configArchive.paths',
    },
    { what: 'an unknown key', configArchive: { secrets: true }, field: 'backups.configArchive.secrets' },
  ])('$what, naming $field', ({ configArchive, field }) => {
    // Prepare
    const raw = rawConfig();
    if (raw.backups) raw.backups.configArchive = configArchive;
    // Act
    const result = parsed(raw);
    // Assess
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems.map((p) => p.path)).toContain(field);
  });

  it('a configArchive schedule without backups.configArchive, naming schedules.configArchive', () => {
    // Prepare
    const raw = rawConfig();
    if (raw.backups) delete raw.backups.configArchive;
    raw.schedules.configArchive = { cron: '30 2 * * *' };
    // Act
    const result = parsed(raw);
    // Assess
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems.map((p) => p.path)).toContain('schedules.configArchive');
  });
});

describe('configArchiveOf', () => {
  it('is a usage error naming backups.configArchive when the section is absent', () => {
    // Act & Assess
    expect(() => configArchiveOf(configWith(undefined))).toThrow(UsageError);
    expect(() => configArchiveOf(configWith(undefined))).toThrow(/backups\.configArchive/);
  });
});

describe('configArchiveParameters', () => {
  it('gives the archive action the paths, units, service directories, a time-named id and no S3 copy on one host', () => {
    // Act
    const params = configArchiveParameters(configWith({ paths: ['/etc/acgs-ops', '/opt/acgs'], keep: 7 }), {
      action: 'archive',
      at: AT,
    });
    // Assess
    expect(params).toMatchObject({
      Action: 'archive',
      Paths: '/etc/acgs-ops,/opt/acgs',
      UnitDirectory: '/etc/systemd/system',
      UnitPrefix: 'acgs-',
      ArchiveDirectory: '/var/backups/acgs-ops-config',
      ArchiveId: 'config-20261201T023000Z',
      Keep: '7',
      S3Destination: '',
      KmsKeyId: '',
      TargetDirectory: '',
      Overwrite: 'no',
      TimeoutSeconds: '600',
    });
    expect(params.ServiceDirectories?.split(',')).toHaveLength(7);
    expect(validateParameters(DOCUMENT, params)).toEqual([]);
  });

  it('copies to the bucket under configArchive.s3Prefix with the KMS key when the backups go to S3', () => {
    // Act
    const params = configArchiveParameters(configWith({}), {
      action: 'archive',
      at: AT,
      bucket: 'acgs-backups',
      kmsKeyId: 'alias/acgs-backups',
    });
    // Assess
    expect(params.S3Destination).toBe('s3://acgs-backups/config-archives/');
    expect(params.KmsKeyId).toBe('alias/acgs-backups');
    expect(validateParameters(DOCUMENT, params)).toEqual([]);
  });

  it('gives the restore action the archive, the target and Overwrite=yes only when confirmed', () => {
    // Act
    const unconfirmed = configArchiveParameters(configWith({}), {
      action: 'restore',
      id: 'config-20261201T023000Z',
      targetDirectory: '/srv/restore/',
      overwrite: false,
    });
    const confirmed = configArchiveParameters(configWith({}), {
      action: 'restore',
      id: 'config-20261201T023000Z',
      targetDirectory: '/srv/restore',
      overwrite: true,
      timeoutSeconds: 60,
    });
    // Assess
    expect(unconfirmed).toMatchObject({
      Action: 'restore',
      ArchiveId: 'config-20261201T023000Z',
      TargetDirectory: '/srv/restore',
      Overwrite: 'no',
      Paths: '',
      ServiceDirectories: '',
    });
    expect(confirmed).toMatchObject({ Overwrite: 'yes', TimeoutSeconds: '60' });
    expect(validateParameters(DOCUMENT, unconfirmed)).toEqual([]);
  });

  it('names the archive config-<UTC time to the second>', () => {
    // Act & Assess
    expect(configArchiveId(new Date('2027-01-02T03:04:05.999Z'))).toBe('config-20270102T030405Z');
  });
});

describe('the operator input', () => {
  it.each(['', '-config', 'config/x', '../x', 'a b', 'x'.repeat(129), 'config;id'])(
    'refuses archive id %j, naming the field',
    (text) => {
      // Act & Assess
      expect(() => parseConfigArchiveId(text)).toThrow(/archive id must be/);
    },
  );

  it.each(['relative/dir', '/srv/../etc', '/srv/a b', '/srv/$(id)', '', '/'])(
    'refuses restore directory %j, naming --to',
    (text) => {
      // Act & Assess
      expect(() => parseRestoreDirectory(text)).toThrow(/^--to must be/);
    },
  );

  it('takes a plain id and an absolute directory, trailing slash dropped', () => {
    // Act & Assess
    expect(parseConfigArchiveId('config-20261201T023000Z')).toBe('config-20261201T023000Z');
    expect(parseRestoreDirectory('/srv/restore/')).toBe('/srv/restore');
  });
});

const SUMMARY = {
  kind: 'acgs-ops.config-archive',
  version: 1,
  id: 'config-20261201T023000Z',
  createdAt: '2026-12-01T02:30:00.100Z',
  finishedAt: '2026-12-01T02:30:01.100Z',
  durationMs: 1000,
  host: 'db1',
  archive: 'config-20261201T023000Z.tar.gz',
  sizeBytes: 482,
  sha256: 'a'.repeat(64),
  fileCount: 3,
  fileBytes: 129,
  excludedCount: 6,
  missingCount: 1,
};

describe('the reports', () => {
  it('reads the archive report from the last JSON line of the output', () => {
    // Prepare
    const output = `archived 3 files\n${JSON.stringify({ ...SUMMARY, location: '/x.tar.gz', copiedTo: null, pruned: ['old'] })}\n`;
    // Act
    const report = configArchiveReportOf(output);
    // Assess
    expect(report).toMatchObject({ id: SUMMARY.id, fileCount: 3, excludedCount: 6, pruned: ['old'] });
  });

  it('reads no archive report when a field is missing or of the wrong type', () => {
    // Prepare
    const { fileCount: _dropped, ...partial } = SUMMARY;
    // Act & Assess
    expect(configArchiveReportOf(`${JSON.stringify({ ...partial, location: '/x', pruned: [] })}\n`)).toBeUndefined();
    expect(
      configArchiveReportOf(`${JSON.stringify({ ...SUMMARY, sizeBytes: '482', location: '/x', pruned: [] })}\n`),
    ).toBeUndefined();
    expect(configArchiveReportOf('acgs-config-archive: failed\n')).toBeUndefined();
  });

  it('reads the list, keeping only whole summaries', () => {
    // Prepare
    const output = JSON.stringify({
      kind: 'acgs-ops.config-archive-list',
      directory: '/var/backups/acgs-ops-config',
      archives: [SUMMARY, { id: 'broken' }],
    });
    // Act & Assess
    expect(configArchiveListOf(output)?.map((a) => a.id)).toEqual([SUMMARY.id]);
    expect(configArchiveListOf('no list here')).toBeUndefined();
  });

  it('reads the restore report', () => {
    // Prepare
    const output = JSON.stringify({
      kind: 'acgs-ops.config-restore',
      id: SUMMARY.id,
      targetDirectory: '/srv/r',
      sha256: SUMMARY.sha256,
      fileCount: 1,
      overwrittenCount: 0,
      written: ['/srv/r/etc/acgs-ops/acgs-1.yaml'],
    });
    // Act & Assess
    expect(configRestoreReportOf(output)?.written).toEqual(['/srv/r/etc/acgs-ops/acgs-1.yaml']);
    expect(configRestoreReportOf(JSON.stringify({ kind: 'acgs-ops.config-restore', id: 'x' }))).toBeUndefined();
  });
});
