import { type BackupPolicy, type Catalogue, compareText } from './backup-catalogue.ts';
import { drillContentProblems, drillIsOf } from './backup-drill.ts';
import type { BackupManifest } from './backup-records.ts';
import { formatDuration } from './duration.ts';
import { type PitrDrillJudgement, withLatestPitrDrill } from './pitr-drill.ts';

/** The monitor's judgement of a catalogue: the latest attempt's status and the latest drill's, with the reasons. */

export type BackupStatus = 'ok' | 'stale' | 'missing' | 'failed' | 'suspicious';
export type DrillStatus = 'ok' | 'overdue' | 'never' | 'failed';

export interface BackupAttempt {
  readonly id: string;
  readonly startedAt: number;
  readonly outcome: 'good' | 'bad' | 'failed';
}

export interface BackupJudgement {
  /**
   * The worst that applies, in this order: `missing` (no good backup at all), `failed` (the latest attempt failed
   * or produced a bad backup), `stale` (the newest good backup is older than `maxAge`), `suspicious` (it shrank
   * more than `maxShrinkPercent` against the previous good one, or a record is unreadable), `ok`.
   */
  readonly status: BackupStatus;
  /** One sentence per finding; empty when ok. */
  readonly reasons: readonly string[];
  readonly newestGood?: BackupManifest;
  /** How much data a restore would lose right now: now - newestGood.startedAt (the dump's snapshot time). */
  readonly dataAgeMs?: number;
  readonly latestAttempt?: BackupAttempt;
  readonly drillStatus: DrillStatus;
  /** now - the latest completed drill's finishedAt (a failed drill does not count). */
  readonly drillAgeMs?: number;
  readonly drillReasons: readonly string[];
  /** The latest point-in-time restore drill, when one is recorded; a failed one fails `drillStatus`. */
  readonly pitrDrill?: PitrDrillJudgement;
}

/** Every attempt, oldest first; on equal start times a failure sorts last (it decides), then by id. */
export function listAttempts(catalogue: Catalogue): BackupAttempt[] {
  const rank = { good: 0, bad: 1, failed: 2 } as const;
  return [
    ...catalogue.backups.map((b) => ({ id: b.manifest.id, startedAt: b.manifest.startedAt, outcome: b.verdict })),
    ...catalogue.failures.map((f) => ({
      id: f.failure.id,
      startedAt: f.failure.startedAt,
      outcome: 'failed' as const,
    })),
  ].sort((a, b) => a.startedAt - b.startedAt || rank[a.outcome] - rank[b.outcome] || compareText(a.id, b.id));
}

export function judgeBackups(catalogue: Catalogue, policy: BackupPolicy, now: number): BackupJudgement {
  const attempts = listAttempts(catalogue);
  const latest = attempts.at(-1);
  const good = catalogue.backups.filter((b) => b.verdict === 'good').map((b) => b.manifest);
  const newestGood = good.at(-1);
  const reasons: string[] = [];
  let status: BackupStatus = 'ok';
  const raise = (to: BackupStatus, reason: string) => {
    reasons.push(reason);
    if (STATUS_RANK[to] > STATUS_RANK[status]) status = to;
  };

  if (!newestGood)
    raise(
      'missing',
      attempts.length === 0
        ? 'no backup has been recorded'
        : `no good backup: none of the ${attempts.length} recorded attempts is usable`,
    );
  const latestProblem = latest && attemptProblem(catalogue, latest);
  if (latestProblem) raise('failed', latestProblem);

  let dataAgeMs: number | undefined;
  if (newestGood) {
    dataAgeMs = now - newestGood.startedAt;
    if (dataAgeMs > policy.maxAge)
      raise(
        'stale',
        `newest good backup ${newestGood.id} is ${formatDuration(dataAgeMs)} old (max ${formatDuration(policy.maxAge)})`,
      );
    const shrink = shrinkage(good, policy.maxShrinkPercent);
    if (shrink) raise('suspicious', shrink);
  }
  for (const u of catalogue.unreadable) raise('suspicious', `record ${u.key} is unreadable: ${u.problem}`);
  const future = attempts.find((a) => a.startedAt > now);
  if (future) raise('suspicious', startedInTheFuture(future, now));

  return {
    status,
    reasons,
    ...(newestGood === undefined ? {} : { newestGood }),
    ...(dataAgeMs === undefined ? {} : { dataAgeMs }),
    ...(latest === undefined ? {} : { latestAttempt: latest }),
    ...withLatestPitrDrill(judgeLatestDrill(catalogue, policy, now), catalogue.pitrDrills ?? [], now),
  };
}

