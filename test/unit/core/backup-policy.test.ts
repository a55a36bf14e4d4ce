import { describe, expect, it } from 'vitest';
import {
  type BackupPolicy,
  buildCatalogue,
  type Catalogue,
  type CatalogueInput,
  type ListedObject,
  type RecordText,
  recordKeys,
} from '../../../lambdas/core/backup-catalogue.ts';
import { judgeDrill } from '../../../lambdas/core/backup-drill.ts';
import { judgeBackups } from '../../../lambdas/core/backup-judgement.ts';
import {
  type DrillReport,
  parseBackupFailure,
  parseBackupManifest,
  parseDrillReport,
} from '../../../lambdas/core/backup-records.ts';
import { planRetention } from '../../../lambdas/core/backup-retention.ts';
import { backupId as documentBackupId } from '../../../lambdas/core/document-parameters.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const SIZE = 5_000_000;
const SHA = 'a'.repeat(64);

const policy: BackupPolicy = {
  maxAge: 26 * HOUR,
  minSizeBytes: 1024,
  maxShrinkPercent: 50,
  retention: { daily: 7, weekly: 4, monthly: 6 },
  drill: { maxAge: 8 * DAY },
};

/** `acgs_pgp_db-20261201T020000Z`: the id of a backup started at that instant. */
function idAt(startedAt: number): string {
  return `acgs_pgp_db-${new Date(startedAt).toISOString().replace(/[-:]|\.\d+/g, '')}`;
}

interface Objects {
  readonly listing: ListedObject[];
  readonly records: RecordText[];
}

interface BackupOptions {
  readonly sizeBytes?: number;
  /** Size of the dump in the store; `missing` leaves it out of the listing. @default sizeBytes */
  readonly stored?: number | 'missing';
  readonly tocEntries?: number;
  readonly tableDataEntries?: number;
  readonly id?: string;
  /** @default acgs_pgp_db */
  readonly database?: string;
  readonly tookMs?: number;
  /** SHA-256 the store gives for the dump now; `none`: a store that cannot tell. @default the manifest's */
  readonly checksum?: string | 'none';
  /** The manifest's `checksumStored`; absent: a manifest from before it. */
  readonly checksumStored?: boolean;
}

/** A manifest and its dump, as the backup document publishes them under `<day>/`. */
function backup(startedAt: number, options: BackupOptions = {}): Objects {
  const backupId = options.id ?? idAt(startedAt);
  const sizeBytes = options.sizeBytes ?? SIZE;
  const folder = new Date(startedAt).toISOString().slice(0, 10);
  const dumpKey = `${folder}/${backupId}.dump`;
  const manifest = {
    kind: 'acgs-ops.backup',
    version: 1,
    id: backupId,
    database: options.database ?? 'acgs_pgp_db',
    host: '10.0.1.20',
    port: 5432,
    startedAt: new Date(startedAt).toISOString(),
    finishedAt: new Date(startedAt + (options.tookMs ?? 4 * MINUTE)).toISOString(),
    dumpKey,
    sizeBytes,
    sha256: SHA,
    format: 'custom',
    tocEntries: options.tocEntries ?? 120,
    tableDataEntries: options.tableDataEntries ?? 40,
    pgDumpVersion: 'pg_dump (PostgreSQL) 15.8',
    ...(options.checksumStored === undefined ? {} : { checksumStored: options.checksumStored }),
  };
  const manifestKey = `${folder}/${backupId}.manifest.json`;
  const text = JSON.stringify(manifest);
  const stored = options.stored ?? sizeBytes;
  const checksum = options.checksum ?? SHA;
  return {
    listing: [
      ...(stored === 'missing'
        ? []
        : [{ key: dumpKey, size: stored, ...(checksum === 'none' ? {} : { sha256: checksum }) }]),
      { key: manifestKey, size: text.length },
    ],
    records: [{ key: manifestKey, text }],
  };
}

function failure(startedAt: number, reason: string, backupId = idAt(startedAt)): Objects {
  const key = `${new Date(startedAt).toISOString().slice(0, 10)}/${backupId}.failed.json`;
  const text = JSON.stringify({
    kind: 'acgs-ops.backup-failure',
    version: 1,
    id: backupId,
    database: 'acgs_pgp_db',
    startedAt: new Date(startedAt).toISOString(),
    failedAt: new Date(startedAt + 5_000).toISOString(),
    reason,
  });
  return { listing: [{ key, size: text.length }], records: [{ key, text }] };
}

function drillJson(source: string, startedAt: number, over: Record<string, unknown> = {}): string {
  return JSON.stringify({
    kind: 'acgs-ops.drill',
    version: 1,
    source,
    sha256: SHA,
    restoreSeconds: 95.5,
    tables: 38,
    tableDataEntries: 40,
    startedAt: new Date(startedAt).toISOString(),
    finishedAt: new Date(startedAt + 2 * MINUTE).toISOString(),
    ...over,
  });
}

function drill(source: string, startedAt: number, over: Record<string, unknown> = {}): Objects {
  const key = `drills/${new Date(startedAt).toISOString().slice(0, 10)}.drill.json`;
  const text = drillJson(source, startedAt, over);
  return { listing: [{ key, size: text.length }], records: [{ key, text }] };
}

/**
 * A drill of the backup started at `backupStartedAt` that failed (the document exited non-zero): `content` (exit 3,
 * the dump is unrestorable) or `environment` (the drill could not run); `none` writes a record from before causes.
 */
function drillFailure(
  backupStartedAt: number,
  startedAt: number,
  reason: string,
  cause: 'content' | 'environment' | 'none' = 'content',
): Objects {
  const backupId = idAt(backupStartedAt);
  const key = `drills/${backupId}-${new Date(startedAt).toISOString().replace(/[-:.]/g, '')}.drill-failed.json`;
  const text = JSON.stringify({
    kind: 'acgs-ops.drill-failure',
    version: 1,
    backupId,
    source: dumpUrl(backupStartedAt),
    startedAt: new Date(startedAt).toISOString(),
    failedAt: new Date(startedAt + MINUTE).toISOString(),
    reason,
    ...(cause === 'none' ? {} : { cause }),
  });
  return { listing: [{ key, size: text.length }], records: [{ key, text }] };
}

/** Where the drill document found the dump of the backup started then, as it names it in `source`. */
function dumpUrl(startedAt: number): string {
  return `s3://acgs-backups/backups/${new Date(startedAt).toISOString().slice(0, 10)}/${idAt(startedAt)}.dump`;
}

function other(key: string, size = 10): Objects {
  return { listing: [{ key, size }], records: [] };
}

function input(...parts: Objects[]): CatalogueInput {
  return { listing: parts.flatMap((p) => p.listing), records: parts.flatMap((p) => p.records) };
}

function catalogue(...parts: Objects[]): Catalogue {
  return buildCatalogue(input(...parts), policy);
}

