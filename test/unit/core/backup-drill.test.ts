import { describe, expect, it } from 'vitest';
import { judgeDrill } from '../../../lambdas/core/backup-drill.ts';
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
