import { z } from 'zod';
import type { BackupManifest } from './backup-policy.ts';
import type { BackupConfig, FleetConfig } from './config-schema.ts';
import { ControlPlaneError, NotFoundError } from './errors.ts';
import { encodeServiceList, serviceCommandSpec } from './service-list.ts';
import { parseYamlWithSchema, type YamlProblem } from './yaml-schema.ts';

/**
 * SSM Command documents (`ssm-documents/*.yaml`): the model, parameter validation and SSM-style substitution.
 * Pure: callers read the files. The same documents run through SSM Run Command in AWS and through the local
 * ShellCommandRunner, so this module follows the SSM agent's rules where it matters: `{{ Name }}` with any
 * whitespace inside the braces, defaults for missing parameters, unknown parameters rejected, and a StringList
 * embedded in text rendered as a JSON array.
 */

/** SSM parameter names: letters and digits only. */
const PARAMETER_NAME = /^[A-Za-z0-9]+$/;
/** Any `{{ ... }}` placeholder; a name that is not a declared parameter is a document error. */
const PLACEHOLDER = /\{\{\s*([^{}\s]*)\s*\}\}/g;

const parameterSchema = z
  .strictObject({
    type: z.enum(['String', 'StringList']),
    description: z.string().min(1),
    default: z.union([z.string(), z.array(z.string())]).optional(),
    allowedPattern: z.string().min(1).optional(),
    allowedValues: z.array(z.string()).min(1).optional(),
    minChars: z.int().min(0).optional(),
    maxChars: z.int().min(1).optional(),
    minItems: z.int().min(0).optional(),
    maxItems: z.int().min(1).optional(),
    displayType: z.enum(['textarea', 'textfield']).optional(),
  })
  .superRefine((p, ctx) => {
    if (p.allowedPattern === undefined && p.allowedValues === undefined)
      ctx.addIssue({
        code: 'custom',
        message: 'needs allowedPattern or allowedValues: every value must be constrained',
      });
    if (p.allowedPattern !== undefined) {
      const problem = patternProblem(p.allowedPattern);
      if (problem) ctx.addIssue({ code: 'custom', path: ['allowedPattern'], message: problem });
    }
    if (p.default !== undefined && Array.isArray(p.default) !== (p.type === 'StringList'))
      ctx.addIssue({
        code: 'custom',
        path: ['default'],
        message: `must be a ${p.type === 'String' ? 'string' : 'list'}`,
      });
  });

const stepSchema = z.strictObject({
  action: z.literal('aws:runShellScript'),
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'must be 1-128 letters, digits, _ . or -'),
  precondition: z.strictObject({ StringEquals: z.tuple([z.literal('platformType'), z.literal('Linux')]) }).optional(),
  inputs: z.strictObject({
    runCommand: z.array(z.string()).min(1),
    timeoutSeconds: z.union([z.string(), z.int().min(1)]).optional(),
    workingDirectory: z.string().optional(),
  }),
});

const documentSchema = z
  .strictObject({
    schemaVersion: z.literal('2.2'),
    description: z.string().min(1),
    parameters: z.record(z.string().regex(PARAMETER_NAME, 'parameter names are letters and digits'), parameterSchema),
    mainSteps: z.tuple([stepSchema], { error: 'must be exactly one aws:runShellScript step' }),
  })
  .superRefine((doc, ctx) => {
    for (const [name, p] of Object.entries(doc.parameters)) {
      if (p.default === undefined) continue;
      for (const problem of valueProblems(p, p.default))
        ctx.addIssue({ code: 'custom', path: ['parameters', name, 'default'], message: problem });
    }
    const text = doc.mainSteps[0].inputs.runCommand.join('\n');
    const used = new Set<string>();
    for (const match of text.matchAll(PLACEHOLDER)) {
      const name = match[1] ?? '';
      used.add(name);
      if (!Object.hasOwn(doc.parameters, name))
        ctx.addIssue({
          code: 'custom',
          path: ['mainSteps', 0, 'inputs', 'runCommand'],
          message: `placeholder ${match[0]} is not a declared parameter`,
        });
    }
    const leftover = text.replace(PLACEHOLDER, '');
    if (leftover.includes('{{') || leftover.includes('}}'))
      ctx.addIssue({
        code: 'custom',
        path: ['mainSteps', 0, 'inputs', 'runCommand'],
        message: 'has a {{ or }} that is not a well-formed {{ Name }} placeholder',
      });
    for (const name of Object.keys(doc.parameters))
      if (!used.has(name))
        ctx.addIssue({
          code: 'custom',
          path: ['parameters', name],
          message: 'is declared but never used in the script',
        });
  });