/** Daily backups at 02:00 UTC on each day from `first` to `last`, inclusive. */
function dailyBackups(first: string, last: string): Objects[] {
  const out: Objects[] = [];
  for (let day = Date.parse(`${first}T02:00:00Z`); day <= Date.parse(`${last}T02:00:00Z`); day += DAY)
    out.push(backup(day));
  return out;
}

const at = (iso: string) => Date.parse(iso);
const id = (iso: string) => idAt(at(iso));

describe('backup records', () => {
  it('parses a manifest with its times as epoch milliseconds', () => {
    const { records } = backup(at('2026-12-01T02:00:00Z'));
    const parsed = parseBackupManifest(records[0]?.text ?? '');
    expect(parsed).toEqual({
      ok: true,
      value: expect.objectContaining({
        id: 'acgs_pgp_db-20261201T020000Z',
        startedAt: at('2026-12-01T02:00:00Z'),
        finishedAt: at('2026-12-01T02:04:00Z'),
        sizeBytes: SIZE,
      }),
    });
  });

  it('reads the records exactly as the backup and drill documents print them, and judges the pair', () => {
    const manifestText =
      '{"kind":"acgs-ops.backup","version":1,"id":"acgs_pgp_db-20261201T020000Z","database":"acgs_pgp_db",' +
      '"host":"10.0.1.20","port":5432,"startedAt":"2026-12-01T02:00:00Z","finishedAt":"2026-12-01T02:03:41Z",' +
      `"dumpKey":"acgs_pgp_db-20261201T020000Z.dump","sizeBytes":48213,"sha256":"${SHA}","format":"custom",` +
      '"tocEntries":212,"tableDataEntries":37,"pgDumpVersion":"15.8"}\n';
    const failureText =
      '{"kind":"acgs-ops.backup-failure","version":1,"id":"acgs_pgp_db-20261202T020000Z","database":"acgs_pgp_db",' +
      '"startedAt":"2026-12-02T02:00:00Z","failedAt":"2026-12-02T02:00:01Z",' +
      '"reason":"pg_dump: error: connection to server failed: FATAL:  password authentication failed"}\n';
    const drillText =
      '{"kind":"acgs-ops.drill","version":1,"source":"s3://acgs-backups/backups/acgs_pgp_db-20261201T020000Z.dump",' +
      `"sha256":"${SHA}","restoreSeconds":12,"tables":35,"tableDataEntries":37,` +
      '"startedAt":"2026-12-01T06:00:00Z","finishedAt":"2026-12-01T06:00:19Z"}\n';
    const c = buildCatalogue(
      {
        listing: [{ key: 'acgs_pgp_db-20261201T020000Z.dump', size: 48213 }],
        records: [
          { key: 'acgs_pgp_db-20261201T020000Z.manifest.json', text: manifestText },
          { key: 'acgs_pgp_db-20261202T020000Z.failed.json', text: failureText },
          { key: 'drills/20261201T060000Z.drill.json', text: drillText },
        ],
      },
      policy,
    );
    expect(c.unreadable).toEqual([]);
    const j = judgeBackups(c, policy, at('2026-12-02T03:00:00Z'));
    expect(j).toMatchObject({ status: 'failed', drillStatus: 'ok', dataAgeMs: DAY + HOUR });
    expect(j.reasons).toEqual([
      'latest attempt acgs_pgp_db-20261202T020000Z failed: pg_dump: error: connection to server failed: FATAL:  ' +
        'password authentication failed',
    ]);
  });

  it('accepts times with an offset and ignores fields a newer writer added', () => {
    const text = JSON.stringify({
      ...JSON.parse(backup(at('2026-12-01T02:00:00Z')).records[0]?.text ?? '{}'),
      startedAt: '2026-12-01T03:00:00+01:00',
      compression: 6,
    });
    const parsed = parseBackupManifest(text);
    expect(parsed.ok && parsed.value.startedAt).toBe(at('2026-12-01T02:00:00Z'));
  });

  it('names every field that is wrong, and never throws', () => {
    const good = JSON.parse(backup(at('2026-12-01T02:00:00Z')).records[0]?.text ?? '{}');
    const parsed = parseBackupManifest(
      JSON.stringify({ ...good, sha256: 'ABC', port: 5432.5, format: 'plain', tocEntries: undefined }),
    );
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.error).toMatch(/port: .*int/i);
    expect(parsed.error).toMatch(/sha256: must be 64 lower-case hex digits/);
    expect(parsed.error).toMatch(/format: /);
    expect(parsed.error).toMatch(/tocEntries: Invalid input: expected number, received undefined/);
  });

  it('refuses empty text, text that is not JSON, the wrong kind and a finish before the start', () => {
    expect(parseBackupManifest('')).toEqual({ ok: false, error: 'the record is empty' });
    expect(parseBackupManifest('{"kind": "acgs-ops.backup", ')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^not JSON: /),
    });
    expect(parseBackupManifest('[]')).toMatchObject({ ok: false, error: expect.stringMatching(/^\(record\): /) });
    const failureText = failure(at('2026-12-01T02:00:00Z'), 'x').records[0]?.text ?? '';
    expect(parseBackupManifest(failureText)).toMatchObject({ ok: false, error: expect.stringMatching(/^kind: /) });
    const report = drillJson('b', at('2026-12-01T02:00:00Z'), { finishedAt: '2026-12-01T01:00:00Z' });
    expect(parseDrillReport(report)).toEqual({
      ok: false,
      error: expect.stringContaining('finishedAt: must not be before startedAt'),
    });
  });

  it('parses failure records and drill reports', () => {
    const failureText = failure(at('2026-12-01T02:00:00Z'), 'password authentication failed').records[0]?.text;
    expect(parseBackupFailure(failureText ?? '')).toMatchObject({
      ok: true,
      value: { reason: 'password authentication failed', failedAt: at('2026-12-01T02:00:05Z') },
    });
    expect(parseDrillReport(drillJson('b-1', at('2026-12-01T06:00:00Z')))).toMatchObject({
      ok: true,
      value: { source: 'b-1', restoreSeconds: 95.5, finishedAt: at('2026-12-01T06:02:00Z') },
    });
  });
});

