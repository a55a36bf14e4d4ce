import {
  type ArchiveJudgement,
  type ArchiverReading,
  dumpScheduleRecoveryPoint,
  judgeArchive,
  parseArchiveStatus,
  type RecoveryPoint,
} from '../core/archive-judgement.ts';
import { type ArchiveBucket, lastOutputLine } from '../core/backup-archiving.ts';
import { buildCatalogue, type Catalogue, readRecords, recordKeys } from '../core/backup-catalogue.ts';
import { type DrillJudgement, drillIsOf, judgeDrill } from '../core/backup-drill.ts';
import { type BackupJudgement, judgeBackups } from '../core/backup-judgement.ts';
import {
  type BackupManifest,
  DRILL_FAILURE_SUFFIX,
  DRILL_REPORT_SUFFIX,
  DRILL_SUFFIX,
  type DrillFailure,
  type DrillFailureCause,
  parseDrillReport,
} from '../core/backup-records.ts';
import { planRetention, type RetentionPlan } from '../core/backup-retention.ts';
import type { BackupConfig, Severity } from '../core/config-schema.ts';
import { BACKUP_DOCUMENT, DRILL_DOCUMENT } from '../core/document-names.ts';
import { backupCommandParameters, backupId, drillCommandParameters } from '../core/document-parameters.ts';
import { formatDuration, HOUR_MS } from '../core/duration.ts';
import { ControlPlaneError, errorMessage } from '../core/errors.ts';
import type { Incident } from '../core/incident.ts';
import type { CommandResult, CommandRunner, ObjectStore } from '../ports.ts';
import { backupKey, backupsOf, problem } from './backup-problems.ts';
import { type BackupDestination, type ControlPlaneContext, mutingWindows } from './context.ts';
import { clearProblem, raiseProblem } from './problems.ts';
import { updateIncidentWithRetry } from './update-incident.ts';
import { archiveBucketOf, archivingStatus } from './wal-archiving.ts';

/**
 * Backups as the runbook wants them and the field notes demand: the dump is taken and judged on the database host
 * by the SSM document (content, size, checksum, `pg_restore --list`, published only on success), and the control
 * plane reads what was published: freshness and anomalies (monitor), grandfather-father-son retention that never
 * deletes the newest good backup nor prunes after a failed one, and a restore drill that measures RTO and RPO.
 */
export type { BackupDestination } from './context.ts';

function policyOf(backups: BackupConfig) {
  return { ...backups, drill: backups.drill };
}

export interface LoadCatalogueOptions {
  /**
   * Which dumps the store must read again rather than answer from its hash cache: `all` (before a prune deletes
   * anything), `scrub` (one dump per hour of the clock, in turn: bit rot changes no file time, so every dump is
   * re-read every so many monitor runs), none by default.
   */
  readonly fresh?: 'all' | 'scrub';
}

/**
 * Lists the store, reads the records, and asks the store for the SHA-256 of every dump a manifest names, as it is
 * now (locally the file's hash, re-read whenever the file changed and in turn by the scrub; S3's stored checksum in
 * AWS): a dump altered after publication, even at the same size, is judged bad by the monitor and before any prune.
 */
export async function loadCatalogue(
  ctx: ControlPlaneContext,
  objects: ObjectStore,
  options: LoadCatalogueOptions = {},
): Promise<Catalogue> {
  const backups = backupsOf(ctx);
  const listing = await objects.list('');
  const records = (
    await Promise.all(
      recordKeys(listing).map(async (key) => {
        const stored = await objects.get(key);
        return stored ? [{ key, text: Buffer.from(stored.body).toString('utf8') }] : [];
      }),
    )
  ).flat();
  const read = readRecords(records);
  const dumpKeys = new Set(read.manifests.map((m) => m.manifest.dumpKey));
  const scrubbed = options.fresh === 'scrub' ? scrubTurn([...dumpKeys].sort(), ctx.clock.now()) : undefined;
  const fresh = (key: string) => options.fresh === 'all' || key === scrubbed;
  // One dump at a time: each read may be gigabytes from disk.
  const verified = [];
  for (const o of listing)
    verified.push(
      dumpKeys.has(o.key) ? { ...o, sha256: await objects.contentSha256(o.key, { fresh: fresh(o.key) }) } : o,
    );
  return buildCatalogue({ listing: verified, records }, backups, read);
}

