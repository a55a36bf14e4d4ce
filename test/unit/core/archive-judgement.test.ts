import { describe, expect, it } from 'vitest';
import {
  type ArchiveStatus,
  dumpScheduleRecoveryPoint,
  judgeArchive,
  parseArchiveStatus,
} from '../../../lambdas/core/archive-judgement.ts';
import { DAY, HOUR, MINUTE } from '../../support/unit-backup-fixtures.ts';

/** The database host's clock when the status was read. */
const NOW = Date.parse('2026-12-04T12:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const policy = { rpoMs: 15 * MINUTE, baseBackupMaxAgeMs: 8 * DAY };

/** The document's status report of a healthy archive at NOW, with `over` on top. */
function report(over: Record<string, unknown> = {}, archiver: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    kind: 'acgs-ops.wal-archiving',
    action: 'status',
    state: 'active',
    archiveMode: 'on',
    archiveTimeoutSeconds: 60,
    pendingRestart: false,
    archiveDirectory: '/var/backups/acgs-ops-archive',
    observedAt: iso(NOW),
    newestSegment: '00000001000000000000002A',
    newestSegmentAt: iso(NOW - 40_000),
    unarchivedWalBytes: 8192,
    newestBaseBackup: 'base-20261201T030000Z',
    newestBaseBackupFinishedAt: iso(NOW - 3 * DAY),
    ...over,
    archiver: {
      archivedCount: 42,
      lastArchivedWal: '00000001000000000000002A',
      lastArchivedAt: iso(NOW - 40_000),
      failedCount: 0,
      lastFailedWal: null,
      lastFailedAt: null,
      ...archiver,
    },
  };
}