describe('buildCatalogue', () => {
  const T = at('2026-12-01T02:00:00Z');

  it('judges a manifest good when its dump is stored at its size and holds table data', () => {
    const c = catalogue(backup(T));
    expect(c.backups).toEqual([
      expect.objectContaining({
        verdict: 'good',
        problems: [],
        dumpStored: true,
        key: `2026-12-01/${idAt(T)}.manifest.json`,
      }),
    ]);
  });

  it('reads the backup of a database whose name starts with _ under the id the documents give it', () => {
    // Prepare: the id backupId gives `_acgs` backups, which document-patterns' backupId accepts
    const backupIdOf = documentBackupId('_acgs', new Date(T));
    // Act
    const c = catalogue(backup(T, { id: backupIdOf, database: '_acgs' }));
    // Assess
    expect(c.unreadable).toEqual([]);
    expect(c.backups.map((b) => [b.manifest.id, b.verdict])).toEqual([[backupIdOf, 'good']]);
  });

  it('judges a 0-byte backup bad, and one below the minimum size', () => {
    const c = catalogue(backup(T, { sizeBytes: 0 }), backup(T + DAY, { sizeBytes: 900 }));
    expect(c.backups.map((b) => [b.verdict, b.problems])).toEqual([
      ['bad', ['dump is 0 bytes']],
      ['bad', ['dump is 900 bytes, below the minimum of 1024']],
    ]);
  });

  it('judges a manifest bad when its dump is not in the listing (a partial upload)', () => {
    const c = catalogue(backup(T, { stored: 'missing' }));
    expect(c.backups[0]).toMatchObject({
      verdict: 'bad',
      dumpStored: false,
      problems: [`dump 2026-12-01/${idAt(T)}.dump is not in the store (a partial or failed upload)`],
    });
  });

  it('judges a manifest bad when the stored dump is not the size it states (a killed dump, or replaced)', () => {
    const c = catalogue(backup(T, { stored: 1_048_576 }));
    expect(c.backups[0]?.problems).toEqual([
      `dump 2026-12-01/${idAt(T)}.dump in the store is 1048576 bytes, the manifest says ${SIZE}`,
    ]);
  });

  it('judges a manifest bad when the listing knows the dump by another SHA-256', () => {
    const parts = backup(T);
    const listing = parts.listing.map((o) => (o.key.endsWith('.dump') ? { ...o, sha256: 'b'.repeat(64) } : o));
    const c = buildCatalogue({ listing, records: parts.records }, policy);
    expect(c.backups[0]?.problems).toEqual([expect.stringMatching(/has SHA-256 b{64}, the manifest says a{64}$/)]);
  });

  it('judges a dump bad when it was stored with its checksum and the store gives none now, unverified otherwise', () => {
    // Prepare: one PUT with a checksum, then replaced by an upload without one; a multipart dump; an older manifest
    const c = catalogue(
      backup(T, { checksum: 'none', checksumStored: true }),
      backup(T + DAY, { checksum: 'none', checksumStored: false }),
      backup(T + 2 * DAY, { checksum: 'none' }),
    );
    // Assess
    expect(c.backups.map((b) => [b.verdict, b.verified, b.problems])).toEqual([
      [
        'bad',
        false,
        [
          `dump 2026-12-01/${idAt(T)}.dump was stored with its SHA-256, but the store gives none now (replaced, or uploaded again)`,
        ],
      ],
      ['good', false, []],
      ['good', false, []],
    ]);
  });

  it('judges a dump bad when pg_restore --list found no entries, or no table data', () => {
    const c = catalogue(backup(T, { tocEntries: 0, tableDataEntries: 0 }), backup(T + DAY, { tableDataEntries: 0 }));
    expect(c.backups.map((b) => b.problems)).toEqual([
      ['pg_restore --list found no entries in the dump'],
      ['pg_restore --list found no table data in the dump'],
    ]);
  });

  it('judges a manifest bad when a failure record exists for the same attempt', () => {
    const c = catalogue(backup(T), failure(T, 'pg_dump: error: query failed: server closed the connection'));
    expect(c.backups[0]).toMatchObject({
      verdict: 'bad',
      problems: [
        'a failure record says this attempt failed: pg_dump: error: query failed: server closed the connection',
      ],
    });
    expect(c.failures).toHaveLength(1);
  });

  it("lets a successful retry under the same id stand over the earlier run's failure record", () => {
    const retried = backup(T + 20 * MINUTE, { id: idAt(T) });
    const c = catalogue(failure(T, 'could not connect to server'), retried);
    expect(c.backups[0]).toMatchObject({ verdict: 'good', problems: [] });
    expect(judgeBackups(c, policy, T + HOUR)).toMatchObject({ status: 'ok', latestAttempt: { outcome: 'good' } });
  });

  it('keeps records that do not parse, are misnamed or clash as unreadable, and lists objects nothing names', () => {
    const good = backup(T);
    const clashing = backup(T + DAY);
    const copy = { ...clashing.records[0], key: `elsewhere/${clashing.records[0]?.key.split('/')[1] ?? ''}` };
    const c = buildCatalogue(
      input(
        good,
        clashing,
        { listing: [], records: [{ key: copy.key, text: copy.text ?? '' }] },
        { listing: [], records: [{ key: 'x/empty.manifest.json', text: '' }] },
        { listing: [], records: [{ key: 'x/renamed.manifest.json', text: good.records[0]?.text ?? '' }] },
        other('2026-11-30/acgs_pgp_db-20261130T020000Z.dump'),
        other('README.txt'),
      ),
      policy,
    );
    expect(c.backups.map((b) => b.manifest.id)).toEqual([idAt(T)]);
    expect(c.unreadable).toEqual([
      {
        key: `2026-12-02/${idAt(T + DAY)}.manifest.json`,
        problem: `backup ${idAt(T + DAY)} is also described by another manifest`,
      },
      {
        key: `elsewhere/${idAt(T + DAY)}.manifest.json`,
        problem: `backup ${idAt(T + DAY)} is also described by another manifest`,
      },
      { key: 'x/empty.manifest.json', problem: 'not a backup manifest: the record is empty' },
      { key: 'x/renamed.manifest.json', problem: `it says it is backup ${idAt(T)}, but is not named after it` },
    ]);
    expect(c.unreferenced).toEqual([
      '2026-11-30/acgs_pgp_db-20261130T020000Z.dump',
      `2026-12-02/${idAt(T + DAY)}.dump`,
      'README.txt',
    ]);
  });

  it('counts a listed record whose text was not read as unreadable: it may be the latest, failed attempt', () => {
    const parts = input(backup(T), failure(T + DAY, 'auth failed'));
    const c = buildCatalogue({ listing: parts.listing, records: parts.records.slice(0, 1) }, policy);
    expect(c.failures).toEqual([]);
    expect(c.unreadable).toEqual([
      { key: `2026-12-02/${idAt(T + DAY)}.failed.json`, problem: 'it is listed, but its text was not read' },
    ]);
    expect(planRetention(c, policy, T + DAY + HOUR).refused).toMatch(/failed\.json is unreadable/);
  });

  it('names the records to fetch: manifests, failure records and drill reports, in key order', () => {
    const parts = input(backup(T), failure(T + DAY, 'x'), drill(idAt(T), T + HOUR), other('notes.json'));
    expect(recordKeys(parts.listing)).toEqual([
      `2026-12-01/${idAt(T)}.manifest.json`,
      `2026-12-02/${idAt(T + DAY)}.failed.json`,
      'drills/2026-12-01.drill.json',
    ]);
  });

  it('reads failed drills as records too, and judges the backup a drill failed on bad', () => {
    const c = catalogue(
      backup(T - DAY),
      backup(T),
      drillFailure(T, T + HOUR, 'the dump does not have the SHA-256 of its manifest'),
    );
    expect(recordKeys(input(drillFailure(T, T + HOUR, 'x')).listing)).toEqual([
      `drills/${idAt(T)}-20261201T030000000Z.drill-failed.json`,
    ]);
    expect(c.drillFailures.map((f) => f.failure.backupId)).toEqual([idAt(T)]);
    expect(c.backups.map((b) => [b.manifest.id, b.verdict, b.problems])).toEqual([
      [idAt(T - DAY), 'good', []],
      [
        idAt(T),
        'bad',
        ['restore drill at 2026-12-01T03:00:00.000Z failed: the dump does not have the SHA-256 of its manifest'],
      ],
    ]);
  });

  it('judges a backup bad when its latest drill restored content other than its manifest says', () => {
    const c = catalogue(backup(T), drill(dumpUrl(T), T + HOUR, { tableDataEntries: 12 }));
    expect(c.backups[0]).toMatchObject({
      verdict: 'bad',
      restorable: false,
      problems: [
        'restore drill at 2026-12-01T03:00:00.000Z did not prove it: it restored 12 table data entries, the manifest lists 40',
      ],
    });
  });

  it('lets a newer passing drill of the same backup stand over an earlier failed one', () => {
    const c = catalogue(backup(T), drillFailure(T, T + HOUR, 'no table data'), drill(dumpUrl(T), T + 2 * HOUR));
    expect(c.backups[0]).toMatchObject({ verdict: 'good', restorable: true, problems: [] });
  });

  it('keeps a backup good when its drill could not run (environment), and when the record predates causes', () => {
    // Prepare: the scratch server refused the password; an older record says nothing of its cause
    const c = catalogue(
      backup(T - DAY),
      backup(T),
      drillFailure(T - DAY, T - DAY + HOUR, 'psql: FATAL: password authentication failed', 'none'),
      drillFailure(T, T + HOUR, 'createdb failed (exit 1): connection refused', 'environment'),
    );
    // Assess: both stay good and verified; the failures are the drill's alone
    expect(c.backups.map((b) => [b.verdict, b.verified, b.problems])).toEqual([
      ['good', true, []],
      ['good', true, []],
    ]);
    expect(c.drillFailures.map((f) => f.failure.cause)).toEqual(['environment', 'environment']);
    expect(judgeBackups(c, policy, T + 2 * HOUR)).toMatchObject({
      status: 'ok',
      drillStatus: 'failed',
      drillReasons: [
        `latest restore drill (of ${idAt(T)}) could not run (not the dump): createdb failed (exit 1): connection refused`,
      ],
    });
  });

  it('never deletes a verified backup whose drill could not run, however often it failed', () => {
    const days = [...Array(5).keys()].map((i) => at('2026-12-01T02:00:00Z') + i * DAY);
    const c = catalogue(
      ...days.map((d) => backup(d)),
      ...days.map((d) => drillFailure(d, d + HOUR, 'psql: FATAL: password authentication failed', 'environment')),
    );
    const plan = planRetention(
      c,
      { ...policy, retention: { daily: 7, weekly: 0, monthly: 0 } },
      at('2026-12-05T04:00:00Z'),
    );
    expect(plan.refused).toBeUndefined();
    expect(plan.delete).toEqual([]);
    expect(plan.keep.map((k) => k.id)).toEqual(days.map(idAt));
  });

  it("says whether the store vouched for the dump's content now (verified) and a drill restored it (restorable)", () => {
    const c = catalogue(backup(T - DAY, { checksum: 'none' }), backup(T), drill(dumpUrl(T - DAY), T - DAY + HOUR));
    expect(c.backups.map((b) => [b.manifest.id, b.verified, b.restorable])).toEqual([
      [idAt(T - DAY), false, true],
      [idAt(T), true, false],
    ]);
  });
});

