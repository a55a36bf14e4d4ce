import {
  archivingOf,
  defaultPitrDrillScratch,
  NO_MAINTENANCE_WINDOW,
  type PitrRestoreReport,
  parseRestoreTarget,
  parseScratchDirectory,
  parseScratchPort,
  RESTART_NEEDED_EXIT,
} from '../core/backup-archiving.ts';
import type { Catalogue, CataloguedBackup } from '../core/backup-catalogue.ts';
import { type DrillJudgement, drillHeadline } from '../core/backup-drill.ts';
import type { BackupJudgement } from '../core/backup-judgement.ts';
import { escapeControlCharacters } from '../core/control-characters.ts';
import { backupTarget } from '../core/document-parameters.ts';
import { formatDuration } from '../core/duration.ts';
import { ControlPlaneError, UsageError } from '../core/errors.ts';
import { checkInput } from '../core/operator-input.ts';
import { formatTable } from '../core/text-table.ts';
import { RESTART_NEEDED } from '../use-cases/api/archiving-routes.ts';
import type { restoreView } from '../use-cases/api/backup-routes.ts';
import { applyRetention, lastOutputLine, monitorBackups, type RecoveryVerdict } from '../use-cases/backups.ts';
import { type ApiRequest, type ApiResponse, handleApiRequest } from '../use-cases/operator-api.ts';
import { backupIdInput, unconfirmedRestore } from '../use-cases/restore-database.ts';
import { type PitrDrillRun, runPitrDrill, writeCanary } from '../use-cases/wal-archiving.ts';
import { API_TARGET_HELP, API_TARGET_OPTIONS, apiTarget, callApi, PROCEDURE_TIMEOUT_MS } from './api-target.ts';
import { parseCommandLine } from './args.ts';
import type { CliCommand, CliContext } from './command.ts';
import { CONFIG_ARCHIVE_USAGE, runConfigArchiveCommand } from './config-archive-command.ts';
import { LOCAL_OPTIONS, LOCAL_OPTIONS_HELP, openRuntimeFor, operatorName } from './local-options.ts';
import { formatJson } from './output.ts';