/** The dump the hourly scrub reads again now: each in turn, one per hour of the clock. */
function scrubTurn(dumpKeys: readonly string[], now: number): string | undefined {
  if (dumpKeys.length === 0) return undefined;
  return dumpKeys[Math.floor(now / HOUR_MS) % dumpKeys.length];
}

export interface BackupRun {
  readonly id: string;
  readonly result: CommandResult;
}

/**
 * Takes a backup now (the daily schedule, or an operator). The document's exit status is the truth: a failed attempt
 * opens the backup incident itself, with the document's reason, since a destination it cannot write (read-only, full)
 * keeps no failure record for the monitor to read. Sent without waiting (SSM from the backups Lambda), the result is
 * `pending`, and `finishBackupCommand` does the same when the command's status-change event comes.
 */
export async function runBackup(ctx: ControlPlaneContext, destination: BackupDestination): Promise<BackupRun> {
  backupsOf(ctx);
  const at = new Date(ctx.clock.now());
  const parameters = backupCommandParameters(ctx.config, {
    at,
    ...(destination.bucket === undefined ? {} : { bucket: destination.bucket }),
    ...(destination.kmsKeyId === undefined ? {} : { kmsKeyId: destination.kmsKeyId }),
    ...(destination.pgBinDir === undefined ? {} : { pgBinDir: destination.pgBinDir }),
  });
  const id = parameters.BackupId ?? backupId('backup', at);
  ctx.log('backup-started', { id });
  const result = await ctx.commands.run({
    document: BACKUP_DOCUMENT,
    parameters,
    timeoutMs: (Number(parameters.TimeoutSeconds) + 60) * 1000,
  });
  ctx.log('backup-finished', { id, status: result.status });
  if (attemptFailed(result.status)) {
    const cause = lastOutputLine(result.output) || `the backup document ${result.status}`;
    const exit = result.exitCode === undefined ? '' : `, exit ${result.exitCode}`;
    await raiseAttemptFailed(ctx, at.getTime(), `backup ${id} failed (${result.status}${exit}): ${cause}`);
  }
  return { id, result };
}

/** How a backup command sent through SSM ended, as its status-change event tells it. */
export interface BackupCommandOutcome {
  readonly commandId: string;
  /** SSM's own word for it (Success, Failed, TimedOut, DeliveryTimedOut...). */
  readonly ssmStatus: string;
  readonly status: CommandResult['status'];
  /** Where it ran; absent: the configured database host, if any. */
  readonly instanceId?: string;
  /** When the command was sent (epoch ms): the attempt's start. Absent: now. */
  readonly requestedAt?: number;
}

/**
 * The end of a backup `runBackup` sent without waiting (SSM Run Command from the backups Lambda): a final status
 * other than success opens the backup incident as a failed attempt does on one host, since a destination the
 * document cannot write keeps no failure record for the monitor. Success and pending do nothing: the hourly monitor
 * judges what was published. Returns the incident raised, if any.
 */
export async function finishBackupCommand(
  ctx: ControlPlaneContext,
  outcome: BackupCommandOutcome,
): Promise<Incident | undefined> {
  const backups = backupsOf(ctx);
  ctx.log('backup-command-finished', { commandId: outcome.commandId, status: outcome.status });
  if (!attemptFailed(outcome.status)) return undefined;
  const instance = outcome.instanceId ?? backups.instanceId;
  const where = instance === undefined ? 'on the database host' : `on ${instance}`;
  return raiseAttemptFailed(
    ctx,
    outcome.requestedAt ?? ctx.clock.now(),
    `backup command ${outcome.commandId} ${where} failed: SSM status ${outcome.ssmStatus}`,
  );
}

