import { describe, expect, it } from 'vitest';
import { buildCatalogue } from '../../../lambdas/core/backup-catalogue.ts';
import { judgeBackups } from '../../../lambdas/core/backup-judgement.ts';
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
  policy,
  SHA,
} from '../../support/unit-backup-fixtures.ts';

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
