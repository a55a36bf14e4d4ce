import { type BackupPolicy, byStart, type Catalogue, type CataloguedBackup, compareText } from './backup-catalogue.ts';
import { attemptProblem, listAttempts, shrinkage, startedInTheFuture } from './backup-judgement.ts';
import { DAY_MS } from './duration.ts';

/** Grandfather-father-son retention over the good backups, never losing the last good or proven one. */

export type KeepReason = 'newest-good' | 'newest-restorable' | 'newest-proven' | 'daily' | 'weekly' | 'monthly';

export interface RetentionPlan {
  /** Good backups kept, oldest first, with every rule that keeps each. */
  readonly keep: readonly { readonly id: string; readonly reasons: readonly KeepReason[] }[];
  /**
   * What to delete, oldest first. `keys` are in deletion order: a dump before the manifest naming it, so an
   * interrupted prune leaves a bad manifest (deleted next time), never a dump nothing names.
   */
  readonly delete: readonly { readonly id: string; readonly keys: readonly string[]; readonly why: string }[];
  /**
   * Backups no rule keeps that are not deleted yet, oldest first: a newer backup is unproven (the store could not
   * verify its content and no drill restored it) and none newer is proven, so nothing older may go on the strength
   * of it. Absent when none.
   */
  readonly held?: readonly { readonly id: string; readonly why: string }[];
  /** Why nothing at all may be deleted now; then `keep` and `delete` are empty. */
  readonly refused?: string;
}

/**
 * Grandfather-father-son over the GOOD backups: the newest of each of the last `daily` UTC days that have one, of
 * the last `weekly` ISO weeks, of the last `monthly` UTC months; the newest good backup always. Periods without a
 * backup do not count, so backups that stop never age the kept ones away. Bad backups (all older than the newest
 * good one, or the plan is refused) and failure records (of backups and of drills) older than the oldest kept backup go. The newest backup a
 * drill proved restorable is always kept, and so is the newest proven one (verified or restorable); a backup is held
 * (not deleted) while a newer good backup is unproven, neither verified against its manifest by the store now nor
 * restored by a drill, and no newer one is proven.
 */
