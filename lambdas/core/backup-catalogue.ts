import { drillContentProblems, drillIsOf } from './backup-drill.ts';
import {
  type BackupFailure,
  type BackupManifest,
  DRILL_FAILURE_SUFFIX,
  DRILL_SUFFIX,
  type DrillFailure,
  type DrillReport,
  FAILURE_SUFFIX,
  MANIFEST_SUFFIX,
  parseBackupFailure,
  parseBackupManifest,
  parseDrillFailure,
  parseDrillReport,
} from './backup-records.ts';
import type { BackupConfig } from './config-schema.ts';
import { PITR_DRILL_SUFFIX, type PitrDrillRecord, parsePitrDrillRecord } from './pitr-drill.ts';

/**
 * The catalogue: the store's listing and the records read from it (`backup-records.ts`), put together once. Nothing
 * here trusts a record's word alone: a manifest is only GOOD while the dump it names is in the store at the size it
 * states (and with its SHA-256, whenever the store gives one), is big enough to be a real database, `pg_restore
 * --list` found table data in it, and no drill of it failed since the last one that passed.
 * Pure: the caller lists the store and reads the records; times are epoch milliseconds.
 */

/** The settings backups are judged by: the config's `backups` section fits as it is. */
export type BackupPolicy = Pick<BackupConfig, 'maxAge' | 'minSizeBytes' | 'maxShrinkPercent' | 'retention'> & {
  readonly drill?: { readonly maxAge: number } | undefined;
};

/**
 * An object in the store, as a listing gives it (an `ObjectSummary` fits). `sha256`: the content's SHA-256 as the
 * store gives it now (`ObjectStore.contentSha256`); absent when the store cannot tell, and then the dump is not
 * `verified`.
 */
export interface ListedObject {
  readonly key: string;
  readonly size: number;
  readonly sha256?: string | undefined;
}

export interface RecordText {
  readonly key: string;
  readonly text: string;
}

export interface CatalogueInput {
  /** Every object under the backups' prefix: dumps and records alike. */
  readonly listing: readonly ListedObject[];
  /** The text of every record the listing holds (the keys `recordKeys(listing)` names). */
  readonly records: readonly RecordText[];
}

export interface CataloguedBackup {
  readonly key: string;
  readonly manifest: BackupManifest;
  /** Whether the dump the manifest names is in the listing at all (whatever its size). */
  readonly dumpStored: boolean;
  readonly verdict: 'good' | 'bad';
  /** Why it is bad; empty when good. Each a clause: "dump is 0 bytes". */
  readonly problems: readonly string[];
  /** The store gave the dump's SHA-256 now, and it is the manifest's: the content is still what was published. */
  readonly verified: boolean;
  /** The latest drill of this backup restored it and matched its manifest. */
  readonly restorable: boolean;
}

export interface CataloguedFailure {
  readonly key: string;
  readonly failure: BackupFailure;
}

export interface CataloguedDrill {
  readonly key: string;
  readonly report: DrillReport;
}

export interface CataloguedDrillFailure {
  readonly key: string;
  readonly failure: DrillFailure;
}

export interface UnreadableRecord {
  readonly key: string;
  readonly problem: string;
}

export interface Catalogue {
  /** Oldest first (by startedAt, then id). */
  readonly backups: readonly CataloguedBackup[];
  readonly failures: readonly CataloguedFailure[];
  readonly drills: readonly CataloguedDrill[];
  /** Drills that failed, oldest first. */
  readonly drillFailures: readonly CataloguedDrillFailure[];
  /** Point-in-time restore drills, passed and failed, oldest first (`pitr-drill.ts`). */
  readonly pitrDrills?: readonly PitrDrillRecord[];
  /** Records that do not parse, or clash with another: they could be anything, so retention stops for them. */
  readonly unreadable: readonly UnreadableRecord[];
  /** Objects no record names (a dump whose manifest was never written, or one being uploaded): never pruned. */
  readonly unreferenced: readonly string[];
}

/** The keys whose text `buildCatalogue` needs, in key order: fetch these (small JSON files), never the dumps. */
export function recordKeys(listing: readonly ListedObject[]): string[] {
  return listing
    .map((o) => o.key)
    .filter(isRecordKey)
    .sort(compareText);
}

function isRecordKey(key: string): boolean {
  return (
    key.endsWith(MANIFEST_SUFFIX) ||
    key.endsWith(FAILURE_SUFFIX) ||
    key.endsWith(DRILL_SUFFIX) ||
    key.endsWith(DRILL_FAILURE_SUFFIX) ||
    key.endsWith(PITR_DRILL_SUFFIX)
  );
}