const USAGE = `Usage:
  acgs-ops backup run        take a backup now (pg_dump, judged and published by the SSM document)
  acgs-ops backup list       published backups, failed attempts and failed drills, with their verdicts
  acgs-ops backup status     the monitor's judgement (freshness, size, last attempt, drill, and the recovery point:
                             with backups.archiving, the WAL archive's RPO, archive_command failures and the base
                             backup's age; without, the dump schedule's worst case against recovery.rpo); on this
                             host it also opens or resolves the backup incidents like the hourly monitor
  acgs-ops backup prune [--dry-run]   grandfather-father-son retention (never the newest good backup nor the
                             newest one a drill restored, never after a failed or suspicious latest backup,
                             never behind a newer backup that is unproven); this host only
  acgs-ops backup drill      restore the newest good backup into the scratch database, measure RTO and RPO
  acgs-ops backup restore ID --yes
                             the runbook's Recovery Procedure with backup ID (a verified one, see list): opens a
                             maintenance window for the services that depend on the database, stops them, takes a
                             safety dump of the database as it is, restores ID with pg_restore --clean --if-exists
                             (one transaction), starts the services, waits for every health check and ends the
                             window, reporting each step with its duration. The first step that fails stops it;
                             it then ends the window, declares a P1 incident (it pages) and prints where the safety
                             dump is and the exact command that puts it back. Without --yes it says what it would
                             do and does nothing (exit 64).
  acgs-ops backup archiving enable [--yes]
                             continuous WAL archiving into backups.archiving.directory (acgs-wal-archiving):
                             archive_mode, archive_command (fsync, atomic, never overwrites a different segment),
                             archive_timeout. Turning archive_mode on needs a PostgreSQL restart: without --yes it
                             says so and exits 4 (nothing is archived until the restart); with --yes it restarts,
                             but only inside an open maintenance window covering the database
  acgs-ops backup archiving status    settings, pg_stat_archiver, the newest archived segment and base backup
  acgs-ops backup base-backup         pg_basebackup into the archive's base/ (tar, gzip, manifest, atomic)
  acgs-ops backup restore --to TIME|latest --scratch DIR --port N
  acgs-ops backup restore --to TIME|latest --production [--yes]
                             point-in-time restore into a scratch cluster: the newest base backup that finished
                             before TIME, the archived WAL replayed up to TIME (latest: all of it), started on
                             127.0.0.1:N in DIR (empty or new) and left running; reports the RTO (unpack + replay)
                             and the newest transaction restored. Production is not touched
  acgs-ops backup canary     write a canary row into the database (public.acgs_ops_canary, created if missing); the
                             daemon does it on the canary schedule, and every base backup writes one first
  acgs-ops backup drill --pitr [--to TIME|latest] [--scratch DIR] [--port N]
                             the point-in-time restore drill: restores the archive to latest (default) or TIME into
                             a scratch cluster (default DIR: <archiving.directory>-pitr-drill, N: the database's
                             port + 10000), checks that every table of the base backup's snapshot is there with at
                             least its rows and finds the newest canary, measures RTO (unpack + replay) and the
                             achieved RPO (the target, latest: the drill's start, minus the newest canary), removes
                             the scratch cluster (on failure too) and records the outcome for backup status
${CONFIG_ARCHIVE_USAGE}

Where: --target local (default) works on this host's backup directory (backups.localDirectory) and state, through
the operator API in-process; --target aws calls the deployed operator API (the stack's OperatorApiUrl output),
signed with your AWS credentials (run, list, status, drill, restore, archiving, base-backup, restore --to; in AWS
a base backup is sent to the database host and not waited for: it answers with the command id).

Options:
${LOCAL_OPTIONS_HELP}
${API_TARGET_HELP}
      --yes          restore: go ahead (the database is overwritten; the safety dump is the way back);
                     config restore: replace files that exist under --to
      --timeout SECONDS   restore: how long the safety dump, and the restore, may each take; archiving, base-backup,
                          restore --to: how long the document may take (1-9999, default 3600)
      --dry-run      prune: show what would be deleted
      --pg-bin DIR   directory of pg_dump/pg_restore/psql (default: found on PATH)
      --by NAME      who acts, --target local only (default: your login name)
      --to TIME      restore: latest, or a time with its zone (2026-12-03T19:00:00Z): point-in-time, to --scratch;
                     config restore: the directory the files are written under
      --production   restore --to: into the production cluster (backups.archiving.dataDirectory, kept as a safety
                     copy), through the Recovery Procedure's steps; without --yes prints the plan and does nothing
      --scratch DIR  restore --to: the scratch cluster's directory (must not exist or be empty)
      --port N       restore --to: the scratch cluster's port on 127.0.0.1

Exit status: 0 done and healthy, 1 the backup/drill/restore failed, the judgement is not ok (status: also the WAL
archive or its base backup in trouble; a dumps-only RPO shortfall is shown, and is the standing P3's, not an exit 1),
a drill did not pass, or the backup is refused as not verified, 64 usage or config error (an unknown backup, a missing
--yes, archiving enable --yes outside a maintenance window covering the database),
74 the state cannot be opened or created (run, status, drill and restore record in it; list and prune need none),
4 archiving enable: set, but waiting for a PostgreSQL restart (nothing is archived yet).
`;

const OPTIONS = {
  ...LOCAL_OPTIONS,
  ...API_TARGET_OPTIONS,
  yes: { type: 'boolean', default: false },
  timeout: { type: 'string' },
  'dry-run': { type: 'boolean', default: false },
  'pg-bin': { type: 'string' },
  by: { type: 'string' },
  to: { type: 'string' },
  scratch: { type: 'string' },
  port: { type: 'string' },
  pitr: { type: 'boolean', default: false },
  production: { type: 'boolean', default: false },
} as const;

