import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { parseFleetConfig } from '../../../lambdas/core/config.ts';
import type { FleetConfig } from '../../../lambdas/core/config-schema.ts';
import { PITR_DRILL_SUFFIX } from '../../../lambdas/core/pitr-drill.ts';
import { monitorBackups } from '../../../lambdas/use-cases/backups.ts';
import { runPitrDrill, writeCanary } from '../../../lambdas/use-cases/wal-archiving.ts';
import { createHarness, T0 } from '../../support/harness.ts';
import { MemoryObjectStore } from '../../support/memory-object-store.ts';

function archivedConfig(drill?: Record<string, unknown>): FleetConfig {
  const raw = parse(readFileSync(new URL('../../../config/acgs-1.yaml', import.meta.url), 'utf8')) as {
    backups: Record<string, unknown>;
  };
  raw.backups.archiving = { directory: '/srv/archive', ...(drill ? { drill } : {}) };
  const parsed = parseFleetConfig(stringify(raw));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
}

const iso = (ms: number) => new Date(ms).toISOString();
const request = { target: 'latest', scratchDirectory: '/srv/pitr-scratch', port: 15432 } as const;

/** What acgs-pitr-restore prints last with Drill=yes: recovered 20 s after T0, the newest canary 8 s before that. */
function restoreOutput(restored: Record<string, number>): string {
  return JSON.stringify({
    kind: 'acgs-ops.pitr-restore',
    version: 1,
    baseBackup: 'base-1',
    baseBackupFinishedAt: iso(T0 - 60_000),
    target: 'latest',
    scratchDirectory: '/srv/pitr-scratch',
    port: 15432,
    unpackMs: 2_000,
    replayMs: 5_000,
    rtoMs: 7_000,
    newestTransactionAt: iso(T0 + 19_000),
    recoveredAt: iso(T0 + 20_000),
    recoveryLog: '',
    drill: {
      database: 'acgs_pgp_db',
      inventory: { at: iso(T0 + 20_000), rowCounts: restored },
      canaryTable: true,
      canary: { newestAt: iso(T0 + 12_000), rows: 9 },
      scratchRemoved: true,
      baseBackupManifest: {
        kind: 'acgs-ops.base-backup',
        id: 'base-1',
        finishedAt: iso(T0 - 60_000),
        canary: { id: 1, writtenAt: iso(T0 - 70_000) },
        snapshot: { at: iso(T0 - 69_000), rowCounts: { 'public.votes': 100 } },
      },
    },
  });
}

