import type { RecoveryPoint } from './archive-judgement.ts';
import type { BackupManifest, DrillReport } from './backup-records.ts';
import type { FleetConfig } from './config-schema.ts';
import { formatDuration } from './duration.ts';

/** A restore drill's verdict: whether it restored the backup it names, intact, and within the RTO and RPO. */

export type RecoveryObjectives = Pick<FleetConfig['recovery'], 'rto' | 'rpo'>;

/** Whether the drill restored this backup: its source is the dump's key (under any folder or bucket), or its id. */
export function drillIsOf(report: DrillReport, manifest: BackupManifest): boolean {
  const { source } = report;
  return source === manifest.id || source === manifest.dumpKey || source.endsWith(`/${manifest.dumpKey}`);
}

export function drillContentProblems(report: DrillReport, manifest: BackupManifest | undefined): string[] {
  const problems: string[] = [];
  if (report.tables === 0) problems.push('it restored no tables');
  if (report.tableDataEntries === 0) problems.push('it restored no table data');
  if (!manifest) return problems;
  if (!drillIsOf(report, manifest)) problems.push(`it restored ${report.source}, not ${manifest.dumpKey}`);
  if (report.sha256 !== manifest.sha256)
    problems.push(`it restored a dump with SHA-256 ${report.sha256}, the manifest says ${manifest.sha256}`);
  if (report.tableDataEntries !== manifest.tableDataEntries)
    problems.push(
      `it restored ${report.tableDataEntries} table data entries, the manifest lists ${manifest.tableDataEntries}`,
    );
  if (report.startedAt < manifest.finishedAt) problems.push('it started before its backup had finished');
  return problems;
}

export interface ObjectiveMeasure {
  readonly measuredMs: number;
  readonly targetMs: number;
  readonly met: boolean;
}

/** The RPO as a drill reports it: what a disaster at the drill's moment would have lost (`RecoveryPoint`). */
export interface RpoMeasure {
  /** Data lost at most, in ms; absent when nothing bounds it. */
  readonly measuredMs?: number;
  readonly targetMs: number;
  readonly met: boolean;
  readonly basis: RecoveryPoint['basis'];
}

export interface DrillJudgement {
  /** Every objective met: RTO, RPO, and the restore matches its manifest. */
  readonly met: boolean;
  /**
   * What the drill proves passed: the restore matches its manifest, the RTO is met, and the RPO too, unless its
   * shortfall is the dump schedule's (dumps only): that one is the configuration's, a standing verdict of the
   * monitor's, and no drill can pass or fail it.
   */
  readonly passed: boolean;
  /** Time to get the database back: fetching the dump + pg_restore. */
  readonly rto: ObjectiveMeasure;
  /**
   * Data a disaster at the drill's moment would have lost: the age of the newest restorable point then (the WAL
   * archive's), or with dumps only the schedule's worst case (its interval + the dump's duration). Not the restored
   * dump's age, which is 6 s for a drill right after a dump.
   */
  readonly rpo: RpoMeasure;
  readonly contentMatches: boolean;
  /** One sentence per measure, met or not. */
  readonly reasons: readonly string[];
}

export interface DrillTimings {
  /** Time spent fetching the dump before pg_restore started (not in the report's restoreSeconds). @default 0 */
  readonly fetchMs?: number;
  /** What a disaster at the drill's moment would have lost. */
  readonly recoveryPoint: RecoveryPoint;
}

export function judgeDrill(
  report: DrillReport,
  manifest: BackupManifest,
  recovery: RecoveryObjectives,
  timings: DrillTimings,
): DrillJudgement {
  const fetchMs = timings.fetchMs ?? 0;
  const restoreMs = Math.round(report.restoreSeconds * 1_000);
  const rto = measure(fetchMs + restoreMs, recovery.rto);
  const point = timings.recoveryPoint;
  const rpoMet = point.lossMs !== undefined && point.lossMs <= recovery.rpo;
  const rpo: RpoMeasure = {
    ...(point.lossMs === undefined ? {} : { measuredMs: point.lossMs }),
    targetMs: recovery.rpo,
    met: rpoMet,
    basis: point.basis,
  };
  const problems = drillContentProblems(report, manifest);
  const reasons = [
    `RTO ${rto.met ? 'met' : 'breached'}: the restore took ${formatDuration(rto.measuredMs)} ` +
      `(fetch ${formatDuration(fetchMs)}, pg_restore ${formatDuration(restoreMs)}; target ${formatDuration(rto.targetMs)})`,
    `RPO ${rpoMet ? 'met' : point.basis === 'dump-schedule' ? 'not achievable' : 'breached'}: a disaster at the ` +
      `drill's moment would have lost ${point.lossMs === undefined ? 'an unbounded amount' : `up to ${formatDuration(point.lossMs)}`} ` +
      `of data (target ${formatDuration(recovery.rpo)}); ${point.detail}`,
    problems.length === 0
      ? `the restore matches backup ${manifest.id}: ${report.tableDataEntries} table data entries, same SHA-256`
      : `the restore does not match backup ${manifest.id}: ${problems.join('; ')}`,
  ];
  const proven = rto.met && problems.length === 0;
  return {
    met: proven && rpoMet,
    passed: proven && (rpoMet || point.basis === 'dump-schedule'),
    rto,
    rpo,
    contentMatches: problems.length === 0,
    reasons,
  };
}

/** The drill's verdict in a few words, for the CLI and the demo. */
export function drillHeadline(judgement: Pick<DrillJudgement, 'met' | 'passed'>): string {
  if (judgement.met) return 'objectives met';
  if (judgement.passed) return 'restore proven; the RPO objective is not achievable with dumps only';
  return 'OBJECTIVES NOT MET';
}

function measure(measuredMs: number, targetMs: number): ObjectiveMeasure {
  return { measuredMs, targetMs, met: measuredMs <= targetMs };
}
