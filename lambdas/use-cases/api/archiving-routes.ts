import { parseRestoreTarget, parseScratchDirectory, parseScratchPort } from '../../core/backup-archiving.ts';
import { backupTarget } from '../../core/document-parameters.ts';
import { DOCUMENT_PATTERNS } from '../../core/document-patterns.ts';
import { ControlPlaneError } from '../../core/errors.ts';
import * as z from '../../core/zod-mini.ts';
import type { CommandRunner } from '../../ports.ts';
import { withinDeadline } from '../backup-tasks.ts';
import type { BackupDestination, ControlPlaneContext } from '../context.ts';
import { PITR_PRODUCTION_ACTION, restoreProductionToPoint } from '../pitr-production-restore.ts';
import { recordProcedureOnIncidents } from '../record-procedure.ts';
import {
  type ArchivingRun,
  archivingStatus,
  enableArchiving,
  restoreToPoint,
  takeBaseBackup,
} from '../wal-archiving.ts';
import { commandBody, destinationOf, MAX_OUTPUT_CHARS, refusals, statusCodeOf } from './backup-routes.ts';
import { type ApiResponse, parseBody, type Route } from './route.ts';

/*
 * Continuous WAL archiving and point-in-time recovery on the database host (acgs-wal-archiving, acgs-pitr-restore):
 *
 *   GET  /backups/archiving              settings, pg_stat_archiver, the newest segment and base backup
 *   POST /backups/archiving/enable       {"confirm"?: boolean, "timeoutSeconds"?: 1..9999}   (archiving.enable)
 *   POST /backups/archiving/base-backup  {"timeoutSeconds"?: 1..9999}                        (archiving.base-backup)
 *   POST /backups/pitr-restore           {"target": "latest"|"2026-12-03T19:00:00Z", "scratchDirectory": "/abs",
 *                                         "port": 1024..65535, "baseBackupId"?: id, "timeoutSeconds"?: 1..9999}
 *                                        into a scratch cluster, never production (backup.pitr-restore)
 *   POST /backups/pitr-restore/production {"target": "latest"|time, "confirm": boolean, "timeoutSeconds"?: 1..9999}
 *                                        production, through the Recovery Procedure's steps; without confirm a 400
 *                                        naming the plan; 409 PITR_NOT_RESTORABLE when no base backup precedes target
 *
 * Answers: {procedure, services, status, exitCode?, output, commandId?, state?, report, error?}. 200 done, 202 sent
 * and not waited for (a base backup in AWS: it may outlast the operator Lambda), 502 the document failed or timed
 * out, 400 bad input, 409 refused by state: archiving not configured or no backup store wired; `confirm` without an
 * open maintenance window covering the database (`NO_MAINTENANCE_WINDOW`, nothing run); and, without `confirm`, a
 * server whose archive_mode waits for a restart (`RESTART_NEEDED`: the settings are written, nothing is archived
 * until PostgreSQL restarts). Where the runtime bounds its waits (AWS), the other documents are cut to that budget.
 */

const timeoutSeconds = z.optional(z.int().check(z.gte(1), z.lte(9999)));
export const archivingEnableBody = z.strictObject({ confirm: z.optional(z.boolean()), timeoutSeconds });
export const baseBackupBody = z.strictObject({ timeoutSeconds });
export const pitrRestoreBody = z.strictObject({
  target: z.string().check(z.maxLength(64)),
  scratchDirectory: z.string().check(z.maxLength(400)),
  port: z.int(),
  baseBackupId: z.optional(
    z.string().check(z.regex(new RegExp(DOCUMENT_PATTERNS.backupId), 'must be a base backup id')),
  ),
  timeoutSeconds,
});

export const pitrProductionBody = z.strictObject({
  target: z.string().check(z.maxLength(64)),
  confirm: z.boolean(),
  timeoutSeconds,
});

/** The refusal of enabling without confirmation on a server that needs a restart. */
export const RESTART_NEEDED = 'RESTART_NEEDED';

/** The config's archiving and the runtime's backup wiring, or a refusal by state (409). */
function archivingDestination(ctx: ControlPlaneContext): BackupDestination {
  if (!ctx.config.backups?.archiving)
    throw new ControlPlaneError(
      'ARCHIVING_NOT_CONFIGURED',
      `fleet ${ctx.config.fleet.name} has no backups.archiving section: WAL archiving is not configured`,
    );
  return destinationOf(ctx);
}

/** The runner a waited-for document goes through: bounded to what the runtime may wait, where it says. */
function waitingRunner(ctx: ControlPlaneContext, destination: BackupDestination): CommandRunner {
  return destination.waitBudgetMs === undefined ? ctx.commands : withinDeadline(ctx.commands, destination.waitBudgetMs);
}

function hostOptions(destination: BackupDestination, seconds: number | undefined) {
  return {
    ...(destination.pgBinDir === undefined ? {} : { pgBinDir: destination.pgBinDir }),
    ...(seconds === undefined ? {} : { timeoutSeconds: seconds }),
  };
}

function archivingAnswer(procedure: string, run: ArchivingRun): ApiResponse {
  const body = commandBody(procedure, run.result, {
    state: run.state,
    report: run.report ?? null,
    ...(run.error === undefined ? {} : { error: run.error }),
  });
  // Enabling without the restart: the settings are written and wait for it (the status only reports that state).
  if (run.state === 'restart-needed' && run.result.status !== 'succeeded')
    return {
      statusCode: 409,
      body: {
        ...body,
        code: RESTART_NEEDED,
        // The document's own words (RESTART NEEDED: ... and what to do), else the same in short.
        error:
          run.error ??
          'RESTART NEEDED: archive_mode takes effect only when PostgreSQL restarts; nothing is archived until then. Confirm the restart inside a maintenance window covering the database',
      },
    };
  return { statusCode: statusCodeOf(run.result.status, run.result.exitCode), body };
}

