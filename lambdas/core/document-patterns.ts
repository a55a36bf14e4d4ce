/**
 * The one definition of every kind of value that reaches an SSM document: the fleet config validates its fields
 * with these patterns, and each document's `allowedPattern` is the pattern of its parameter's kind (a test compares
 * the YAML files with DOCUMENT_PARAMETER_KINDS). So a config that loads can always be run.
 *
 * Every pattern excludes quotes, `$`, backquotes, `;`, `|`, `&`, redirections, globs, newlines and backslashes: the
 * documents substitute each value once, inside single quotes, and use it quoted afterwards. The sources are plain
 * regular expressions that both JavaScript and SSM (Java) read the same way: no lookarounds, no named groups.
 */

// ---------------------------------------------------------------------------------------------------------------
// Pieces, unanchored.

/** A path segment: not `.` or `..`, nor anything starting with two dots; letters, digits and `. _ -`. */
const SEGMENT = '\\.?[A-Za-z0-9_][A-Za-z0-9._-]*';
/** An absolute path without empty segments or a trailing `/`. */
const ABSOLUTE_PATH = `(/${SEGMENT})+`;
/** A TCP port from 1024 to 65535. */
const UNPRIVILEGED_PORT =
  '(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|102[4-9]|10[3-9][0-9]|1[1-9][0-9]{2}|[2-9][0-9]{3})';
/** A URL path segment: like SEGMENT, `~` allowed too, so `/.well-known/health` and `/~status` are paths. */
const URL_SEGMENT = '\\.?[A-Za-z0-9_~-][A-Za-z0-9._~-]*';
/** A health endpoint's path: `/`-separated URL segments, an optional trailing `/`; no query, no `..`. */
const URL_PATH = `(/${URL_SEGMENT})*/?`;
/** 1-65535, without leading zeros. */
const PORT = '(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})';
/** A DNS name or an IPv4 address. */
const HOST_NAME = '[A-Za-z0-9][A-Za-z0-9.-]{0,252}';
/** An IPv6 address (hex digits, at least one `:`, an IPv4 tail allowed), without brackets. */
const IPV6 = '[0-9A-Fa-f.]{0,39}:[0-9A-Fa-f:.]{0,44}';
const URL_HOST = `(${HOST_NAME}|\\[${IPV6}\\])`;
const SERVICE_NAME = '[a-z][a-z0-9-]{0,38}[a-z0-9]';
const HEALTH_URL = `https?://${URL_HOST}(:${PORT})?${URL_PATH}`;
/**
 * A program and its arguments separated by single spaces, in characters no shell reads specially. No comma: the
 * `Services` lists of the *-all documents separate services with commas.
 */
const START_COMMAND = '[A-Za-z0-9_./][A-Za-z0-9_./:=@%+-]*( [A-Za-z0-9_./:=@%+-]+)*';
/** A PostgreSQL identifier as the config and the documents take it unquoted: database and role names. */
const POSTGRES_NAME = '[A-Za-z_][A-Za-z0-9_]{0,62}';
/** `<database>-<UTC stamp>`; a database name may start with `_`, never with `-`. */
const BACKUP_ID = '[A-Za-z0-9_][A-Za-z0-9_-]{0,127}';
const BUCKET = '[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]';
/** An S3 key segment: like SEGMENT, never starting with `.`. */
const S3_SEGMENT = '[A-Za-z0-9_][A-Za-z0-9._-]*';
/** One service of a *-all document: `name port directory logFile healthUrl startCommand...`. */
const SERVICE_ENTRY = `${SERVICE_NAME} ${PORT} ${ABSOLUTE_PATH} ${ABSOLUTE_PATH} ${HEALTH_URL} ${START_COMMAND}`;
/** acgs-stop-all needs only `name port`; the rest of an entry is allowed so that start-all's list serves. */
const STOP_ENTRY = `${SERVICE_NAME} ${PORT}( ${ABSOLUTE_PATH} ${ABSOLUTE_PATH} ${HEALTH_URL} ${START_COMMAND})?`;
/**
 * A Secrets Manager secret name: AWS's characters (`/ _ + = . @ -`, and `!` of the secrets RDS manages, `rds!db-...`),
 * all inert inside single quotes, in segments separated by `/` or `.`: no empty, leading or `..` segment, so that no
 * value reads as a path outside, and no leading `-`, so that none reads as an option. The length (AWS: at most 512) is the parameter's maxChars and the config's max.
 */
