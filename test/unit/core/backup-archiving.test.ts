import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import {
  archiveTimeoutSeconds,
  archivingCommandParameters,
  lastReport,
  parseRestoreTarget,
  parseScratchDirectory,
  parseScratchPort,
  pitrRestoreParameters,
  restartWindow,
} from '../../../lambdas/core/backup-archiving.ts';
import { parseFleetConfig } from '../../../lambdas/core/config.ts';
import type { FleetConfig } from '../../../lambdas/core/config-schema.ts';
import { UsageError } from '../../../lambdas/core/errors.ts';
import type { MaintenanceWindow } from '../../../lambdas/core/escalation.ts';
import { validateParameters } from '../../../lambdas/core/ssm-document.ts';
import { loadDocument } from '../../support/unit-ssm-documents.ts';

function configWith(archiving: Record<string, unknown> | undefined): FleetConfig {
  const raw = parse(readFileSync(new URL('../../../config/acgs-1.yaml', import.meta.url), 'utf8')) as {
    backups: Record<string, unknown>;
  };
  if (archiving) raw.backups.archiving = archiving;
  const parsed = parseFleetConfig(stringify(raw));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
}

const archived = configWith({ directory: '/srv/archive', archiveTimeout: '90s', serviceUnit: 'postgresql@15-main' });

describe('the archive in S3 (archiving.s3Prefix)', () => {
  const inS3 = configWith({ directory: '/srv/archive', s3Prefix: 'wal-archive/db/' });
  const acgsBucket = { bucket: 'acgs-backups', kmsKeyId: 'alias/acgs-backups' };

  it('sends both documents s3://<bucket>/<s3Prefix>, and the key to the archiving one, when the runtime has the bucket', () => {
    // Act
    const archiving = archivingCommandParameters(inS3, 'enable', acgsBucket);
    const restore = pitrRestoreParameters(inS3, {
      target: 'latest',
      scratchDirectory: '/srv/scratch',
      port: 55432,
      ...acgsBucket,
    });
    // Assess
    expect(archiving).toMatchObject({ S3Archive: 's3://acgs-backups/wal-archive/db/', KmsKeyId: 'alias/acgs-backups' });
    expect(restore).toMatchObject({ S3Archive: 's3://acgs-backups/wal-archive/db/', ArchiveDirectory: '/srv/archive' });
    expect(validateParameters(loadDocument('acgs-wal-archiving'), archiving)).toEqual([]);
    expect(validateParameters(loadDocument('acgs-pitr-restore'), restore)).toEqual([]);
  });

  it('keeps the local archive (empty S3Archive and KmsKeyId) without s3Prefix, whatever bucket the runtime has', () => {
    // Act
    const params = archivingCommandParameters(archived, 'status', acgsBucket);
    // Assess
    expect(params).toMatchObject({ S3Archive: '', KmsKeyId: '', ArchiveDirectory: '/srv/archive' });
  });

  it('refuses, naming s3Prefix, to archive locally when s3Prefix is set but the runtime has no bucket', () => {
    // Act & Assess
    expect(() => archivingCommandParameters(inS3, 'enable')).toThrow(UsageError);
    expect(() => archivingCommandParameters(inS3, 'enable')).toThrow(
      /backups.archiving.s3Prefix is wal-archive\/db\/, but this runtime has no backup bucket/,
    );
    expect(() =>
      pitrRestoreParameters(inS3, { target: 'latest', scratchDirectory: '/srv/scratch', port: 55432 }),
    ).toThrow(UsageError);
  });

  it('rejects an s3Prefix that is not a key prefix ending in /, naming the field', () => {
    // Act & Assess
    expect(() => configWith({ s3Prefix: 'wal archive' })).toThrow(/s3Prefix/);
  });
});