describe('judgeBackups', () => {
  const T = at('2026-12-01T02:00:00Z');

  it('is ok when the newest good backup is fresh, and gives the data age (the RPO right now)', () => {
    const c = catalogue(backup(T - DAY), backup(T), drill(dumpUrl(T - DAY), T - 20 * HOUR));
    const j = judgeBackups(c, policy, T + 5 * HOUR);
    expect(j).toMatchObject({
      status: 'ok',
      reasons: [],
      newestGood: { id: idAt(T) },
      dataAgeMs: 5 * HOUR,
      latestAttempt: { id: idAt(T), outcome: 'good' },
      drillStatus: 'ok',
      drillAgeMs: 25 * HOUR - 2 * MINUTE,
      drillReasons: [],
    });
  });

  it('is stale when the newest good backup is older than maxAge', () => {
    const j = judgeBackups(catalogue(backup(T)), policy, T + 31 * HOUR);
    expect(j.status).toBe('stale');
    expect(j.reasons).toEqual([`newest good backup ${idAt(T)} is 1d 7h old (max 1d 2h)`]);
    expect(j.dataAgeMs).toBe(31 * HOUR);
  });

  it('is missing when nothing was ever recorded, or when no attempt produced a good backup', () => {
    expect(judgeBackups(catalogue(), policy, T)).toMatchObject({
      status: 'missing',
      reasons: ['no backup has been recorded'],
    });
    const j = judgeBackups(catalogue(backup(T - DAY, { sizeBytes: 0 }), failure(T, 'disk full')), policy, T + HOUR);
    expect(j.status).toBe('missing');
    expect(j.reasons).toEqual([
      'no good backup: none of the 2 recorded attempts is usable',
      `latest attempt ${idAt(T)} failed: disk full`,
    ]);
    expect(j).not.toHaveProperty('newestGood');
    expect(j).not.toHaveProperty('dataAgeMs');
  });

  it('is failed when the latest attempt failed, even while the newest good backup is fresh', () => {
    const c = catalogue(backup(T), failure(T + 6 * HOUR, 'password authentication failed for user "acgs_user"'));
    const j = judgeBackups(c, policy, T + 7 * HOUR);
    expect(j).toMatchObject({ status: 'failed', newestGood: { id: idAt(T) }, dataAgeMs: 7 * HOUR });
    expect(j.reasons).toEqual([
      `latest attempt ${idAt(T + 6 * HOUR)} failed: password authentication failed for user "acgs_user"`,
    ]);
  });

  it('reports a failed latest attempt and the staleness it causes together', () => {
    const j = judgeBackups(catalogue(backup(T), failure(T + DAY, 'auth failed')), policy, T + 31 * HOUR);
    expect(j.status).toBe('failed');
    expect(j.reasons).toEqual([
      `latest attempt ${idAt(T + DAY)} failed: auth failed`,
      `newest good backup ${idAt(T)} is 1d 7h old (max 1d 2h)`,
    ]);
  });

  it('is failed when the latest attempt produced a bad backup (a 0-byte dump)', () => {
    const j = judgeBackups(catalogue(backup(T), backup(T + DAY, { sizeBytes: 0 })), policy, T + DAY + HOUR);
    expect(j.status).toBe('failed');
    expect(j.reasons).toEqual([`latest attempt ${idAt(T + DAY)} is not a usable backup: dump is 0 bytes`]);
    expect(j.newestGood?.id).toBe(idAt(T));
  });

  it('forgets a failure once a later attempt succeeded', () => {
    const j = judgeBackups(catalogue(failure(T, 'auth failed'), backup(T + HOUR)), policy, T + 2 * HOUR);
    expect(j).toMatchObject({ status: 'ok', reasons: [], latestAttempt: { outcome: 'good' } });
  });

  it('is suspicious when the newest good backup is much smaller than the previous good one', () => {
    const c = catalogue(backup(T, { sizeBytes: 10_000_000 }), backup(T + DAY, { sizeBytes: 3_800_000 }));
    const j = judgeBackups(c, policy, T + DAY + HOUR);
    expect(j.status).toBe('suspicious');
    expect(j.reasons).toEqual([
      `backup ${idAt(T + DAY)} is 62% smaller than the previous good one ${idAt(T)} ` +
        '(3800000 against 10000000 bytes; max 50%)',
    ]);
  });

  it('accepts a shrink within maxShrinkPercent, and compares with the previous GOOD backup only', () => {
    const c = catalogue(
      backup(T, { sizeBytes: 10_000_000 }),
      backup(T + DAY, { sizeBytes: 2_000, stored: 'missing' }),
      backup(T + 2 * DAY, { sizeBytes: 6_000_000 }),
    );
    expect(judgeBackups(c, policy, T + 2 * DAY + HOUR)).toMatchObject({ status: 'ok', reasons: [] });
  });

  it('is suspicious when a record is unreadable, or an attempt started in the future', () => {
    const j = judgeBackups(
      buildCatalogue(
        input(backup(T), backup(T + 3 * HOUR), { listing: [], records: [{ key: 'b.manifest.json', text: '{' }] }),
        policy,
      ),
      policy,
      T + HOUR,
    );
    expect(j.status).toBe('suspicious');
    expect(j.reasons).toEqual([
      expect.stringMatching(/^record b\.manifest\.json is unreadable: not a backup manifest: /),
      `attempt ${idAt(T + 3 * HOUR)} started 2h in the future: clocks disagree`,
    ]);
  });

  it('reports the drill as never run, overdue, or failed when the restore did not match its manifest', () => {
    const base = backup(T);
    expect(judgeBackups(catalogue(base), policy, T)).toMatchObject({
      drillStatus: 'never',
      drillReasons: ['no restore drill has been recorded'],
    });
    expect(judgeBackups(catalogue(base, drill(dumpUrl(T), T + HOUR)), policy, T + 10 * DAY)).toMatchObject({
      drillStatus: 'overdue',
      drillAgeMs: 10 * DAY - HOUR - 2 * MINUTE,
      drillReasons: ['latest restore drill is 9d 22h old (max 8d)'],
    });
    const mismatched = drill(dumpUrl(T), T + HOUR, { sha256: 'c'.repeat(64), tableDataEntries: 12 });
    expect(judgeBackups(catalogue(base, mismatched), policy, T + 2 * HOUR)).toMatchObject({
      drillStatus: 'failed',
      drillReasons: [
        `latest restore drill (of ${dumpUrl(T)}) did not prove its backup: ` +
          `it restored a dump with SHA-256 ${'c'.repeat(64)}, the manifest says ${SHA}; ` +
          'it restored 12 table data entries, the manifest lists 40',
      ],
    });
  });

  it('matches a drill to its backup by the dump path or S3 URL the drill document was given', () => {
    const dump = `2026-12-01/${idAt(T)}.dump`;
    for (const source of [`s3://acgs-backups/backups/${dump}`, `/var/backups/acgs-ops/${dump}`, idAt(T)]) {
      const mismatched = drill(source, T + HOUR, { tableDataEntries: 39 });
      expect(judgeBackups(catalogue(backup(T), mismatched), policy, T + 2 * HOUR).drillReasons).toEqual([
        expect.stringContaining('it restored 39 table data entries, the manifest lists 40'),
      ]);
    }
    const elsewhere = drill(`s3://acgs-backups/backups/other-${idAt(T)}.dump`, T + HOUR, { tableDataEntries: 39 });
    expect(judgeBackups(catalogue(backup(T), elsewhere), policy, T + 2 * HOUR).drillStatus).toBe('ok');
  });

  it('reports a drill that failed after a passing one as failed, until a newer drill passes', () => {
    const passed = drill(dumpUrl(T - DAY), T - 20 * HOUR);
    const failed = drillFailure(T, T + HOUR, 'pg_restore: error: could not read from input file: end of file');
    expect(judgeBackups(catalogue(backup(T - DAY), backup(T), passed, failed), policy, T + 2 * HOUR)).toMatchObject({
      drillStatus: 'failed',
      drillReasons: [
        `latest restore drill (of ${idAt(T)}) found its content unrestorable: pg_restore: error: could not read from input file: end of file`,
      ],
    });
    const again = drill(dumpUrl(T - DAY), T + 3 * HOUR);
    expect(
      judgeBackups(catalogue(backup(T - DAY), backup(T), passed, failed, again), policy, T + 4 * HOUR),
    ).toMatchObject({ drillStatus: 'ok', drillReasons: [] });
  });

  it("is failed when the newest dump no longer has its manifest's SHA-256 (same size), naming both", () => {
    const c = catalogue(backup(T - DAY), backup(T, { checksum: 'b'.repeat(64) }));
    const j = judgeBackups(c, policy, T + HOUR);
    expect(j).toMatchObject({ status: 'failed', newestGood: { id: idAt(T - DAY) } });
    expect(j.reasons).toEqual([
      expect.stringMatching(
        /^latest attempt .* is not a usable backup: dump .* has SHA-256 b{64}, the manifest says a{64}$/,
      ),
    ]);
  });

  it('judges the latest drill only, and by its own counts when its backup has been pruned', () => {
    const c = catalogue(
      backup(T),
      drill('acgs_pgp_db-20261101T020000Z', T - 20 * DAY, { tables: 0 }),
      drill('acgs_pgp_db-20261120T020000Z', T - 2 * DAY, { sha256: 'd'.repeat(64) }),
    );
    expect(judgeBackups(c, { ...policy, drill: undefined }, T + 300 * DAY)).toMatchObject({
      drillStatus: 'ok',
      drillReasons: [],
    });
  });
});