const ACTIONS = [
  'run',
  'list',
  'status',
  'prune',
  'drill',
  'restore',
  'archiving',
  'base-backup',
  'canary',
  'config',
] as const;
type Action = (typeof ACTIONS)[number];

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
  summary: 'take, list, judge, prune, restore-drill and restore database backups (on this host or in AWS)',
  usage: USAGE,
  async run(args, context) {
    const { values, positionals } = parseCommandLine('backup', args, OPTIONS);
    const [rawAction, id, ...extra] = positionals;
    const action = ACTIONS.find((a) => a === rawAction);
    if (!action)
      throw new UsageError(
        'acgs-ops backup needs an action: run, list, status, prune, drill, restore, archiving, base-backup, canary or config',
      );
    if (action === 'config') {
      for (const option of ['scratch', 'port', 'pg-bin', 'by'] as const)
        if (values[option] !== undefined) throw new UsageError(`--${option} does not apply to backup config`);
      if (values['dry-run']) throw new UsageError('--dry-run applies to prune only');
      if (values.pitr) throw new UsageError('--pitr applies to drill only');
      if (values.production) throw new UsageError('--production applies to restore --to TIME|latest only');
      const timeoutSeconds = values.timeout === undefined ? undefined : secondsOption(values.timeout);
      return runConfigArchiveCommand(positionals.slice(1), values, context, timeoutSeconds);
    }
    if (
      action === 'archiving' ||
      action === 'base-backup' ||
      action === 'canary' ||
      (action === 'restore' && values.to !== undefined) ||
      (action === 'drill' && values.pitr)
    )
      return runArchivingAction(action, id, extra, values, context);
    if (values.pitr) throw new UsageError('--pitr applies to drill only');
    if (values.production) throw new UsageError('--production applies to restore --to TIME|latest only');
    for (const option of ['scratch', 'port', 'to'] as const)
      if (values[option] !== undefined)
        throw new UsageError(`--${option} applies to restore --to and drill --pitr only`);
    // Everything is checked before anything is opened or run: bad input creates nothing.
    if (action === 'restore') {
      if (id === undefined)
        throw new UsageError('acgs-ops backup restore needs a backup id (see acgs-ops backup list)');
      checkInput(backupIdInput, id, 'backup id');
    } else if (id !== undefined) throw new UsageError(`unexpected argument "${id}"`);
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
    if (values.target !== 'local' && values.target !== 'aws')
      throw new UsageError(`--target must be local or aws, got "${values.target}"`);
    if (values.yes && action !== 'restore') throw new UsageError('--yes applies to restore only');
    if (values.timeout !== undefined && action !== 'restore') throw new UsageError('--timeout applies to restore only');
    if (values['dry-run'] && action !== 'prune') throw new UsageError('--dry-run applies to prune only');
    const timeoutSeconds = values.timeout === undefined ? undefined : secondsOption(values.timeout);
    const restoreBody = { confirm: values.yes, ...(timeoutSeconds === undefined ? {} : { timeoutSeconds }) };

    if (values.target === 'aws') {
      if (action === 'prune') throw new UsageError('prune works on this host only (in AWS the weekly schedule prunes)');
      if (values['pg-bin'] !== undefined) throw new UsageError('--pg-bin is for --target local');
      if (action === 'restore' && !values.yes)
        throw new UsageError(
          `restoring ${id} overwrites the production database: it would stop the services that depend on it, take a safety dump, restore, start them and wait for their health; nothing was done. Confirm with --yes`,
        );
      const target = apiTarget(values);
      const response = await callApi(target, toRequest(action, id, restoreBody), {
        values,
        context,
        access: 'none',
        // A backup, drill or restore answers once done (or dispatched): as long as the operator Lambda may take.
        ...(action === 'list' || action === 'status' ? {} : { timeoutMs: PROCEDURE_TIMEOUT_MS }),
      });
      return render(action, response, values.json, context);
    }

    const by = operatorName(values.by);
    const { config, runtime } = await openRuntimeFor(values, context, {
      // Listing and pruning work on the backup directory only: they need no control-plane state and create none.
      access: action === 'list' || action === 'prune' ? 'none' : 'write',
      pgBinDir: values['pg-bin'],
      check: (fleet) => {
        if (!fleet.backups) throw new UsageError('the config has no backups section');
        if (action === 'restore' && !values.yes) throw new UsageError(unconfirmedRestore(fleet, id ?? ''));
      },
    });
    try {
      const { ctx, backups } = runtime;
      if (!config.backups || !backups) throw new UsageError('the config has no backups section');
      if (action === 'prune') {
        const run = await applyRetention(ctx, backups.objects, { dryRun: values['dry-run'] });
        const text = run.plan.refused
          ? `nothing deleted: ${run.plan.refused}\n`
          : `${values['dry-run'] ? 'would delete' : 'deleted'}: ${run.plan.delete.map((d) => d.id).join(', ') || 'nothing'}\nkept: ${run.plan.keep.map((k) => `${k.id} (${k.reasons.join(',')})`).join(', ')}\n${(run.plan.held ?? []).map((h) => `held: ${h.id}: ${h.why}\n`).join('')}`;
        context.stdout(values.json ? formatJson(run) : text);
        return 0;
      }
      if (action === 'status') {
        // This host's status is the monitor's run: it opens or resolves the backup incidents as the schedule does.
        const judgement = await monitorBackups(ctx, backups.objects);
        context.stdout(values.json ? formatJson(judgement) : statusText(judgement));
        return judgement.status === 'ok' && !archiveTrouble(judgement.recovery) ? 0 : 1;
      }
      const response = await handleApiRequest(ctx, { ...toRequest(action, id, restoreBody), caller: by });
      return render(action, response, values.json, context);
    } finally {
      runtime.close();
    }
  },
};