export function planRetention(catalogue: Catalogue, policy: BackupPolicy, now: number): RetentionPlan {
  const refused = refusal(catalogue, policy, now);
  if (refused) return { keep: [], delete: [], refused };

  const good = catalogue.backups.filter((b) => b.verdict === 'good');
  const newestFirst = [...good].reverse();
  const reasons = new Map<string, KeepReason[]>();
  const keepFor = (backupId: string, reason: KeepReason) => {
    reasons.set(backupId, [...(reasons.get(backupId) ?? []), reason]);
  };
  const newest = newestFirst[0];
  if (newest) keepFor(newest.manifest.id, 'newest-good');
  const restorable = newestFirst.find((b) => b.restorable);
  if (restorable) keepFor(restorable.manifest.id, 'newest-restorable');
  const proven = newestFirst.find(isProven);
  if (proven && proven !== restorable && proven !== newest) keepFor(proven.manifest.id, 'newest-proven');
  const periods: [KeepReason, number, (ms: number) => string][] = [
    ['daily', policy.retention.daily, utcDay],
    ['weekly', policy.retention.weekly, isoWeek],
    ['monthly', policy.retention.monthly, utcMonth],
  ];
  for (const [reason, howMany, periodOf] of periods) {
    const seen = new Set<string>();
    for (const b of newestFirst) {
      if (seen.size >= howMany) break;
      const period = periodOf(b.manifest.startedAt);
      if (seen.has(period)) continue;
      seen.add(period);
      keepFor(b.manifest.id, reason);
    }
  }

  const kept = good.filter((b) => reasons.has(b.manifest.id));
  const keptKeys = new Set(kept.flatMap((b) => [b.key, b.manifest.dumpKey]));
  const oldestKept = kept[0]?.manifest.startedAt ?? Number.POSITIVE_INFINITY;

  const deletions: { id: string; startedAt: number; keys: string[]; why: string }[] = [];
  const held: { id: string; why: string }[] = [];
  for (const b of catalogue.backups) {
    if (reasons.has(b.manifest.id)) continue;
    // Held only while nothing newer is proven: a proven backup newer than b answers for b, however many unproven
    // ones lie beyond it (dumps S3 keeps no checksum for would otherwise stop retention for good).
    const newer = good.filter((g) => byStart(g.manifest, b.manifest) > 0);
    const unproven = newer.some(isProven) ? undefined : newer.at(-1);
    if (unproven) {
      held.push({
        id: b.manifest.id,
        why:
          `a newer backup is unproven: ${unproven.manifest.id} (the store gave no checksum to verify, and no drill ` +
          'restored it)',
      });
      continue;
    }
    const keys = [...(b.dumpStored ? [b.manifest.dumpKey] : []), b.key].filter((k) => !keptKeys.has(k));
    const why = b.verdict === 'good' ? 'good, but no retention rule keeps it' : `bad backup: ${b.problems.join('; ')}`;
    deletions.push({ id: b.manifest.id, startedAt: b.manifest.startedAt, keys, why });
  }
  // Failure records (of attempts and of drills) say nothing about the backups kept: those older than all of them go.
  const records = [
    ...catalogue.failures.map((f) => ({
      id: f.failure.id,
      startedAt: f.failure.startedAt,
      key: f.key,
      what: 'failure',
    })),
    ...catalogue.drillFailures.map((f) => ({
      id: f.failure.backupId,
      startedAt: f.failure.startedAt,
      key: f.key,
      what: 'drill failure',
    })),
  ];
  for (const r of records) {
    if (r.startedAt >= oldestKept) continue;
    deletions.push({
      id: r.id,
      startedAt: r.startedAt,
      keys: [r.key],
      why: `${r.what} record older than the oldest kept backup`,
    });
  }
  return {
    keep: kept.map((b) => ({ id: b.manifest.id, reasons: reasons.get(b.manifest.id) ?? [] })),
    ...(held.length === 0 ? {} : { held }),
    delete: deletions
      .sort(
        (a, b) => a.startedAt - b.startedAt || compareText(a.id, b.id) || compareText(a.keys[0] ?? '', b.keys[0] ?? ''),
      )
      .map(({ id: deletedId, keys, why }) => ({ id: deletedId, keys, why })),
  };
}

/** Proven: the store verified the dump against its manifest now, or its latest drill restored it. */
function isProven(b: CataloguedBackup): boolean {
  return b.verified || b.restorable;
}

/** Why nothing may be pruned now, if so: never prune on the back of a failed or doubtful backup. */
function refusal(catalogue: Catalogue, policy: BackupPolicy, now: number): string | undefined {
  const attempts = listAttempts(catalogue);
  const latest = attempts.at(-1);
  const good = catalogue.backups.filter((b) => b.verdict === 'good').map((b) => b.manifest);
  if (good.length === 0) return 'there is no good backup';
  const latestProblem = latest && attemptProblem(catalogue, latest);
  if (latestProblem) return latestProblem;
  const future = attempts.find((a) => a.startedAt > now);
  if (future) return startedInTheFuture(future, now);
  const shrink = shrinkage(good, policy.maxShrinkPercent);
  if (shrink) return shrink;
  const unreadable = catalogue.unreadable[0];
  if (unreadable) return `record ${unreadable.key} is unreadable (${unreadable.problem}): it may be the latest attempt`;
  return undefined;
}

function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function utcMonth(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

/** ISO 8601 week, `2026-W53`: weeks start on Monday, and belong to the year of their Thursday. */
function isoWeek(ms: number): string {
  const midnight = Math.floor(ms / DAY_MS) * DAY_MS;
  const mondayBased = (new Date(midnight).getUTCDay() + 6) % 7;
  const thursday = midnight + (3 - mondayBased) * DAY_MS;
  const year = new Date(thursday).getUTCFullYear();
  const week = Math.floor((thursday - Date.UTC(year, 0, 1)) / (7 * DAY_MS)) + 1;
  return `${year}-W${String(week).padStart(2, '0')}`;
}