/** The records parsed, before any is judged against the listing (`readRecords`). */
export interface RecordsRead {
  readonly manifests: readonly { readonly key: string; readonly manifest: BackupManifest }[];
  readonly failures: readonly CataloguedFailure[];
  readonly drills: readonly CataloguedDrill[];
  readonly drillFailures: readonly CataloguedDrillFailure[];
  readonly pitrDrills?: readonly PitrDrillRecord[];
  readonly unreadable: readonly UnreadableRecord[];
}

/** Parses every record once: the caller may need the manifests' dump keys before the catalogue is built. */
export function readRecords(records: readonly RecordText[]): RecordsRead {
  const unreadable: UnreadableRecord[] = [];
  const manifests: { key: string; manifest: BackupManifest }[] = [];
  const failures: CataloguedFailure[] = [];
  const drills: CataloguedDrill[] = [];
  const drillFailures: CataloguedDrillFailure[] = [];
  const pitrDrills: PitrDrillRecord[] = [];

  for (const { key, text } of [...records].sort((a, b) => compareText(a.key, b.key))) {
    if (key.endsWith(MANIFEST_SUFFIX)) {
      const parsed = parseBackupManifest(text);
      if (!parsed.ok) unreadable.push({ key, problem: `not a backup manifest: ${parsed.error}` });
      else if (!namesId(key, MANIFEST_SUFFIX, parsed.value.id))
        unreadable.push({ key, problem: `it says it is backup ${parsed.value.id}, but is not named after it` });
      else manifests.push({ key, manifest: parsed.value });
    } else if (key.endsWith(FAILURE_SUFFIX)) {
      const parsed = parseBackupFailure(text);
      if (!parsed.ok) unreadable.push({ key, problem: `not a backup failure record: ${parsed.error}` });
      else if (!namesId(key, FAILURE_SUFFIX, parsed.value.id))
        unreadable.push({ key, problem: `it says it is attempt ${parsed.value.id}, but is not named after it` });
      else failures.push({ key, failure: parsed.value });
    } else if (key.endsWith(DRILL_SUFFIX)) {
      const parsed = parseDrillReport(text);
      if (parsed.ok) drills.push({ key, report: parsed.value });
      else unreadable.push({ key, problem: `not a drill report: ${parsed.error}` });
    } else if (key.endsWith(DRILL_FAILURE_SUFFIX)) {
      const parsed = parseDrillFailure(text);
      if (parsed.ok) drillFailures.push({ key, failure: parsed.value });
      else unreadable.push({ key, problem: `not a drill failure record: ${parsed.error}` });
    } else if (key.endsWith(PITR_DRILL_SUFFIX)) {
      const parsed = parsePitrDrillRecord(text);
      if (parsed.ok) pitrDrills.push(parsed.value);
      else unreadable.push({ key, problem: `not a point-in-time drill record: ${parsed.error}` });
    }
  }
  return { manifests, failures, drills, drillFailures, pitrDrills, unreadable };
}

/**
 * Parses the records (unless the caller read them already, from the same `input.records`) and judges every manifest
 * against the listing.
 */
export function buildCatalogue(
  input: CatalogueInput,
  policy: Pick<BackupPolicy, 'minSizeBytes'>,
  read: RecordsRead = readRecords(input.records),
): Catalogue {
  const listed = new Map(input.listing.map((o) => [o.key, o]));
  const unreadable = [...read.unreadable];
  const { manifests } = read;
  const failures = [...read.failures];
  const drills = [...read.drills];
  const drillFailures = [...read.drillFailures];

  // A record the caller did not read may be the latest attempt, a failed one: it must not be taken as absent.
  const fetched = new Set(input.records.map((r) => r.key));
  for (const key of recordKeys(input.listing))
    if (!fetched.has(key)) unreadable.push({ key, problem: 'it is listed, but its text was not read' });

  // Two manifests claiming one id: which is the backup? Neither is trusted, and nothing is pruned until it is settled.
  const byId = new Map<string, { key: string; manifest: BackupManifest }[]>();
  for (const m of manifests) byId.set(m.manifest.id, [...(byId.get(m.manifest.id) ?? []), m]);
  const failed = new Map(failures.map((f) => [f.failure.id, f.failure]));
  const backups: CataloguedBackup[] = [];
  for (const [backupId, same] of byId) {
    if (same.length > 1) {
      for (const m of same)
        unreadable.push({ key: m.key, problem: `backup ${backupId} is also described by another manifest` });
      continue;
    }
    const [only] = same;
    if (!only) continue;
    const dumpStored = listed.has(only.manifest.dumpKey);
    const problems = manifestProblems(only.manifest, listed, policy.minSizeBytes);
    // A manifest that says "done" while the same attempt reported a failure is not a backup to rely on. A failure
    // record from an earlier run under the same id (retried, and this time it worked) says nothing of this one.
    const failure = failed.get(backupId);
    if (failure && failure.startedAt >= only.manifest.startedAt)
      problems.push(`a failure record says this attempt failed: ${failure.reason}`);
    // The latest drill of this backup that judged its content decides: one that found the content unrestorable makes
    // it bad until a newer drill of it passes. A drill that could not run (environment) only fails the drill.
    const drilled = latestDrillOf(only.manifest, drills, drillFailures);
    if (drilled?.failed) problems.push(drilled.failed);
    const sha256 = listed.get(only.manifest.dumpKey)?.sha256;
    backups.push({
      ...only,
      dumpStored,
      verdict: problems.length === 0 ? 'good' : 'bad',
      problems,
      verified: sha256 !== undefined && sha256 === only.manifest.sha256,
      restorable: drilled !== undefined && drilled.failed === undefined,
    });
  }

  const referenced = new Set<string>([
    ...input.records.map((r) => r.key),
    ...backups.map((b) => b.manifest.dumpKey),
    ...unreadable.map((u) => u.key),
  ]);
  return {
    backups: backups.sort((a, b) => byStart(a.manifest, b.manifest)),
    failures: failures.sort((a, b) => byStart(a.failure, b.failure)),
    drills: drills.sort((a, b) => a.report.startedAt - b.report.startedAt || compareText(a.key, b.key)),
    drillFailures: drillFailures.sort((a, b) => a.failure.startedAt - b.failure.startedAt || compareText(a.key, b.key)),
    pitrDrills: [...(read.pitrDrills ?? [])].sort((a, b) => a.startedAt - b.startedAt),
    unreadable: unreadable.sort((a, b) => compareText(a.key, b.key)),
    unreferenced: input.listing
      .map((o) => o.key)
      .filter((k) => !referenced.has(k) && !isRecordKey(k))
      .sort(compareText),
  };
}

