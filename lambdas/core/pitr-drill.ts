import type { RecoveryObjectives } from './backup-drill.ts';
import { formatDuration } from './duration.ts';
import * as z from './zod-mini.ts';

/**
 * The point-in-time restore drill's verdict, pure: what `acgs-pitr-restore` (Drill=yes) found in the restored cluster
 * (every table's row count, the newest canary) against what the base backup recorded when it was taken (its canary
 * and its snapshot of row counts), and the measured RTO and achieved RPO against the recovery objectives. Its record
 * (`*.pitr-drill.json`, next to the dump records) and what the monitor makes of the latest one.
 */

export const PITR_DRILL_SUFFIX = '.pitr-drill.json';
/**
 * The restore's whole report, as acgs-pitr-restore writes it next to the backups in AWS (ReportLocation): read once
 * by the drill, then deleted; never a record.
 */
export const PITR_REPORT_SUFFIX = '.pitr-report.json';
/** The table the canary rows are written to (ssm-documents/src/pitr-lib.sh). */
export const CANARY_TABLE = 'public.acgs_ops_canary';

const instant = z.pipe(
  z.iso.datetime({ offset: true }),
  z.transform((text: string) => Date.parse(text)),
);
const count = z.int().check(z.minimum(0));
const rowCounts = z.record(z.string().check(z.minLength(1), z.maxLength(200)), count);
const inventorySchema = z.object({ at: instant, rowCounts });

/** The drill part of the document's report (`drill`), with the base backup's manifest as it was published. */
const drillEvidenceSchema = z.object({
  database: z.string(),
  inventory: inventorySchema,
  canaryTable: z.boolean(),
  canary: z.nullable(z.object({ newestAt: z.nullable(instant), rows: count })),
  scratchRemoved: z.boolean(),
  baseBackupManifest: z.object({
    id: z.string(),
    finishedAt: instant,
    // Absent in base backups taken before canaries and snapshots were recorded.
    canary: z.optional(z.object({ id: count, writtenAt: instant })),
    snapshot: z.optional(inventorySchema),
  }),
});
export type PitrDrillEvidence = z.output<typeof drillEvidenceSchema>;

/** The `drill` object of an `acgs-ops.pitr-restore` report, or why it is not one. */
export function parseDrillEvidence(report: {
  readonly drill?: unknown;
}): { ok: true; value: PitrDrillEvidence } | { ok: false; error: string } {
  const parsed = drillEvidenceSchema.safeParse(report.drill);
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, error: issues(parsed.error.issues) };
}

/** How the drill weighs the restored data (backups.archiving.drill). */
export interface PitrDataRules {
  /** Tables (schema.table) that may hold fewer rows than the snapshot counted: reported, not failed. */
  readonly tablesAllowedToShrink?: readonly string[];
}

/**
 * Why the restored data does not hold what it must, one sentence each; empty when it does. The restore's target is
 * after the base backup finished, hence after its snapshot: a table holds at least the rows the snapshot counted
 * (restored >= snapshot; fewer means rows were lost, or deleted after the backup, which the drill cannot tell apart
 * and reports), unless the rules allow it to shrink (shrunkTables says so). Every table of the snapshot must be there,
 * and a canary at least as new as the base backup's.
 */
export function restoredDataProblems(evidence: PitrDrillEvidence, rules: PitrDataRules = {}): string[] {
  const problems: string[] = [];
  const manifest = evidence.baseBackupManifest;
  const snapshot = manifest.snapshot;
  const restored = evidence.inventory.rowCounts;
  const mayShrink = new Set(rules.tablesAllowedToShrink ?? []);
  if (!snapshot)
    problems.push(
      `base backup ${manifest.id} has no snapshot of row counts (taken before they were recorded): take a new base backup`,
    );
  else {
    const tables = Object.keys(snapshot.rowCounts).sort();
    if (tables.length === 0)
      problems.push(
        `the snapshot of base backup ${manifest.id} lists no table of ${evidence.database}: nothing proves the data`,
      );
    for (const table of tables) {
      const expected = snapshot.rowCounts[table] ?? 0;
      const found = restored[table];
      if (found === undefined)
        problems.push(
          `table ${table} is missing from the restored ${evidence.database} (the snapshot counted ${expected} rows)`,
        );
      else if (found < expected && !mayShrink.has(table))
        problems.push(`table ${table} has ${found} rows restored, fewer than the ${expected} the snapshot counted`);
    }
  }
  if (!evidence.canaryTable) problems.push(`the restored ${evidence.database} has no canary table ${CANARY_TABLE}`);
  else {
    const newest = evidence.canary?.newestAt ?? null;
    if (newest === null) problems.push(`the canary table of the restored ${evidence.database} is empty`);
    else if (manifest.canary && newest < manifest.canary.writtenAt)
      problems.push(
        `the newest canary restored (${iso(newest)}) is older than the one base backup ${manifest.id} wrote (${iso(manifest.canary.writtenAt)})`,
      );
  }
  if (!evidence.scratchRemoved) problems.push('the scratch cluster was not removed');
  return problems;
}