export type SsmParameter = z.output<typeof parameterSchema>;
export type SsmDocument = z.output<typeof documentSchema>;

/** One problem in a document file, named by its field path and, where the parser knows it, its line. */
export type DocumentProblem = YamlProblem;

export type DocumentParseResult =
  | { readonly ok: true; readonly document: SsmDocument }
  | { readonly ok: false; readonly problems: readonly DocumentProblem[] };

/** Parses and validates an SSM Command document written in YAML (or JSON). */
export function parseSsmDocument(text: string): DocumentParseResult {
  const parsed = parseYamlWithSchema(text, documentSchema);
  return parsed.ok ? { ok: true, document: parsed.value } : parsed;
}

/** A parameter value the document does not accept, named by its parameter. */
export interface ParameterError {
  readonly parameter: string;
  readonly message: string;
}

/**
 * Checks request parameters against a document as SSM does before running anything: every parameter without a
 * default is required, unknown parameters are rejected, values must match `allowedPattern` (the whole value) or be
 * one of `allowedValues`, within `minChars`/`maxChars`. A StringList value is given as comma-separated items (as on
 * the AWS CLI), each item checked on its own.
 */
export function validateParameters(doc: SsmDocument, params: Readonly<Record<string, string>>): ParameterError[] {
  const errors: ParameterError[] = [];
  for (const name of Object.keys(params).sort())
    if (!Object.hasOwn(doc.parameters, name))
      errors.push({ parameter: name, message: 'is not a parameter of this document' });
  for (const [name, p] of Object.entries(doc.parameters)) {
    const value = Object.hasOwn(params, name) ? params[name] : undefined;
    if (value === undefined) {
      if (p.default === undefined) errors.push({ parameter: name, message: 'is required' });
      continue;
    }
    const items = p.type === 'StringList' ? value.split(',') : value;
    for (const message of valueProblems(p, items)) errors.push({ parameter: name, message });
  }
  return errors;
}

/**
 * The document's script with every `{{ Name }}` replaced by its value (or default), after validation. One pass:
 * a value is never scanned for further placeholders.
 * @throws ControlPlaneError `SSM_INVALID_PARAMETERS` when `validateParameters` reports anything.
 */
export function renderScript(doc: SsmDocument, params: Readonly<Record<string, string>>): string {
  const errors = validateParameters(doc, params);
  if (errors.length > 0)
    throw new ControlPlaneError('SSM_INVALID_PARAMETERS', `invalid parameters: ${formatParameterErrors(errors)}`);
  const values = new Map<string, string>();
  for (const [name, p] of Object.entries(doc.parameters)) {
    const given = Object.hasOwn(params, name) ? params[name] : undefined;
    const raw = given === undefined ? p.default : p.type === 'StringList' ? given.split(',') : given;
    values.set(name, typeof raw === 'string' ? raw : JSON.stringify(raw ?? []));
  }
  return doc.mainSteps[0].inputs.runCommand
    .join('\n')
    .replace(PLACEHOLDER, (whole, name: string) => values.get(name) ?? whole);
}

export function formatParameterErrors(errors: readonly ParameterError[]): string {
  return errors.map((e) => `${e.parameter} ${e.message}`).join('; ');
}

function patternProblem(pattern: string): string | undefined {
  if (!pattern.startsWith('^') || !pattern.endsWith('$') || pattern.endsWith('\\$'))
    return 'must be anchored: start with ^ and end with $';
  try {
    new RegExp(pattern);
    return undefined;
  } catch (error) {
    return `is not a valid regular expression (${error instanceof Error ? error.message : String(error)})`;
  }
}

