import { z } from 'zod';
import type { BackupConfig, FleetConfig } from './config-schema.ts';
import { DOCUMENT_PATTERNS } from './document-patterns.ts';
import { DAY_MS, formatDuration } from './duration.ts';

/**
 * Judging backups by what they contain, and pruning them without ever losing the last good one.
 *
 * The backup document publishes three kinds of small JSON record next to the dumps (the contract below):
 * `<id>.manifest.json` for a finished dump, `<id>.failed.json` for an attempt that failed, and `*.drill.json` for a
 * restore drill; the control plane adds `*.drill-failed.json` for a drill that failed. Nothing here trusts a record's
 * word alone: a manifest is only GOOD while the dump it names is in the store at the size it states (and with its
 * SHA-256, whenever the store gives one), is big enough to be a real database, `pg_restore --list` found table data in
 * it, and no drill of it failed since the last one that passed.
 * Pure: the caller lists the store and reads the records; times are epoch milliseconds.
 */

export const MANIFEST_SUFFIX = '.manifest.json';
export const FAILURE_SUFFIX = '.failed.json';
export const DRILL_SUFFIX = '.drill.json';
/** Not a `DRILL_SUFFIX` name: an older reader takes it for an unreferenced object, never for an unreadable drill. */
export const DRILL_FAILURE_SUFFIX = '.drill-failed.json';

// The documents' own patterns (one definition): a record names what the documents were given, so it must take every
// id, database name and digest a document can be given.
const id = z
  .string()
  .regex(
    new RegExp(DOCUMENT_PATTERNS.backupId),
    'must be a backup id: 1-128 letters, digits, _ and -, not starting with -',
  );
const pgName = z.string().regex(new RegExp(DOCUMENT_PATTERNS.postgresName), 'must be a PostgreSQL database name');
const instant = z.iso.datetime({ offset: true }).transform((text) => Date.parse(text));
const count = z.int().min(0);
const sha256 = z.string().regex(new RegExp(DOCUMENT_PATTERNS.sha256), 'must be 64 lower-case hex digits');

const finishesAfterStart = (record: { startedAt: number; finishedAt: number }) => record.finishedAt >= record.startedAt;
const finishesAfterStartProblem = { message: 'must not be before startedAt', path: ['finishedAt'] };

/**
 * A finished dump, published only after the dump itself is stored. Unknown fields are ignored (a newer writer may
 * add some); a new meaning for an existing field needs a new `version`.
 */
export const backupManifestSchema = z
  .object({
    kind: z.literal('acgs-ops.backup'),
    version: z.literal(1),
    id,
    database: pgName,
    host: z.string().min(1).max(253),
    port: z.int().min(1).max(65_535),
    /** When pg_dump started: the dump holds the database as it was at this moment (its snapshot). */
    startedAt: instant,
    finishedAt: instant,
    /** Key of the dump in the same store as the manifest. */
    dumpKey: z.string().min(1).max(1024),
    sizeBytes: count,
    sha256,
    format: z.literal('custom'),
    /** Entries `pg_restore --list` found in the dump. */
    tocEntries: count,
    /** Of those, `TABLE DATA` entries. */
    tableDataEntries: count,
    pgDumpVersion: z.string().min(1).max(200),
    /**
     * The store was given the dump so that it can answer with its SHA-256 (a local file, or one S3 PUT carrying the
     * checksum): a store that then gives none holds something else (replaced, or uploaded again without one).
     * Absent in manifests written before it: then a missing checksum only leaves the dump unverified.
     */
    checksumStored: z.boolean().default(false),
  })
  .refine(finishesAfterStart, finishesAfterStartProblem);

/** An attempt that produced no backup, with the reason as the document saw it (first line of the tool's error). */
export const backupFailureSchema = z
  .object({
    kind: z.literal('acgs-ops.backup-failure'),
    version: z.literal(1),
    id,
    database: pgName,
    startedAt: instant,
    failedAt: instant,
    reason: z.string().min(1).max(2_000),
  })
  .refine((f) => f.failedAt >= f.startedAt, { message: 'must not be before startedAt', path: ['failedAt'] });

/** A restore drill that completed: which backup it restored, and what it found. */
export const drillReportSchema = z
  .object({
    kind: z.literal('acgs-ops.drill'),
    version: z.literal(1),
    /**
     * The dump restored, as the drill document was given it: `<dir>/<dumpKey>` or `s3://bucket/prefix/<dumpKey>`
     * (a backup id is accepted too). See `drillIsOf`.
     */
    source: z.string().min(1).max(2_048),
    /** SHA-256 of the dump as the drill fetched it. */
    sha256,
    /** pg_restore's wall time (fetching the dump is not included). */
    restoreSeconds: z.number().min(0),
    /** Tables in the scratch database after the restore. */
    tables: count,
    /** `TABLE DATA` entries restored. */
    tableDataEntries: count,
    startedAt: instant,
    finishedAt: instant,
  })
  .refine(finishesAfterStart, finishesAfterStartProblem);

/**
 * Why a drill did not complete. `content`: the drill found the dump's content unrestorable (its SHA-256 or TABLE DATA
 * entries differ from the manifest, pg_restore cannot read it, nothing was restored: the drill document's exit 3);
 * the backup is bad. `environment`: the drill could not do its work (the scratch server down or refusing the
 * password, no aws CLI, the deadline): that says nothing of the dump, so the backup stays as good as it was, and
 * only the drill is failed. A record without one (written before causes were told apart) is taken as environment:
 * the store's checksum and the next drill still judge the content.
 */
export const DRILL_FAILURE_CAUSES = ['content', 'environment'] as const;
export type DrillFailureCause = (typeof DRILL_FAILURE_CAUSES)[number];