type Values = ReturnType<typeof parseCommandLine<typeof OPTIONS>>['values'];

/**
 * archiving enable|status, base-backup and restore --to, through the operator API like the other backup commands:
 * in-process on this host, signed to the Function URL with --target aws; canary and drill --pitr on this host only.
 * Everything is checked before anything is opened or sent.
 */
async function runArchivingAction(
  action: 'archiving' | 'base-backup' | 'restore' | 'canary' | 'drill',
  sub: string | undefined,
  extra: readonly string[],
  values: Values,
  context: CliContext,
): Promise<number> {
  if ((action === 'canary' || action === 'drill') && values.target !== 'local')
    throw new UsageError(
      `backup ${action}${action === 'drill' ? ' --pitr' : ''} works on this host only (--target local)`,
    );
  if (action === 'archiving' && sub !== 'enable' && sub !== 'status')
    throw new UsageError('acgs-ops backup archiving needs enable or status');
  const unexpected = action === 'archiving' ? extra[0] : (sub ?? extra[0]);
  if (unexpected !== undefined) throw new UsageError(`unexpected argument "${unexpected}"`);
  if (values.production && action !== 'restore') throw new UsageError('--production applies to restore --to only');
  if (values.yes && !(action === 'archiving' && sub === 'enable') && !values.production)
    throw new UsageError('--yes applies to restore ID and archiving enable only (and to restore --to --production)');
  if (action !== 'restore' && action !== 'drill')
    for (const option of ['scratch', 'port', 'to'] as const)
      if (values[option] !== undefined)
        throw new UsageError(`--${option} applies to restore --to and drill --pitr only`);
  if (values['dry-run']) throw new UsageError('--dry-run applies to prune only');
  if (values.timeout !== undefined && action === 'archiving' && sub === 'status')
    throw new UsageError('--timeout applies to restore, archiving enable, base-backup and restore --to only');
  const timeoutSeconds = values.timeout === undefined ? undefined : secondsOption(values.timeout);
  let restore: { target: string; scratchDirectory: string; portText: string } | undefined;
  if (action === 'restore' && values.production) {
    if (values.scratch !== undefined)
      throw new UsageError(
        '--production and --scratch are mutually exclusive: a point-in-time restore goes into production or into a scratch cluster',
      );
    if (values.port !== undefined) throw new UsageError('--port applies to --scratch only (the scratch cluster)');
    parseRestoreTarget(values.to ?? '');
  } else if (action === 'restore') {
    if (values.scratch === undefined) throw new UsageError('restore --to needs --scratch DIR (the scratch cluster)');
    if (values.port === undefined) throw new UsageError('restore --to needs --port N (the scratch cluster)');
    parseRestoreTarget(values.to ?? '');
    restore = {
      target: values.to ?? '',
      scratchDirectory: parseScratchDirectory(values.scratch),
      portText: values.port,
    };
    // The production port is known from the config (this host) or to the API (AWS); the shape is checked here.
    parseScratchPort(restore.portText, 0);
  }
  if (action === 'drill' || action === 'canary') return runLocalPitrAction(action, values, context, timeoutSeconds);
  const timeout = timeoutSeconds === undefined ? {} : { timeoutSeconds };
  const request: Omit<ApiRequest, 'caller'> = values.production
    ? {
        method: 'POST',
        path: '/backups/pitr-restore/production',
        query: {},
        body: JSON.stringify({ target: values.to ?? '', confirm: values.yes, ...timeout }),
      }
    : restore
      ? {
          method: 'POST',
          path: '/backups/pitr-restore',
          query: {},
          body: JSON.stringify({
            target: restore.target,
            scratchDirectory: restore.scratchDirectory,
            port: Number(restore.portText),
            ...timeout,
          }),
        }
      : action === 'base-backup'
        ? { method: 'POST', path: '/backups/archiving/base-backup', query: {}, body: JSON.stringify(timeout) }
        : sub === 'enable'
          ? {
              method: 'POST',
              path: '/backups/archiving/enable',
              query: {},
              body: JSON.stringify({ confirm: values.yes, ...timeout }),
            }
          : { method: 'GET', path: '/backups/archiving', query: {}, body: undefined };

  let response: ApiResponse;
  if (values.target === 'aws') {
    if (values['pg-bin'] !== undefined) throw new UsageError('--pg-bin is for --target local');
    response = await callApi(apiTarget(values), request, {
      values,
      context,
      access: 'none',
      ...(request.method === 'GET' ? {} : { timeoutMs: PROCEDURE_TIMEOUT_MS }),
    });
  } else {
    if (values.target !== 'local') throw new UsageError(`--target must be local or aws, got "${values.target}"`);
    const by = operatorName(values.by);
    const { runtime } = await openRuntimeFor(values, context, {
      access: 'write',
      pgBinDir: values['pg-bin'],
      check: (fleet) => {
        archivingOf(fleet);
        const { database } = backupTarget(fleet, {});
        if (restore) parseScratchPort(restore.portText, database.port);
      },
    });
    try {
      response = await handleApiRequest(runtime.ctx, { ...request, caller: by });
    } finally {
      runtime.close();
    }
  }
  if (values.production) return renderPitrProduction(response, values.json, context);
  return renderArchiving(
    restore ? 'pitr-restore' : action === 'base-backup' ? 'base-backup' : (sub ?? ''),
    response,
    values.json,
    context,
  );
}

