import { describe, expect, it } from 'vitest';
import { backupId } from '../../../lambdas/core/ssm-document.ts';
import { loadCatalogue, monitorBackups, runDrill } from '../../../lambdas/use-cases/backups.ts';
import { createHarness, MINUTE, T0 } from '../../support/harness.ts';
import { MemoryObjectStore, sha256Of } from '../../support/memory-object-store.ts';

const HOUR = 60 * MINUTE;

/** Publishes a dump and its manifest as the backup document does, for a backup started at `startedAt`. */
async function publish(objects: MemoryObjectStore, startedAt: number): Promise<string> {
  const id = backupId('acgs_pgp_db', new Date(startedAt));
  const dump = `${id} `.repeat(200);
  await objects.put(`${id}.dump`, dump);
  await objects.put(
    `${id}.manifest.json`,
    JSON.stringify({
      kind: 'acgs-ops.backup',
      version: 1,
      id,
      database: 'acgs_pgp_db',
      host: '10.0.1.20',
      port: 5432,
      startedAt: new Date(startedAt).toISOString(),
      finishedAt: new Date(startedAt + MINUTE).toISOString(),
      dumpKey: `${id}.dump`,
      sizeBytes: Buffer.byteLength(dump),
      sha256: sha256Of(dump),
      format: 'custom',
      tocEntries: 12,
      tableDataEntries: 4,
      pgDumpVersion: 'pg_dump (PostgreSQL) 15.8',
    }),
  );
  return id;
}

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
