import type { CataloguedBackup } from '../core/backup-catalogue.ts';
import { formatDuration } from '../core/duration.ts';
import { UsageError } from '../core/errors.ts';
import { formatTable } from '../core/text-table.ts';
import {
  applyRetention,
  lastOutputLine,
  loadCatalogue,
  monitorBackups,
  runBackup,
  runDrill,
} from '../use-cases/backups.ts';
import { parseCommandLine } from './args.ts';
import type { CliCommand } from './command.ts';
import { LOCAL_OPTIONS, LOCAL_OPTIONS_HELP, openRuntimeFor } from './local-options.ts';
import { formatJson } from './output.ts';

const USAGE = `Usage:
  acgs-ops backup run        take a backup now (pg_dump, judged and published by the SSM document)
  acgs-ops backup list       published backups, failed attempts and failed drills, with their verdicts
  acgs-ops backup status     the monitor's judgement (freshness, size, last attempt, drill); opens or
                             resolves the backup incidents like the hourly monitor
  acgs-ops backup prune [--dry-run]   grandfather-father-son retention (never the newest good backup nor the
                             newest one a drill restored, never after a failed or suspicious latest backup,
                             never behind a newer backup that is unproven)
  acgs-ops backup drill      restore the newest good backup into the scratch database, measure RTO and RPO

Works on this host's backup directory (backups.localDirectory in the config). Needs a backups section.

Options:
${LOCAL_OPTIONS_HELP}
      --dry-run      prune: show what would be deleted
      --pg-bin DIR   directory of pg_dump/pg_restore/psql (default: found on PATH)

Exit status: 0 done and healthy, 1 the backup/drill failed or the judgement is not ok, 64 usage or config error,
74 the state cannot be opened or created (run, status and drill record incidents in it; list and prune need none).
`;

const OPTIONS = {
  ...LOCAL_OPTIONS,
  'dry-run': { type: 'boolean', default: false },
  'pg-bin': { type: 'string' },
} as const;

/** What vouches for a good backup now, for the listing. */
function proofOf(backup: CataloguedBackup): string {
  const proofs = [
    ...(backup.verified ? ['SHA-256 verified'] : []),
    ...(backup.restorable ? ['restored by a drill'] : []),
  ];
  return proofs.join(', ') || 'unproven: the store gave no SHA-256, and no drill restored it';
}

export const backupCommand: CliCommand = {
  name: 'backup',
  summary: 'take, list, judge, prune and restore-drill database backups',
  usage: USAGE,
  async run(args, context) {
    const { values, positionals } = parseCommandLine('backup', args, OPTIONS);
    const [action, ...extra] = positionals;
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
    if (!['run', 'list', 'status', 'prune', 'drill'].includes(action ?? ''))
      throw new UsageError('acgs-ops backup needs an action: run, list, status, prune or drill');
    const { config, runtime } = await openRuntimeFor(values, context, {
      // Listing and pruning work on the backup directory only: they need no control-plane state and create none.
      access: action === 'list' || action === 'prune' ? 'none' : 'write',
      pgBinDir: values['pg-bin'],
    });
    try {
      const { ctx, backups } = runtime;
      if (!config.backups || !backups) throw new UsageError('the config has no backups section');
      const out = (json: unknown, text: string) => context.stdout(values.json ? formatJson(json) : text);
      switch (action) {
        case 'run': {
          const run = await runBackup(ctx, backups);
          const last = lastOutputLine(run.result.output);
          out(
            { id: run.id, status: run.result.status, output: last },
            `backup ${run.id}: ${run.result.status}\n${last}\n`,
          );
          return run.result.status === 'succeeded' ? 0 : 1;
        }
        case 'list': {
          const catalogue = await loadCatalogue(ctx, backups.objects);
          const rows = [
            ...catalogue.backups.map((b) => [
              b.manifest.id,
              b.verdict,
              new Date(b.manifest.startedAt).toISOString(),
              `${b.manifest.sizeBytes}`,
              b.problems.join('; ') || proofOf(b),
            ]),
            ...catalogue.failures.map((f) => [
              f.failure.id,
              'failed',
              new Date(f.failure.startedAt).toISOString(),
              '-',
              f.failure.reason,
            ]),
            ...catalogue.drillFailures.map((f) => [
              f.failure.backupId,
              'drill failed',
              new Date(f.failure.startedAt).toISOString(),
              '-',
              f.failure.reason,
            ]),
          ].sort((a, b) => (a[2] ?? '').localeCompare(b[2] ?? ''));
          out(
            catalogue,
            rows.length === 0 ? 'no backups\n' : formatTable(['BACKUP', 'VERDICT', 'STARTED', 'BYTES', 'NOTES'], rows),
          );
          return 0;
        }
        case 'status': {
          const judgement = await monitorBackups(ctx, backups.objects);
          const age = judgement.dataAgeMs === undefined ? 'none' : formatDuration(judgement.dataAgeMs);
          out(
            judgement,
            [
              `backups: ${judgement.status} (newest good backup age: ${age}; the RPO you have right now)`,
              ...judgement.reasons.map((r) => `  ${r}`),
              `drill: ${judgement.drillStatus}`,
              ...judgement.drillReasons.map((r) => `  ${r}`),
              '',
            ].join('\n'),
          );
          return judgement.status === 'ok' ? 0 : 1;
        }
        case 'prune': {
          const run = await applyRetention(ctx, backups.objects, { dryRun: values['dry-run'] });
          const text = run.plan.refused
            ? `nothing deleted: ${run.plan.refused}\n`
            : `${values['dry-run'] ? 'would delete' : 'deleted'}: ${run.plan.delete.map((d) => d.id).join(', ') || 'nothing'}\nkept: ${run.plan.keep.map((k) => `${k.id} (${k.reasons.join(',')})`).join(', ')}\n${(run.plan.held ?? []).map((h) => `held: ${h.id}: ${h.why}\n`).join('')}`;
          out(run, text);
          return 0;
        }
        case 'drill': {
          const run = await runDrill(ctx, backups);
          const j = run.judgement;
          out(
            { backup: run.manifest.id, status: run.result.status, judgement: j ?? null, report: run.reportKey ?? null },
            j
              ? `drill of ${run.manifest.id}: ${j.met ? 'objectives met' : 'OBJECTIVES NOT MET'}\n${j.reasons.map((r) => `  ${r}`).join('\n')}\n`
              : `drill of ${run.manifest.id} ${run.result.status}: ${lastOutputLine(run.result.output)}\n`,
          );
          return j?.met ? 0 : 1;
        }
      }
      return 64;
    } finally {
      runtime.close();
    }
  },
};