const SECRET_NAME = '[A-Za-z0-9_+=@!][A-Za-z0-9_+=@!-]*([./][A-Za-z0-9_+=@!-]+)*';
const SECRET_ARN = `arn:aws[a-z-]{0,20}:secretsmanager:[a-z0-9-]{1,30}:[0-9]{12}:secret:${SECRET_NAME}`;
/** The field of a JSON secret holding the value (`password`, `username`). */
const SECRET_FIELD = '[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}';

const anchored = (source: string) => `^${source}$`;

// ---------------------------------------------------------------------------------------------------------------
// Kinds: the anchored pattern of every kind of document parameter.

export const DOCUMENT_PATTERNS = {
  serviceName: anchored(SERVICE_NAME),
  port: anchored(PORT),
  path: anchored(ABSOLUTE_PATH),
  /** A directory of tools, or empty for "found on PATH". */
  optionalPath: anchored(`(${ABSOLUTE_PATH})?`),
  healthUrl: anchored(HEALTH_URL),
  startCommand: anchored(START_COMMAND),
  serviceList: anchored(`${SERVICE_ENTRY}(,${SERVICE_ENTRY})*`),
  stopServiceList: anchored(`${STOP_ENTRY}(,${STOP_ENTRY})*`),
  /** A host a client connects to by name or address: libpq, redis-cli (IPv6 without brackets). */
  address: anchored(`(${HOST_NAME}|${IPV6})`),
  postgresName: anchored(POSTGRES_NAME),
  timeoutSeconds: anchored('[1-9][0-9]{0,3}'),
  /** No leading zero: the documents do bash arithmetic, which reads 08 as bad octal and 010 as 8. */
  graceSeconds: anchored('(0|[1-9][0-9]{0,2})'),
  logLines: anchored('[1-9][0-9]{0,3}'),
  byteCount: anchored('[1-9][0-9]{0,11}'),
  entryCount: anchored('(0|[1-9][0-9]{0,8})'),
  /** Parallel workers of pg_dump or pg_restore (--jobs): 1-32. */
  jobCount: anchored('([1-9]|[1-2][0-9]|3[0-2])'),
  backupId: anchored(BACKUP_ID),
  /** Where a backup is published: a local directory or an S3 prefix ending in `/`. */
  destination: anchored(`(${ABSOLUTE_PATH}|s3://${BUCKET}/(${S3_SEGMENT}/)*)`),
  /** A published dump: `<directory>/<backupId>.dump` or `s3://bucket/prefix/<backupId>.dump`. */
  dumpSource: anchored(`((/${SEGMENT})*|s3://${BUCKET}(/${S3_SEGMENT})*)/${BACKUP_ID}\\.dump`),
  /**
   * Where the drill writes its full report, or empty for "printed only": `<directory>/<name>.drill-report.json` or
   * `s3://bucket/prefix/<name>.drill-report.json`, the name a backup id and the drill's start.
   */
  reportLocation: anchored(`(((/${SEGMENT})*|s3://${BUCKET}(/${S3_SEGMENT})*)/${BACKUP_ID}\\.drill-report\\.json)?`),
  /**
   * Where a point-in-time restore also writes its full report (AWS), or empty for "printed only":
   * `s3://bucket/prefix/<name>.pitr-report.json`.
   */
  pitrReportLocation: anchored(`(s3://${BUCKET}(/${S3_SEGMENT})*/${BACKUP_ID}\\.pitr-report\\.json)?`),
  /** Where a restore leaves the safety dump of the current database, on the database host: `<directory>/<name>.dump`. */
  safetyDumpLocation: anchored(`(/${SEGMENT})*/${BACKUP_ID}\\.dump`),
  sha256: anchored('[0-9a-f]{64}'),
  kmsKeyId: anchored(
    '(|[A-Za-z0-9][A-Za-z0-9-]{0,63}|alias/[A-Za-z0-9/_-]{1,250}|arn:aws[a-z-]{0,20}:kms:[a-z0-9-]{1,30}:[0-9]{12}:(key/[A-Za-z0-9-]{1,64}|alias/[A-Za-z0-9/_-]{1,250}))',
  ),
  gitBranch: anchored(
    '[A-Za-z0-9_][A-Za-z0-9_-]*(\\.[A-Za-z0-9_-]+)*(/[A-Za-z0-9_][A-Za-z0-9_-]*(\\.[A-Za-z0-9_-]+)*)*',
  ),
  /** When the control plane started a backup or drill, UTC to the second; empty: the host's clock. */
  optionalInstant: anchored('([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)?'),
  /** A Secrets Manager secret (name or ARN) holding the database password; empty: the pgpass file. */
  optionalSecretId: anchored(`(${SECRET_NAME}|${SECRET_ARN})?`),
  /** The field of a JSON secret holding the password; empty: the whole secret is the password. */
  optionalSecretField: anchored(`(${SECRET_FIELD})?`),
  /** PostgreSQL's archive_timeout in seconds: 1-3600. */
  archiveTimeoutSeconds: anchored('([1-9]|[1-9][0-9]|[1-9][0-9]{2}|[1-2][0-9]{3}|3[0-5][0-9]{2}|3600)'),
  /** A systemd unit restarting PostgreSQL; empty: pg_ctl restart. */
  optionalServiceUnit: anchored('([A-Za-z0-9][A-Za-z0-9:_.@-]{0,127})?'),
  /** A base backup's id; empty: a new one (archiving) or the newest that fits (PITR). */
  optionalBackupId: anchored(`(${BACKUP_ID})?`),
  /** Where a point-in-time restore stops: `latest`, or a UTC instant to the microsecond at most. */
  restoreTarget: anchored('(latest|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,6})?Z)'),
  /** A scratch cluster's port: 1024-65535 (no privileged port). */
  scratchPort: anchored(UNPRIVILEGED_PORT),
  /** acgs-pitr-restore's ScratchPort: empty outside Mode scratch. */
  optionalScratchPort: anchored(`${UNPRIVILEGED_PORT}?`),
  /** Absolute paths separated by commas (a config archive's Paths and ServiceDirectories); empty: none. */
  optionalPathList: anchored(`(${ABSOLUTE_PATH}(,${ABSOLUTE_PATH})*)?`),
  /** The prefix of the fleet's systemd unit names (`acgs-`); empty: no units. */
  optionalUnitPrefix: anchored('([A-Za-z0-9][A-Za-z0-9_.@-]{0,63})?'),
  /** How many archives to keep: 1-999. */
  keepCount: anchored('[1-9][0-9]{0,2}'),
  /** An S3 prefix to copy to, `s3://bucket/prefix/`; empty: none. */
  optionalS3Destination: anchored(`(s3://${BUCKET}/(${S3_SEGMENT}/)*)?`),
} as const;