function valueProblems(p: SsmParameter, value: string | readonly string[]): string[] {
  const problems: string[] = [];
  const items = typeof value === 'string' ? [value] : value;
  if (p.type === 'StringList') {
    if (p.minItems !== undefined && items.length < p.minItems) problems.push(`needs at least ${p.minItems} items`);
    if (p.maxItems !== undefined && items.length > p.maxItems) problems.push(`takes at most ${p.maxItems} items`);
  }
  const pattern = p.allowedPattern === undefined ? undefined : new RegExp(p.allowedPattern);
  for (const item of items) {
    const shown = show(item);
    if (pattern && !pattern.test(item)) problems.push(`${shown} does not match ${p.allowedPattern}`);
    if (p.allowedValues && !p.allowedValues.includes(item))
      problems.push(`${shown} is not one of ${p.allowedValues.join(', ')}`);
    if (p.maxChars !== undefined && item.length > p.maxChars)
      problems.push(`is ${item.length} characters long, more than the ${p.maxChars} allowed`);
    if (p.minChars !== undefined && item.length < p.minChars)
      problems.push(`is ${item.length} characters long, fewer than the ${p.minChars} required`);
  }
  return problems;
}

/** A value quoted for an error message, shortened: values may be long or hostile. */
function show(value: string): string {
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}..."` : text;
}

// ---------------------------------------------------------------------------------------------------------------
// Parameters for the ACGS documents, derived from the fleet config.

/** The documents that act on one service, and the parameters each declares (checked against the files by a test). */
export const SERVICE_DOCUMENT_PARAMETERS = {
  'acgs-start-service': [
    'ServiceName',
    'Port',
    'Directory',
    'StartCommand',
    'LogFile',
    'HealthUrl',
    'TimeoutSeconds',
    'StateDirectory',
    'Force',
  ],
  'acgs-restart-service': [
    'ServiceName',
    'Port',
    'Directory',
    'StartCommand',
    'LogFile',
    'HealthUrl',
    'TimeoutSeconds',
    'GraceSeconds',
    'StateDirectory',
    'Force',
  ],
  'acgs-stop-service': ['ServiceName', 'Port', 'GraceSeconds'],
  'acgs-isolate-service': ['ServiceName', 'Port', 'GraceSeconds', 'StateDirectory'],
  'acgs-release-service': ['ServiceName', 'StateDirectory'],
  'acgs-collect-diagnostics': [
    'ServiceName',
    'Port',
    'LogFile',
    'HealthUrl',
    'LogLines',
    'DatabaseHost',
    'DatabasePort',
    'RedisHost',
    'RedisPort',
  ],
} as const;

/** The documents that act on a list of services, and their parameters. */
export const FLEET_DOCUMENT_PARAMETERS = {
  'acgs-start-all': ['Services', 'TimeoutSeconds', 'StateDirectory'],
  'acgs-stop-all': ['Services', 'GraceSeconds'],
} as const;

export type ServiceDocumentName = keyof typeof SERVICE_DOCUMENT_PARAMETERS;
export type FleetDocumentName = keyof typeof FLEET_DOCUMENT_PARAMETERS;

export const DEFAULT_GRACE_SECONDS = 10;
/** Matches the documents' default: host-level state such as isolation markers. */
export const DEFAULT_STATE_DIRECTORY = '/var/lib/acgs-ops';
/** Room left in the command timeout for the stop's SIGKILL wait and the last health probe. */
const TIMEOUT_MARGIN_SECONDS = 10;

export interface ServiceCommandOptions {
  /** @default 'acgs-restart-service' */
  readonly document?: ServiceDocumentName;
  /** Seconds to wait for health after a start. @default fits the restart in remediation.restartTimeout */
  readonly timeoutSeconds?: number;
  /** @default 10 */
  readonly graceSeconds?: number;
  /** @default '/var/lib/acgs-ops' */
  readonly stateDirectory?: string;
  /** Start an isolated service anyway, releasing its isolation. @default false */
  readonly force?: boolean;
  /** Log lines in diagnostics. @default 100 */
  readonly logLines?: number;
}

/**
 * The full parameter map of a service document for one service of the fleet (by default `acgs-restart-service`).
 * A config that loads yields values the documents accept (the config and the documents share the patterns of
 * lambdas/core/document-patterns.ts); the runner still validates them, as it does the options given here.
 * @throws NotFoundError when the fleet has no such service.
 */
