import type { DocumentValueKind } from '../../lambdas/core/document-patterns.ts';

/*
 * Values of every document parameter kind (lambdas/core/document-patterns.ts), valid and invalid: the unit tests
 * of the patterns and of the service names an operator types (lambdas/core/operator-input.ts) both check them.
 */

const SHA256 = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';
const ENTRY =
  'auth 8000 /srv/acgs/auth /srv/acgs/logs/auth.log http://127.0.0.1:8000/health uvicorn app.main:app --port 8000';

/**
 * Realistic values per kind, every kind (the type makes a missing one a compile error): what each document
 * parameter of that kind must take, and must refuse.
 */
export const VALUES: Record<DocumentValueKind, { valid: string[]; invalid: string[] }> = {
  serviceName: {
    valid: ['auth', 'pgc', 'acgs-1', 'a'.repeat(40)],
    invalid: ['a', 'Auth', '-auth', 'auth-', 'auth_svc', 'auth;x', 'a'.repeat(41), ''],
  },
  port: {
    valid: ['1', '80', '8000', '65535'],
    invalid: ['0', '65536', '08000', '-1', '80a', ''],
  },
  path: {
    valid: ['/var/lib/acgs-ops', '/home/ops/.pgpass', '/srv/acgs_1.2/logs/auth.log'],
    invalid: ['/', '/var/lib/acgs-ops/', '/var//lib', '/etc/../shadow', '/a/./b', 'relative/path', '/a b', "/a'b"],
  },
  optionalPath: {
    valid: ['', '/usr/lib/postgresql/16/bin'],
    invalid: ['/', 'bin', '/usr/bin/', '/usr/../bin'],
  },
  healthUrl: {
    valid: [
      'http://127.0.0.1:8000/health',
      'https://auth.internal/.well-known/health',
      'http://[::1]:8000/',
      'http://localhost:8000',
      'http://h:1/~status/',
    ],
    invalid: [
      'http://h:8000/../admin',
      'http://h:8000/health?x=1',
      'http://h:8000//health',
      'http://-h:1/',
      'ftp://h/',
    ],
  },
  startCommand: {
    valid: ['uvicorn app.main:app --host 0.0.0.0 --port 8000', './run --cpu 50% @prod', '/usr/bin/node server.js'],
    invalid: ['./run; reboot', './run --hosts a,b', './run  x', ' ./run', './run "x"', './run $HOME', './run > log'],
  },
  serviceList: {
    valid: [ENTRY, `${ENTRY},${ENTRY.replace('auth', 'pgc')}`],
    invalid: ['auth 8000', `${ENTRY},`, `${ENTRY};reboot`, ENTRY.replace('8000 ', '0 ')],
  },
  stopServiceList: {
    valid: ['auth 8000', 'auth 8000,pgc 8001', ENTRY, `auth 8000,${ENTRY}`],
    invalid: ['auth', 'auth 0', 'auth 8000;reboot', 'auth 8000,', 'auth  8000'],
  },
  address: {
    valid: ['127.0.0.1', 'db.internal', '::1', 'fe80::1', '::ffff:10.0.0.1'],
    invalid: ['[::1]', '-db', 'db;reboot', 'db host', ''],
  },
  optionalSecretId: {
    valid: [
      '',
      'acgs-1/postgres',
      'rds_db-1234abcd',
      'a+b=c.d@e_f-g/h',
      'rds!db-0123abcd-4567-89ef',
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:acgs-1/postgres-AbCdEf',
      'a'.repeat(512),
    ],
    invalid: [
      "acgs'x",
      'acgs 1',
      'a;b',
      'a$b',
      '../../etc/passwd',
      'acgs-1/../x',
      '-',
      '--debug',
      '/acgs',
      'acgs/',
      'a*',
      'arn:aws:secretsmanager:eu-west-1:12345:secret:x',
    ],
  },
  optionalSecretField: {
    valid: ['', 'password', 'username', 'db.password', 'a'.repeat(64)],
    invalid: ['pass word', "pass'", 'a'.repeat(65), 'a:b', '-', '.password'],
  },
  postgresName: {
    valid: ['acgs_pgp_db', 'postgres', '_scratch', 'a'.repeat(63)],
    invalid: ['1db', 'db-name', 'db;x', 'a'.repeat(64), ''],
  },
  timeoutSeconds: {
    valid: ['1', '300', '9999'],
    invalid: ['0', '05', '10000', '-1', ''],
  },
  graceSeconds: {
    // No leading zero: bash arithmetic reads 08 and 09 as bad octal and 010 as 8.
    valid: ['0', '5', '30', '999'],
    invalid: ['08', '09', '010', '00', '1000', '-1', '1.5', ''],
  },
  logLines: {
    valid: ['1', '200', '9999'],
    invalid: ['0', '01', '10000', ''],
  },
  byteCount: {
    valid: ['1', '1024', '999999999999'],
    invalid: ['0', '01', '1000000000000', '1e6', ''],
  },
  entryCount: {
    valid: ['0', '1', '123456789'],
    invalid: ['00', '01', '1234567890', '-1', ''],
  },
  jobCount: {
    valid: ['1', '2', '9', '10', '29', '32'],
    invalid: ['0', '01', '33', '40', '100', '-1', '', '2 ', '4;'],
  },
  backupId: {
    valid: ['acgs_pgp_db-20261201T020000Z', '_acgs-20261201T020000Z'],
    invalid: ['-x', 'a.b', 'a/b', ''],
  },
  destination: {
    valid: ['/var/backups/acgs-pgp', 's3://acgs-backups/', 's3://acgs-backups/backups/acgs_pgp_db/'],
    invalid: ['/var/backups/', 's3://acgs-backups/backups', 's3://Bad_Bucket/', 's3://acgs-backups/../', 'backups', ''],
  },
  dumpSource: {
    valid: ['/var/backups/acgs/_acgs-20261201T020000Z.dump', 's3://acgs-backups/backups/db/db-20261201T020000Z.dump'],
    invalid: ['/var/backups/../db-1.dump', 's3://acgs-backups/../db-1.dump', '/var/backups/db-1.sql'],
  },
  reportLocation: {
    valid: [
      '',
      '/var/backups/acgs/acgs_pgp_db-20261201T020000Z-20261207T030000000Z.drill-report.json',
      's3://acgs-backups/backups/db/db-20261201T020000Z-20261207T030000000Z.drill-report.json',
    ],
    invalid: [
      '/var/backups/../db-1.drill-report.json',
      's3://acgs-backups/../db-1.drill-report.json',
      '/var/backups/db-1.drill.json',
      'db-1.drill-report.json',
      '/var/backups/db 1.drill-report.json',
      "/var/backups/db';rm -rf ~;'.drill-report.json",
    ],
  },
  pitrReportLocation: {
    valid: [
      '',
      's3://acgs-backups/backups/db/pitr-20261207T030000000Z.pitr-report.json',
      's3://acgs-backups/x.pitr-report.json',
    ],
    invalid: [
      '/var/backups/acgs/pitr-1.pitr-report.json',
      's3://acgs-backups/../pitr-1.pitr-report.json',
      's3://acgs-backups/backups/pitr-1.drill-report.json',
      's3://acgs-backups/backups/pitr 1.pitr-report.json',
      "s3://acgs-backups/x';rm -rf ~;'.pitr-report.json",
      's3://acgs-backups/',
    ],
  },
  safetyDumpLocation: {
    valid: ['/var/backups/acgs-ops/pre-restore/acgs_pgp_db-before-restore-20261207T030000Z.dump', '/x.dump'],
    invalid: ['', '/var/backups/../x.dump', 'relative/x.dump', '/var/x.sql', 's3://bucket/x.dump', '/var/ x.dump'],
  },
  sha256: {
    valid: [SHA256],
    invalid: [SHA256.toUpperCase(), SHA256.slice(1), `${SHA256}0`, ''],
  },
  kmsKeyId: {
    valid: [
      '',
      '1234abcd-12ab-34cd-56ef-1234567890ab',
      'alias/acgs-backups',
      'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      'arn:aws-us-gov:kms:us-gov-west-1:123456789012:alias/acgs',
    ],
    invalid: ['alias/', '-key', 'key;rm', 'alias/a b', 'arn:aws:kms:eu-west-1:12345:key/x'],
  },
  gitBranch: {
    valid: ['main', 'release/1.2', 'feature/x_y-z', 'v2.0.1'],
    invalid: ['-x', '.hidden', 'a..b', 'a.', 'a/', 'a//b', 'a/.b', 'a b', 'a;b', '$(id)', ''],
  },
  archiveTimeoutSeconds: {
    valid: ['1', '9', '60', '999', '2999', '3599', '3600'],
    invalid: ['', '0', '01', '3601', '4000', '60s', '-1', '1e3'],
  },
  optionalServiceUnit: {
    valid: ['', 'postgresql', 'postgresql@15-main.service', 'a'.repeat(128)],
    invalid: ['-x', 'pg sql', "pg'", 'a'.repeat(129), 'pg;x', 'pg/x'],
  },
  optionalBackupId: {
    valid: ['', 'base-20261203T190000Z', '_a', 'a'.repeat(128)],
    invalid: ['-a', 'a b', 'a.b', 'a/b', 'a'.repeat(129)],
  },
  restoreTarget: {
    valid: ['latest', '2026-12-03T19:00:00Z', '2026-12-03T19:00:00.123456Z'],
    invalid: ['', 'now', 'Latest', '2026-12-03T19:00:00', '2026-12-03T19:00:00.1234567Z', '2026-12-03 19:00:00Z'],
  },
  scratchPort: {
    valid: ['1024', '1099', '1100', '5432', '9999', '10000', '55432', '65535'],
    invalid: ['', '0', '22', '1023', '65536', '05432', '5432x'],
  },
  optionalScratchPort: {
    valid: ['', '1024', '55432', '65535'],
    invalid: ['0', '22', '1023', '65536', '05432', '5432x'],
  },
  optionalInstant: {
    valid: ['', '2026-12-03T02:00:00Z', '1999-01-31T23:59:59Z'],
    invalid: [
      '2026-12-03',
      '2026-12-03T02:00:00',
      '2026-12-03T02:00:00.123Z',
      '2026-12-03 02:00:00Z',
      '$(date)',
      'now',
    ],
  },
  optionalPathList: {
    valid: ['', '/etc/acgs-ops', '/etc/acgs-ops,/srv/acgs/auth', '/a/.hidden,/b'],
    invalid: ['etc', '/etc/', '/etc,', ',/etc', '/etc,,/srv', '/etc, /srv', '/etc/../x', '/etc/*', '/a;b'],
  },
  optionalUnitPrefix: {
    valid: ['', 'acgs-', 'acgs', 'acgs@', 'a'.repeat(64)],
    invalid: ['-acgs', 'acgs*', 'ac gs', 'acgs/', '.acgs', 'a'.repeat(65)],
  },
  keepCount: {
    valid: ['1', '14', '999'],
    invalid: ['', '0', '014', '1000', '-1', '1e2'],
  },
  optionalS3Destination: {
    valid: ['', 's3://acgs-backups/', 's3://acgs-backups/config-archives/', 's3://acgs.backups/a/b/'],
    invalid: ['s3://acgs-backups', 's3://acgs-backups/x', 's3://Acgs/', 's3://acgs-backups/../', '/local/dir'],
  },
};