export type DocumentValueKind = keyof typeof DOCUMENT_PATTERNS;

const SERVICE = { ServiceName: 'serviceName', Port: 'port' } as const;
const START = {
  ...SERVICE,
  Directory: 'path',
  StartCommand: 'startCommand',
  LogFile: 'path',
  HealthUrl: 'healthUrl',
  TimeoutSeconds: 'timeoutSeconds',
  StateDirectory: 'path',
} as const;
const DATABASE = {
  DatabaseHost: 'address',
  DatabasePort: 'port',
  DatabaseUser: 'postgresName',
  PgpassFile: 'optionalPath',
  PasswordSecretId: 'optionalSecretId',
  PasswordSecretField: 'optionalSecretField',
  PgBinDir: 'optionalPath',
  TimeoutSeconds: 'timeoutSeconds',
} as const;

/**
 * The kind of every parameter with an `allowedPattern`, per document (parameters with `allowedValues` only, such
 * as Force and Update, are not listed).
 */
export const DOCUMENT_PARAMETER_KINDS: Readonly<Record<string, Readonly<Record<string, DocumentValueKind>>>> = {
  'acgs-start-service': START,
  'acgs-restart-service': { ...START, GraceSeconds: 'graceSeconds' },
  'acgs-stop-service': { ...SERVICE, GraceSeconds: 'graceSeconds' },
  'acgs-isolate-service': { ...SERVICE, GraceSeconds: 'graceSeconds', StateDirectory: 'path' },
  'acgs-release-service': { ServiceName: 'serviceName', StateDirectory: 'path' },
  'acgs-collect-diagnostics': {
    ...SERVICE,
    LogFile: 'path',
    HealthUrl: 'healthUrl',
    LogLines: 'logLines',
    DatabaseHost: 'address',
    DatabasePort: 'port',
    RedisHost: 'address',
    RedisPort: 'port',
  },
  'acgs-start-all': { Services: 'serviceList', TimeoutSeconds: 'timeoutSeconds', StateDirectory: 'path' },
  'acgs-stop-all': { Services: 'stopServiceList', GraceSeconds: 'graceSeconds' },
  'acgs-rolling-update': {
    Services: 'serviceList',
    Branch: 'gitBranch',
    TimeoutSeconds: 'timeoutSeconds',
    GraceSeconds: 'graceSeconds',
    StateDirectory: 'path',
  },
  'acgs-backup-database': {
    ...DATABASE,
    DatabaseName: 'postgresName',
    Destination: 'destination',
    BackupId: 'backupId',
    MinSizeBytes: 'byteCount',
    KmsKeyId: 'kmsKeyId',
    StartedAt: 'optionalInstant',
    ParallelJobs: 'jobCount',
  },
  'acgs-restore-drill': {
    ...DATABASE,
    Source: 'dumpSource',
    ExpectedSha256: 'sha256',
    ExpectedTableDataEntries: 'entryCount',
    ScratchDatabase: 'postgresName',
    ProductionDatabase: 'postgresName',
    StartedAt: 'optionalInstant',
    ReportLocation: 'reportLocation',
    KmsKeyId: 'kmsKeyId',
    RestoreJobs: 'jobCount',
  },
  'acgs-restore-database': {
    ...DATABASE,
    Source: 'dumpSource',
    ExpectedSha256: 'sha256',
    ExpectedTableDataEntries: 'entryCount',
    DatabaseName: 'postgresName',
    SafetyDumpLocation: 'safetyDumpLocation',
    RestoreJobs: 'jobCount',
  },
  'acgs-wal-archiving': {
    ...DATABASE,
    DatabaseName: 'postgresName',
    ArchiveDirectory: 'path',
    S3Archive: 'optionalS3Destination',
    KmsKeyId: 'kmsKeyId',
    ScriptDirectory: 'path',
    ArchiveTimeoutSeconds: 'archiveTimeoutSeconds',
    ServiceUnit: 'optionalServiceUnit',
    BaseBackupId: 'optionalBackupId',
  },
  'acgs-pitr-restore': {
    ArchiveDirectory: 'path',
    S3Archive: 'optionalS3Destination',
    TargetTime: 'restoreTarget',
    ScratchDirectory: 'optionalPath',
    ScratchPort: 'optionalScratchPort',
    DataDirectory: 'optionalPath',
    SafetyDirectory: 'optionalPath',
    ServiceUnit: 'optionalServiceUnit',
    DatabaseUser: 'postgresName',
    DatabaseName: 'postgresName',
    BaseBackupId: 'optionalBackupId',
    PgBinDir: 'optionalPath',
    TimeoutSeconds: 'timeoutSeconds',
    ReportLocation: 'pitrReportLocation',
  },
  'acgs-config-archive': {
    Paths: 'optionalPathList',
    ServiceDirectories: 'optionalPathList',
    UnitDirectory: 'path',
    UnitPrefix: 'optionalUnitPrefix',
    ArchiveDirectory: 'path',
    ArchiveId: 'optionalBackupId',
    Keep: 'keepCount',
    S3Destination: 'optionalS3Destination',
    KmsKeyId: 'kmsKeyId',
    TargetDirectory: 'optionalPath',
    TimeoutSeconds: 'timeoutSeconds',
  },
};

