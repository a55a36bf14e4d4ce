import { formatDuration } from './duration.ts';
import { longestInterval, type Schedule } from './schedules.ts';
import * as z from './zod-mini.ts';

/**
 * How much data a disaster would lose right now (the current RPO), judged against the objective (`recovery.rpo`):
 * from the WAL archive's status (the acgs-wal-archiving document's `status` report: pg_stat_archiver, the newest
 * archived segment, the newest base backup) where archiving is configured, else from the dump schedule (worst case:
 * the schedule's longest interval plus the dump's own duration). Pure: times are epoch milliseconds.
 */

/** What a disaster at a given moment would lose, at most, and whether that meets the objective. */
export interface RecoveryPoint {
  /** `archive`: base backup + archived WAL; `dump-schedule`: dumps only, the schedule's worst case. */
  readonly basis: 'archive' | 'dump-schedule';
  /** Data lost at most, in ms; absent when nothing bounds it (nothing archived, no dump schedule). */
  readonly lossMs?: number;
  readonly targetMs: number;
  readonly met: boolean;
  /** One sentence naming the figure and where it comes from. */
  readonly detail: string;
}

const instant = z.pipe(
  z.iso.datetime({ offset: true }),
  z.transform((text: string) => Date.parse(text)),
);
const count = z.int().check(z.minimum(0));

/** The `status` report of acgs-wal-archiving (its last stdout line). Unknown fields are ignored. */
export const archiveStatusSchema = z.object({
  kind: z.literal('acgs-ops.wal-archiving'),
  action: z.literal('status'),
  /** `active` (archive_mode on, our archive_command), `off`, `restart-needed`, `foreign-command`. */
  state: z.string(),
  archiveMode: z.string(),
  /** The database host's clock when the report was made: ages are measured on that clock. */
  observedAt: instant,
  newestSegment: z.nullable(z.string()),
  /** When the newest segment reached the archive (its file's time). */
  newestSegmentAt: z.nullable(instant),
  /** WAL written past the end of the newest archived segment: 0 means nothing would be lost beyond it. */
  unarchivedWalBytes: z.nullable(count),
  newestBaseBackup: z.nullable(z.string()),
  newestBaseBackupFinishedAt: z.nullable(instant),
  archiver: z.object({
    archivedCount: count,
    lastArchivedWal: z.nullable(z.string()),
    lastArchivedAt: z.nullable(instant),
    failedCount: count,
    lastFailedWal: z.nullable(z.string()),
    lastFailedAt: z.nullable(instant),
  }),
});

export type ArchiveStatus = z.output<typeof archiveStatusSchema>;

export type ArchiveStatusParse =
  | { readonly ok: true; readonly value: ArchiveStatus }
  | { readonly ok: false; readonly error: string };

/** The document's status report (already JSON-parsed), checked. */
export function parseArchiveStatus(report: unknown): ArchiveStatusParse {
  const parsed = archiveStatusSchema.safeParse(report);
  if (parsed.success) return { ok: true, value: parsed.data };
  return {
    ok: false,
    error: parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(report)'}: ${i.message}`).join('; '),
  };
}

/** The archiver's failure count as one monitor run saw it: the next run tells a rising count from it. */
export interface ArchiverReading {
  readonly observedAt: number;
  readonly failedCount: number;
}

export interface ArchivePolicy {
  /** recovery.rpo */
  readonly rpoMs: number;
  /** backups.archiving.baseBackupMaxAge */
  readonly baseBackupMaxAgeMs: number;
}