/** The tables the rules allowed to shrink that did, one sentence each, in table order. */
export function shrunkTables(evidence: PitrDrillEvidence, rules: PitrDataRules = {}): string[] {
  const snapshot = evidence.baseBackupManifest.snapshot?.rowCounts ?? {};
  const restored = evidence.inventory.rowCounts;
  return [...new Set(rules.tablesAllowedToShrink ?? [])].sort().flatMap((table) => {
    const before = snapshot[table];
    const now = restored[table];
    return before !== undefined && now !== undefined && now < before
      ? [`${table}: ${now} rows, was ${before} at the base backup: allowed to shrink`]
      : [];
  });
}

export interface PitrDrillMeasures {
  /** Unpack + replay, as the document timed them. */
  readonly rtoMs: number;
  readonly unpackMs: number;
  readonly replayMs: number;
  /**
   * What a disaster at the drill's moment would have lost: the target (for latest, the moment recovery finished: the
   * restore holds what was archived by then) minus the newest canary restored. Absent without a canary.
   */
  readonly rpoMs?: number;
}

export interface PitrDrillVerdict {
  readonly passed: boolean;
  readonly reasons: readonly string[];
}

/** The verdict: the data proved, and RTO and RPO within the objectives; one sentence per finding, passed or not. */
export function judgePitrDrill(
  evidence: PitrDrillEvidence,
  measures: PitrDrillMeasures,
  recovery: RecoveryObjectives,
  rules: PitrDataRules = {},
): PitrDrillVerdict {
  const problems = restoredDataProblems(evidence, rules);
  const shrunk = shrunkTables(evidence, rules);
  const tables = Object.keys(evidence.inventory.rowCounts).length;
  const rtoMet = measures.rtoMs <= recovery.rto;
  const rpoMet = measures.rpoMs !== undefined && measures.rpoMs <= recovery.rpo;
  const reasons = [
    `RTO ${rtoMet ? 'met' : 'breached'}: unpack and replay took ${formatDuration(measures.rtoMs)} (unpack ${formatDuration(measures.unpackMs)}, replay ${formatDuration(measures.replayMs)}; target ${formatDuration(recovery.rto)})`,
    measures.rpoMs === undefined
      ? 'RPO unknown: no canary was restored'
      : `RPO ${rpoMet ? 'met' : 'breached'}: the newest canary restored is ${formatDuration(measures.rpoMs)} older than the drill's target (target ${formatDuration(recovery.rpo)})`,
    problems.length === 0
      ? `the restored ${evidence.database} holds every table of base backup ${evidence.baseBackupManifest.id}'s snapshot (${Object.keys(evidence.baseBackupManifest.snapshot?.rowCounts ?? {}).length}) with at least its rows${shrunk.length === 0 ? '' : ` but for ${shrunk.length} allowed to shrink`}, ${tables} tables in all`
      : `the restored data does not hold what it must: ${problems.join('; ')}`,
    ...shrunk,
  ];
  return { passed: rtoMet && rpoMet && problems.length === 0, reasons };
}

/**
 * The achieved RPO: the moment the restore stands for minus the newest canary restored. For a time, that time; for
 * latest, the moment recovery finished (everything archived by then was replayed, so a disaster then would have lost
 * what came after the newest canary), by the database host's clock that stamps the canaries too.
 */
export function achievedRpoMs(
  evidence: PitrDrillEvidence,
  target: 'latest' | number,
  recoveredAt: number,
): number | undefined {
  const newest = evidence.canary?.newestAt ?? null;
  if (newest === null) return undefined;
  return Math.max(0, (target === 'latest' ? recoveredAt : target) - newest);
}

