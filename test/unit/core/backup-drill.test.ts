import { describe, expect, it } from 'vitest';
import type { RecoveryPoint } from '../../../lambdas/core/archive-judgement.ts';
import { drillHeadline, judgeDrill } from '../../../lambdas/core/backup-drill.ts';
import { type DrillReport, parseBackupManifest, parseDrillReport } from '../../../lambdas/core/backup-records.ts';
import { at, backup, drillJson, dumpUrl, HOUR, MINUTE } from '../../support/unit-backup-fixtures.ts';

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
  /** The archive at the drill's moment: its newest restorable point 40 s old. */
  const archived: RecoveryPoint = {
    basis: 'archive',
    lossMs: 40_000,
    targetMs: 24 * HOUR,
    met: true,
    detail: 'the newest restorable point is 40s old',
  };
  /** Dumps only: a daily schedule and a 4-minute dump. */
  const dumpsOnly: RecoveryPoint = {
    basis: 'dump-schedule',
    lossMs: 24 * HOUR + 4 * MINUTE,
    targetMs: 15 * MINUTE,
    met: false,
    detail: 'worst case 1d 4m',
  };

  it("measures RTO as fetch + restore and RPO as what a disaster at the drill's moment would lose", () => {
    const j = judgeDrill(report(), manifest, recovery, { fetchMs: 30_000, recoveryPoint: archived });
    expect(j).toEqual({
      met: true,
      passed: true,
      rto: { measuredMs: 125_500, targetMs: 4 * HOUR, met: true },
      rpo: { measuredMs: 40_000, targetMs: 24 * HOUR, met: true, basis: 'archive' },
      contentMatches: true,
      reasons: [
        'RTO met: the restore took 2m 5s (fetch 30s, pg_restore 1m 35s; target 4h)',
        "RPO met: a disaster at the drill's moment would have lost up to 40s of data (target 1d); the newest restorable point is 40s old",
        `the restore matches backup ${manifest.id}: 40 table data entries, same SHA-256`,
      ],
    });
    expect(drillHeadline(j)).toBe('objectives met');
  });

  it('breaches the RTO when the fetch pushes the restore past it', () => {
    const j = judgeDrill(report({ restoreSeconds: 3 * 3600 }), manifest, recovery, {
      fetchMs: 90 * MINUTE,
      recoveryPoint: archived,
    });
    expect([j.met, j.passed]).toEqual([false, false]);
    expect(j.rto).toEqual({ measuredMs: 4.5 * HOUR, targetMs: 4 * HOUR, met: false });
    expect(j.reasons[0]).toBe('RTO breached: the restore took 4h 30m (fetch 1h 30m, pg_restore 3h; target 4h)');
  });

  it("breaches the RPO, failing the drill, when the archive was behind the objective at the drill's moment", () => {
    const j = judgeDrill(
      report(),
      manifest,
      { rto: 4 * HOUR, rpo: 15 * MINUTE },
      {
        recoveryPoint: { ...archived, lossMs: 20 * MINUTE, met: false, detail: 'the archive is behind' },
      },
    );
    expect(j.rpo).toEqual({ measuredMs: 20 * MINUTE, targetMs: 15 * MINUTE, met: false, basis: 'archive' });
    expect(j.reasons[1]).toMatch(/^RPO breached: a disaster at the drill's moment would have lost up to 20m of data/);
    expect([j.met, j.passed]).toEqual([false, false]);
    expect(drillHeadline(j)).toBe('OBJECTIVES NOT MET');
  });

  it("reports the dump schedule's worst case, not the dump's age, with dumps only: the drill passes, the RPO is not met", () => {
    // The drill runs 3 h after the dump; a disaster then would lose up to a day of data, not 3 h
    const j = judgeDrill(report(), manifest, { rto: 4 * HOUR, rpo: 15 * MINUTE }, { recoveryPoint: dumpsOnly });
    expect(j.rpo).toEqual({ measuredMs: dumpsOnly.lossMs, targetMs: 15 * MINUTE, met: false, basis: 'dump-schedule' });
    expect(j.reasons[1]).toBe(
      "RPO not achievable: a disaster at the drill's moment would have lost up to 1d 4m of data (target 15m); worst case 1d 4m",
    );
    expect([j.met, j.passed]).toEqual([false, true]);
    expect(drillHeadline(j)).toBe('restore proven; the RPO objective is not achievable with dumps only');
  });

  it('fails when the restore does not match the manifest', () => {
    const j = judgeDrill(report({ tableDataEntries: 39, source: 'other-backup' }), manifest, recovery, {
      recoveryPoint: archived,
    });
    expect(j).toMatchObject({
      met: false,
      passed: false,
      contentMatches: false,
      rto: { met: true },
      rpo: { met: true },
    });
    expect(j.reasons[2]).toBe(
      `the restore does not match backup ${manifest.id}: it restored other-backup, not ${manifest.dumpKey}; ` +
        'it restored 39 table data entries, the manifest lists 40',
    );
  });
});
