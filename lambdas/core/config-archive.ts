import { lastReport } from './backup-archiving.ts';
import type { BackupConfig, FleetConfig } from './config-schema.ts';
import { CONFIG_ARCHIVE_LIST_MAX_CHARS, DOCUMENT_PATTERNS } from './document-patterns.ts';
import { UsageError } from './errors.ts';
import { serviceCommandSpec } from './service-list.ts';

/**
 * The second archive: the fleet's configuration and service state (the control plane's config, the systemd units,
 * the services' configuration files), taken by the `acgs-config-archive` document on the database host with every
 * secret left out. Here: the document's parameters from `backups.configArchive`, the operator's input checked
 * before anything runs, and the document's JSON reports read back. Pure.
 */

export type ConfigArchiveSettings = NonNullable<BackupConfig['configArchive']>;

/** The parameters of `acgs-config-archive`, as its YAML declares them. */
export const CONFIG_ARCHIVE_DOCUMENT_PARAMETERS = {
  'acgs-config-archive': [
    'Action',
    'Paths',
    'ServiceDirectories',
    'UnitDirectory',
    'UnitPrefix',
    'ArchiveDirectory',
    'ArchiveId',
    'Keep',
    'S3Destination',
    'KmsKeyId',
    'TargetDirectory',
    'Overwrite',
    'TimeoutSeconds',
  ],
} as const;

/** The document's exit status when it refuses (an archive or a file exists, a parameter is missing). */
export const CONFIG_ARCHIVE_REFUSED_EXIT = 2;
/** The document's exit status when an archive fails its SHA-256 checks: nothing was written. */
export const CONFIG_ARCHIVE_DAMAGED_EXIT = 3;
/** Matches the document's default. */
export const DEFAULT_CONFIG_ARCHIVE_TIMEOUT_SECONDS = 600;

/** `backups.configArchive`, or a usage error naming what is missing. */
export function configArchiveOf(config: FleetConfig): ConfigArchiveSettings {
  const { backups } = config;
  if (!backups) throw new UsageError('the config has no backups section');
  if (!backups.configArchive)
    throw new UsageError(
      'the config has no backups.configArchive section: the configuration archive is not configured',
    );
  return backups.configArchive;
}

/** What to do, with what each action needs. */
export type ConfigArchiveRequest =
  | {
      readonly action: 'archive';
      /** When the control plane starts it: the archive is named config-<UTC time to the second>. */
      readonly at: Date;
      /** AWS: the backup bucket; the archive is also copied to s3://<bucket>/<configArchive.s3Prefix>. */
      readonly bucket?: string;
      readonly kmsKeyId?: string;
      readonly timeoutSeconds?: number;
    }
  | { readonly action: 'list'; readonly timeoutSeconds?: number }
  | {
      readonly action: 'restore';
      readonly id: string;
      readonly targetDirectory: string;
      /** The operator confirmed that existing files may be replaced. */
      readonly overwrite: boolean;
      readonly timeoutSeconds?: number;
    };

/** The archive's name for a run started at `at`: `config-20261201T023000Z`. */
export function configArchiveId(at: Date): string {
  return `config-${at
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '')}`;
}

/**
 * The services' directories, absolute (against `fleet.root`), each once, in the config's order: their
 * configuration files are archived when `serviceDirectories` is on.
 */
export function serviceDirectoriesOf(config: FleetConfig): string[] {
  if (!configArchiveOf(config).serviceDirectories) return [];
  return [...new Set(config.services.map((service) => serviceCommandSpec(config, service).directory))];
}

/** The parameter map of `acgs-config-archive` for `request`. */
export function configArchiveParameters(config: FleetConfig, request: ConfigArchiveRequest): Record<string, string> {
  const settings = configArchiveOf(config);
  const archive = request.action === 'archive' ? request : undefined;
  const restore = request.action === 'restore' ? request : undefined;
  const s3Destination = archive?.bucket === undefined ? '' : `s3://${archive.bucket}/${settings.s3Prefix}`;
  const parameters: Record<string, string> = {
    Action: request.action,
    Paths: archive ? settings.paths.map(trimSlashes).join(',') : '',
    ServiceDirectories: archive ? serviceDirectoriesOf(config).map(trimSlashes).join(',') : '',
    UnitDirectory: trimSlashes(settings.unitDirectory),
    UnitPrefix: archive ? settings.unitPrefix : '',
    ArchiveDirectory: trimSlashes(settings.directory),
    ArchiveId: archive ? configArchiveId(archive.at) : (restore?.id ?? ''),
    Keep: String(settings.keep),
    S3Destination: s3Destination,
    KmsKeyId: s3Destination === '' ? '' : (archive?.kmsKeyId ?? ''),
    TargetDirectory: restore ? trimSlashes(restore.targetDirectory) : '',
    Overwrite: restore?.overwrite ? 'yes' : 'no',
    TimeoutSeconds: String(request.timeoutSeconds ?? DEFAULT_CONFIG_ARCHIVE_TIMEOUT_SECONDS),
  };
  for (const [name, kind] of [
    ['Paths', 'optionalPathList'],
    ['ServiceDirectories', 'optionalPathList'],
    ['S3Destination', 'optionalS3Destination'],
  ] as const) {
    const value = parameters[name] ?? '';
    if (value.length > CONFIG_ARCHIVE_LIST_MAX_CHARS || !new RegExp(DOCUMENT_PATTERNS[kind]).test(value))
      throw new UsageError(
        `the configuration archive's ${name} cannot be sent to acgs-config-archive: "${value.slice(0, 80)}"`,
      );
  }
  return parameters;
}

