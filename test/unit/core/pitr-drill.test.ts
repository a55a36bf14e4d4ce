import { describe, expect, it } from 'vitest';
import { judgeBackups } from '../../../lambdas/core/backup-judgement.ts';
import {
  achievedRpoMs,
  judgePitrDrill,
  type PitrDrillEvidence,
  parseDrillEvidence,
  pitrDrillKey,
  restoredDataProblems,
  shrunkTables,
} from '../../../lambdas/core/pitr-drill.ts';
import {
  at,
  backup,
  catalogue,
  drill,
  dumpUrl,
  HOUR,
  MINUTE,
  type Objects,
  policy,
} from '../../support/unit-backup-fixtures.ts';

const T = at('2026-12-04T10:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const recovery = { rto: HOUR, rpo: MINUTE };

/** The `drill` object acgs-pitr-restore prints with Drill=yes, as JSON text would give it. */
function report(
  restored: Record<string, number>,
  over: { snapshot?: Record<string, number> | null; canaryTable?: boolean; newestCanary?: number | null } = {},
): { drill: unknown } {
  const snapshot = over.snapshot === undefined ? { 'public.ticks': 10, 'public.ballots': 50 } : over.snapshot;
  const newest = over.newestCanary === undefined ? T + 5 * MINUTE : over.newestCanary;
  return {
    drill: {
      database: 'acgs_pgp_db',
      inventory: { at: iso(T + 10 * MINUTE), rowCounts: restored },
      canaryTable: over.canaryTable ?? true,
      canary: over.canaryTable === false ? null : { newestAt: newest === null ? null : iso(newest), rows: 3 },
      scratchRemoved: true,
      baseBackupManifest: {
        kind: 'acgs-ops.base-backup',
        id: 'base-20261204T100000Z',
        finishedAt: iso(T + 30_000),
        canary: { id: 1, writtenAt: iso(T - 1_000) },
        ...(snapshot === null ? {} : { snapshot: { at: iso(T), rowCounts: snapshot } }),
      },
    },
  };
}

function evidenceOf(r: { drill: unknown }): PitrDrillEvidence {
  const parsed = parseDrillEvidence(r);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

describe('restoredDataProblems', () => {
  it('finds nothing wrong when every snapshot table is there with at least its rows, and a newer canary', () => {
    // Growing tables (ticks) and new tables (audit) are fine: the target is after the snapshot.
    const e = evidenceOf(report({ 'public.ticks': 25, 'public.ballots': 50, 'public.audit': 3 }));
    expect(restoredDataProblems(e)).toEqual([]);
  });

  it('names a missing table, a table with fewer rows than the snapshot, and no canary table', () => {
    const e = evidenceOf(report({ 'public.ticks': 9 }, { canaryTable: false }));
    expect(restoredDataProblems(e)).toEqual([
      'table public.ballots is missing from the restored acgs_pgp_db (the snapshot counted 50 rows)',
      'table public.ticks has 9 rows restored, fewer than the 10 the snapshot counted',
      'the restored acgs_pgp_db has no canary table public.acgs_ops_canary',
    ]);
  });

  it('fails a base backup without a snapshot, an empty canary table, and a canary older than the backup', () => {
    expect(restoredDataProblems(evidenceOf(report({}, { snapshot: null, newestCanary: null })))).toEqual([
      'base backup base-20261204T100000Z has no snapshot of row counts (taken before they were recorded): take a new base backup',
      'the canary table of the restored acgs_pgp_db is empty',
    ]);
    const old = evidenceOf(report({ 'public.ticks': 10, 'public.ballots': 50 }, { newestCanary: T - 60_000 }));
    expect(restoredDataProblems(old)).toEqual([
      `the newest canary restored (${iso(T - 60_000)}) is older than the one base backup base-20261204T100000Z wrote (${iso(T - 1_000)})`,
    ]);
    expect(restoredDataProblems(evidenceOf(report({}, { snapshot: {} })))).toContain(
      'the snapshot of base backup base-20261204T100000Z lists no table of acgs_pgp_db: nothing proves the data',
    );
  });

  it('lets a table listed as allowed to shrink hold fewer rows, reporting it, but not go missing', () => {
    // Arrange: sessions expired between the base backup and the target; ballots is listed but gone.
    const rules = { tablesAllowedToShrink: ['public.ticks', 'public.ballots'] };
    const shrunk = evidenceOf(report({ 'public.ticks': 4, 'public.ballots': 50 }));
    const gone = evidenceOf(report({ 'public.ticks': 4 }));
    // Act & Assess
    expect(restoredDataProblems(shrunk, rules)).toEqual([]);
    expect(shrunkTables(shrunk, rules)).toEqual(['public.ticks: 4 rows, was 10 at the base backup: allowed to shrink']);
    expect(restoredDataProblems(shrunk)).toEqual([
      'table public.ticks has 4 rows restored, fewer than the 10 the snapshot counted',
    ]);
    expect(restoredDataProblems(gone, rules)).toEqual([
      'table public.ballots is missing from the restored acgs_pgp_db (the snapshot counted 50 rows)',
    ]);
  });

  it('refuses a report without a well-formed drill inventory, naming the field', () => {
    const parsed = parseDrillEvidence({ drill: { database: 'x' } });
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toContain('inventory');
    expect(parseDrillEvidence({}).ok).toBe(false);
  });
});

describe('judgePitrDrill and the achieved RPO', () => {
  it('measures the RPO from the end of recovery for latest, and from the target for a time', () => {
    const e = evidenceOf(report({ 'public.ticks': 10, 'public.ballots': 50 }));
    expect(achievedRpoMs(e, 'latest', T + 5 * MINUTE + 12_000)).toBe(12_000);
    expect(achievedRpoMs(e, T + 6 * MINUTE, T + 20 * MINUTE)).toBe(MINUTE);
    expect(achievedRpoMs(evidenceOf(report({}, { canaryTable: false })), 'latest', T)).toBeUndefined();
  });

  it('passes within the objectives, and fails a breached RPO or bad data with every reason', () => {
    const good = evidenceOf(report({ 'public.ticks': 12, 'public.ballots': 50 }));
    const measures = { rtoMs: 8_000, unpackMs: 1_000, replayMs: 7_000, rpoMs: 20_000 };
    const passed = judgePitrDrill(good, measures, recovery);
    expect(passed.passed).toBe(true);
    expect(passed.reasons).toEqual([
      'RTO met: unpack and replay took 8s (unpack 1s, replay 7s; target 1h)',
      "RPO met: the newest canary restored is 20s older than the drill's target (target 1m)",
      "the restored acgs_pgp_db holds every table of base backup base-20261204T100000Z's snapshot (2) with at least its rows, 2 tables in all",
    ]);
    const late = judgePitrDrill(good, { ...measures, rpoMs: 2 * MINUTE }, recovery);
    expect(late.passed).toBe(false);
    expect(late.reasons[1]).toMatch(/^RPO breached: .* 2m older/);
    const lost = judgePitrDrill(evidenceOf(report({ 'public.ticks': 12 })), measures, recovery);
    expect(lost.passed).toBe(false);
    expect(lost.reasons[2]).toContain('table public.ballots is missing');
    const sessions = evidenceOf(report({ 'public.ticks': 3, 'public.ballots': 50 }));
    const shrunk = judgePitrDrill(sessions, measures, recovery, { tablesAllowedToShrink: ['public.ticks'] });
    expect(shrunk.passed).toBe(true);
    expect(shrunk.reasons.slice(2)).toEqual([
      "the restored acgs_pgp_db holds every table of base backup base-20261204T100000Z's snapshot (2) with at least its rows but for 1 allowed to shrink, 2 tables in all",
      'public.ticks: 3 rows, was 10 at the base backup: allowed to shrink',
    ]);
    expect(judgePitrDrill(sessions, measures, recovery).passed).toBe(false);
    const unknown = judgePitrDrill(good, { rtoMs: 8_000, unpackMs: 1_000, replayMs: 7_000 }, recovery);
    expect(unknown).toMatchObject({
      passed: false,
      reasons: expect.arrayContaining(['RPO unknown: no canary was restored']),
    });
  });
});

/** A PITR drill record as runPitrDrill stores it. */
function pitrRecord(startedAt: number, outcome: 'passed' | 'failed', reasons: string[]): Objects {
  const key = pitrDrillKey('base-1', startedAt);
  const text = JSON.stringify({
    kind: 'acgs-ops.pitr-drill',
    version: 1,
    outcome,
    target: 'latest',
    baseBackup: 'base-1',
    startedAt: iso(startedAt),
    finishedAt: iso(startedAt + 20_000),
    rtoMs: 9_000,
    rpoMs: 15_000,
    newestCanaryAt: iso(startedAt),
    tables: 2,
    reasons,
  });
  return { listing: [{ key, size: text.length }], records: [{ key, text }] };
}

describe('the monitor and the latest PITR drill', () => {
  const base = [backup(T - HOUR), drill(dumpUrl(T - HOUR), T - 30 * MINUTE)];

  it('fails the drill while the latest PITR drill failed, and is ok again once a newer one passes', () => {
    // Arrange
    const failed = pitrRecord(T, 'failed', ['table public.ballots is missing']);
    const passedBefore = pitrRecord(T - 10 * MINUTE, 'passed', ['ok']);
    // Act
    const j = judgeBackups(catalogue(...base, passedBefore, failed), policy, T + HOUR);
    // Assess
    expect(j.drillStatus).toBe('failed');
    expect(j.drillReasons).toEqual([
      `latest point-in-time restore drill (${iso(T)}, to latest) failed: table public.ballots is missing`,
    ]);
    expect(j.pitrDrill).toMatchObject({ outcome: 'failed', rtoMs: 9_000, rpoMs: 15_000 });
    const again = judgeBackups(catalogue(...base, failed, pitrRecord(T + MINUTE, 'passed', ['ok'])), policy, T + HOUR);
    expect(again.drillStatus).toBe('ok');
    expect(again.drillReasons).toEqual([
      `latest point-in-time restore drill (${iso(T + MINUTE)}, to latest) passed: RTO 9s, achieved RPO 15s`,
    ]);
  });

  it('leaves the judgement as it was without a PITR drill, and calls an unreadable record suspicious', () => {
    expect(judgeBackups(catalogue(...base), policy, T + HOUR)).not.toHaveProperty('pitrDrill');
    const key = pitrDrillKey(null, T);
    const broken = { listing: [{ key, size: 2 }], records: [{ key, text: '{}' }] };
    const j = judgeBackups(catalogue(...base, broken), policy, T + HOUR);
    expect(j.status).toBe('suspicious');
    expect(j.reasons.join()).toContain(`record ${key} is unreadable: not a point-in-time drill record`);
  });
});