/** A final result that is not a success: failed, timed out, or refused before it ran. */
function attemptFailed(status: CommandResult['status']): boolean {
  return status !== 'succeeded' && status !== 'pending';
}

/** The timeline entry's `action` that records a failed backup attempt in the backup incident. */
const FAILED_ATTEMPT_ACTION = 'backup-attempt';

/**
 * Opens (or adds to) the backup incident for a failed attempt started at `startedAt`. The attempt may have left no
 * failure record (a destination it cannot write): the incident is its record, as a timeline entry stamped with the
 * attempt's start, and the monitor holds the incident until a good backup started after it. Not the incident's
 * `failingSince` (an incident already open keeps its earlier one) nor its title (the monitor rewrites it).
 */
async function raiseAttemptFailed(ctx: ControlPlaneContext, startedAt: number, reason: string): Promise<Incident> {
  const database = backupsOf(ctx).database;
  const report = problem(ctx, 'backup', 'P2', attemptFailedTitle(database), [reason]);
  const raised = await raiseProblem(
    ctx,
    { ...report, failingSince: startedAt },
    undefined,
    await mutingWindows(ctx, ctx.clock.now()),
  );
  const recorded = await updateIncidentWithRetry(ctx, raised.incident, (current) =>
    current.status === 'resolved'
      ? undefined
      : {
          incident: current,
          timeline: [
            {
              at: startedAt,
              type: 'remediation',
              action: FAILED_ATTEMPT_ACTION,
              service: database,
              outcome: 'failed',
              detail: reason,
            },
          ],
        },
  );
  return recorded ?? raised.incident;
}

/** The title of the backup incident a failed attempt opens: the monitor keeps it until a newer good backup. */
function attemptFailedTitle(database: string): string {
  return `Backups of ${database}: the latest attempt failed`;
}

export { lastOutputLine } from '../core/backup-archiving.ts';

/**
 * The hourly backup monitor: judges what was published and keeps one backup incident (P2: no fresh good backup,
 * or the last attempt failed; P3: suspicious) and one drill incident (P3: overdue, never run or failed) in line
 * with it, resolving each when its problem is gone. A backup incident a failed attempt opened (`runBackup`) is
 * resolved only by a good backup started after that attempt, whatever else the store shows. A drill stays failed
 * until a newer drill passes (the verdict recorded with it). Then the recovery point (`monitorRecoveryPoint`): the
 * WAL archive's incidents where archiving is configured, the standing dumps-only P3 where it is not.
 */
export async function monitorBackups(
  ctx: ControlPlaneContext,
  objects: ObjectStore,
  options: MonitorOptions = {},
): Promise<MonitorJudgement> {
  const backups = backupsOf(ctx);
  const now = ctx.clock.now();
  const judged = judgeBackups(await loadCatalogue(ctx, objects, { fresh: 'scrub' }), policyOf(backups), now);
  const windows = await mutingWindows(ctx, now);
  const attemptTitle = attemptFailedTitle(backups.database);
  const unanswered = await failedAttemptUnanswered(
    ctx,
    await ctx.incidents.findOpenIncident(backupKey(ctx, 'backup')),
    judged,
  );
  // What was published looks fine, but an attempt failed since without leaving a record there: it still decides.
  const held = unanswered !== undefined && judged.status === 'ok';
  const judgement: BackupJudgement = held
    ? { ...judged, status: 'failed', reasons: [`${unanswered.detail} (${unanswered.since})`] }
    : judged;
  if (judgement.status === 'ok') {
    const age =
      judgement.dataAgeMs === undefined ? '' : `, newest good backup ${formatDuration(judgement.dataAgeMs)} old`;
    await clearProblem(ctx, backupKey(ctx, 'backup'), `backups healthy${age}`);
  } else {
    const severity: Severity = judgement.status === 'suspicious' ? 'P3' : 'P2';
    // The attempt's title stays while no good backup has answered it, so that the next monitor still holds it.
    const title = unanswered ? attemptTitle : `Backups of ${backups.database}: ${judgement.status}`;
    const reasons = held ? [unanswered.detail] : judgement.reasons;
    await raiseProblem(ctx, problem(ctx, 'backup', severity, title, reasons), undefined, windows);
  }
  if (backups.drill) {
    if (judgement.drillStatus === 'ok')
      await clearProblem(ctx, backupKey(ctx, 'drill'), 'a recent restore drill passed');
    else {
      const title = `Restore drill of ${backups.database}: ${judgement.drillStatus}`;
      await raiseProblem(ctx, problem(ctx, 'drill', 'P3', title, judgement.drillReasons), undefined, windows);
    }
  }
  const recovery = await monitorRecoveryPoint(ctx, objects, judgement.newestGood, options);
  ctx.log('backups-judged', {
    status: judgement.status,
    drill: judgement.drillStatus,
    reasons: judgement.reasons,
    rpo: recovery.point.detail,
  });
  return { ...judgement, recovery };
}