async function recorded(ctx: ControlPlaneContext, by: string, action: string, run: ArchivingRun): Promise<void> {
  if (run.result.status === 'pending') return;
  const database = ctx.config.backups?.database;
  await recordProcedureOnIncidents(ctx, {
    by,
    action,
    services: database === undefined ? [] : [database],
    outcome: run.result.status,
    detail: `${action}: ${run.state}${run.error === undefined ? '' : `: ${run.error}`}`.slice(0, 1000),
  });
}

export const archivingRoutes: readonly Route[] = [
  {
    method: 'GET',
    path: /^\/backups\/archiving$/,
    handle: ({ ctx }) =>
      refusals(async () => {
        const destination = archivingDestination(ctx);
        const run = await archivingStatus(
          { ...ctx, commands: waitingRunner(ctx, destination) },
          hostOptions(destination, undefined),
        );
        return archivingAnswer('archiving.status', run);
      }),
  },
  {
    method: 'POST',
    path: /^\/backups\/archiving\/enable$/,
    action: 'archiving.enable',
    handle: ({ ctx, request }) =>
      refusals(async () => {
        const body = parseBody(archivingEnableBody, request.body);
        const destination = archivingDestination(ctx);
        // With confirm, the window is checked before anything runs (enableArchiving): NO_MAINTENANCE_WINDOW, 409.
        const run = await enableArchiving(
          { ...ctx, commands: waitingRunner(ctx, destination) },
          { restart: body.confirm === true, ...hostOptions(destination, body.timeoutSeconds) },
        );
        await recorded(ctx, request.caller, 'archiving.enable', run);
        return archivingAnswer('archiving.enable', run);
      }),
  },
  {
    method: 'POST',
    path: /^\/backups\/archiving\/base-backup$/,
    action: 'archiving.base-backup',
    handle: ({ ctx, request }) =>
      refusals(async () => {
        const body = parseBody(baseBackupBody, request.body);
        const destination = archivingDestination(ctx);
        // Dispatched where the runtime says a long document outlasts its wait (AWS): 202 with the command id; the
        // document publishes the base backup atomically, or nothing.
        const run = await takeBaseBackup(
          destination.dispatch ? { ...ctx, commands: destination.dispatch } : ctx,
          hostOptions(destination, body.timeoutSeconds),
        );
        await recorded(ctx, request.caller, 'archiving.base-backup', run);
        return archivingAnswer('archiving.base-backup', run);
      }),
  },
  {
    method: 'POST',
    path: /^\/backups\/pitr-restore$/,
    action: 'backup.pitr-restore',
    handle: ({ ctx, request }) =>
      refusals(async () => {
        const body = parseBody(pitrRestoreBody, request.body);
        const target = parseRestoreTarget(body.target, 'target');
        const scratchDirectory = parseScratchDirectory(body.scratchDirectory, 'scratchDirectory');
        const destination = archivingDestination(ctx);
        const port = parseScratchPort(String(body.port), backupTarget(ctx.config, {}).database.port, 'port');
        const run = await restoreToPoint(
          { ...ctx, commands: waitingRunner(ctx, destination) },
          {
            target,
            scratchDirectory,
            port,
            ...(body.baseBackupId === undefined ? {} : { baseBackupId: body.baseBackupId }),
            ...hostOptions(destination, body.timeoutSeconds),
          },
        );
        const status = run.report
          ? run.result.status
          : run.result.status === 'succeeded'
            ? 'failed'
            : run.result.status;
        return {
          statusCode: statusCodeOf(status, run.result.exitCode),
          body: commandBody(
            'backup.pitr-restore',
            { ...run.result, status },
            {
              report: run.report ?? null,
              ...(status === 'succeeded'
                ? {}
                : { error: run.error ?? 'the document printed no point-in-time restore report' }),
            },
          ),
        };
      }),
  },
  {
    method: 'POST',
    path: /^\/backups\/pitr-restore\/production$/,
    action: PITR_PRODUCTION_ACTION,
    handle: ({ ctx, request, options }) =>
      refusals(async () => {
        const body = parseBody(pitrProductionBody, request.body);
        const target = parseRestoreTarget(body.target, 'target');
        const destination = archivingDestination(ctx);
        const run = await restoreProductionToPoint(
          { ...ctx, commands: waitingRunner(ctx, destination) },
          destination,
          {
            target,
            by: request.caller,
            confirm: body.confirm,
            ...(body.timeoutSeconds === undefined ? {} : { timeoutSeconds: body.timeoutSeconds }),
          },
          {
            ...(options.sleep === undefined ? {} : { sleep: options.sleep }),
            ...(options.observeHealth === undefined ? {} : { observeHealth: options.observeHealth }),
          },
        );
        return {
          statusCode: statusCodeOf(run.status),
          body: {
            procedure: PITR_PRODUCTION_ACTION,
            services: run.services,
            status: run.status,
            target: run.target,
            output: run.output.slice(-MAX_OUTPUT_CHARS),
            steps: run.steps,
            plan: run.plan,
            report: run.report ?? null,
            safetyCopy: run.safetyCopy ?? null,
            baseBackup: run.baseBackup ?? null,
            ...(run.window ? { window: { id: run.window.id, until: new Date(run.window.endsAt).toISOString() } } : {}),
            ...(run.error === undefined ? {} : { error: run.error }),
            ...(run.incident ? { incident: run.incident.id } : {}),
          },
        };
      }),
  },
];
