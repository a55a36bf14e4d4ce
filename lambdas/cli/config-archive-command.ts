import {
  type ConfigArchiveSummary,
  configArchiveOf,
  parseConfigArchiveId,
  parseRestoreDirectory,
} from '../core/config-archive.ts';
import { escapeControlCharacters } from '../core/control-characters.ts';
import { UsageError } from '../core/errors.ts';
import { formatTable } from '../core/text-table.ts';
import { listConfigArchives, restoreConfigArchive, takeConfigArchive } from '../use-cases/config-archive.ts';
import type { CliContext } from './command.ts';
import { openRuntimeFor } from './local-options.ts';
import { formatJson } from './output.ts';

/** The lines `acgs-ops backup --help` shows for `backup config`. */
export const CONFIG_ARCHIVE_USAGE = `  acgs-ops backup config archive
                             archive the fleet's configuration now (backups.configArchive: the paths, the systemd
                             units, the services' configuration files) into backups.configArchive.directory on
                             the database host (acgs-config-archive): secrets are left out by name and by content,
                             and the manifest lists every file with its SHA-256 and every file left out and why;
                             keeps the newest backups.configArchive.keep
  acgs-ops backup config list         the configuration archives, newest first
  acgs-ops backup config restore ID --to DIR [--yes]
                             checks archive ID against its manifest (the archive's and every file's SHA-256), then
                             writes each file under DIR at its original path (DIR/etc/acgs-ops/...). Files that
                             exist are replaced only with --yes; without it nothing is written (exit 64). A
                             damaged or changed archive is refused (exit 1), writing nothing`;

/** The options `backup config` reads; the backup command parses them. */
export interface ConfigArchiveValues {
  readonly config?: string | undefined;
  readonly state?: string | undefined;
  readonly json: boolean;
  readonly target: string;
  readonly yes: boolean;
  readonly to?: string | undefined;
  readonly timeout?: string | undefined;
}

/** `acgs-ops backup config archive|list|restore`, on this host (the document runs where the control plane does). */
export async function runConfigArchiveCommand(
  positionals: readonly string[],
  values: ConfigArchiveValues,
  context: CliContext,
  timeoutSeconds: number | undefined,
): Promise<number> {
  const [sub, id, ...extra] = positionals;
  if (sub !== 'archive' && sub !== 'list' && sub !== 'restore')
    throw new UsageError('acgs-ops backup config needs archive, list or restore');
  if (values.target !== 'local') throw new UsageError('backup config works on this host only (--target local)');
  // Everything is checked before anything is opened or run: bad input runs nothing.
  let restore: { id: string; targetDirectory: string } | undefined;
  if (sub === 'restore') {
    if (id === undefined)
      throw new UsageError('acgs-ops backup config restore needs an archive id (see acgs-ops backup config list)');
    if (values.to === undefined) throw new UsageError('backup config restore needs --to DIR (where the files go)');
    restore = { id: parseConfigArchiveId(id), targetDirectory: parseRestoreDirectory(values.to) };
  } else {
    if (id !== undefined) throw new UsageError(`unexpected argument "${id}"`);
    if (values.to !== undefined) throw new UsageError('--to applies to backup config restore only');
    if (values.yes) throw new UsageError('--yes applies to backup config restore only');
  }
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);

  const { runtime } = await openRuntimeFor(values, context, { access: 'none', check: configArchiveOf });
  try {
    const { ctx } = runtime;
    const options = timeoutSeconds === undefined ? {} : { timeoutSeconds };
    if (restore) {
      const run = await restoreConfigArchive(ctx, { ...restore, overwrite: values.yes, ...options });
      if (run.outcome === 'refused') throw new UsageError(escapeControlCharacters(refusal(run.error ?? '')));
      if (values.json)
        context.stdout(formatJson({ outcome: run.outcome, report: run.report ?? null, error: run.error ?? null }));
      else if (run.report)
        context.stdout(
          `restored ${run.report.fileCount} files of ${restore.id} under ${restore.targetDirectory} (SHA-256 verified, ${run.report.overwrittenCount} replaced)\n${run.report.written.map((w) => `  ${escapeControlCharacters(w)}\n`).join('')}`,
        );
      else context.stdout(`restore of ${restore.id} ${run.outcome}: ${escapeControlCharacters(run.error ?? '')}\n`);
      return run.report ? 0 : 1;
    }
    if (sub === 'list') {
      const run = await listConfigArchives(ctx, options);
      if (values.json) context.stdout(formatJson({ archives: run.report ?? null, error: run.error ?? null }));
      else if (run.report) context.stdout(listText(run.report));
      else context.stdout(`listing the configuration archives failed: ${escapeControlCharacters(run.error ?? '')}\n`);
      return run.report ? 0 : 1;
    }
    const run = await takeConfigArchive(ctx, options);
    if (values.json) context.stdout(formatJson({ report: run.report ?? null, error: run.error ?? null }));
    else if (run.report) {
      const r = run.report;
      context.stdout(
        `configuration archive ${r.id}: ${r.fileCount} files (${r.fileBytes} bytes), ${r.excludedCount} left out, ${r.missingCount} missing; ${escapeControlCharacters(r.location)} (${r.sizeBytes} bytes, SHA-256 ${r.sha256})\n` +
          (r.copiedTo ? `copied to ${escapeControlCharacters(r.copiedTo)}\n` : '') +
          (r.pruned.length > 0 ? `pruned: ${r.pruned.join(', ')}\n` : ''),
      );
    } else context.stdout(`configuration archive failed: ${escapeControlCharacters(run.error ?? '')}\n`);
    return run.report ? 0 : 1;
  } finally {
    runtime.close();
  }
}

/** The document's refusal, told as the CLI's: Overwrite=yes is --yes here. */
function refusal(reason: string): string {
  return reason.replace(/^acgs-config-archive: /, '').replace('confirm with Overwrite=yes', 'confirm with --yes');
}

function listText(archives: readonly ConfigArchiveSummary[]): string {
  if (archives.length === 0) return 'no configuration archives\n';
  return formatTable(
    ['ARCHIVE', 'CREATED', 'FILES', 'LEFT OUT', 'MISSING', 'BYTES', 'HOST'],
    archives.map((a) => [
      a.id,
      a.createdAt,
      String(a.fileCount),
      String(a.excludedCount),
      String(a.missingCount),
      String(a.sizeBytes),
      escapeControlCharacters(a.host),
    ]),
  );
}