export interface MonitorOptions {
  /**
   * Runs the archive's status document and waits for it (AWS: SSM Run Command in wait mode, bounded by the
   * invocation's time). @default ctx.commands
   */
  readonly archiveRunner?: CommandRunner;
  /** The backup bucket and key, where an S3 WAL archive (backups.archiving.s3Prefix) lives. @default ctx.backups */
  readonly archive?: ArchiveBucket;
}

/** What the monitor (and `backup status`) says: the backups and drills, and how much a disaster now would lose. */
export interface MonitorJudgement extends BackupJudgement {
  readonly recovery: RecoveryVerdict;
}

/** How much data a disaster now would lose, and what the archive (when configured) says of itself. */
export interface RecoveryVerdict {
  readonly point: RecoveryPoint;
  /** backups.archiving is configured. */
  readonly archiving: boolean;
  /** The archive: active, archive_command succeeding, within the RPO (archiving only, when its status was read). */
  readonly archive?: ArchiveJudgement['archive'];
  readonly baseBackup?: ArchiveJudgement['baseBackup'];
  /** Why the archive's status could not be read (archiving only). */
  readonly unreadable?: string;
  /** The archiver's failure count now, for the next run (archiving only). */
  readonly reading?: ArchiverReading;
}

/** Where the monitor keeps the archiver's failure count between runs, next to the backups' records. */
export const ARCHIVER_READING_KEY = 'archive-monitor.json';

/** The status read is quick; the document's own deadline is kept short so a hung server cannot hold the monitor. */
const STATUS_TIMEOUT_SECONDS = 120;

/**
 * How much a disaster now would lose: the archive's newest restorable point where archiving is configured (its
 * status read through the acgs-wal-archiving document), else the dump schedule's worst case.
 */
export async function judgeRecoveryPoint(
  ctx: ControlPlaneContext,
  newestGood: BackupManifest | undefined,
  options: {
    readonly runner?: CommandRunner;
    readonly previous?: ArchiverReading;
    readonly archive?: ArchiveBucket;
  } = {},
): Promise<RecoveryVerdict> {
  const backups = backupsOf(ctx);
  const rpoMs = ctx.config.recovery.rpo;
  if (!backups.archiving) {
    const point = dumpScheduleRecoveryPoint({
      schedule: ctx.config.schedules.backup,
      timeZone: ctx.config.schedules.timeZone,
      ...(newestGood === undefined ? {} : { dumpMs: newestGood.finishedAt - newestGood.startedAt }),
      rpoMs,
      now: ctx.clock.now(),
    });
    return { point, archiving: false };
  }
  const run = await archivingStatus(ctx, {
    timeoutSeconds: STATUS_TIMEOUT_SECONDS,
    ...(options.runner === undefined ? {} : { commands: options.runner }),
    ...(ctx.backups?.pgBinDir === undefined ? {} : { pgBinDir: ctx.backups.pgBinDir }),
    ...options.archive,
  });
  const parsed = run.report ? parseArchiveStatus(run.report) : undefined;
  if (run.result.status !== 'succeeded' || !parsed?.ok) {
    const why =
      run.result.status !== 'succeeded'
        ? `the status document ${run.result.status}: ${run.error ?? lastOutputLine(run.result.output)}`
        : `its report is not a status report (${parsed && !parsed.ok ? parsed.error : 'no report printed'})`;
    const unreadable = `the WAL archive's status could not be read: ${why}`;
    return {
      point: { basis: 'archive', targetMs: rpoMs, met: false, detail: unreadable },
      archiving: true,
      unreadable,
    };
  }
  const judged = judgeArchive(
    parsed.value,
    { rpoMs, baseBackupMaxAgeMs: backups.archiving.baseBackupMaxAge },
    options.previous,
  );
  return {
    point: judged.recoveryPoint,
    archiving: true,
    archive: judged.archive,
    baseBackup: judged.baseBackup,
    reading: judged.reading,
  };
}