// ---------------------------------------------------------------------------------------------------------------
// The config's side: the fields the document values are made of, with the same pieces.

export const CONFIG_PATTERNS = {
  serviceName: DOCUMENT_PATTERNS.serviceName,
  /** `fleet.root`, `fleet.hostStateDirectory`, `backups.localDirectory`, `backups.pgpassFile`. */
  absolutePath: DOCUMENT_PATTERNS.path,
  /** A service's `directory` and `logFile`: relative to `fleet.root`, or absolute. */
  servicePath: anchored(`/?${SEGMENT}(/${SEGMENT})*`),
  /** A service's or a check's `host`: a name, an IPv4 address, or an IPv6 address with or without brackets. */
  host: anchored(`(${HOST_NAME}|${IPV6}|\\[${IPV6}\\])`),
  healthPath: anchored(URL_PATH),
  startCommand: DOCUMENT_PATTERNS.startCommand,
  postgresName: DOCUMENT_PATTERNS.postgresName,
  /** `backups.s3Prefix`: key segments, each ending in `/`. */
  s3Prefix: anchored(`(${S3_SEGMENT}/)+`),
  /** A check's `passwordSecret.id`: a Secrets Manager secret name or ARN. */
  secretId: anchored(`(${SECRET_NAME}|${SECRET_ARN})`),
  secretField: anchored(SECRET_FIELD),
} as const;

