import { describe, expect, it } from 'vitest';
import { applyRetention, loadCatalogue, monitorBackups, runDrill } from '../../../lambdas/use-cases/backups.ts';
import { createHarness, MINUTE, T0 } from '../../support/harness.ts';
import { MemoryObjectStore, publishBackup as publish, sha256Of } from '../../support/memory-object-store.ts';

const HOUR = 60 * MINUTE;

describe('runDrill', () => {
  it('keeps the backup good when the drill could not run (exit 1: the environment), and drills it again next time', async () => {
    // Prepare
    const h = createHarness();
    const objects = new MemoryObjectStore();
    const older = await publish(objects, T0 - 24 * HOUR);
    const newest = await publish(objects, T0);
    h.clock.set(T0 + HOUR);
    h.commands.next = {
      status: 'failed',
      exitCode: 1,
      output: 'acgs-restore-drill: restore drill of x failed: psql: FATAL: password authentication failed',
    };
    // Act
    const failed = await runDrill(h.ctx, { objects });
    const catalogue = await loadCatalogue(h.ctx, objects);
    const judged = await monitorBackups(h.ctx, objects);
    const again = await runDrill(h.ctx, { objects });
    // Assess
    expect(failed.manifest.id).toBe(newest);
    expect(catalogue.drillFailures.map((f) => [f.failure.backupId, f.failure.cause])).toEqual([
      [newest, 'environment'],
    ]);
    expect(catalogue.backups.map((b) => [b.manifest.id, b.verdict])).toEqual([
      [older, 'good'],
      [newest, 'good'],
    ]);
    expect([judged.status, judged.drillStatus]).toEqual(['ok', 'failed']);
    expect((await h.store.listOpenIncidents()).map((i) => i.kind)).toEqual(['drill']);
    expect(again.manifest.id).toBe(newest);
  });

  it('marks the backup bad when the drill found its content unrestorable (exit 3), and drills the one before next', async () => {
    // Prepare
    const h = createHarness();
    const objects = new MemoryObjectStore();
    const older = await publish(objects, T0 - 24 * HOUR);
    const newest = await publish(objects, T0);
    h.clock.set(T0 + HOUR);
    h.commands.next = {
      status: 'failed',
      exitCode: 3,
      output: 'acgs-restore-drill: restore drill of x failed: pg_restore failed (exit 1): could not uncompress data',
    };
    // Act
    await runDrill(h.ctx, { objects });
    const catalogue = await loadCatalogue(h.ctx, objects);
    const again = await runDrill(h.ctx, { objects });
    // Assess
    expect(catalogue.drillFailures.map((f) => f.failure.cause)).toEqual(['content']);
    expect(catalogue.backups.map((b) => [b.manifest.id, b.verdict])).toEqual([
      [older, 'good'],
      [newest, 'bad'],
    ]);
    expect(again.manifest.id).toBe(older);
  });
});

describe('reading the dumps cheaply', () => {
  it('has the hourly monitor read one dump afresh per run, each in turn', async () => {
    // Prepare
    const h = createHarness();
    const objects = new MemoryObjectStore();
    const ids = [await publish(objects, T0 - 2 * HOUR), await publish(objects, T0 - HOUR), await publish(objects, T0)];
    // Act
    for (let run = 0; run < 3; run += 1) {
      h.clock.set(T0 + (run + 1) * HOUR);
      await monitorBackups(h.ctx, objects);
    }
    // Assess
    expect(objects.freshly).toHaveLength(3);
    expect([...objects.freshly].sort()).toEqual(ids.map((id) => `${id}.dump`).sort());
  });

  it('deletes nothing on the strength of a cached hash: a kept dump that rotted since stops the prune', async () => {
    // Prepare: nine dailies, retention 2: the cached hashes would let seven go; then the newest dump rots in place
    const h = createHarness();
    const objects = new MemoryObjectStore();
    const ids: string[] = [];
    for (let day = 8; day >= 0; day -= 1) ids.push(await publish(objects, T0 - day * 24 * HOUR));
    const newestDump = `${ids.at(-1)}.dump`;
    const original = objects.objects.get(newestDump) ?? new Uint8Array();
    objects.cached.set(newestDump, sha256Of(original));
    const rotted = Uint8Array.from(original);
    rotted[10] = (rotted[10] ?? 0) ^ 0x01;
    objects.objects.set(newestDump, rotted);
    h.clock.set(T0 + HOUR);
    const small = {
      ...h.ctx.config,
      backups: { ...h.ctx.config.backups, retention: { daily: 2, weekly: 0, monthly: 0 } },
    };
    const ctx = { ...h.ctx, config: small } as typeof h.ctx;
    // Act
    const dryRun = await applyRetention(ctx, objects, { dryRun: true });
    const run = await applyRetention(ctx, objects);
    // Assess
    expect(dryRun.plan.delete).toHaveLength(7);
    expect(run.deleted).toEqual([]);
    expect(run.plan.refused).toMatch(/is not a usable backup: dump .* has SHA-256/);
    expect(objects.freshly).toContain(newestDump);
  });
});