describe('planRetention', () => {
  it('keeps exactly the GFS selection of 40 daily backups (daily 7, weekly 4, monthly 6)', () => {
    // 2026-11-01 (a Sunday) to 2026-12-10 (a Thursday).
    const c = catalogue(...dailyBackups('2026-11-01', '2026-12-10'));
    const plan = planRetention(c, policy, at('2026-12-10T09:00:00Z'));
    expect(plan.refused).toBeUndefined();
    expect(plan.keep).toEqual([
      { id: id('2026-11-22T02:00:00Z'), reasons: ['weekly'] }, // ISO week 47 (Nov 16-22)
      { id: id('2026-11-29T02:00:00Z'), reasons: ['weekly'] }, // week 48 (Nov 23-29)
      { id: id('2026-11-30T02:00:00Z'), reasons: ['monthly'] }, // newest of November
      { id: id('2026-12-04T02:00:00Z'), reasons: ['daily'] },
      { id: id('2026-12-05T02:00:00Z'), reasons: ['daily'] },
      { id: id('2026-12-06T02:00:00Z'), reasons: ['daily', 'weekly'] }, // Sunday: newest of week 49
      { id: id('2026-12-07T02:00:00Z'), reasons: ['daily'] },
      { id: id('2026-12-08T02:00:00Z'), reasons: ['daily'] },
      { id: id('2026-12-09T02:00:00Z'), reasons: ['daily'] },
      { id: id('2026-12-10T02:00:00Z'), reasons: ['newest-good', 'daily', 'weekly', 'monthly'] },
    ]);
    expect(plan.delete).toHaveLength(30);
    expect(plan.delete[0]).toEqual({
      id: id('2026-11-01T02:00:00Z'),
      keys: ['2026-11-01/acgs_pgp_db-20261101T020000Z.dump', '2026-11-01/acgs_pgp_db-20261101T020000Z.manifest.json'],
      why: 'good, but no retention rule keeps it',
    });
    const kept = new Set(plan.keep.map((k) => k.id));
    expect(plan.delete.filter((d) => kept.has(d.id))).toEqual([]);
  });

  it('counts ISO weeks across the new year and months by UTC calendar', () => {
    // 2026-12-31 (Thursday) and 2027-01-03 (Sunday) are both in ISO week 2026-W53; 2027-01-04 starts 2027-W01.
    const times = ['2026-12-31T23:30:00Z', '2027-01-03T02:00:00Z', '2027-01-04T02:00:00Z'];
    const c = catalogue(...times.map((t) => backup(at(t))));
    const weekly = planRetention(
      c,
      { ...policy, retention: { daily: 1, weekly: 2, monthly: 0 } },
      at('2027-01-04T09:00:00Z'),
    );
    expect(weekly.keep).toEqual([
      { id: id('2027-01-03T02:00:00Z'), reasons: ['weekly'] },
      { id: id('2027-01-04T02:00:00Z'), reasons: ['newest-good', 'daily', 'weekly'] },
    ]);
    expect(weekly.delete.map((d) => d.id)).toEqual([id('2026-12-31T23:30:00Z')]);
    const monthly = planRetention(
      c,
      { ...policy, retention: { daily: 1, weekly: 0, monthly: 2 } },
      at('2027-01-04T09:00:00Z'),
    );
    expect(monthly.keep.map((k) => k.id)).toEqual([id('2026-12-31T23:30:00Z'), id('2027-01-04T02:00:00Z')]);
  });

  it('keeps only the newest backup of a day with several', () => {
    const T = at('2026-12-01T02:00:00Z');
    const c = catalogue(backup(T), backup(T + 6 * HOUR), backup(T + 12 * HOUR));
    const plan = planRetention(c, { ...policy, retention: { daily: 7, weekly: 0, monthly: 0 } }, T + 13 * HOUR);
    expect(plan.keep.map((k) => k.id)).toEqual([idAt(T + 12 * HOUR)]);
    expect(plan.delete.map((d) => d.id)).toEqual([idAt(T), idAt(T + 6 * HOUR)]);
  });

  it('always keeps the newest good backup, even with retention 1/0/0 or nothing at all', () => {
    const c = catalogue(...dailyBackups('2026-12-01', '2026-12-05'));
    const now = at('2026-12-05T09:00:00Z');
    expect(planRetention(c, { ...policy, retention: { daily: 1, weekly: 0, monthly: 0 } }, now).keep).toEqual([
      { id: id('2026-12-05T02:00:00Z'), reasons: ['newest-good', 'daily'] },
    ]);
    const none = planRetention(c, { ...policy, retention: { daily: 0, weekly: 0, monthly: 0 } }, now);
    expect(none.keep).toEqual([{ id: id('2026-12-05T02:00:00Z'), reasons: ['newest-good'] }]);
    expect(none.delete).toHaveLength(4);
  });

  it('deletes nothing when the latest attempt failed, and says why', () => {
    const c = catalogue(
      ...dailyBackups('2026-11-01', '2026-12-10'),
      failure(at('2026-12-11T02:00:00Z'), 'auth failed'),
    );
    expect(planRetention(c, policy, at('2026-12-11T03:00:00Z'))).toEqual({
      keep: [],
      delete: [],
      refused: 'latest attempt acgs_pgp_db-20261211T020000Z failed: auth failed',
    });
  });

  it('deletes nothing when the latest backup is bad: a 0-byte dump must not prune the last good one', () => {
    const c = catalogue(
      ...dailyBackups('2026-12-01', '2026-12-10'),
      backup(at('2026-12-11T02:00:00Z'), { sizeBytes: 0 }),
    );
    const plan = planRetention(
      c,
      { ...policy, retention: { daily: 1, weekly: 0, monthly: 0 } },
      at('2026-12-11T09:00:00Z'),
    );
    expect(plan).toEqual({
      keep: [],
      delete: [],
      refused: 'latest attempt acgs_pgp_db-20261211T020000Z is not a usable backup: dump is 0 bytes',
    });
  });

  it('deletes nothing when there is no good backup, when the newest shrank, or a record is unreadable', () => {
    const T = at('2026-12-01T02:00:00Z');
    expect(planRetention(catalogue(backup(T, { stored: 'missing' })), policy, T + HOUR).refused).toBe(
      'there is no good backup',
    );
    const shrunk = catalogue(backup(T - DAY), backup(T, { sizeBytes: 100_000 }));
    expect(planRetention(shrunk, policy, T + HOUR).refused).toMatch(/^backup .* is 98% smaller than the previous/);
    const unreadable = buildCatalogue(
      input(backup(T - DAY), backup(T), { listing: [], records: [{ key: 'z.failed.json', text: '{}' }] }),
      policy,
    );
    expect(planRetention(unreadable, policy, T + HOUR).refused).toMatch(
      /^record z\.failed\.json is unreadable \(not a backup failure record: .*\): it may be the latest attempt$/,
    );
    expect(planRetention(catalogue(backup(T - DAY), backup(T + DAY)), policy, T).refused).toBe(
      `attempt ${idAt(T + DAY)} started 1d in the future: clocks disagree`,
    );
  });

  it('deletes bad backups older than the newest good one: the dump first, and only keys that exist', () => {
    const T = at('2026-12-01T02:00:00Z');
    const c = catalogue(
      backup(T - 2 * DAY, { sizeBytes: 0 }),
      backup(T - DAY, { stored: 'missing' }),
      backup(T),
      other('2026-11-15/orphan.dump'),
    );
    const plan = planRetention(c, policy, T + HOUR);
    expect(plan.delete).toEqual([
      {
        id: idAt(T - 2 * DAY),
        keys: [`2026-11-29/${idAt(T - 2 * DAY)}.dump`, `2026-11-29/${idAt(T - 2 * DAY)}.manifest.json`],
        why: 'bad backup: dump is 0 bytes',
      },
      {
        id: idAt(T - DAY),
        keys: [`2026-11-30/${idAt(T - DAY)}.manifest.json`],
        why: `bad backup: dump 2026-11-30/${idAt(T - DAY)}.dump is not in the store (a partial or failed upload)`,
      },
    ]);
    expect(plan.keep.map((k) => k.id)).toEqual([idAt(T)]);
  });

  it('deletes drill failure records older than the oldest kept backup, and keeps the later ones', () => {
    // Prepare: a drill of the first backup could not run; a later one of the third could not either
    const c = catalogue(
      ...dailyBackups('2026-12-01', '2026-12-04'),
      drillFailure(at('2026-12-01T02:00:00Z'), at('2026-12-01T05:00:00Z'), 'connection refused', 'environment'),
      drillFailure(at('2026-12-03T02:00:00Z'), at('2026-12-03T05:00:00Z'), 'connection refused', 'environment'),
    );
    // Act
    const plan = planRetention(
      c,
      { ...policy, retention: { daily: 2, weekly: 0, monthly: 0 } },
      at('2026-12-04T09:00:00Z'),
    );
    // Assess
    expect(plan.keep.map((k) => k.id)).toEqual([id('2026-12-03T02:00:00Z'), id('2026-12-04T02:00:00Z')]);
    expect(plan.delete.filter((d) => d.why.startsWith('drill failure'))).toEqual([
      {
        id: id('2026-12-01T02:00:00Z'),
        keys: [`drills/${id('2026-12-01T02:00:00Z')}-20261201T050000000Z.drill-failed.json`],
        why: 'drill failure record older than the oldest kept backup',
      },
    ]);
  });

  it('deletes failure records older than the oldest kept backup, and keeps the later ones', () => {
    const c = catalogue(
      failure(at('2026-11-20T02:00:00Z'), 'disk full'),
      ...dailyBackups('2026-12-01', '2026-12-03'),
      failure(at('2026-12-02T14:00:00Z'), 'auth failed'),
      backup(at('2026-12-04T02:00:00Z')),
    );
    const plan = planRetention(
      c,
      { ...policy, retention: { daily: 3, weekly: 0, monthly: 0 } },
      at('2026-12-04T03:00:00Z'),
    );
    expect(plan.keep.map((k) => k.id)).toEqual([
      id('2026-12-02T02:00:00Z'),
      id('2026-12-03T02:00:00Z'),
      id('2026-12-04T02:00:00Z'),
    ]);
    expect(plan.delete).toEqual([
      {
        id: id('2026-11-20T02:00:00Z'),
        keys: ['2026-11-20/acgs_pgp_db-20261120T020000Z.failed.json'],
        why: 'failure record older than the oldest kept backup',
      },
      expect.objectContaining({ id: id('2026-12-01T02:00:00Z') }),
    ]);
  });

  it('deletes nothing older than a backup the store could not verify and no drill proved, while none newer is proven', () => {
    // Prepare: a store that gives no checksum at all (S3 multipart uploads), and no drill yet
    const days = [...Array(10).keys()].map((i) => at('2026-12-01T02:00:00Z') + i * DAY);
    const c = catalogue(...days.map((d) => backup(d, { checksum: 'none' })));
    const plan = planRetention(
      c,
      { ...policy, retention: { daily: 2, weekly: 0, monthly: 0 } },
      at('2026-12-10T09:00:00Z'),
    );
    expect(plan.delete).toEqual([]);
    expect(plan.held).toEqual(
      dailyBackups('2026-12-01', '2026-12-08').map((_, i) => ({
        id: id(`2026-12-0${i + 1}T02:00:00Z`),
        why: `a newer backup is unproven: ${id('2026-12-10T02:00:00Z')} (the store gave no checksum to verify, and no drill restored it)`,
      })),
    );
  });

  it('prunes behind a proven backup however many unproven ones are newer, and keeps the newest proven one', () => {
    // Prepare: 30 dailies S3 gave no checksum for (multipart, or uploaded before checksums); one drilled 3 days ago
    const days = [...Array(30).keys()].map((i) => at('2026-11-11T02:00:00Z') + i * DAY);
    const drilled = at('2026-12-07T02:00:00Z');
    const c = catalogue(
      ...days.map((d) => backup(d, { checksum: 'none' })),
      drill(dumpUrl(drilled), drilled + 3 * HOUR),
    );
    // Act
    const plan = planRetention(
      c,
      { ...policy, retention: { daily: 1, weekly: 0, monthly: 0 } },
      at('2026-12-10T09:00:00Z'),
    );
    // Assess: the 26 older than the drilled one go; the two between it and the newest wait for proof
    expect(plan.keep).toEqual([
      { id: idAt(drilled), reasons: ['newest-restorable'] },
      { id: id('2026-12-10T02:00:00Z'), reasons: ['newest-good', 'daily'] },
    ]);
    expect(plan.delete.map((d) => d.id)).toEqual(days.filter((d) => d < drilled).map(idAt));
    expect(plan.held?.map((h) => h.id)).toEqual([id('2026-12-08T02:00:00Z'), id('2026-12-09T02:00:00Z')]);
  });

  it('always keeps the newest backup the store verified, and holds nothing behind it', () => {
    const c = catalogue(
      ...dailyBackups('2026-12-01', '2026-12-05'),
      backup(at('2026-12-06T02:00:00Z'), { checksum: 'none' }),
    );
    const plan = planRetention(
      c,
      { ...policy, retention: { daily: 1, weekly: 0, monthly: 0 } },
      at('2026-12-06T09:00:00Z'),
    );
    expect(plan.keep).toEqual([
      { id: id('2026-12-05T02:00:00Z'), reasons: ['newest-proven'] },
      { id: id('2026-12-06T02:00:00Z'), reasons: ['newest-good', 'daily'] },
    ]);
    expect(plan.delete.map((d) => d.id)).toEqual(
      dailyBackups('2026-12-01', '2026-12-04').map((_, i) => id(`2026-12-0${i + 1}T02:00:00Z`)),
    );
    expect(plan.held).toBeUndefined();
  });

  it('prunes behind an unverified backup once a drill proved it restorable', () => {
    const c = catalogue(
      ...dailyBackups('2026-12-01', '2026-12-08'),
      backup(at('2026-12-09T02:00:00Z'), { checksum: 'none' }),
      drill(dumpUrl(at('2026-12-09T02:00:00Z')), at('2026-12-09T05:00:00Z')),
      backup(at('2026-12-10T02:00:00Z')),
    );
    const plan = planRetention(
      c,
      { ...policy, retention: { daily: 2, weekly: 0, monthly: 0 } },
      at('2026-12-10T09:00:00Z'),
    );
    expect(plan.keep.map((k) => k.id)).toEqual([id('2026-12-09T02:00:00Z'), id('2026-12-10T02:00:00Z')]);
    expect(plan.delete).toHaveLength(8);
  });

  it('always keeps the newest backup a drill proved restorable, whatever the GFS rules say', () => {
    const c = catalogue(
      ...dailyBackups('2026-12-01', '2026-12-10'),
      drill(dumpUrl(at('2026-12-03T02:00:00Z')), at('2026-12-03T05:00:00Z')),
    );
    const plan = planRetention(
      c,
      { ...policy, retention: { daily: 1, weekly: 0, monthly: 0 } },
      at('2026-12-10T09:00:00Z'),
    );
    expect(plan.keep).toEqual([
      { id: id('2026-12-03T02:00:00Z'), reasons: ['newest-restorable'] },
      { id: id('2026-12-10T02:00:00Z'), reasons: ['newest-good', 'daily'] },
    ]);
    expect(plan.delete.map((d) => d.id)).not.toContain(id('2026-12-03T02:00:00Z'));
  });

  it('deletes nothing when the newest dump was corrupted after publication or failed its drill', () => {
    const T = at('2026-12-03T02:00:00Z');
    const small = { ...policy, retention: { daily: 1, weekly: 0, monthly: 0 } };
    const corrupt = catalogue(backup(T - 2 * DAY), backup(T - DAY), backup(T, { checksum: 'b'.repeat(64) }));
    expect(planRetention(corrupt, small, T + HOUR)).toMatchObject({
      keep: [],
      delete: [],
      refused: expect.stringMatching(/^latest attempt .* is not a usable backup: dump .* has SHA-256 b{64}/),
    });
    const undrillable = catalogue(
      backup(T - 2 * DAY),
      backup(T - DAY),
      backup(T),
      drillFailure(T, T + HOUR, 'pg_restore: error: could not uncompress data: incorrect data check'),
    );
    expect(planRetention(undrillable, small, T + 2 * HOUR)).toMatchObject({
      keep: [],
      delete: [],
      refused: expect.stringContaining('failed: pg_restore: error: could not uncompress data: incorrect data check'),
    });
  });

  it('makes the same plan whatever order the store listed things in', () => {
    const parts = input(...dailyBackups('2026-10-01', '2026-12-10'), failure(at('2026-10-15T05:00:00Z'), 'x'));
    const reversed = { listing: [...parts.listing].reverse(), records: [...parts.records].reverse() };
    const now = at('2026-12-10T09:00:00Z');
    const plan = planRetention(buildCatalogue(parts, policy), policy, now);
    expect(planRetention(buildCatalogue(reversed, policy), policy, now)).toEqual(plan);
    expect(plan.keep.filter((k) => k.reasons.includes('monthly')).map((k) => k.id)).toEqual([
      id('2026-10-31T02:00:00Z'),
      id('2026-11-30T02:00:00Z'),
      id('2026-12-10T02:00:00Z'),
    ]);
  });
});

