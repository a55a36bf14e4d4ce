import { describe, expect, it } from 'vitest';
import { buildCatalogue, recordKeys } from '../../../lambdas/core/backup-catalogue.ts';
import { judgeBackups } from '../../../lambdas/core/backup-judgement.ts';
import { planRetention } from '../../../lambdas/core/backup-retention.ts';
import { backupId as documentBackupId } from '../../../lambdas/core/document-parameters.ts';
import {
  at,
  backup,
  catalogue,
  DAY,
  drill,
  drillFailure,
  dumpUrl,
  failure,
  HOUR,
  idAt,
  input,
  MINUTE,
  other,
  policy,
  SIZE,
} from '../../support/unit-backup-fixtures.ts';

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
