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

export interface DrillJudgement {
  /** RTO met, RPO met, and the restore matches its manifest. */
  readonly met: boolean;
  /** Time to get the database back: fetching the dump + pg_restore. */
  readonly rto: ObjectiveMeasure;
  /**
   * Data a restore loses: how old the restored data already was when the restore began (drill start - the dump's
   * snapshot time, its startedAt). The drill stands in for the incident; the time to restore is the RTO's, not
   * counted twice.
   */
  readonly rpo: ObjectiveMeasure;
  readonly contentMatches: boolean;
  /** One sentence per measure, met or not. */
  readonly reasons: readonly string[];
}

export interface DrillTimings {
  /** Time spent fetching the dump before pg_restore started (not in the report's restoreSeconds). @default 0 */
  readonly fetchMs?: number;
}

export function judgeDrill(
  report: DrillReport,
  manifest: BackupManifest,
  recovery: RecoveryObjectives,
  timings: DrillTimings = {},
): DrillJudgement {
  const fetchMs = timings.fetchMs ?? 0;
  const restoreMs = Math.round(report.restoreSeconds * 1_000);
  const rto = measure(fetchMs + restoreMs, recovery.rto);
  const rpo = measure(report.startedAt - manifest.startedAt, recovery.rpo);
  const problems = drillContentProblems(report, manifest);
  const reasons = [
    `RTO ${rto.met ? 'met' : 'breached'}: the restore took ${formatDuration(rto.measuredMs)} ` +
      `(fetch ${formatDuration(fetchMs)}, pg_restore ${formatDuration(restoreMs)}; target ${formatDuration(rto.targetMs)})`,
    `RPO ${rpo.met ? 'met' : 'breached'}: the restored data was ${formatDuration(rpo.measuredMs)} old when the ` +
      `restore began (target ${formatDuration(rpo.targetMs)})`,
    problems.length === 0
      ? `the restore matches backup ${manifest.id}: ${report.tableDataEntries} table data entries, same SHA-256`
      : `the restore does not match backup ${manifest.id}: ${problems.join('; ')}`,
  ];
  return { met: rto.met && rpo.met && problems.length === 0, rto, rpo, contentMatches: problems.length === 0, reasons };
}

function measure(measuredMs: number, targetMs: number): ObjectiveMeasure {
  return { measuredMs, targetMs, met: measuredMs <= targetMs };
}
