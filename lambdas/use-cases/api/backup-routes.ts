import { judgeBackups } from '../../core/backup-judgement.ts';
import { ControlPlaneError, UsageError } from '../../core/errors.ts';
import { checkInput } from '../../core/operator-input.ts';
import * as z from '../../core/zod-mini.ts';
import type { CommandResult } from '../../ports.ts';
import { withinDeadline } from '../backup-tasks.ts';
import {
  type BackupDestination,
  judgeRecoveryPoint,
  lastOutputLine,
  loadCatalogue,
  runBackup,
  runDrill,
} from '../backups.ts';
import type { ControlPlaneContext } from '../context.ts';
import { recordProcedureOnIncidents } from '../record-procedure.ts';
import { backupIdInput, RESTORE_ACTION, type RestoreRun, restoreDatabase } from '../restore-database.ts';
import { procedureStatusCode } from './procedure-response.ts';
import { type ApiResponse, parseBody, type Route } from './route.ts';

/*
 *   GET  /backups                  the catalogue (every backup with its verdict, failed attempts, failed drills) and
 *                                  the monitor's judgement (freshness, size, last attempt, drill), as `backup list` and
 *                                  `backup status` show them; it records nothing (the hourly monitor opens incidents)
 *   POST /backups                  {}                 take a backup now (backup.run)
 *   POST /backups/drill            {}                 restore-drill the newest good backup (backup.drill)
 *   POST /backups/{id}/restore     {"confirm": true, "timeoutSeconds"?: 1..9999}   the Recovery Procedure
 *
 * Procedure responses: {procedure, services, status, exitCode?, output, commandId?, window?, steps?, error?, ...};
 * 200 succeeded, 202 pending (a command dispatched: its outcome arrives by the command's status-change event), 502
 * failed or timed out, 409 refused by state (no backups wired or configured, no good backup, one not verified, a
 * restore of the database already running), 400
 * bad input, 404 an unknown backup.
 */

export const runBody = z.strictObject({});
export const drillBody = z.strictObject({});
export const restoreBody = z.strictObject({
  confirm: z.boolean(),
  timeoutSeconds: z.optional(z.int().check(z.gte(1), z.lte(9999))),
});

/** Output kept in a response: the end, where the documents put their reason, manifest or report. */
export const MAX_OUTPUT_CHARS = 4000;

/** Refusals by the state of things (HTTP 409): the operator must change something before trying again. */
const REFUSED_BY_STATE = new Set([
  'BACKUPS_NOT_CONFIGURED',
  'ARCHIVING_NOT_CONFIGURED',
  'NO_MAINTENANCE_WINDOW',
  'NO_GOOD_BACKUP',
  'BACKUP_NOT_VERIFIED',
  'RESTORE_RUNNING',
  'PITR_NOT_RESTORABLE',
]);

export function destinationOf(ctx: ControlPlaneContext): BackupDestination {
  if (!ctx.config.backups)
    throw new ControlPlaneError('BACKUPS_NOT_CONFIGURED', `fleet ${ctx.config.fleet.name} has no backups section`);
  if (!ctx.backups)
    throw new ControlPlaneError('BACKUPS_NOT_CONFIGURED', 'this runtime has no backup store wired to the operator API');
  return ctx.backups;
}

/** A refusal by state as a 409; anything else goes on to the router (400, 404, 500). */
export async function refusals(handle: () => Promise<ApiResponse>): Promise<ApiResponse> {
  try {
    return await handle();
  } catch (error) {
    if (error instanceof ControlPlaneError && !(error instanceof UsageError) && REFUSED_BY_STATE.has(error.code))
      return { statusCode: 409, body: { error: error.message, code: error.code } };
    throw error;
  }
}

/** The HTTP status of an outcome, as every procedure route answers it (procedure-response.ts). */
export function statusCodeOf(status: CommandResult['status'], exitCode?: number): number {
  return procedureStatusCode({ result: { status, output: '', ...(exitCode === undefined ? {} : { exitCode }) } });
}

export function commandBody(procedure: string, result: CommandResult, extra: Record<string, unknown>) {
  return {
    procedure,
    services: [] as string[],
    status: result.status,
    ...(result.exitCode === undefined ? {} : { exitCode: result.exitCode }),
    output: result.output.slice(-MAX_OUTPUT_CHARS),
    ...(result.commandId === undefined ? {} : { commandId: result.commandId }),
    ...extra,
  };
}

/** The body of a restore's response (and what the CLI prints): each step with its duration, the way back. */
export function restoreView(run: RestoreRun) {
  return {
    procedure: RESTORE_ACTION,
    services: run.services,
    status: run.status,
    backup: run.backupId,
    output: run.output.slice(-MAX_OUTPUT_CHARS),
    ...(run.window
      ? {
          window: {
            id: run.window.id,
            subjects: run.window.subjects,
            until: new Date(run.window.endsAt).toISOString(),
          },
        }
      : {}),
    steps: run.steps,
    safetyDump: run.safetyDump,
    goBack: run.goBack,
    ...(run.error === undefined ? {} : { error: run.error }),
    ...(run.incident ? { incident: run.incident.id } : {}),
  };
}

