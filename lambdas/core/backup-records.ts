import { DOCUMENT_PATTERNS } from './document-patterns.ts';
import { errorMessage } from './errors.ts';
import * as z from './zod-mini.ts';

/**
 * The records backups are judged by, and their parsing. The backup document publishes three kinds of small JSON
 * record next to the dumps (the contract below): `<id>.manifest.json` for a finished dump, `<id>.failed.json` for an
 * attempt that failed, and `*.drill.json` for a restore drill; the control plane adds `*.drill-failed.json` for a
 * drill that failed. The catalogue (`backup-catalogue.ts`) puts them together with the store's listing.
 * Pure: the caller reads the records; times are epoch milliseconds.
 */

export const MANIFEST_SUFFIX = '.manifest.json';
export const FAILURE_SUFFIX = '.failed.json';
export const DRILL_SUFFIX = '.drill.json';
/** Not a `DRILL_SUFFIX` name: an older reader takes it for an unreferenced object, never for an unreadable drill. */
export const DRILL_FAILURE_SUFFIX = '.drill-failed.json';
/**
 * The drill document's whole report, as it wrote it (SSM returns only the start of a command's output): read by the
 * drill's caller, which records it as the `DRILL_SUFFIX` record and deletes it; never a record itself.
 */
export const DRILL_REPORT_SUFFIX = '.drill-report.json';

// The documents' own patterns (one definition): a record names what the documents were given, so it must take every
// id, database name and digest a document can be given.
const id = z
  .string()
  .check(
    z.regex(
      new RegExp(DOCUMENT_PATTERNS.backupId),
      'must be a backup id: 1-128 letters, digits, _ and -, not starting with -',
    ),
  );
const pgName = z
  .string()
  .check(z.regex(new RegExp(DOCUMENT_PATTERNS.postgresName), 'must be a PostgreSQL database name'));
const instant = z.pipe(
  z.iso.datetime({ offset: true }),
  z.transform((text: string) => Date.parse(text)),
);
const count = z.int().check(z.minimum(0));
const sha256 = z.string().check(z.regex(new RegExp(DOCUMENT_PATTERNS.sha256), 'must be 64 lower-case hex digits'));

/** What a published dump is: see `backupManifestSchema.format`. */
export const BACKUP_FORMATS = ['custom', 'directory-tar'] as const;
export type BackupFormat = (typeof BACKUP_FORMATS)[number];

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
    host: z.string().check(z.minLength(1), z.maxLength(253)),
    port: z.int().check(z.minimum(1), z.maximum(65_535)),
    /** When pg_dump started: the dump holds the database as it was at this moment (its snapshot). */
    startedAt: instant,
    finishedAt: instant,
    /** Key of the dump in the same store as the manifest. */
    dumpKey: z.string().check(z.minLength(1), z.maxLength(1024)),
    sizeBytes: count,
    sha256,
    /**
     * `custom`: pg_dump's custom format (ParallelJobs 1). `directory-tar`: a tar of pg_dump's directory format, dumped
     * by several workers (ParallelJobs > 1); the drill and the restore unpack it. The SHA-256 and size are those of the
     * stored object either way.
     */
    format: z.enum(BACKUP_FORMATS),
    /** Entries `pg_restore --list` found in the dump. */
    tocEntries: count,
    /** Of those, `TABLE DATA` entries. */
    tableDataEntries: count,
    pgDumpVersion: z.string().check(z.minLength(1), z.maxLength(200)),
    /**
     * The store was given the dump so that it can answer with its SHA-256 (a local file, or one S3 PUT carrying the
     * checksum): a store that then gives none holds something else (replaced, or uploaded again without one).
     * Absent in manifests written before it: then a missing checksum only leaves the dump unverified.
     */
    checksumStored: z._default(z.boolean(), false),
  })
  .check(z.refine(finishesAfterStart, finishesAfterStartProblem));

/** An attempt that produced no backup, with the reason as the document saw it (first line of the tool's error). */
export const backupFailureSchema = z
  .object({
    kind: z.literal('acgs-ops.backup-failure'),
    version: z.literal(1),
    id,
    database: pgName,
    startedAt: instant,
    failedAt: instant,
    reason: z.string().check(z.minLength(1), z.maxLength(2_000)),
  })
  .check(z.refine((f) => f.failedAt >= f.startedAt, { message: 'must not be before startedAt', path: ['failedAt'] }));

/** What the control plane made of a completed drill (`DrillJudgement` in backup-drill.ts). */
export const drillVerdictSchema = z.object({
  /** The restore matched its manifest, within the RTO, and within the RPO unless only the dump schedule breaks it. */
  passed: z.boolean(),
  /** Every objective met. */
  met: z.boolean(),
  reasons: z.array(z.string().check(z.maxLength(2_000))).check(z.maxLength(20)),
});

/** A restore drill that completed: which backup it restored, and what it found. */
export const drillReportSchema = z
  .object({
    kind: z.literal('acgs-ops.drill'),
    version: z.literal(1),
    /**
     * The dump restored, as the drill document was given it: `<dir>/<dumpKey>` or `s3://bucket/prefix/<dumpKey>`
     * (a backup id is accepted too). See `drillIsOf`.
     */
    source: z.string().check(z.minLength(1), z.maxLength(2_048)),
    /** SHA-256 of the dump as the drill fetched it. */
    sha256,
    /** pg_restore's wall time (fetching the dump is not included). */
    restoreSeconds: z.number().check(z.minimum(0)),
    /** Tables in the scratch database after the restore. */
    tables: count,
    /** `TABLE DATA` entries restored. */
    tableDataEntries: count,
    startedAt: instant,
    finishedAt: instant,
    /**
     * The control plane's verdict, added when it records the drill (absent in the document's own report and in
     * records written before verdicts were kept): the monitor holds a drill that did not pass as failed until a newer
     * drill passes.
     */
    verdict: z.optional(drillVerdictSchema),
  })
  .check(z.refine(finishesAfterStart, finishesAfterStartProblem));

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
    source: z.string().check(z.minLength(1), z.maxLength(2_048)),
    startedAt: instant,
    failedAt: instant,
    reason: z.string().check(z.minLength(1), z.maxLength(2_000)),
    /** See DRILL_FAILURE_CAUSES; absent in records written before it. @default environment */
    cause: z._default(z.enum(DRILL_FAILURE_CAUSES), 'environment'),
  })
  .check(z.refine((f) => f.failedAt >= f.startedAt, { message: 'must not be before startedAt', path: ['failedAt'] }));

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

function parseRecord<S extends z.ZodMiniType>(text: string, schema: S): RecordParseResult<z.output<S>> {
  if (text.trim() === '') return { ok: false, error: 'the record is empty' };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: `not JSON: ${errorMessage(error)}` };
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