/** canary and drill --pitr: on this host only, through the documents (no API route: they need the scratch cluster here). */
async function runLocalPitrAction(
  action: 'canary' | 'drill',
  values: Values,
  context: CliContext,
  timeoutSeconds: number | undefined,
): Promise<number> {
  const drillTarget = action === 'drill' ? parseRestoreTarget(values.to ?? 'latest') : undefined;
  const drillScratch = values.scratch === undefined ? undefined : parseScratchDirectory(values.scratch);
  const { config, runtime } = await openRuntimeFor(values, context, {
    access: 'write',
    pgBinDir: values['pg-bin'],
    check: (fleet) => {
      archivingOf(fleet);
      backupTarget(fleet, {});
    },
  });
  try {
    const { ctx } = runtime;
    const pgBin = values['pg-bin'] === undefined ? {} : { pgBinDir: values['pg-bin'] };
    if (drillTarget !== undefined) {
      const { database } = backupTarget(config, {});
      const defaults = defaultPitrDrillScratch(config);
      if (!runtime.backups) throw new UsageError('the config has no backups section');
      const port = parseScratchPort(values.port ?? String(defaults.port), database.port);
      const run = await runPitrDrill(ctx, runtime.backups.objects, {
        target: drillTarget,
        scratchDirectory: drillScratch ?? parseScratchDirectory(defaults.scratchDirectory),
        port,
        ...pgBin,
        ...(timeoutSeconds === undefined ? {} : { timeoutSeconds }),
      });
      context.stdout(values.json ? formatJson(pitrDrillView(run)) : pitrDrillText(run));
      return run.record.outcome === 'passed' && run.key !== undefined ? 0 : 1;
    }
    const run = await writeCanary(ctx, pgBin);
    const body = { action: run.action, state: run.state, report: run.report ?? null, error: run.error ?? null };
    if (values.json) context.stdout(formatJson(body));
    else
      context.stdout(
        `canary: ${run.state}\n${escapeControlCharacters(run.error ?? lastOutputLine(run.result.output))}\n`,
      );
    return run.result.status === 'succeeded' ? 0 : 1;
  } finally {
    runtime.close();
  }
}

interface PitrProductionView {
  readonly status: string;
  readonly target?: string;
  readonly steps?: readonly { name: string; status: string; durationMs: number; detail: string }[];
  readonly report?: PitrRestoreReport | null;
  readonly safetyCopy?: string | null;
  readonly baseBackup?: string | null;
  readonly error?: string;
  readonly code?: string;
}