/** The most `backups.parallelJobs` and `backups.restoreJobs` the documents take (their jobCount pattern). */
export const MAX_JOB_COUNT = 32;

/** The largest `backups.minSizeBytes` the backup document takes (its byteCount pattern: up to 12 digits). */
export const MAX_BYTE_COUNT = 999_999_999_999;

/**
 * The most characters the configuration archive's path lists (Paths, ServiceDirectories) may hold. Here, not in the
 * config schema, so the Lambdas that send acgs-config-archive check it without bundling the schema.
 */
export const CONFIG_ARCHIVE_LIST_MAX_CHARS = 4000;

/** How each config pattern is described in an error message. */
export const CONFIG_PATTERN_HINTS: Readonly<Record<keyof typeof CONFIG_PATTERNS, string>> = {
  serviceName: 'must be lower-case letters, digits and dashes, 2-40 characters',
  absolutePath:
    'must be an absolute path of letters, digits and . _ - (no spaces, no empty, . or .. segments, no trailing /)',
  servicePath:
    'must be a path, relative to fleet.root or absolute, of letters, digits and . _ - (no spaces, no empty, . or .. segments, no trailing /)',
  host: 'must be a host name, an IPv4 address or an IPv6 address',
  healthPath:
    'must be a URL path starting with / of letters, digits and . _ ~ - (no query, no empty, . or .. segments)',
  startCommand:
    'must be a program and its arguments separated by single spaces, in letters, digits and . _ / : = @ % + - (no quotes, commas or shell syntax: wrap anything else in a script)',
  postgresName: 'must be a PostgreSQL name: letters, digits and _, not starting with a digit, at most 63 characters',
  s3Prefix: 'must be a key prefix ending in /, of segments of letters, digits and . _ - (not starting with .)',
  secretId:
    'must be a Secrets Manager secret name (letters, digits and _ + = @ ! -, in segments separated by / or ., at most 512 characters) or a secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)',
  secretField:
    'must be a JSON field name of letters, digits and _ . - (not starting with . or -), at most 64 characters',
};
