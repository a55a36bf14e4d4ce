import { readdirSync, readFileSync } from 'node:fs';
import { parseSsmDocument, type SsmDocument } from '../../lambdas/core/ssm-document.ts';

/*
 * The shipped SSM documents in ssm-documents/, as the unit tests of the document model, the parameter tables, the
 * document patterns and the config read them, and a valid sample value for every parameter they declare.
 */

export const DOCUMENTS_DIR = new URL('../../ssm-documents/', import.meta.url);
/** The document files, `acgs-….yaml`, sorted. */
export const DOCUMENT_FILES = readdirSync(DOCUMENTS_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort();
/** The document names, the files without `.yaml`, sorted. */
export const DOCUMENT_NAMES = DOCUMENT_FILES.map((f) => f.replace(/\.yaml$/, '')).sort();

export function loadDocument(name: string): SsmDocument {
  const parsed = parseSsmDocument(readFileSync(new URL(`${name}.yaml`, DOCUMENTS_DIR), 'utf8'));
  if (!parsed.ok) throw new Error(`${name}: ${parsed.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
  return parsed.document;
}

/** A valid value for every parameter name the documents use. */
const VALID: Record<string, string> = {
  ServiceName: 'auth',
  Port: '8000',
  Directory: '/home/ops/ACGS-1/services/platform/authentication/auth_service',
  StartCommand: 'uvicorn app.main:app --host 0.0.0.0 --port 8000',
  LogFile: '/home/ops/ACGS-1/logs/auth_service.log',
  HealthUrl: 'http://127.0.0.1:8000/health',
  TimeoutSeconds: '60',
  GraceSeconds: '10',
  StateDirectory: '/var/lib/acgs-ops',
  Force: 'false',
  LogLines: '100',
  DatabaseHost: '127.0.0.1',
  DatabasePort: '5432',
  RedisHost: 'redis.internal',
  RedisPort: '6379',
  DatabaseName: 'acgs_pgp_db',
  DatabaseUser: 'acgs_user',
  PgpassFile: '/etc/acgs-ops/pgpass',
  PasswordSecretId: 'acgs-1/postgres',
  PasswordSecretField: 'password',
  Destination: '/var/backups/acgs-pgp',
  BackupId: 'acgs_pgp_db-20261201T020000Z',
  MinSizeBytes: '1024',
  ParallelJobs: '2',
  RestoreJobs: '2',
  KmsKeyId: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  PgBinDir: '/usr/lib/postgresql/15/bin',
  Source: 's3://acgs-backups/backups/acgs_pgp_db/acgs_pgp_db-20261201T020000Z.dump',
  ExpectedSha256: 'd3c0e679def75e96baf2afc217c287be75d35919cc38a9b57efec986ca2da602',
  ExpectedTableDataEntries: '42',
  ScratchDatabase: 'acgs_restore_drill',
  ProductionDatabase: 'acgs_pgp_db',
  StartedAt: '2026-12-01T02:00:00Z',
  ReportLocation:
    's3://acgs-backups/backups/acgs_pgp_db/acgs_pgp_db-20261201T020000Z-20261207T030000000Z.drill-report.json',
};
const VALID_BY_DOCUMENT: Record<string, Record<string, string>> = {
  'acgs-start-all': {
    Services:
      'auth 8000 /srv/acgs/auth /srv/acgs/logs/auth.log http://127.0.0.1:8000/health uvicorn app.main:app --port 8000,' +
      'fv 8003 /srv/acgs/fv /srv/acgs/logs/fv.log http://127.0.0.1:8003/health uvicorn main:app --port 8003',
  },
  'acgs-stop-all': { Services: 'auth 8000,fv 8003' },
};

// acgs-rolling-update: sample values for the generic document checks
VALID_BY_DOCUMENT['acgs-rolling-update'] = {
  Services: VALID_BY_DOCUMENT['acgs-start-all']?.Services ?? '',
  Update: 'git-pull',
  Branch: 'release/2026.1',
};

// acgs-wal-archiving and acgs-pitr-restore: sample values for the generic document checks
VALID_BY_DOCUMENT['acgs-wal-archiving'] = {
  Action: 'enable',
  ArchiveDirectory: '/var/backups/acgs-ops-archive',
  ScriptDirectory: '/usr/local/lib/acgs-ops',
  ArchiveTimeoutSeconds: '60',
  Restart: 'no',
  ServiceUnit: 'postgresql@15-main',
  BaseBackupId: 'base-20261201T020000Z',
  S3Archive: 's3://acgs-backups-123456789012/wal-archive/',
};
VALID_BY_DOCUMENT['acgs-pitr-restore'] = {
  ArchiveDirectory: '/var/backups/acgs-ops-archive',
  TargetTime: '2026-12-01T02:30:00.250Z',
  ScratchDirectory: '/var/lib/acgs-ops/pitr-scratch',
  ScratchPort: '55432',
  Mode: 'production',
  DataDirectory: '/var/lib/postgresql/15/main',
  SafetyDirectory: '/var/lib/postgresql/15',
  ServiceUnit: 'postgresql@15-main',
  Drill: 'yes',
  BaseBackupId: 'base-20261201T020000Z',
  S3Archive: 's3://acgs-backups-123456789012/wal-archive/',
  ReportLocation: 's3://acgs-backups-123456789012/backups/acgs_pgp_db/pitr-20261201T023000250Z.pitr-report.json',
};

// acgs-restore-database: sample values for the generic document checks
VALID_BY_DOCUMENT['acgs-restore-database'] = {
  Action: 'restore',
  SafetyDumpLocation: '/var/backups/acgs-ops/pre-restore/acgs_pgp_db-before-restore-20261207T030000Z.dump',
};

// acgs-config-archive: sample values for the generic document checks
VALID_BY_DOCUMENT['acgs-config-archive'] = {
  Action: 'archive',
  Paths: '/etc/acgs-ops',
  ServiceDirectories: '/home/ops/ACGS-1/services/platform/authentication/auth_service',
  UnitDirectory: '/etc/systemd/system',
  UnitPrefix: 'acgs-',
  ArchiveDirectory: '/var/backups/acgs-ops-config',
  ArchiveId: 'config-20261201T023000Z',
  Keep: '14',
  S3Destination: 's3://acgs-backups/config-archives/',
  TargetDirectory: '/var/lib/acgs-ops/config-restore',
  Overwrite: 'no',
};

/** A valid sample value for every parameter `doc` declares. */
export function validParameters(name: string, doc: SsmDocument): Record<string, string> {
  const values: Record<string, string> = {};
  for (const parameter of Object.keys(doc.parameters)) {
    const value = VALID_BY_DOCUMENT[name]?.[parameter] ?? VALID[parameter];
    if (value === undefined) throw new Error(`test has no valid sample for ${name}.${parameter}`);
    values[parameter] = value;
  }
  return values;
}