/**
 * The monitor's part for the recovery point: with archiving, the archive incident (P2: not active, archive_command
 * failing or failing more since the last run, behind the RPO; P3: its status unreadable) and the base-backup
 * incident (P2 missing, P3 stale), each resolved when its cause clears; without, the standing P3 saying the objective
 * cannot be met with the dump schedule, kept open (never re-opened hourly, never resolved by a drill) until the
 * configuration can meet it.
 */
async function monitorRecoveryPoint(
  ctx: ControlPlaneContext,
  objects: ObjectStore,
  newestGood: BackupManifest | undefined,
  options: MonitorOptions,
): Promise<RecoveryVerdict> {
  const database = backupsOf(ctx).database;
  const windows = await mutingWindows(ctx, ctx.clock.now());
  const previous = backupsOf(ctx).archiving ? await readArchiverReading(ctx, objects) : undefined;
  const verdict = await judgeRecoveryPoint(ctx, newestGood, {
    ...(options.archiveRunner === undefined ? {} : { runner: options.archiveRunner }),
    ...(options.archive === undefined ? {} : { archive: options.archive }),
    ...(previous === undefined ? {} : { previous }),
  });
  if (!verdict.archiving) {
    await clearProblem(ctx, backupKey(ctx, 'archive'), 'WAL archiving is no longer configured');
    await clearProblem(ctx, backupKey(ctx, 'base-backup'), 'WAL archiving is no longer configured');
    if (verdict.point.met) await clearProblem(ctx, backupKey(ctx, 'rpo'), verdict.point.detail);
    else {
      const title = `Recovery point objective of ${database} not achievable with dumps only`;
      await raiseProblem(ctx, problem(ctx, 'rpo', 'P3', title, [verdict.point.detail]), undefined, windows);
    }
    return verdict;
  }
  await clearProblem(ctx, backupKey(ctx, 'rpo'), 'WAL archiving is configured: the archive now bounds the RPO');
  if (verdict.unreadable !== undefined) {
    const title = `WAL archive of ${database}: status unreadable`;
    await raiseProblem(ctx, problem(ctx, 'archive', 'P3', title, [verdict.unreadable]), undefined, windows);
    return verdict;
  }
  if (verdict.reading) await writeArchiverReading(ctx, objects, verdict.reading);
  if (verdict.archive?.ok)
    await clearProblem(ctx, backupKey(ctx, 'archive'), `WAL archive healthy: ${verdict.point.detail}`);
  else {
    const title = `WAL archive of ${database}: ${verdict.archive?.reasons[0]?.split(':')[0] ?? 'failing'}`;
    await raiseProblem(ctx, problem(ctx, 'archive', 'P2', title, verdict.archive?.reasons ?? []), undefined, windows);
  }
  const base = verdict.baseBackup;
  if (!base || base.status === 'ok') {
    const age = base?.ageMs === undefined ? '' : `: the newest is ${formatDuration(base.ageMs)} old`;
    await clearProblem(ctx, backupKey(ctx, 'base-backup'), `base backups on schedule${age}`);
  } else {
    const title = `Base backups of ${database}: ${base.status}`;
    const severity: Severity = base.status === 'missing' ? 'P2' : 'P3';
    await raiseProblem(ctx, problem(ctx, 'base-backup', severity, title, base.reasons), undefined, windows);
  }
  return verdict;
}