describe('archivingCommandParameters', () => {
  it('gives acgs-wal-archiving the connection, the archive and archive_timeout in seconds, and no restart unless asked', () => {
    // Act
    const params = archivingCommandParameters(archived, 'enable');
    // Assess
    expect(params).toMatchObject({
      Action: 'enable',
      DatabaseHost: '127.0.0.1',
      DatabasePort: '5432',
      DatabaseUser: 'acgs_user',
      DatabaseName: 'acgs_pgp_db',
      PgpassFile: '/etc/acgs-ops/pgpass',
      ArchiveDirectory: '/srv/archive',
      ScriptDirectory: '/usr/local/lib/acgs-ops',
      ArchiveTimeoutSeconds: '90',
      Restart: 'no',
      ServiceUnit: 'postgresql@15-main',
    });
    expect(validateParameters(loadDocument('acgs-wal-archiving'), params)).toEqual([]);
    expect(archivingCommandParameters(archived, 'enable', { restart: true }).Restart).toBe('yes');
  });

  it('defaults archive_timeout to 60 s and refuses a config without backups.archiving, naming it', () => {
    const plain = configWith(undefined);
    const defaults = configWith({}).backups?.archiving;
    if (!defaults) throw new Error('backups.archiving was dropped');
    expect(defaults).toEqual({
      directory: '/var/backups/acgs-ops-archive',
      scriptDirectory: '/usr/local/lib/acgs-ops',
      archiveTimeout: 60_000,
      baseBackupMaxAge: 8 * 24 * 3_600_000,
    });
    expect(archiveTimeoutSeconds(defaults)).toBe(60);
    expect(() => archivingCommandParameters(plain, 'status')).toThrow(/backups\.archiving/);
  });

  it('rejects an archive_timeout under a second in the config, naming the field', () => {
    const raw = parse(readFileSync(new URL('../../../config/acgs-1.yaml', import.meta.url), 'utf8')) as {
      backups: Record<string, unknown>;
    };
    raw.backups.archiving = { archiveTimeout: '10ms' };
    const parsed = parseFleetConfig(stringify(raw));
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(JSON.stringify(parsed.problems)).toContain('archiveTimeout');
  });
});

describe('pitrRestoreParameters', () => {
  it('gives acgs-pitr-restore the target as UTC ISO time, or latest', () => {
    const at = Date.parse('2026-12-03T20:00:00.250+01:00');
    const params = pitrRestoreParameters(archived, { target: at, scratchDirectory: '/tmp/scratch/', port: 55432 });
    expect(params).toMatchObject({
      ArchiveDirectory: '/srv/archive',
      TargetTime: '2026-12-03T19:00:00.250Z',
      ScratchDirectory: '/tmp/scratch',
      ScratchPort: '55432',
      DatabaseUser: 'acgs_user',
      DatabaseName: 'acgs_pgp_db',
      Drill: 'no',
    });
    expect(validateParameters(loadDocument('acgs-pitr-restore'), params)).toEqual([]);
    const latest = pitrRestoreParameters(archived, { target: 'latest', scratchDirectory: '/tmp/s', port: 55433 });
    expect(latest.TargetTime).toBe('latest');
    const drill = pitrRestoreParameters(archived, {
      target: 'latest',
      scratchDirectory: '/tmp/s',
      port: 55433,
      drill: true,
    });
    expect(drill.Drill).toBe('yes');
    expect(validateParameters(loadDocument('acgs-pitr-restore'), drill)).toEqual([]);
  });
});