/** Prints a production point-in-time restore: each step with its duration, the safety copy, the figures. */
function renderPitrProduction(response: ApiResponse, json: boolean, context: CliContext): number {
  const view = response.body as PitrProductionView;
  const error = String(view.error ?? `status ${response.statusCode}`);
  // Unconfirmed (the plan: nothing was done), bad input, confirmed outside what the state allows.
  if (response.statusCode === 400 || response.statusCode === 404) throw new UsageError(error);
  if (response.statusCode === 409) {
    context.stderr(`acgs-ops: ${escapeControlCharacters(error)}${view.code ? ` (${view.code})` : ''}\n`);
    return 1;
  }
  if (response.statusCode >= 500 && response.statusCode !== 502) throw new ControlPlaneError('API_ERROR', error);
  if (json) context.stdout(formatJson(view));
  else {
    const lines = (view.steps ?? []).map(
      (s) => `  ${s.name.padEnd(13)} ${s.status.padEnd(9)} ${(s.durationMs / 1000).toFixed(1)} s  ${s.detail}`,
    );
    const report = view.report;
    context.stdout(
      escapeControlCharacters(
        [
          `point-in-time restore of production to ${view.target}: ${view.status}`,
          ...lines,
          ...(report
            ? [
                `base backup ${report.baseBackup}; PostgreSQL down ${((report.downMs ?? 0) / 1000).toFixed(1)} s (unpack ${(report.unpackMs / 1000).toFixed(1)} s, replay ${(report.replayMs / 1000).toFixed(1)} s); newest transaction restored: ${report.newestTransactionAt ?? 'unknown'}`,
              ]
            : []),
          ...(view.safetyCopy
            ? [`safety copy (the data directory as it was): ${view.safetyCopy}; remove it by hand once satisfied`]
            : []),
          ...(view.baseBackup ? [`fresh base backup on the new timeline: ${view.baseBackup}`] : []),
          ...(view.error ? [view.error] : []),
        ].join('\n'),
      ) + '\n',
    );
  }
  return view.status === 'succeeded' ? 0 : 1;
}

interface ArchivingView {
  readonly status: string;
  readonly state?: string;
  readonly output: string;
  readonly commandId?: string;
  readonly report: Record<string, unknown> | null;
  readonly error?: string;
  readonly code?: string;
}

/** Prints the API's answer to an archiving request and returns the exit status (4: waiting for a restart). */
function renderArchiving(action: string, response: ApiResponse, json: boolean, context: CliContext): number {
  const view = response.body as ArchivingView;
  const error = String(view.error ?? `status ${response.statusCode}`);
  if (response.statusCode === 400 || response.statusCode === 404) throw new UsageError(error);
  // Confirmed outside a maintenance window: nothing ran, the operator must open one (a usage error, as before).
  if (response.statusCode === 409 && view.code === NO_MAINTENANCE_WINDOW) throw new UsageError(error);
  if (response.statusCode === 409 && view.code !== RESTART_NEEDED) {
    context.stderr(`acgs-ops: ${escapeControlCharacters(error)}\n`);
    return 1;
  }
  if (response.statusCode >= 500 && response.statusCode !== 502) throw new ControlPlaneError('API_ERROR', error);
  const pending = view.commandId && view.status === 'pending' ? ` (command ${view.commandId})` : '';
  if (action === 'pitr-restore') {
    const report = view.report as PitrRestoreReport | null;
    if (json) context.stdout(formatJson({ status: view.status, report, error: view.error ?? null }));
    else if (report) context.stdout(pitrText(report));
    else context.stdout(`point-in-time restore ${view.status}: ${escapeControlCharacters(view.error ?? '')}\n`);
    return report && view.status === 'succeeded' ? 0 : 1;
  }
  const state = view.state ?? view.status;
  if (json)
    context.stdout(
      formatJson({
        action,
        state,
        status: view.status,
        report: view.report,
        error: view.error ?? null,
        ...(view.commandId === undefined ? {} : { commandId: view.commandId }),
      }),
    );
  else {
    // The document's own last word says why (RESTART NEEDED: ...), else the API's error.
    const detail =
      state === 'restart-needed' ? lastOutputLine(view.output) : (view.error ?? lastOutputLine(view.output));
    const summary = action === 'base-backup' ? `base backup: ${state}${pending}` : `archiving ${action}: ${state}`;
    context.stdout(`${summary}\n${escapeControlCharacters(detail)}\n`);
  }
  if (state === 'restart-needed') return RESTART_NEEDED_EXIT;
  if (view.status === 'pending') return 0;
  return view.status === 'succeeded' && (action !== 'status' || state === 'active') ? 0 : 1;
}