/**
 * A restore drill that did not complete (the drill document failed, timed out or printed no report), written by the
 * control plane: the next judgement must not take the last passing drill for the latest.
 */
export const drillFailureSchema = z
  .object({
    kind: z.literal('acgs-ops.drill-failure'),
    version: z.literal(1),
    /** The backup the drill was given. */
    backupId: id,
    /** The dump, as the drill document was given it (see `drillReportSchema.source`). */
    source: z.string().min(1).max(2_048),
    startedAt: instant,
    failedAt: instant,
    reason: z.string().min(1).max(2_000),
    /** See DRILL_FAILURE_CAUSES; absent in records written before it. @default environment */
    cause: z.enum(DRILL_FAILURE_CAUSES).default('environment'),
  })
  .refine((f) => f.failedAt >= f.startedAt, { message: 'must not be before startedAt', path: ['failedAt'] });

export type BackupManifest = z.output<typeof backupManifestSchema>;
export type BackupFailure = z.output<typeof backupFailureSchema>;
export type DrillReport = z.output<typeof drillReportSchema>;
export type DrillFailure = z.output<typeof drillFailureSchema>;

export type RecordParseResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: string };

export function parseBackupManifest(text: string): RecordParseResult<BackupManifest> {
  return parseRecord(text, backupManifestSchema);
}

export function parseBackupFailure(text: string): RecordParseResult<BackupFailure> {
  return parseRecord(text, backupFailureSchema);
}

export function parseDrillReport(text: string): RecordParseResult<DrillReport> {
  return parseRecord(text, drillReportSchema);
}

export function parseDrillFailure(text: string): RecordParseResult<DrillFailure> {
  return parseRecord(text, drillFailureSchema);
}

function parseRecord<S extends z.ZodType>(text: string, schema: S): RecordParseResult<z.output<S>> {
  if (text.trim() === '') return { ok: false, error: 'the record is empty' };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: `not JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success) return { ok: true, value: parsed.data };
  return {
    ok: false,
    error: parsed.error.issues
      .map((i) => `${i.path.length === 0 ? '(record)' : i.path.map(String).join('.')}: ${i.message}`)
      .join('; '),
  };
}

/** The settings backups are judged by: the config's `backups` section fits as it is. */
export type BackupPolicy = Pick<BackupConfig, 'maxAge' | 'minSizeBytes' | 'maxShrinkPercent' | 'retention'> & {
  readonly drill?: { readonly maxAge: number } | undefined;
};

export type RecoveryObjectives = Pick<FleetConfig['recovery'], 'rto' | 'rpo'>;

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
    key.endsWith(DRILL_FAILURE_SUFFIX)
  );
}

/** The records parsed, before any is judged against the listing (`readRecords`). */
export interface RecordsRead {
  readonly manifests: readonly { readonly key: string; readonly manifest: BackupManifest }[];
  readonly failures: readonly CataloguedFailure[];
  readonly drills: readonly CataloguedDrill[];
  readonly drillFailures: readonly CataloguedDrillFailure[];
  readonly unreadable: readonly UnreadableRecord[];
}

/** Parses every record once: the caller may need the manifests' dump keys before the catalogue is built. */
export function readRecords(records: readonly RecordText[]): RecordsRead {
  const unreadable: UnreadableRecord[] = [];
  const manifests: { key: string; manifest: BackupManifest }[] = [];
  const failures: CataloguedFailure[] = [];
  const drills: CataloguedDrill[] = [];
  const drillFailures: CataloguedDrillFailure[] = [];

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
    }
  }
  return { manifests, failures, drills, drillFailures, unreadable };
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
    ...judgeLatestDrill(catalogue, policy, now),
  };
}

const STATUS_RANK: Record<BackupStatus, number> = { ok: 0, suspicious: 1, stale: 2, failed: 3, missing: 4 };

function attemptProblem(catalogue: Catalogue, attempt: BackupAttempt): string | undefined {
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
function shrinkage(good: readonly BackupManifest[], maxShrinkPercent: number): string | undefined {
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
  if (policy.drill && drillAgeMs > policy.drill.maxAge) {
    if (drillStatus === 'ok') drillStatus = 'overdue';
    drillReasons.push(
      `latest restore drill is ${formatDuration(drillAgeMs)} old (max ${formatDuration(policy.drill.maxAge)})`,
    );
  }
  return { drillStatus, drillAgeMs, drillReasons };
}

/** Whether the drill restored this backup: its source is the dump's key (under any folder or bucket), or its id. */
export function drillIsOf(report: DrillReport, manifest: BackupManifest): boolean {
  const { source } = report;
  return source === manifest.id || source === manifest.dumpKey || source.endsWith(`/${manifest.dumpKey}`);
}

function drillContentProblems(report: DrillReport, manifest: BackupManifest | undefined): string[] {
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
  for (const f of catalogue.failures) {
    if (f.failure.startedAt >= oldestKept) continue;
    deletions.push({
      id: f.failure.id,
      startedAt: f.failure.startedAt,
      keys: [f.key],
      why: 'failure record older than the oldest kept backup',
    });
  }
  for (const f of catalogue.drillFailures) {
    if (f.failure.startedAt >= oldestKept) continue;
    deletions.push({
      id: f.failure.backupId,
      startedAt: f.failure.startedAt,
      keys: [f.key],
      why: 'drill failure record older than the oldest kept backup',
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

function startedInTheFuture(attempt: BackupAttempt, now: number): string {
  return `attempt ${attempt.id} started ${formatDuration(attempt.startedAt - now)} in the future: clocks disagree`;
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

function byStart(a: { startedAt: number; id: string }, b: { startedAt: number; id: string }): number {
  return a.startedAt - b.startedAt || compareText(a.id, b.id);
}

/** Code-unit order, not locale order: the same everywhere. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