async function readArchiverReading(
  ctx: ControlPlaneContext,
  objects: ObjectStore,
): Promise<ArchiverReading | undefined> {
  const stored = await objects.get(ARCHIVER_READING_KEY);
  if (!stored) return undefined;
  try {
    const value = JSON.parse(Buffer.from(stored.body).toString('utf8')) as Partial<ArchiverReading>;
    if (typeof value.observedAt === 'number' && typeof value.failedCount === 'number')
      return { observedAt: value.observedAt, failedCount: value.failedCount };
  } catch {
    // Unreadable: judged as a first run, and overwritten below.
  }
  ctx.log('archiver-reading-unreadable', { key: ARCHIVER_READING_KEY });
  return undefined;
}

async function writeArchiverReading(ctx: ControlPlaneContext, objects: ObjectStore, reading: ArchiverReading) {
  try {
    await objects.put(ARCHIVER_READING_KEY, JSON.stringify(reading), { contentType: 'application/json' });
  } catch (error) {
    // The next run then compares with an older reading (or none): a rise is still seen, only later.
    ctx.log('archiver-reading-unrecorded', { key: ARCHIVER_READING_KEY, error: errorMessage(error) });
  }
}

/**
 * Why the open backup incident must stay open although the published backups look fine, if so: a failed attempt is
 * recorded in it (it may have recorded nothing in the store, e.g. a destination it cannot write), and no good backup
 * has started since the latest such attempt started.
 */
async function failedAttemptUnanswered(
  ctx: ControlPlaneContext,
  open: Incident | undefined,
  judgement: BackupJudgement,
): Promise<{ readonly detail: string; readonly since: string } | undefined> {
  if (!open) return undefined;
  let latest: { at: number; detail: string } | undefined;
  for (const entry of await ctx.incidents.getTimeline(open.id))
    if (entry.type === 'remediation' && entry.action === FAILED_ATTEMPT_ACTION && entry.outcome === 'failed')
      if (!latest || entry.at >= latest.at) latest = { at: entry.at, detail: entry.detail };
  if (!latest) return undefined;
  if (judgement.newestGood && judgement.newestGood.startedAt > latest.at) return undefined;
  return {
    detail: latest.detail,
    since: `the attempt started ${new Date(latest.at).toISOString()}; no good backup has started since`,
  };
}

export interface RetentionRun {
  readonly plan: RetentionPlan;
  readonly deleted: readonly string[];
}

/**
 * Weekly retention. Deletes nothing when the plan refuses (a failed or suspicious latest backup, no good one). A
 * plan that would delete something is made again on every dump read afresh: nothing is deleted on the strength of a
 * cached hash (a kept backup whose bytes rotted since would no longer answer for the older ones).
 */
export async function applyRetention(
  ctx: ControlPlaneContext,
  objects: ObjectStore,
  options: { readonly dryRun?: boolean } = {},
): Promise<RetentionRun> {
  const backups = backupsOf(ctx);
  const planned = planRetention(await loadCatalogue(ctx, objects), policyOf(backups), ctx.clock.now());
  const plan =
    options.dryRun || planned.delete.length === 0
      ? planned
      : planRetention(await loadCatalogue(ctx, objects, { fresh: 'all' }), policyOf(backups), ctx.clock.now());
  if (plan.refused) {
    ctx.log('retention-refused', { why: plan.refused });
    return { plan, deleted: [] };
  }
  const deleted: string[] = [];
  if (!options.dryRun) {
    for (const entry of plan.delete) {
      for (const key of entry.keys) {
        await objects.delete(key);
        deleted.push(key);
      }
    }
  }
  ctx.log('retention-applied', { kept: plan.keep.length, deleted: deleted.length, dryRun: options.dryRun ?? false });
  return { plan, deleted };
}

export interface DrillRun {
  readonly manifest: BackupManifest;
  readonly result: CommandResult;
  readonly judgement?: DrillJudgement;
  readonly reportKey?: string;
  /**
   * Where the report of a drill that succeeded was read: the object the document wrote (whole), or, when that object
   * is missing, the command's inline output (SSM keeps only its first ~2,400 characters).
   */
  readonly reportFrom?: 'object' | 'inline-output';
}