function pitrText(report: PitrRestoreReport): string {
  const seconds = (ms: number) => `${(ms / 1000).toFixed(3)} s`;
  return [
    `point-in-time restore to ${report.target}: recovered from base backup ${report.baseBackup} (finished ${report.baseBackupFinishedAt})`,
    `  RTO ${seconds(report.rtoMs)} (unpack ${seconds(report.unpackMs)}, replay ${seconds(report.replayMs)})`,
    `  newest transaction restored: ${report.newestTransactionAt ?? 'none replayed'}`,
    `  scratch cluster: 127.0.0.1:${report.port}, ${report.scratchDirectory}/data (left running)`,
    '',
  ].join('\n');
}

function pitrDrillView(run: PitrDrillRun) {
  return {
    outcome: run.record.outcome,
    record: {
      ...run.record,
      startedAt: new Date(run.record.startedAt).toISOString(),
      finishedAt: new Date(run.record.finishedAt).toISOString(),
      newestCanaryAt: run.record.newestCanaryAt === null ? null : new Date(run.record.newestCanaryAt).toISOString(),
    },
    key: run.key ?? null,
    unrecorded: run.unrecorded ?? null,
    report: run.restore.report ?? null,
    error: run.restore.error ?? null,
  };
}

function pitrDrillText(run: PitrDrillRun): string {
  const { record } = run;
  const e = escapeControlCharacters;
  return [
    `point-in-time drill to ${record.target}: ${record.outcome === 'passed' ? 'passed' : 'FAILED'}${record.baseBackup ? ` (base backup ${e(record.baseBackup)})` : ''}`,
    ...record.reasons.map((r) => `  ${e(r)}`),
    run.key ? `  recorded as ${run.key}; the scratch cluster is removed` : `  NOT RECORDED: ${e(run.unrecorded ?? '')}`,
    '',
  ].join('\n');
}

function secondsOption(text: string): number {
  const seconds = Number(text);
  if (!/^[1-9][0-9]{0,3}$/.test(text) || !Number.isInteger(seconds))
    throw new UsageError(`--timeout must be a whole number of seconds from 1 to 9999, got "${text}"`);
  return seconds;
}

function toRequest(
  action: Exclude<Action, 'prune' | 'archiving' | 'base-backup' | 'canary' | 'config'>,
  id: string | undefined,
  restoreBody: { confirm: boolean; timeoutSeconds?: number },
): Omit<ApiRequest, 'caller'> {
  switch (action) {
    case 'run':
      return { method: 'POST', path: '/backups', query: {}, body: '{}' };
    case 'list':
    case 'status':
      return { method: 'GET', path: '/backups', query: {}, body: undefined };
    case 'drill':
      return { method: 'POST', path: '/backups/drill', query: {}, body: '{}' };
    case 'restore':
      return {
        method: 'POST',
        path: `/backups/${encodeURIComponent(id ?? '')}/restore`,
        query: {},
        body: JSON.stringify(restoreBody),
      };
  }
}

interface CommandView {
  readonly backup?: string;
  readonly status: string;
  readonly output: string;
  readonly commandId?: string;
  readonly judgement?: DrillJudgement | null;
  readonly report?: string | null;
  readonly error?: string;
}

/** Prints the API's answer for `action` and returns the exit status. */
function render(action: Action, response: ApiResponse, json: boolean, context: CliContext): number {
  const body = response.body as Record<string, unknown>;
  if (response.statusCode === 400 || response.statusCode === 404)
    throw new UsageError(String(body.error ?? `status ${response.statusCode}`));
  if (response.statusCode === 409) {
    context.stderr(`acgs-ops: ${escapeControlCharacters(String(body.error ?? 'refused'))}\n`);
    return 1;
  }
  if (response.statusCode >= 500 && response.statusCode !== 502)
    throw new ControlPlaneError('API_ERROR', String(body.error ?? `status ${response.statusCode}`));
  const out = (text: string) => context.stdout(json ? formatJson(body) : text);
  switch (action) {
    case 'run': {
      const view = body as unknown as CommandView;
      const pending = view.commandId ? ` (command ${view.commandId})` : '';
      out(`backup ${view.backup}: ${view.status}${pending}\n${lastOutputLine(view.output)}\n`);
      return view.status === 'succeeded' || view.status === 'pending' ? 0 : 1;
    }
    case 'list': {
      const { catalogue } = body as unknown as { catalogue: Catalogue };
      if (json) {
        context.stdout(formatJson(catalogue));
        return 0;
      }
      out(listText(catalogue));
      return 0;
    }
    case 'status': {
      const { judgement } = body as unknown as { judgement: BackupJudgement & { recovery?: RecoveryVerdict } };
      context.stdout(json ? formatJson(judgement) : statusText(judgement));
      return judgement.status === 'ok' ? 0 : 1;
    }
    case 'drill': {
      const view = body as unknown as CommandView;
      const j = view.judgement;
      out(
        j
          ? `drill of ${view.backup}: ${drillHeadline(j)}\n${j.reasons.map((r) => `  ${r}`).join('\n')}\n`
          : `drill of ${view.backup} ${view.status}: ${lastOutputLine(view.output)}\n`,
      );
      return j?.passed ? 0 : 1;
    }
    case 'restore': {
      const view = body as unknown as ReturnType<typeof restoreView>;
      out(restoreText(view));
      return view.status === 'succeeded' ? 0 : 1;
    }
    default:
      return 64;
  }
}