export function serviceCommandParameters(
  config: FleetConfig,
  serviceName: string,
  options: ServiceCommandOptions = {},
): Record<string, string> {
  const service = config.services.find((s) => s.name === serviceName);
  if (!service) throw new NotFoundError(`service "${serviceName}" in fleet ${config.fleet.name}`);
  const spec = serviceCommandSpec(config, service);
  const grace = options.graceSeconds ?? DEFAULT_GRACE_SECONDS;
  const all: Record<string, string> = {
    ServiceName: spec.name,
    Port: String(spec.port),
    Directory: spec.directory,
    StartCommand: spec.startCommand,
    LogFile: spec.logFile,
    HealthUrl: spec.healthUrl,
    TimeoutSeconds: String(options.timeoutSeconds ?? defaultTimeoutSeconds(config, grace)),
    GraceSeconds: String(grace),
    StateDirectory: options.stateDirectory ?? DEFAULT_STATE_DIRECTORY,
    Force: String(options.force ?? false),
    LogLines: String(options.logLines ?? 100),
    ...dependencyEndpoints(config),
  };
  return pick(all, SERVICE_DOCUMENT_PARAMETERS[options.document ?? 'acgs-restart-service']);
}

export interface FleetCommandOptions {
  readonly timeoutSeconds?: number;
  readonly graceSeconds?: number;
  readonly stateDirectory?: string;
  /** Only these services, in this order. @default every service of the fleet */
  readonly services?: readonly string[];
}

/** The parameter map of `acgs-start-all` or `acgs-stop-all` for the fleet's services. */
export function fleetCommandParameters(
  config: FleetConfig,
  document: FleetDocumentName,
  options: FleetCommandOptions = {},
): Record<string, string> {
  const services = (options.services ?? config.services.map((s) => s.name)).map((name) => {
    const service = config.services.find((s) => s.name === name);
    if (!service) throw new NotFoundError(`service "${name}" in fleet ${config.fleet.name}`);
    return serviceCommandSpec(config, service);
  });
  const grace = options.graceSeconds ?? DEFAULT_GRACE_SECONDS;
  const all: Record<string, string> = {
    Services: encodeServiceList(services),
    TimeoutSeconds: String(options.timeoutSeconds ?? defaultTimeoutSeconds(config, grace)),
    GraceSeconds: String(grace),
    StateDirectory: options.stateDirectory ?? DEFAULT_STATE_DIRECTORY,
  };
  return pick(all, FLEET_DOCUMENT_PARAMETERS[document]);
}

/** A restart (stop with grace, then start and wait) must end within the remediation command timeout. */
function defaultTimeoutSeconds(config: FleetConfig, graceSeconds: number): number {
  const budget = Math.floor(Math.min(config.recovery.serviceRestart, config.remediation.restartTimeout) / 1000);
  return Math.max(1, budget - graceSeconds - TIMEOUT_MARGIN_SECONDS);
}

function dependencyEndpoints(config: FleetConfig): Record<string, string> {
  const postgres = config.checks.find((c) => c.kind === 'postgres');
  const redis = config.checks.find((c) => c.kind === 'redis');
  return {
    DatabaseHost: postgres ? clientHost(postgres.host) : '127.0.0.1',
    DatabasePort: String(postgres?.port ?? 5432),
    RedisHost: redis ? clientHost(redis.host) : '127.0.0.1',
    RedisPort: String(redis?.port ?? 6379),
  };
}

/** A host as clients take it (libpq, redis-cli): an IPv6 address without the brackets a URL would need. */
function clientHost(host: string): string {
  return host.replace(/^\[(.*)\]$/, '$1');
}