describe('the operator input of restore --to', () => {
  it('reads latest and times with a zone, and names the option for anything else', () => {
    expect(parseRestoreTarget('latest')).toBe('latest');
    expect(parseRestoreTarget('2026-12-03T19:00:00Z')).toBe(Date.parse('2026-12-03T19:00:00Z'));
    expect(parseRestoreTarget('2026-12-03T20:00:00.5+01:00')).toBe(Date.parse('2026-12-03T19:00:00.5Z'));
    for (const bad of ['2026-12-03T19:00:00', 'yesterday', '2026-13-03T19:00:00Z', "latest'; rm -rf /"])
      expect(() => parseRestoreTarget(bad)).toThrow(/--to must be latest or a time with its zone/);
  });

  it('takes a scratch port from 1024 to 65535 that is not production, and an absolute plain directory', () => {
    expect(parseScratchPort('55432', 5432)).toBe(55432);
    for (const bad of ['80', '65536', '5432x', ''])
      expect(() => parseScratchPort(bad, 5432)).toThrow(/--port must be a TCP port/);
    expect(() => parseScratchPort('5432', 5432)).toThrow(/--port 5432 is the production database's port/);
    expect(parseScratchDirectory('/var/lib/scratch/')).toBe('/var/lib/scratch');
    for (const bad of ['relative/dir', '/with space', '/a/../b', "/x';touch /tmp/p"])
      expect(() => parseScratchDirectory(bad)).toThrow(UsageError);
  });
});

describe('restartWindow', () => {
  const window = (subjects: string[], startsAt: number, endsAt: number): MaintenanceWindow => ({
    id: 'mw-1',
    subjects,
    startsAt,
    endsAt,
    reason: 'archiving',
    createdBy: 'ops',
  });

  it('is an open window covering the database check or the whole fleet', () => {
    expect(restartWindow(archived, [window(['postgresql'], 0, 100)], 50).id).toBe('mw-1');
    expect(restartWindow(archived, [window(['*'], 0, 100)], 50).id).toBe('mw-1');
  });

  it('refuses without one: another service, not started yet, or ended', () => {
    for (const w of [window(['auth'], 0, 100), window(['postgresql'], 60, 100), window(['postgresql'], 0, 50)])
      expect(() => restartWindow(archived, [w], 50)).toThrow(/needs an open maintenance window covering postgresql/);
  });
});

describe('lastReport', () => {
  it('is the last JSON line of the kind, past other output', () => {
    const output = 'noise\n{"kind":"acgs-ops.base-backup","id":"a"}\n{"kind":"other"}\n{broken\nacgs: done\n';
    expect(lastReport(output, 'acgs-ops.base-backup')).toEqual({ kind: 'acgs-ops.base-backup', id: 'a' });
    expect(lastReport(output, 'acgs-ops.pitr-restore')).toBeUndefined();
  });
});

describe('the config refuses schedules that would run nothing, and backup prefixes that overlap', () => {
  type Raw = { backups: Record<string, unknown>; schedules: Record<string, unknown> };
  function problemsOf(change: (raw: Raw) => void): { path: string; message: string }[] {
    const raw = parse(readFileSync(new URL('../../../config/acgs-1.yaml', import.meta.url), 'utf8')) as Raw;
    change(raw);
    const parsed = parseFleetConfig(stringify(raw));
    return parsed.ok ? [] : parsed.problems.map((p) => ({ path: p.path, message: p.message }));
  }

  it('refuses schedules.canary without backups.archiving, naming the field', () => {
    // Act
    const problems = problemsOf((raw) => {
      raw.schedules.canary = { every: '1m' };
    });
    // Assess
    expect(problems).toEqual([
      {
        path: 'schedules.canary',
        message:
          'there is no backups.archiving: the canary dates point-in-time restores, and nothing writes it without an archive',
      },
    ]);
    expect(
      problemsOf((raw) => {
        raw.schedules.canary = { every: '1m' };
        raw.backups.archiving = {};
      }),
    ).toEqual([]);
  });

  it('refuses schedules.pitrDrill without backups.archiving, naming the field', () => {
    // Act
    const problems = problemsOf((raw) => {
      raw.schedules.pitrDrill = { cron: '0 5 * * 0' };
    });
    // Assess
    expect(problems).toEqual([
      {
        path: 'schedules.pitrDrill',
        message: 'there is no backups.archiving: the point-in-time restore drill restores the WAL archive',
      },
    ]);
  });

  it('refuses schedules.drill without backups.drill, naming the field', () => {
    // Act
    const problems = problemsOf((raw) => {
      delete raw.backups.drill;
    });
    // Assess
    expect(problems).toEqual([
      {
        path: 'schedules.drill',
        message: 'there is no backups.drill (its scratch database) to run the restore drill with',
      },
    ]);
  });

  it.each([
    ['equal to', 'backups/acgs_pgp_db/', 'is backups.s3Prefix (backups/acgs_pgp_db/)'],
    ['inside', 'backups/acgs_pgp_db/wal/', 'is inside backups.s3Prefix (backups/acgs_pgp_db/)'],
    ['around', 'backups/', 'contains backups.s3Prefix (backups/acgs_pgp_db/)'],
    [
      'inside the config archives of',
      'config-archives/wal/',
      'is inside backups.configArchive.s3Prefix (config-archives/)',
    ],
  ])('refuses an archiving.s3Prefix %s another backup prefix, naming the field', (_, prefix, relation) => {
    // Act
    const problems = problemsOf((raw) => {
      raw.backups.archiving = { s3Prefix: prefix };
    });
    // Assess
    expect(problems).toEqual([
      {
        path: 'backups.archiving.s3Prefix',
        message: `${prefix} ${relation}: each kind of object needs a prefix of its own, beside the others`,
      },
    ]);
  });

  it('refuses a configArchive.s3Prefix inside backups.s3Prefix, and takes prefixes that only share a start of a name', () => {
    // Act
    const inside = problemsOf((raw) => {
      raw.backups.configArchive = { s3Prefix: 'backups/acgs_pgp_db/config/' };
    });
    const beside = problemsOf((raw) => {
      raw.backups.s3Prefix = 'backups/db/';
      raw.backups.archiving = { s3Prefix: 'backups/db-wal/' };
      raw.backups.configArchive = { s3Prefix: 'backups/db-config/' };
    });
    // Assess
    expect(inside.map((p) => p.path)).toEqual(['backups.configArchive.s3Prefix']);
    expect(inside[0]?.message).toContain('is inside backups.s3Prefix (backups/acgs_pgp_db/)');
    expect(beside).toEqual([]);
  });
});