export interface ArchiveJudgement {
  /** What a disaster when the report was made would lose. */
  readonly recoveryPoint: RecoveryPoint;
  /** The archive itself: not active, archive_command failing (now or since the previous reading), behind the RPO. */
  readonly archive: { readonly ok: boolean; readonly reasons: readonly string[] };
  /** The newest base backup: `missing` (the archive restores nothing), `stale` (older than baseBackupMaxAge). */
  readonly baseBackup: {
    readonly status: 'ok' | 'stale' | 'missing';
    readonly ageMs?: number;
    readonly reasons: readonly string[];
  };
  /** To keep for the next run. */
  readonly reading: ArchiverReading;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Judges the archive's status report. Ages are taken on the database host's clock (`observedAt`), the clock that
 * stamped the segments and the archiver's times. `previous`: the reading the last run kept, if any.
 */
export function judgeArchive(
  status: ArchiveStatus,
  policy: ArchivePolicy,
  previous?: ArchiverReading,
): ArchiveJudgement {
  const now = status.observedAt;
  const { archiver } = status;
  const reasons: string[] = [];
  if (status.state !== 'active')
    reasons.push(
      status.state === 'restart-needed'
        ? 'WAL archiving waits for a PostgreSQL restart: archive_mode is still off, nothing is archived'
        : status.state === 'foreign-command'
          ? "archive_command is not acgs-ops's archive script: segments do not reach the archive this monitor reads"
          : `WAL archiving is ${status.state} (archive_mode ${status.archiveMode}): nothing is archived`,
    );
  if (
    archiver.lastFailedAt !== null &&
    (archiver.lastArchivedAt === null || archiver.lastFailedAt > archiver.lastArchivedAt)
  )
    reasons.push(
      `archive_command is failing: segment ${archiver.lastFailedWal ?? '?'} failed at ${iso(archiver.lastFailedAt)}, ` +
        (archiver.lastArchivedAt === null
          ? 'and no segment has been archived since the statistics were reset'
          : `the last success was ${formatDuration(now - archiver.lastArchivedAt)} before (${archiver.lastArchivedWal ?? '?'} at ${iso(archiver.lastArchivedAt)})`) +
        ` (failed_count ${archiver.failedCount})`,
    );
  else if (previous && archiver.failedCount > previous.failedCount)
    reasons.push(
      `archive_command failed ${archiver.failedCount - previous.failedCount} times since ${iso(previous.observedAt)} ` +
        `(failed_count ${previous.failedCount} -> ${archiver.failedCount}; last failure ${archiver.lastFailedWal ?? '?'}` +
        `${archiver.lastFailedAt === null ? '' : ` at ${iso(archiver.lastFailedAt)}`})`,
    );

  const baseAge =
    status.newestBaseBackupFinishedAt === null ? undefined : Math.max(0, now - status.newestBaseBackupFinishedAt);
  const recoveryPoint = archiveRecoveryPoint(status, policy.rpoMs, baseAge !== undefined);
  if (!recoveryPoint.met && baseAge !== undefined) reasons.push(recoveryPoint.detail);

  let baseBackup: ArchiveJudgement['baseBackup'];
  if (baseAge === undefined)
    baseBackup = {
      status: 'missing',
      reasons: [
        `no base backup in the archive: the archived WAL restores nothing without one (acgs-ops backup base-backup)`,
      ],
    };
  else if (baseAge > policy.baseBackupMaxAgeMs)
    baseBackup = {
      status: 'stale',
      ageMs: baseAge,
      reasons: [
        `newest base backup ${status.newestBaseBackup ?? '?'} is ${formatDuration(baseAge)} old (max ${formatDuration(policy.baseBackupMaxAgeMs)}): ` +
          'a restore replays every segment since, and retention cannot drop older WAL',
      ],
    };
  else baseBackup = { status: 'ok', ageMs: baseAge, reasons: [] };

  return {
    recoveryPoint,
    archive: { ok: reasons.length === 0, reasons },
    baseBackup,
    reading: { observedAt: now, failedCount: archiver.failedCount },
  };
}

function archiveRecoveryPoint(status: ArchiveStatus, targetMs: number, hasBase: boolean): RecoveryPoint {
  const basis = 'archive';
  const objective = `(objective ${formatDuration(targetMs)})`;
  if (!hasBase)
    return { basis, targetMs, met: false, detail: `no base backup: the archive restores nothing ${objective}` };
  if (status.newestSegment === null || status.newestSegmentAt === null)
    return { basis, targetMs, met: false, detail: `no segment has reached the archive ${objective}` };
  if (status.unarchivedWalBytes === 0)
    return {
      basis,
      lossMs: 0,
      targetMs,
      met: true,
      detail: `nothing written since the newest archived segment ${status.newestSegment}: a disaster now loses nothing ${objective}`,
    };
  const lossMs = Math.max(0, status.observedAt - status.newestSegmentAt);
  const met = lossMs <= targetMs;
  return {
    basis,
    lossMs,
    targetMs,
    met,
    detail:
      `${met ? 'RPO met' : 'the archive is behind the RPO objective'}: the newest restorable point ` +
      `(segment ${status.newestSegment}, archived ${iso(status.newestSegmentAt)}) is ${formatDuration(lossMs)} old ${objective}`,
  };
}

export interface DumpScheduleInput {
  /** schedules.backup; absent: dumps are taken only when asked for. */
  readonly schedule?: Schedule;
  readonly timeZone: string;
  /** The newest good dump's duration (finishedAt - startedAt), if there is one. */
  readonly dumpMs?: number;
  /** recovery.rpo */
  readonly rpoMs: number;
  /** Where the schedule's intervals are measured from. */
  readonly now: number;
}

/**
 * Dumps only: a disaster just before a dump finishes loses everything since the previous dump started, so the worst
 * case is the schedule's longest interval plus the dump's duration (a dump holds the database as it was when it
 * started).
 */
export function dumpScheduleRecoveryPoint(input: DumpScheduleInput): RecoveryPoint {
  const basis = 'dump-schedule';
  const objective = `objective ${formatDuration(input.rpoMs)}`;
  if (!input.schedule)
    return {
      basis,
      targetMs: input.rpoMs,
      met: false,
      detail: `the RPO ${objective} cannot be met: dumps only, and no backup schedule bounds the data lost`,
    };
  const intervalMs = longestInterval(input.schedule, input.timeZone, input.now);
  const lossMs = intervalMs + (input.dumpMs ?? 0);
  const met = lossMs <= input.rpoMs;
  const dump =
    input.dumpMs === undefined ? 'no good dump yet to time' : `the last good dump's ${formatDuration(input.dumpMs)}`;
  return {
    basis,
    lossMs,
    targetMs: input.rpoMs,
    met,
    detail:
      `${met ? 'RPO met with dumps only' : `the RPO ${objective} cannot be met with the configured dump schedule`}: ` +
      `worst case ${formatDuration(lossMs)} (a dump every ${formatDuration(intervalMs)} + ${dump})` +
      (met ? ` (${objective})` : '; only WAL archiving (backups.archiving) brings it down'),
  };
}