/** A PITR drill as recorded: passed or failed, with its figures when it got that far. */
export const pitrDrillRecordSchema = z
  .object({
    kind: z.literal('acgs-ops.pitr-drill'),
    version: z.literal(1),
    outcome: z.enum(['passed', 'failed']),
    /** `latest`, or the target time. */
    target: z.string().check(z.minLength(1), z.maxLength(40)),
    baseBackup: z.nullable(z.string().check(z.maxLength(200))),
    startedAt: instant,
    finishedAt: instant,
    rtoMs: z.nullable(count),
    rpoMs: z.nullable(count),
    newestCanaryAt: z.nullable(instant),
    tables: z.nullable(count),
    reasons: z.array(z.string().check(z.maxLength(2_000))).check(z.minLength(1)),
  })
  .check(
    z.refine((r) => r.finishedAt >= r.startedAt, { message: 'must not be before startedAt', path: ['finishedAt'] }),
  );
export type PitrDrillRecord = z.output<typeof pitrDrillRecordSchema>;

export function parsePitrDrillRecord(
  text: string,
): { ok: true; value: PitrDrillRecord } | { ok: false; error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: `not JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
  const parsed = pitrDrillRecordSchema.safeParse(raw);
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, error: issues(parsed.error.issues) };
}

/** The record's key: `<base backup or "pitr">-<start, compact UTC>.pitr-drill.json`. */
export function pitrDrillKey(baseBackup: string | null, startedAt: number): string {
  return `${baseBackup ?? 'pitr'}-${new Date(startedAt).toISOString().replace(/[-:.]/g, '')}${PITR_DRILL_SUFFIX}`;
}

/** The key the restore writes its whole report to: `pitr-<start, compact UTC>.pitr-report.json`. */
export function pitrReportKey(startedAt: number): string {
  return `pitr-${new Date(startedAt).toISOString().replace(/[-:.]/g, '')}${PITR_REPORT_SUFFIX}`;
}

/** What the monitor says of the latest PITR drill, and how it weighs on the drill's status. */
export interface PitrDrillJudgement {
  readonly outcome: 'passed' | 'failed';
  readonly startedAt: number;
  readonly ageMs: number;
  readonly rtoMs: number | null;
  readonly rpoMs: number | null;
  readonly reasons: readonly string[];
}

/**
 * Folds the latest PITR drill into the drill judgement: a failed one fails the drill (it stays failed until a newer
 * PITR drill passes), a passed one adds its figures. Without a PITR drill the judgement is unchanged.
 */
export function withLatestPitrDrill<
  // backup-judgement's DrillStatus, spelled out: that module imports this one.
  J extends { drillStatus: 'ok' | 'overdue' | 'never' | 'failed'; drillReasons: readonly string[] },
>(judgement: J, records: readonly PitrDrillRecord[], now: number): J & { pitrDrill?: PitrDrillJudgement } {
  const latest = [...records].sort((a, b) => a.startedAt - b.startedAt).at(-1);
  if (!latest) return judgement;
  const pitrDrill: PitrDrillJudgement = {
    outcome: latest.outcome,
    startedAt: latest.startedAt,
    ageMs: now - latest.finishedAt,
    rtoMs: latest.rtoMs,
    rpoMs: latest.rpoMs,
    reasons: latest.reasons,
  };
  const when = iso(latest.startedAt);
  if (latest.outcome === 'failed')
    return {
      ...judgement,
      drillStatus: 'failed',
      drillReasons: [
        ...judgement.drillReasons,
        `latest point-in-time restore drill (${when}, to ${latest.target}) failed: ${latest.reasons.join('; ')}`,
      ],
      pitrDrill,
    };
  const figures = [
    latest.rtoMs === null ? undefined : `RTO ${formatDuration(latest.rtoMs)}`,
    latest.rpoMs === null ? undefined : `achieved RPO ${formatDuration(latest.rpoMs)}`,
  ].filter((f) => f !== undefined);
  return {
    ...judgement,
    drillReasons: [
      ...judgement.drillReasons,
      `latest point-in-time restore drill (${when}, to ${latest.target}) passed: ${figures.join(', ')}`,
    ],
    pitrDrill,
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function issues(list: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return list.map((i) => `${i.path.length === 0 ? '(record)' : i.path.map(String).join('.')}: ${i.message}`).join('; ');
}