export const backupRoutes: readonly Route[] = [
  {
    method: 'GET',
    path: /^\/backups$/,
    handle: ({ ctx, now }) =>
      refusals(async () => {
        const destination = destinationOf(ctx);
        const backups = ctx.config.backups;
        if (!backups) throw new ControlPlaneError('BACKUPS_NOT_CONFIGURED', 'no backups section');
        const catalogue = await loadCatalogue(ctx, destination.objects);
        const judged = judgeBackups(catalogue, backups, now);
        // Dumps only, the recovery point is the schedule's worst case, read from the config; the archive's status
        // needs its document run on the database host, which the hourly monitor does (and opens the incidents).
        const judgement = backups.archiving
          ? judged
          : { ...judged, recovery: await judgeRecoveryPoint(ctx, judged.newestGood) };
        return { statusCode: 200, body: { judgement, catalogue } };
      }),
  },
  {
    method: 'POST',
    path: /^\/backups$/,
    action: 'backup.run',
    handle: ({ ctx, request }) =>
      refusals(async () => {
        parseBody(runBody, request.body);
        const destination = destinationOf(ctx);
        // Dispatched where the runtime says a backup outlasts its wait (AWS): 202 with the command id.
        const run = await runBackup(
          destination.dispatch ? { ...ctx, commands: destination.dispatch } : ctx,
          destination,
        );
        const detail = `backup ${run.id}: ${lastOutputLine(run.result.output) || run.result.status}`;
        if (run.result.status !== 'pending')
          await recordProcedureOnIncidents(ctx, {
            by: request.caller,
            action: 'backup.run',
            services: [],
            outcome: run.result.status,
            detail: detail.slice(0, 1000),
          });
        return {
          statusCode: statusCodeOf(run.result.status, run.result.exitCode),
          body: commandBody('backup.run', run.result, { backup: run.id }),
        };
      }),
  },
  {
    method: 'POST',
    path: /^\/backups\/drill$/,
    action: 'backup.drill',
    handle: ({ ctx, request }) =>
      refusals(async () => {
        parseBody(drillBody, request.body);
        const destination = destinationOf(ctx);
        // Bounded to what the runtime may wait (AWS: the operator Lambda's time): a drill that cannot finish ends as
        // timed-out and is recorded as a failed drill, rather than the invocation being killed mid-wait.
        const runner =
          destination.waitBudgetMs === undefined
            ? ctx.commands
            : withinDeadline(ctx.commands, destination.waitBudgetMs);
        const run = await runDrill(ctx, destination, runner);
        const met = run.judgement?.met ?? false;
        const status: CommandResult['status'] =
          run.result.status === 'succeeded' && !met ? 'failed' : run.result.status;
        const reasons = run.judgement?.reasons ?? [lastOutputLine(run.result.output)];
        await recordProcedureOnIncidents(ctx, {
          by: request.caller,
          action: 'backup.drill',
          services: [],
          outcome: status,
          detail: `drill of ${run.manifest.id}: ${reasons.join('; ')}`.slice(0, 1000),
        });
        return {
          statusCode: statusCodeOf(status),
          body: commandBody(
            'backup.drill',
            { ...run.result, status },
            {
              backup: run.manifest.id,
              judgement: run.judgement ?? null,
              report: run.reportKey ?? null,
            },
          ),
        };
      }),
  },
  {
    method: 'POST',
    // Any segment: the id is checked by the handler, so a malformed one is a 400 naming it, not a 404.
    path: /^\/backups\/(?<id>[^/]{1,512})\/restore$/,
    action: RESTORE_ACTION,
    handle: ({ ctx, request, params, options }) =>
      refusals(async () => {
        const backupId = checkInput(backupIdInput, decodePathSegment(params.id ?? ''), 'backup id');
        const body = parseBody(restoreBody, request.body);
        const run = await restoreDatabase(
          ctx,
          destinationOf(ctx),
          {
            backupId,
            by: request.caller,
            confirm: body.confirm,
            ...(body.timeoutSeconds === undefined ? {} : { timeoutSeconds: body.timeoutSeconds }),
          },
          {
            ...(options.sleep === undefined ? {} : { sleep: options.sleep }),
            ...(options.observeHealth === undefined ? {} : { observeHealth: options.observeHealth }),
          },
        );
        return { statusCode: statusCodeOf(run.status), body: restoreView(run) };
      }),
  },
];

function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new UsageError('backup id: is not a valid URL path segment');
  }
}