describe('runPitrDrill', () => {
  it('asks for the drill, records a passed drill with RTO and the achieved RPO, and opens nothing', async () => {
    // Prepare
    const h = createHarness(archivedConfig());
    h.clock.set(T0);
    h.commands.next = {
      status: 'succeeded',
      exitCode: 0,
      output: `restoring\n${restoreOutput({ 'public.votes': 120 })}`,
    };
    const objects = new MemoryObjectStore();
    // Act
    const run = await runPitrDrill(h.ctx, objects, request);
    // Assess
    expect(h.commands.requests[0]?.parameters).toMatchObject({
      Drill: 'yes',
      TargetTime: 'latest',
      DatabaseName: 'acgs_pgp_db',
    });
    expect(run.record).toMatchObject({
      outcome: 'passed',
      rtoMs: 7_000,
      rpoMs: 8_000,
      tables: 1,
      baseBackup: 'base-1',
    });
    expect(run.key).toMatch(new RegExp(`^base-1-.*${PITR_DRILL_SUFFIX.replace(/\./g, '\\.')}$`));
    expect(JSON.parse(Buffer.from((await objects.get(run.key ?? ''))?.body ?? []).toString())).toMatchObject({
      outcome: 'passed',
      startedAt: iso(T0),
      newestCanaryAt: iso(T0 + 12_000),
    });
    expect(await h.store.listOpenIncidents()).toEqual([]);
  });

  it('records a drill whose data fails validation as failed, with the reason, and opens the drill incident the monitor keeps', async () => {
    // Prepare
    const h = createHarness(archivedConfig());
    h.clock.set(T0);
    h.commands.next = { status: 'succeeded', exitCode: 0, output: restoreOutput({ 'public.votes': 60 }) };
    const objects = new MemoryObjectStore();
    // Act
    const run = await runPitrDrill(h.ctx, objects, request);
    const judgement = await monitorBackups(h.ctx, objects);
    // Assess
    expect(run.record.outcome).toBe('failed');
    expect(run.record.reasons.join()).toContain(
      'table public.votes has 60 rows restored, fewer than the 100 the snapshot counted',
    );
    const open = await h.store.listOpenIncidents();
    expect(open.find((i) => i.kind === 'drill')?.detail).toContain('table public.votes has 60 rows restored');
    expect(judgement.drillStatus).toBe('failed');
  });

  it('passes a drill whose shrunken table backups.archiving.drill.tablesAllowedToShrink lists, saying so', async () => {
    // Prepare: 100 votes at the base backup, 60 at the target; the config says votes may shrink.
    const h = createHarness(archivedConfig({ tablesAllowedToShrink: ['public.votes'] }));
    h.clock.set(T0);
    h.commands.next = { status: 'succeeded', exitCode: 0, output: restoreOutput({ 'public.votes': 60 }) };
    const objects = new MemoryObjectStore();
    // Act
    const run = await runPitrDrill(h.ctx, objects, request);
    // Assess
    expect(run.record.outcome).toBe('passed');
    expect(run.record.reasons).toContain('public.votes: 60 rows, was 100 at the base backup: allowed to shrink');
    expect(await h.store.listOpenIncidents()).toEqual([]);
  });

  it('refuses, naming the field, a table to shrink that is not schema.table or is listed twice', () => {
    // Act & Assess
    expect(() => archivedConfig({ tablesAllowedToShrink: ['sessions'] })).toThrow(
      /backups\.archiving\.drill\.tablesAllowedToShrink\.0.*must be schema\.table/,
    );
    expect(() => archivedConfig({ tablesAllowedToShrink: ['public.a', 'public.a'] })).toThrow(
      /backups\.archiving\.drill\.tablesAllowedToShrink.*must not list a table twice/,
    );
  });

  it("records a restore that failed as a failed drill, with the document's reason", async () => {
    // Prepare
    const h = createHarness(archivedConfig());
    h.clock.set(T0);
    h.commands.next = {
      status: 'failed',
      exitCode: 1,
      output: 'acgs-pitr-restore: no base backup in /srv/archive/base',
    };
    const objects = new MemoryObjectStore();
    // Act
    const run = await runPitrDrill(h.ctx, objects, request);
    // Assess
    expect(run.record).toMatchObject({ outcome: 'failed', baseBackup: null, rtoMs: null, rpoMs: null });
    expect(run.record.reasons).toEqual(['the restore failed: acgs-pitr-restore: no base backup in /srv/archive/base']);
    expect(run.key).toMatch(/^pitr-/);
    expect((await h.store.listOpenIncidents()).map((i) => i.title)).toContain(
      'Point-in-time restore drill of postgresql failed',
    );
  });
});

describe('writeCanary', () => {
  it('runs acgs-wal-archiving with Action canary in the backed-up database and reads the canary back', async () => {
    // Prepare
    const h = createHarness(archivedConfig());
    h.commands.next = {
      status: 'succeeded',
      exitCode: 0,
      output:
        '{"kind":"acgs-ops.canary","database":"acgs_pgp_db","canary":{"id":7,"writtenAt":"2026-12-04T10:00:00.000001Z"}}',
    };
    // Act
    const run = await writeCanary(h.ctx);
    // Assess
    expect(h.commands.requests[0]?.parameters).toMatchObject({ Action: 'canary', DatabaseName: 'acgs_pgp_db' });
    expect(run.state).toBe('written');
    expect(run.report).toMatchObject({ canary: { id: 7 } });
  });
});