function status(over: Record<string, unknown> = {}, archiver: Record<string, unknown> = {}): ArchiveStatus {
  const parsed = parseArchiveStatus(report(over, archiver));
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

describe('parseArchiveStatus', () => {
  it('names the field when the report is not a status report', () => {
    // Act
    const parsed = parseArchiveStatus(report({ observedAt: 'yesterday' }));
    // Assess
    expect(parsed).toEqual({ ok: false, error: expect.stringContaining('observedAt') });
  });
});

describe('judgeArchive', () => {
  it("measures the RPO as the newest archived segment's age while WAL waits to be archived", () => {
    // Act
    const j = judgeArchive(status(), policy);
    // Assess
    expect(j.recoveryPoint).toMatchObject({ basis: 'archive', lossMs: 40_000, targetMs: 15 * MINUTE, met: true });
    expect(j.archive).toEqual({ ok: true, reasons: [] });
    expect(j.baseBackup).toEqual({ status: 'ok', ageMs: 3 * DAY, reasons: [] });
    expect(j.reading).toEqual({ observedAt: NOW, failedCount: 0 });
  });

  it('counts an idle database as losing nothing when no WAL was written past the newest archived segment', () => {
    // Act
    const j = judgeArchive(status({ newestSegmentAt: iso(NOW - 6 * HOUR), unarchivedWalBytes: 0 }), policy);
    // Assess
    expect(j.recoveryPoint).toMatchObject({ lossMs: 0, met: true });
    expect(j.archive.ok).toBe(true);
  });

  it('names the age and the objective when the archive falls behind the RPO', () => {
    // Act
    const j = judgeArchive(status({ newestSegmentAt: iso(NOW - 20 * MINUTE) }), policy);
    // Assess
    expect(j.recoveryPoint).toMatchObject({ lossMs: 20 * MINUTE, met: false });
    expect(j.archive.reasons).toEqual([
      'the archive is behind the RPO objective: the newest restorable point (segment 00000001000000000000002A, ' +
        'archived 2026-12-04T11:40:00.000Z) is 20m old (objective 15m)',
    ]);
  });

  it('says archive_command is failing when its last failure is newer than its last success', () => {
    // Act
    const j = judgeArchive(
      status({}, { failedCount: 7, lastFailedWal: '00000001000000000000002B', lastFailedAt: iso(NOW - 5_000) }),
      policy,
    );
    // Assess
    expect(j.archive.ok).toBe(false);
    expect(j.archive.reasons).toEqual([
      'archive_command is failing: segment 00000001000000000000002B failed at 2026-12-04T11:59:55.000Z, the last ' +
        'success was 40s before (00000001000000000000002A at 2026-12-04T11:59:20.000Z) (failed_count 7)',
    ]);
  });

  it('says archive_command failed since the previous reading when the count rose, though it succeeded after', () => {
    // Prepare: failures an hour ago, answered by later successes
    const healed = status(
      {},
      { failedCount: 5, lastFailedWal: '000000010000000000000020', lastFailedAt: iso(NOW - HOUR) },
    );
    // Act
    const rising = judgeArchive(healed, policy, { observedAt: NOW - 2 * HOUR, failedCount: 2 });
    const steady = judgeArchive(healed, policy, { observedAt: NOW - 2 * HOUR, failedCount: 5 });
    const reset = judgeArchive(healed, policy, { observedAt: NOW - 2 * HOUR, failedCount: 9 });
    // Assess
    expect(rising.archive.reasons).toEqual([
      'archive_command failed 3 times since 2026-12-04T10:00:00.000Z (failed_count 2 -> 5; last failure ' +
        '000000010000000000000020 at 2026-12-04T11:00:00.000Z)',
    ]);
    expect(steady.archive.ok).toBe(true);
    expect(reset.archive.ok).toBe(true);
  });

  it.each([
    ['off', 'WAL archiving is off (archive_mode off): nothing is archived'],
    ['restart-needed', 'WAL archiving waits for a PostgreSQL restart: archive_mode is still off, nothing is archived'],
  ])('says archiving is not active when its state is %s', (state, reason) => {
    // Act
    const j = judgeArchive(status({ state, archiveMode: 'off' }), policy);
    // Assess
    expect(j.archive.reasons).toContain(reason);
  });

  it('calls the base backup stale past baseBackupMaxAge, and missing when there is none', () => {
    // Act
    const stale = judgeArchive(status({ newestBaseBackupFinishedAt: iso(NOW - 9 * DAY) }), policy);
    const missing = judgeArchive(status({ newestBaseBackup: null, newestBaseBackupFinishedAt: null }), policy);
    // Assess
    expect(stale.baseBackup).toMatchObject({ status: 'stale', ageMs: 9 * DAY });
    expect(stale.baseBackup.reasons[0]).toMatch(/^newest base backup base-20261201T030000Z is 9d old \(max 8d\)/);
    expect(missing.baseBackup.status).toBe('missing');
    expect(missing.recoveryPoint).toMatchObject({ met: false, detail: expect.stringContaining('no base backup') });
    expect(missing.recoveryPoint.lossMs).toBeUndefined();
  });

  it('has no restorable point when no segment has been archived', () => {
    // Act
    const j = judgeArchive(status({ newestSegment: null, newestSegmentAt: null, unarchivedWalBytes: null }), policy);
    // Assess
    expect(j.recoveryPoint).toMatchObject({ met: false, detail: 'no segment has reached the archive (objective 15m)' });
    expect(j.archive.ok).toBe(false);
  });
});

describe('dumpScheduleRecoveryPoint', () => {
  it("takes the schedule's interval plus the last dump's duration as the worst case", () => {
    // Act
    const point = dumpScheduleRecoveryPoint({
      schedule: { cron: '0 2 * * *' },
      timeZone: 'UTC',
      dumpMs: 3 * MINUTE,
      rpoMs: 15 * MINUTE,
      now: NOW,
    });
    // Assess
    expect(point).toEqual({
      basis: 'dump-schedule',
      lossMs: DAY + 3 * MINUTE,
      targetMs: 15 * MINUTE,
      met: false,
      detail:
        "the RPO objective 15m cannot be met with the configured dump schedule: worst case 1d 3m (a dump every 1d + the last good dump's 3m); only WAL archiving (backups.archiving) brings it down",
    });
  });

  it('meets an objective the schedule allows, and bounds nothing without a schedule', () => {
    // Act
    const met = dumpScheduleRecoveryPoint({
      schedule: { every: 5 * MINUTE },
      timeZone: 'UTC',
      dumpMs: 30_000,
      rpoMs: 15 * MINUTE,
      now: NOW,
    });
    const none = dumpScheduleRecoveryPoint({ timeZone: 'UTC', rpoMs: 15 * MINUTE, now: NOW });
    // Assess
    expect(met).toMatchObject({ lossMs: 5.5 * MINUTE, met: true });
    expect(none).toMatchObject({ met: false });
    expect(none.lossMs).toBeUndefined();
  });
});