function statusText(judgement: BackupJudgement & { readonly recovery?: RecoveryVerdict }): string {
  const age = judgement.dataAgeMs === undefined ? 'none' : formatDuration(judgement.dataAgeMs);
  return [
    `backups: ${judgement.status} (newest good backup age: ${age})`,
    ...judgement.reasons.map((r) => `  ${r}`),
    `drill: ${judgement.drillStatus}`,
    ...judgement.drillReasons.map((r) => `  ${r}`),
    ...(judgement.recovery ? recoveryLines(judgement.recovery) : []),
    '',
  ].join('\n');
}

/** The recovery point, as the monitor judged it: what a disaster now would lose, the archive, its base backup. */
function recoveryLines(recovery: RecoveryVerdict): string[] {
  const { point } = recovery;
  const loss = point.lossMs === undefined ? 'unbounded' : formatDuration(point.lossMs);
  const word = point.met ? 'met' : point.basis === 'dump-schedule' ? 'NOT ACHIEVABLE' : 'NOT MET';
  const lines = [
    `recovery point: ${word} (a disaster now loses up to ${loss}; objective ${formatDuration(point.targetMs)}; ${point.basis === 'archive' ? 'WAL archive' : 'dumps only'})`,
    `  ${point.detail}`,
  ];
  if (recovery.archive)
    lines.push(
      `archive: ${recovery.archive.ok ? 'ok' : 'FAILING'}`,
      ...recovery.archive.reasons.filter((r) => r !== point.detail).map((r) => `  ${r}`),
    );
  if (recovery.baseBackup) {
    const baseAge =
      recovery.baseBackup.ageMs === undefined ? '' : ` (newest ${formatDuration(recovery.baseBackup.ageMs)} old)`;
    lines.push(
      `base backup: ${recovery.baseBackup.status}${baseAge}`,
      ...recovery.baseBackup.reasons.map((r) => `  ${r}`),
    );
  }
  return lines.map((l) => escapeControlCharacters(l));
}

/** With archiving configured: the archive or its base backup is in trouble, or its status could not be read. */
function archiveTrouble(recovery: RecoveryVerdict): boolean {
  if (!recovery.archiving) return false;
  return recovery.unreadable !== undefined || recovery.archive?.ok === false || recovery.baseBackup?.status !== 'ok';
}

function listText(catalogue: Catalogue): string {
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
    ...(catalogue.pitrDrills ?? []).map((d) => [
      d.baseBackup ?? '-',
      `pitr drill ${d.outcome}`,
      new Date(d.startedAt).toISOString(),
      '-',
      d.reasons.join('; '),
    ]),
  ].sort((a, b) => (a[2] ?? '').localeCompare(b[2] ?? ''));
  return rows.length === 0 ? 'no backups\n' : formatTable(['BACKUP', 'VERDICT', 'STARTED', 'BYTES', 'NOTES'], rows);
}

function restoreText(view: ReturnType<typeof restoreView>): string {
  // What the API answered may quote stored or typed text: each piece is shown with its control characters escaped.
  const e = escapeControlCharacters;
  const lines = [
    `restore of ${e(view.backup)}: ${e(view.status)}`,
    formatTable(
      ['STEP', 'STATUS', 'TOOK', 'DETAIL'],
      view.steps.map((s) => [e(s.name), e(s.status), formatDuration(s.durationMs), e(s.detail)]),
    ).trimEnd(),
    `safety dump: ${e(view.safetyDump)}`,
  ];
  if (view.status !== 'succeeded') {
    if (view.error) lines.push(`stopped: ${e(view.error)}`);
    if (view.incident) lines.push(`incident ${e(view.incident)} declared (P1, paged)`);
  }
  return `${lines.join('\n')}\n`;
}