/**
 * Writes `<backup>-<start>.drill-failed.json` next to the backups, so the monitor judges by the failed drill, not by
 * the last one that passed. When the store refuses it (read-only, full), says so for the drill incident.
 */
async function recordDrillFailure(
  ctx: ControlPlaneContext,
  objects: ObjectStore,
  manifest: BackupManifest,
  source: string,
  startedAt: number,
  reason: string,
  cause: DrillFailureCause,
): Promise<string | undefined> {
  const failure = {
    kind: 'acgs-ops.drill-failure',
    version: 1,
    backupId: manifest.id,
    source,
    // Whole seconds, as the documents stamp their reports: a drill that passes later never sorts before this one.
    startedAt: wholeSeconds(startedAt),
    failedAt: wholeSeconds(Math.max(startedAt, ctx.clock.now())),
    reason: reason.slice(0, 2_000) || 'no reason given',
    cause,
  } satisfies Record<keyof DrillFailure, unknown>;
  const key = `${manifest.id}-${stamp(startedAt)}${DRILL_FAILURE_SUFFIX}`;
  try {
    await objects.put(key, JSON.stringify(failure), { contentType: 'application/json' });
    return undefined;
  } catch (error) {
    const message = errorMessage(error);
    ctx.log('drill-failure-unrecorded', { key, error: message });
    return `the failed drill could not be recorded as ${key}: ${message}`;
  }
}

/** The drill document's exit 3, and only that, says the dump's content is bad; anything else is the environment. */
const DRILL_CONTENT_EXIT = 3;

function drillFailureCause(result: CommandResult): DrillFailureCause {
  return result.status === 'failed' && result.exitCode === DRILL_CONTENT_EXIT ? 'content' : 'environment';
}

function wholeSeconds(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:.]/g, '');
}

/**
 * The restore drill: restores the newest good backup into the scratch database on the database's server (through
 * the drill document, waiting for it), records the report next to the backups, and judges measured RTO and RPO
 * against the recovery objectives. A failed drill is recorded (`.drill-failed.json`, with its cause) and raises the
 * drill incident, as does a breached one. Only a drill that found the dump's content unrestorable (the document's
 * exit 3) makes its backup bad until a newer drill of it passes; one that could not run (the scratch server down, a
 * wrong password, the deadline) leaves the backup as it was, so a broken environment never condemns good backups.
 */