function manifestProblems(m: BackupManifest, listed: Map<string, ListedObject>, minSizeBytes: number): string[] {
  const problems: string[] = [];
  if (m.sizeBytes === 0) problems.push('dump is 0 bytes');
  else if (m.sizeBytes < minSizeBytes)
    problems.push(`dump is ${m.sizeBytes} bytes, below the minimum of ${minSizeBytes}`);
  const stored = listed.get(m.dumpKey);
  if (!stored) problems.push(`dump ${m.dumpKey} is not in the store (a partial or failed upload)`);
  else {
    if (stored.size !== m.sizeBytes)
      problems.push(`dump ${m.dumpKey} in the store is ${stored.size} bytes, the manifest says ${m.sizeBytes}`);
    if (stored.sha256 !== undefined && stored.sha256 !== m.sha256)
      problems.push(`dump ${m.dumpKey} in the store has SHA-256 ${stored.sha256}, the manifest says ${m.sha256}`);
    if (stored.sha256 === undefined && m.checksumStored)
      problems.push(
        `dump ${m.dumpKey} was stored with its SHA-256, but the store gives none now (replaced, or uploaded again)`,
      );
  }
  if (m.tocEntries === 0) problems.push('pg_restore --list found no entries in the dump');
  else if (m.tableDataEntries === 0) problems.push('pg_restore --list found no table data in the dump');
  if (m.tableDataEntries > m.tocEntries)
    problems.push(`the manifest counts ${m.tableDataEntries} table data entries among ${m.tocEntries} entries`);
  return problems;
}

/**
 * The latest drill of the backup that said something of its content, passed or failed (`failed`: why, as a problem
 * of the backup). A drill that failed for its environment says nothing of the dump and is not counted here.
 */
function latestDrillOf(
  manifest: BackupManifest,
  drills: readonly CataloguedDrill[],
  failures: readonly CataloguedDrillFailure[],
): { readonly startedAt: number; readonly failed?: string } | undefined {
  let latest: { startedAt: number; failed?: string } | undefined;
  for (const { report } of drills) {
    if (!drillIsOf(report, manifest) || (latest && latest.startedAt > report.startedAt)) continue;
    const problems = drillContentProblems(report, manifest);
    latest =
      problems.length === 0
        ? { startedAt: report.startedAt }
        : {
            startedAt: report.startedAt,
            failed: `restore drill at ${new Date(report.startedAt).toISOString()} did not prove it: ${problems.join('; ')}`,
          };
  }
  for (const { failure } of failures) {
    if (failure.cause !== 'content') continue;
    if (failure.backupId !== manifest.id || (latest && latest.startedAt > failure.startedAt)) continue;
    latest = {
      startedAt: failure.startedAt,
      failed: `restore drill at ${new Date(failure.startedAt).toISOString()} failed: ${failure.reason}`,
    };
  }
  return latest;
}

function namesId(key: string, suffix: string, recordId: string): boolean {
  const name = key.slice(key.lastIndexOf('/') + 1);
  return name === `${recordId}${suffix}`;
}

export function byStart(a: { startedAt: number; id: string }, b: { startedAt: number; id: string }): number {
  return a.startedAt - b.startedAt || compareText(a.id, b.id);
}

/** Code-unit order, not locale order: the same everywhere. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
