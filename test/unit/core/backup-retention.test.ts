import { describe, expect, it } from 'vitest';
import { buildCatalogue } from '../../../lambdas/core/backup-catalogue.ts';
import { planRetention } from '../../../lambdas/core/backup-retention.ts';
import {
  at,
  backup,
  catalogue,
  DAY,
  dailyBackups,
  drill,
  drillFailure,
  dumpUrl,
  failure,
  HOUR,
  id,
  idAt,
  input,
  other,
  policy,
} from '../../support/unit-backup-fixtures.ts';

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
