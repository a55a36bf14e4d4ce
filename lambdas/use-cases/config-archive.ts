import {
  CONFIG_ARCHIVE_DAMAGED_EXIT,
  CONFIG_ARCHIVE_REFUSED_EXIT,
  type ConfigArchiveReport,
  type ConfigArchiveRequest,
  type ConfigArchiveSummary,
  type ConfigRestoreReport,
  configArchiveListOf,
  configArchiveParameters,
  configArchiveReportOf,
  configRestoreReportOf,
} from '../core/config-archive.ts';
import { CONFIG_ARCHIVE_DOCUMENT } from '../core/document-names.ts';
import { ControlPlaneError } from '../core/errors.ts';
import type { CommandResult } from '../ports.ts';
import { lastOutputLine } from './backups.ts';
import type { ControlPlaneContext } from './context.ts';

/**
 * The configuration archive (acgs-config-archive on the database host): take one, list them, restore one. The
 * document does the work, leaves the secrets out and checks the hashes; these send it and read its JSON line back.
 */

export interface ConfigArchiveRun<Report> {
  readonly result: CommandResult;
  /** The document's report, when it succeeded and printed a whole one. */
  readonly report?: Report;
  /** The document's reason, when it did not succeed. */
  readonly error?: string;
}

export interface ConfigRestoreRun extends ConfigArchiveRun<ConfigRestoreReport> {
  /** `refused`: an existing file (without overwrite) or an unknown archive; `damaged`: the hashes do not match. */
  readonly outcome: 'restored' | 'refused' | 'damaged' | 'failed';
}

/** Archives the configured paths now; the archive is named for the clock's time. Prunes to `keep` on the host. */
export async function takeConfigArchive(
  ctx: ControlPlaneContext,
  options: { readonly bucket?: string; readonly kmsKeyId?: string; readonly timeoutSeconds?: number } = {},
): Promise<ConfigArchiveRun<ConfigArchiveReport>> {
  const run = await runDocument(ctx, { action: 'archive', at: new Date(ctx.clock.now()), ...options });
  const report = configArchiveReportOf(run.result.output);
  ctx.log('config-archive-finished', {
    status: run.result.status,
    id: report?.id,
    files: report?.fileCount,
    excluded: report?.excludedCount,
    pruned: report?.pruned.length,
  });
  return withReport(run, report);
}

/**
 * The scheduled archive: as `takeConfigArchive`, but a failure is an error (the daemon logs it with the task's
 * name), never a quiet result.
 */
export async function scheduledConfigArchive(ctx: ControlPlaneContext): Promise<ConfigArchiveReport> {
  const run = await takeConfigArchive(ctx);
  if (!run.report) throw new ControlPlaneError('CONFIG_ARCHIVE_FAILED', `configuration archive: ${run.error}`);
  return run.report;
}

/** The published archives on the host, newest first. */
export async function listConfigArchives(
  ctx: ControlPlaneContext,
  options: { readonly timeoutSeconds?: number } = {},
): Promise<ConfigArchiveRun<readonly ConfigArchiveSummary[]>> {
  const run = await runDocument(ctx, { action: 'list', ...options });
  return withReport(run, configArchiveListOf(run.result.output));
}

/**
 * Restores archive `id` under `targetDirectory` once its hashes match its manifest; existing files are replaced only
 * with `overwrite` (the operator confirmed).
 */
export async function restoreConfigArchive(
  ctx: ControlPlaneContext,
  request: {
    readonly id: string;
    readonly targetDirectory: string;
    readonly overwrite: boolean;
    readonly timeoutSeconds?: number;
  },
): Promise<ConfigRestoreRun> {
  const run = await runDocument(ctx, { action: 'restore', ...request });
  const report = configRestoreReportOf(run.result.output);
  const outcome =
    run.result.status === 'succeeded' && report
      ? 'restored'
      : run.result.exitCode === CONFIG_ARCHIVE_REFUSED_EXIT
        ? 'refused'
        : run.result.exitCode === CONFIG_ARCHIVE_DAMAGED_EXIT
          ? 'damaged'
          : 'failed';
  ctx.log('config-restore-finished', { id: request.id, outcome, files: report?.fileCount });
  return { ...withReport(run, report), outcome };
}

async function runDocument(ctx: ControlPlaneContext, request: ConfigArchiveRequest): Promise<ConfigArchiveRun<never>> {
  const parameters = configArchiveParameters(ctx.config, request);
  ctx.log('config-archive-started', { action: request.action, id: parameters.ArchiveId || undefined });
  const result = await ctx.commands.run({
    document: CONFIG_ARCHIVE_DOCUMENT,
    parameters,
    timeoutMs: (Number(parameters.TimeoutSeconds) + 60) * 1000,
  });
  // A dispatched document (the AWS schedule) is still running: its outcome is the host's to report.
  return result.status === 'succeeded' || result.status === 'pending'
    ? { result }
    : { result, error: lastOutputLine(result.output) || `the document ${result.status}` };
}

function withReport<Report>(run: ConfigArchiveRun<never>, report: Report | undefined): ConfigArchiveRun<Report> {
  if (run.result.status !== 'succeeded') return run;
  if (report === undefined) return { ...run, error: 'the document succeeded but printed no report' };
  return { ...run, report };
}