export async function runDrill(
  ctx: ControlPlaneContext,
  destination: BackupDestination,
  commands: CommandRunner = ctx.commands,
): Promise<DrillRun> {
  const backups = backupsOf(ctx);
  const catalogue = await loadCatalogue(ctx, destination.objects);
  const newest = [...catalogue.backups].reverse().find((b) => b.verdict === 'good');
  if (!newest) throw new ControlPlaneError('NO_GOOD_BACKUP', `no good backup of ${backups.database} to drill with`);
  const manifest = newest.manifest;
  // What a disaster at the drill's moment would lose: read before the restore, as the drill stands in for one.
  const recoveryPoint = (
    await judgeRecoveryPoint(ctx, manifest, { runner: commands, archive: archiveBucketOf(destination) })
  ).point;
  const started = ctx.clock.now();
  const reportObjectKey = `${manifest.id}-${stamp(started)}${DRILL_REPORT_SUFFIX}`;
  const parameters = drillCommandParameters(ctx.config, manifest, {
    at: new Date(started),
    reportKey: reportObjectKey,
    ...(destination.bucket === undefined ? {} : { bucket: destination.bucket }),
    ...(destination.kmsKeyId === undefined ? {} : { kmsKeyId: destination.kmsKeyId }),
    ...(destination.pgBinDir === undefined ? {} : { pgBinDir: destination.pgBinDir }),
  });
  ctx.log('drill-started', { backup: manifest.id });
  const result = await commands.run({
    document: DRILL_DOCUMENT,
    parameters,
    timeoutMs: (Number(parameters.TimeoutSeconds) + 60) * 1000,
  });
  const windows = await mutingWindows(ctx, ctx.clock.now());
  // A drill that passed wrote its whole report next to the backups; the command's output is only the fallback.
  const written = result.status === 'succeeded' ? await destination.objects.get(reportObjectKey) : undefined;
  if (result.status === 'succeeded' && !written)
    ctx.log('drill-report-inline', {
      key: reportObjectKey,
      why: "the report object is missing: the report is read from the command's inline output, which SSM cuts after ~2,400 characters",
    });
  // In the output the report is the document's last stdout line; stderr may interleave after it in the captured
  // output, so take the last line that is a drill report rather than the last line.
  const reportLine = written
    ? Buffer.from(written.body).toString('utf8').trim()
    : result.output
        .trim()
        .split('\n')
        .reverse()
        .find((l) => l.startsWith('{') && l.includes('"acgs-ops.drill"'));
  const lastLine = reportLine ?? lastOutputLine(result.output);
  const parsed = result.status === 'succeeded' ? parseDrillReport(lastLine) : undefined;
  if (!parsed?.ok) {
    const why =
      result.status === 'succeeded'
        ? written
          ? `the drill's report ${reportObjectKey} is not a drill report (${parsed?.error ?? 'empty'})`
          : `the drill printed no report (${parsed?.error ?? 'empty output'}; no report object ${reportObjectKey} either)`
        : `drill ${result.status}: ${lastLine}`;
    const cause = drillFailureCause(result);
    const unrecorded = await recordDrillFailure(
      ctx,
      destination.objects,
      manifest,
      parameters.Source ?? manifest.dumpKey,
      started,
      why,
      cause,
    );
    const verdict =
      cause === 'content'
        ? `backup ${manifest.id} is bad: the drill found its content unrestorable`
        : `backup ${manifest.id} stays as good as it was: the drill could not run, which says nothing of the dump`;
    await raiseProblem(
      ctx,
      problem(ctx, 'drill', 'P3', `Restore drill of ${backups.database} failed`, [
        why,
        verdict,
        ...(unrecorded ? [unrecorded] : []),
      ]),
      undefined,
      windows,
    );
    return { manifest, result };
  }
  const report = parsed.value;
  const judgement = judgeDrill(report, manifest, ctx.config.recovery, { recoveryPoint });
  const reportKey = `${manifest.id}-${stamp(started)}${DRILL_SUFFIX}`;
  // The verdict is kept with the report: the monitor holds a drill that did not pass until a newer one passes.
  const verdict = { passed: judgement.passed, met: judgement.met, reasons: judgement.reasons };
  const record = JSON.stringify({ ...(JSON.parse(lastLine) as Record<string, unknown>), verdict });
  await destination.objects.put(reportKey, record, { contentType: 'application/json' });
  // Recorded: the document's copy has served (best effort; a leftover is never read as a record).
  if (written)
    await destination.objects.delete(reportObjectKey).catch((error: unknown) => {
      ctx.log('drill-report-not-deleted', { key: reportObjectKey, error: errorMessage(error) });
    });
  if (!drillIsOf(report, manifest)) throw new ControlPlaneError('DRILL_MISMATCH', 'the drill restored another backup');
  // A drill passes on what it proves; an RPO only the dump schedule breaks is the monitor's standing verdict.
  if (judgement.passed)
    await clearProblem(ctx, backupKey(ctx, 'drill'), `restore drill passed: ${judgement.reasons.join('; ')}`);
  else {
    const title = `Restore drill of ${backups.database}: objectives not met`;
    await raiseProblem(ctx, problem(ctx, 'drill', 'P3', title, judgement.reasons), undefined, windows);
  }
  ctx.log('drill-finished', {
    backup: manifest.id,
    met: judgement.met,
    passed: judgement.passed,
    reasons: judgement.reasons,
  });
  return { manifest, result, judgement, reportKey, reportFrom: written ? 'object' : 'inline-output' };
}