/** `path` made absolute against `root`, without trailing slashes (the documents' path pattern has none). */
function pick(all: Readonly<Record<string, string>>, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = all[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Parameters for the backup documents, derived from the fleet config's `backups` section.

/** The documents that back up the database and prove a backup restores, and their parameters. */
export const BACKUP_DOCUMENT_PARAMETERS = {
  'acgs-backup-database': [
    'DatabaseHost',
    'DatabasePort',
    'DatabaseName',
    'DatabaseUser',
    'PgpassFile',
    'Destination',
    'BackupId',
    'MinSizeBytes',
    'KmsKeyId',
    'PgBinDir',
    'TimeoutSeconds',
    'StartedAt',
  ],
  'acgs-restore-drill': [
    'Source',
    'ExpectedSha256',
    'ExpectedTableDataEntries',
    'DatabaseHost',
    'DatabasePort',
    'DatabaseUser',
    'PgpassFile',
    'ScratchDatabase',
    'ProductionDatabase',
    'PgBinDir',
    'TimeoutSeconds',
    'StartedAt',
  ],
} as const;

export type BackupDocumentName = keyof typeof BACKUP_DOCUMENT_PARAMETERS;

/** Matches the documents' default: the whole dump (or drill), checks and transfer included. */
export const DEFAULT_BACKUP_TIMEOUT_SECONDS = 3600;

export interface BackupCommandOptions {
  /** When the backup starts; names it (`<database>-20261201T020000Z`). */
  readonly at: Date;
  /** The stack's backup bucket: publish under `s3://<bucket>/<backups.s3Prefix>`. @default backups.localDirectory */
  readonly bucket?: string;
  /** KMS key of the S3 objects (aws:kms). @default SSE-S3 (AES256) */
  readonly kmsKeyId?: string;
  /** Directory holding the PostgreSQL client tools on the host. @default found on PATH */
  readonly pgBinDir?: string;
  /** @default 3600 */
  readonly timeoutSeconds?: number;
}

export interface DrillCommandOptions {
  /** When the drill starts: the report's times are this plus the time the drill ran. @default the host's clock */
  readonly at?: Date;
  /** The bucket the backup was published to. @default backups.localDirectory */
  readonly bucket?: string;
  /** @default found on PATH */
  readonly pgBinDir?: string;
  /** @default 3600 */
  readonly timeoutSeconds?: number;
}

/** What the drill takes from a published backup's manifest: the dump's name next to it, and what it must hold. */
export type DrillManifestFields = Pick<BackupManifest, 'dumpKey' | 'sha256' | 'tableDataEntries'>;

/** `2026-12-01T02:00:00Z`: the UTC second of `at`, as the documents' StartedAt takes it. */
function isoSecond(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A backup's name: the database and the UTC second it started, e.g. `acgs_pgp_db-20261201T020000Z`. */
export function backupId(database: string, at: Date): string {
  const stamp = at
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
  return `${database}-${stamp}`;
}

/**
 * The parameter map of `acgs-backup-database` for the database named by `backups.database`.
 * @throws ControlPlaneError `BACKUPS_NOT_CONFIGURED` without a `backups` section or a `backups.pgpassFile`.
 * @throws NotFoundError when `backups.database` names no postgres check.
 */
export function backupCommandParameters(config: FleetConfig, options: BackupCommandOptions): Record<string, string> {
  const { backups, database, pgpassFile } = backupTarget(config);
  const all: Record<string, string> = {
    ...connectionParameters(database, pgpassFile, options),
    DatabaseName: database.database,
    Destination: options.bucket === undefined ? localBackupDirectory(backups) : s3BackupPrefix(backups, options.bucket),
    BackupId: backupId(database.database, options.at),
    StartedAt: isoSecond(options.at),
    MinSizeBytes: String(backups.minSizeBytes),
    KmsKeyId: options.kmsKeyId ?? '',
  };
  return pick(all, BACKUP_DOCUMENT_PARAMETERS['acgs-backup-database']);
}

/**
 * The parameter map of `acgs-restore-drill` for one published backup, restored into `backups.drill.scratchDatabase`
 * on the database's own server.
 * @throws ControlPlaneError `BACKUPS_NOT_CONFIGURED` without `backups`, `backups.pgpassFile` or `backups.drill`.
 * @throws NotFoundError when `backups.database` names no postgres check.
 */
export function drillCommandParameters(
  config: FleetConfig,
  manifest: DrillManifestFields,
  options: DrillCommandOptions = {},
): Record<string, string> {
  const { backups, database, pgpassFile } = backupTarget(config);
  if (!backups.drill)
    throw new ControlPlaneError(
      'BACKUPS_NOT_CONFIGURED',
      'backups.drill is not set: no scratch database to restore into',
    );
  const all: Record<string, string> = {
    ...connectionParameters(database, pgpassFile, options),
    Source:
      options.bucket === undefined
        ? `${localBackupDirectory(backups)}/${manifest.dumpKey}`
        : `${s3BackupPrefix(backups, options.bucket)}${manifest.dumpKey}`,
    ExpectedSha256: manifest.sha256,
    ExpectedTableDataEntries: String(manifest.tableDataEntries),
    ScratchDatabase: backups.drill.scratchDatabase,
    ProductionDatabase: database.database,
    StartedAt: options.at === undefined ? '' : isoSecond(options.at),
  };
  return pick(all, BACKUP_DOCUMENT_PARAMETERS['acgs-restore-drill']);
}

type PostgresCheck = Extract<FleetConfig['checks'][number], { kind: 'postgres' }>;

function backupTarget(config: FleetConfig): { backups: BackupConfig; database: PostgresCheck; pgpassFile: string } {
  const { backups } = config;
  if (!backups)
    throw new ControlPlaneError('BACKUPS_NOT_CONFIGURED', `fleet ${config.fleet.name} has no backups section`);
  const database = config.checks.find((c) => c.name === backups.database);
  if (database?.kind !== 'postgres')
    throw new NotFoundError(`postgres check "${backups.database}" (backups.database) in fleet ${config.fleet.name}`);
  if (backups.pgpassFile === undefined)
    throw new ControlPlaneError(
      'BACKUPS_NOT_CONFIGURED',
      'backups.pgpassFile is not set: the backup documents read the password from a pgpass file only',
    );
  return { backups, database, pgpassFile: backups.pgpassFile };
}

function connectionParameters(
  database: PostgresCheck,
  pgpassFile: string,
  options: { readonly pgBinDir?: string; readonly timeoutSeconds?: number },
): Record<string, string> {
  return {
    DatabaseHost: clientHost(database.host),
    DatabasePort: String(database.port),
    DatabaseUser: database.user,
    PgpassFile: pgpassFile,
    PgBinDir: options.pgBinDir ?? '',
    TimeoutSeconds: String(options.timeoutSeconds ?? DEFAULT_BACKUP_TIMEOUT_SECONDS),
  };
}

/** `backups.localDirectory` without trailing slashes (the documents' path pattern has none). */
function localBackupDirectory(backups: BackupConfig): string {
  return backups.localDirectory.replace(/(.)\/+$/, '$1');
}

/** `s3://<bucket>/<backups.s3Prefix>`, ending in `/`. */
function s3BackupPrefix(backups: BackupConfig, bucket: string): string {
  return `s3://${bucket}/${backups.s3Prefix.replace(/^\/+/, '')}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Parameters for the rolling update document: the fleet's services restarted one at a time, in order.

/** The document that rolls an update through a list of services, and its parameters. */
export const ROLLING_UPDATE_DOCUMENT_PARAMETERS = {
  'acgs-rolling-update': ['Services', 'Update', 'Branch', 'TimeoutSeconds', 'GraceSeconds', 'StateDirectory'],
} as const;

export type RollingUpdateDocumentName = keyof typeof ROLLING_UPDATE_DOCUMENT_PARAMETERS;

/** How each service is updated before its restart: as it is, or fast-forwarded from its git origin. */
export type RollingUpdateMode = 'restart-only' | 'git-pull';

/** Matches the document's default branch. */
export const DEFAULT_ROLLING_UPDATE_BRANCH = 'main';

export interface RollingUpdateOptions extends FleetCommandOptions {
  /** @default 'restart-only' */
  readonly update?: RollingUpdateMode;
  /** Branch of origin to fast-forward to with `git-pull`. @default 'main' */
  readonly branch?: string;
}

/**
 * The parameter map of `acgs-rolling-update`: the services (by default every service of the fleet, in config order)
 * restarted one at a time, each given the per-restart health timeout fleetCommandParameters gives start-all.
 * @throws NotFoundError when the fleet has no such service.
 */
export function rollingUpdateParameters(
  config: FleetConfig,
  options: RollingUpdateOptions = {},
): Record<string, string> {
  const fleet = fleetCommandParameters(config, 'acgs-start-all', options);
  const all: Record<string, string> = {
    ...fleet,
    Update: options.update ?? 'restart-only',
    Branch: options.branch ?? DEFAULT_ROLLING_UPDATE_BRANCH,
    GraceSeconds: String(options.graceSeconds ?? DEFAULT_GRACE_SECONDS),
  };
  return pick(all, ROLLING_UPDATE_DOCUMENT_PARAMETERS['acgs-rolling-update']);
}