const ARCHIVE_ID = new RegExp(DOCUMENT_PATTERNS.backupId);
const TARGET_DIRECTORY = /^(\/\.?[A-Za-z0-9_][A-Za-z0-9._-]*)+\/?$/;

/** An archive's id as the operator typed it (see `backup config list`), or a usage error naming `field`. */
export function parseConfigArchiveId(text: string, field = 'archive id'): string {
  if (!ARCHIVE_ID.test(text))
    throw new UsageError(
      `${field} must be an archive id such as config-20261201T023000Z (letters, digits, _ and -, at most 128), got "${text.slice(0, 80)}"`,
    );
  return text;
}

/** `--to`: the directory the files are restored under, absolute, of plain path segments. */
export function parseRestoreDirectory(text: string, field = '--to'): string {
  if (!TARGET_DIRECTORY.test(text) || text.length > 400)
    throw new UsageError(
      `${field} must be an absolute directory of letters, digits and . _ - (no . or .. segments, at most 400 characters), got "${text.slice(0, 80)}"`,
    );
  return trimSlashes(text);
}

/** One archive as the document's summary (and the first line of its manifest) describes it. */
export interface ConfigArchiveSummary {
  readonly id: string;
  readonly createdAt: string;
  readonly finishedAt: string;
  readonly durationMs: number;
  readonly host: string;
  readonly archive: string;
  readonly sizeBytes: number;
  readonly sha256: string;
  readonly fileCount: number;
  readonly fileBytes: number;
  readonly excludedCount: number;
  readonly missingCount: number;
}

/** What the archive action printed last: the summary, where it is, where it was copied, what was pruned. */
export interface ConfigArchiveReport extends ConfigArchiveSummary {
  readonly location: string;
  readonly copiedTo: string | null;
  readonly pruned: readonly string[];
}

export interface ConfigRestoreReport {
  readonly id: string;
  readonly targetDirectory: string;
  readonly sha256: string;
  readonly fileCount: number;
  readonly overwrittenCount: number;
  readonly written: readonly string[];
}

const SUMMARY_FIELDS = {
  id: 'string',
  createdAt: 'string',
  finishedAt: 'string',
  durationMs: 'number',
  host: 'string',
  archive: 'string',
  sizeBytes: 'number',
  sha256: 'string',
  fileCount: 'number',
  fileBytes: 'number',
  excludedCount: 'number',
  missingCount: 'number',
} as const;

function isSummary(value: unknown): value is ConfigArchiveSummary {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return Object.entries(SUMMARY_FIELDS).every(([field, type]) => typeof record[field] === type);
}

/** The archive action's report, when the document printed a whole one. */
export function configArchiveReportOf(output: string): ConfigArchiveReport | undefined {
  const report = lastReport(output, 'acgs-ops.config-archive');
  if (!isSummary(report) || typeof report.location !== 'string' || !Array.isArray(report.pruned)) return undefined;
  return report as unknown as ConfigArchiveReport;
}

/** The list action's archives, newest first, when the document printed the list. */
export function configArchiveListOf(output: string): ConfigArchiveSummary[] | undefined {
  const report = lastReport(output, 'acgs-ops.config-archive-list');
  if (!report || !Array.isArray(report.archives)) return undefined;
  return report.archives.filter(isSummary);
}

/** The restore action's report, when the document printed one. */
export function configRestoreReportOf(output: string): ConfigRestoreReport | undefined {
  const report = lastReport(output, 'acgs-ops.config-restore');
  if (
    !report ||
    typeof report.id !== 'string' ||
    typeof report.fileCount !== 'number' ||
    typeof report.overwrittenCount !== 'number' ||
    !Array.isArray(report.written)
  )
    return undefined;
  return report as unknown as ConfigRestoreReport;
}

function trimSlashes(path: string): string {
  return path.replace(/(.)\/+$/, '$1');
}