describe('judgeDrill', () => {
  const T = at('2026-12-01T02:00:00Z');
  const manifest = (() => {
    const parsed = parseBackupManifest(backup(T).records[0]?.text ?? '');
    if (!parsed.ok) throw new Error(parsed.error);
    return parsed.value;
  })();
  const report = (over: Record<string, unknown> = {}): DrillReport => {
    const parsed = parseDrillReport(drillJson(dumpUrl(T), T + 3 * HOUR, over));
    if (!parsed.ok) throw new Error(parsed.error);
    return parsed.value;
  };
  const recovery = { rto: 4 * HOUR, rpo: 24 * HOUR };

  it('measures RTO as fetch + restore and RPO as the data age when the restore began', () => {
    const j = judgeDrill(report(), manifest, recovery, { fetchMs: 30_000 });
    expect(j).toEqual({
      met: true,
      rto: { measuredMs: 125_500, targetMs: 4 * HOUR, met: true },
      rpo: { measuredMs: 3 * HOUR, targetMs: 24 * HOUR, met: true },
      contentMatches: true,
      reasons: [
        'RTO met: the restore took 2m 5s (fetch 30s, pg_restore 1m 35s; target 4h)',
        'RPO met: the restored data was 3h old when the restore began (target 1d)',
        `the restore matches backup ${manifest.id}: 40 table data entries, same SHA-256`,
      ],
    });
  });

  it('breaches the RTO when the fetch pushes the restore past it', () => {
    const j = judgeDrill(report({ restoreSeconds: 3 * 3600 }), manifest, recovery, { fetchMs: 90 * MINUTE });
    expect(j.met).toBe(false);
    expect(j.rto).toEqual({ measuredMs: 4.5 * HOUR, targetMs: 4 * HOUR, met: false });
    expect(j.reasons[0]).toBe('RTO breached: the restore took 4h 30m (fetch 1h 30m, pg_restore 3h; target 4h)');
  });

  it('breaches the RPO when the restored backup was older than the RPO allows', () => {
    const j = judgeDrill(report(), manifest, { rto: 4 * HOUR, rpo: 15 * MINUTE });
    expect(j.rpo).toEqual({ measuredMs: 3 * HOUR, targetMs: 15 * MINUTE, met: false });
    expect(j.reasons[1]).toBe('RPO breached: the restored data was 3h old when the restore began (target 15m)');
    expect(j.met).toBe(false);
  });

  it('fails when the restore does not match the manifest', () => {
    const j = judgeDrill(report({ tableDataEntries: 39, source: 'other-backup' }), manifest, recovery);
    expect(j).toMatchObject({ met: false, contentMatches: false, rto: { met: true }, rpo: { met: true } });
    expect(j.reasons[2]).toBe(
      `the restore does not match backup ${manifest.id}: it restored other-backup, not ${manifest.dumpKey}; ` +
        'it restored 39 table data entries, the manifest lists 40',
    );
  });
});