const STATUS_RANK: Record<BackupStatus, number> = { ok: 0, suspicious: 1, stale: 2, failed: 3, missing: 4 };

export function attemptProblem(catalogue: Catalogue, attempt: BackupAttempt): string | undefined {
  if (attempt.outcome === 'failed') {
    const failure = catalogue.failures.find((f) => f.failure.id === attempt.id)?.failure;
    return `latest attempt ${attempt.id} failed: ${failure?.reason ?? 'no reason recorded'}`;
  }
  if (attempt.outcome === 'bad') {
    const backup = catalogue.backups.find((b) => b.manifest.id === attempt.id);
    return `latest attempt ${attempt.id} is not a usable backup: ${backup?.problems.join('; ') ?? 'unknown'}`;
  }
  return undefined;
}

/** The sentence saying the newest good backup shrank too much against the previous good one, if it did. */
export function shrinkage(good: readonly BackupManifest[], maxShrinkPercent: number): string | undefined {
  const newest = good.at(-1);
  const previous = good.at(-2);
  if (!newest || !previous || previous.sizeBytes === 0) return undefined;
  const percent = ((previous.sizeBytes - newest.sizeBytes) / previous.sizeBytes) * 100;
  if (percent <= maxShrinkPercent) return undefined;
  return (
    `backup ${newest.id} is ${Math.round(percent)}% smaller than the previous good one ${previous.id} ` +
    `(${newest.sizeBytes} against ${previous.sizeBytes} bytes; max ${maxShrinkPercent}%)`
  );
}

function judgeLatestDrill(
  catalogue: Catalogue,
  policy: BackupPolicy,
  now: number,
): Pick<BackupJudgement, 'drillStatus' | 'drillAgeMs' | 'drillReasons'> {
  const latest = catalogue.drills.at(-1)?.report;
  // A drill that failed after the latest completed one is the latest word: only a newer passing drill answers it.
  // Records are stamped to the second; in the same second the failure decides.
  const failed = catalogue.drillFailures.at(-1)?.failure;
  if (failed && (!latest || failed.startedAt >= latest.startedAt)) {
    const how = failed.cause === 'content' ? 'found its content unrestorable' : 'could not run (not the dump)';
    const drillReasons = [`latest restore drill (of ${failed.backupId}) ${how}: ${failed.reason}`];
    if (!latest) return { drillStatus: 'failed', drillReasons };
    return { drillStatus: 'failed', drillAgeMs: now - latest.finishedAt, drillReasons };
  }
  if (!latest) return { drillStatus: 'never', drillReasons: ['no restore drill has been recorded'] };
  const drillAgeMs = now - latest.finishedAt;
  // The drill's backup may since have been pruned: then only what the report says of itself can be checked.
  const source = catalogue.backups.find((b) => drillIsOf(latest, b.manifest))?.manifest;
  const problems = drillContentProblems(latest, source);
  const drillReasons: string[] = [];
  let drillStatus: DrillStatus = 'ok';
  if (problems.length > 0) {
    drillStatus = 'failed';
    drillReasons.push(`latest restore drill (of ${latest.source}) did not prove its backup: ${problems.join('; ')}`);
  }
  // The verdict recorded with the drill (RTO, RPO): one that did not pass stays the latest word until a newer passes.
  if (latest.verdict && !latest.verdict.passed) {
    drillStatus = 'failed';
    const when = new Date(latest.startedAt).toISOString();
    drillReasons.push(
      `latest restore drill (of ${latest.source}, ${when}) did not meet the objectives: ${latest.verdict.reasons.join('; ')}`,
    );
  }
  if (policy.drill && drillAgeMs > policy.drill.maxAge) {
    if (drillStatus === 'ok') drillStatus = 'overdue';
    drillReasons.push(
      `latest restore drill is ${formatDuration(drillAgeMs)} old (max ${formatDuration(policy.drill.maxAge)})`,
    );
  }
  return { drillStatus, drillAgeMs, drillReasons };
}

export function startedInTheFuture(attempt: BackupAttempt, now: number): string {
  return `attempt ${attempt.id} started ${formatDuration(attempt.startedAt - now)} in the future: clocks disagree`;
}
