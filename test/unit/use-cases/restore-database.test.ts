import { describe, expect, it } from 'vitest';
import { RESTORE_DOCUMENT } from '../../../lambdas/core/document-names.ts';
import type { CommandResult } from '../../../lambdas/ports.ts';
import { restoreDatabase, unconfirmedRestore } from '../../../lambdas/use-cases/restore-database.ts';
import { MINUTE, T0 } from '../../support/harness.ts';
import { publishBackup } from '../../support/memory-object-store.ts';
import { DUMP_RESTORE_STEPS, recoveryWorld } from '../../support/recovery-host.ts';

/** Each command of a restore answers by its key (document, and Action), success unless named; one backup published. */
async function setUp(answers: Record<string, CommandResult> = {}) {
  const { h, ctx, host, objects } = recoveryWorld(answers);
  const id = await publishBackup(objects, T0 - 60 * MINUTE);
  return { h, ctx, runner: host, id, destination: { objects } };
}

const noSleep = { sleep: async () => {} };

describe('restoreDatabase', () => {
  it('runs stop-all, the safety dump, the restore and start-all in that order, for the services that depend on the database', async () => {
    // Prepare: the health checks as the scheduled probe recorded them (no prober in this context): all up
    const { h, ctx, runner, id, destination } = await setUp();
    const targets = ctx.targets.filter((t) => t.service !== undefined || t.name === 'postgresql');
    await h.store.saveTargetStates(
      targets.map((t) => ({
        targetId: t.id,
        health: 'up',
        since: T0,
        streaks: { unhealthy: 0, notHealthy: 0, healthy: 2, notUnhealthy: 2 },
        changes: [],
        flapping: false,
        version: 0,
      })),
    );
    // Act
    const run = await restoreDatabase(ctx, destination, { backupId: id, by: 'ops', confirm: true }, noSleep);
    // Assess
    expect(run.status).toBe('succeeded');
    expect(run.steps.map((s) => s.name)).toEqual(DUMP_RESTORE_STEPS);
    expect(runner.keys()).toEqual([
      'acgs-stop-all',
      `${RESTORE_DOCUMENT}:safety-dump`,
      `${RESTORE_DOCUMENT}:restore`,
      'acgs-start-all',
    ]);
    const restore = runner.requests[2]?.parameters ?? {};
    expect(restore.Source).toBe(`/var/backups/acgs-pgp/${id}.dump`);
    expect(restore.SafetyDumpLocation).toBe(runner.requests[1]?.parameters.SafetyDumpLocation);
    expect(restore.SafetyDumpLocation).toMatch(/^\/var\/backups\/acgs-pgp\/pre-restore\/acgs_pgp_db-before-restore-/);
    expect(run.services).toEqual(['auth', 'ac', 'integrity', 'fv', 'gs', 'pgc', 'ec']);
    expect(h.notifier.sent).toEqual([]);
  });

  it('says no safety dump was taken, and the database untouched, when the stop fails; ends the window and pages a P1', async () => {
    // Prepare
    const { h, ctx, runner, id, destination } = await setUp({
      'acgs-stop-all': {
        status: 'failed',
        exitCode: 1,
        output: 'acgs-stop-all: cannot stop auth: port 8000 is held\n',
      },
    });
    // Act
    const run = await restoreDatabase(ctx, destination, { backupId: id, by: 'ops', confirm: true }, noSleep);
    // Assess
    expect(run.status).toBe('failed');
    expect(run.steps.map((s) => [s.name, s.status])).toEqual([
      ['window', 'succeeded'],
      ['stop', 'failed'],
    ]);
    expect(runner.requests.map((r) => r.document)).toEqual(['acgs-stop-all']);
    expect(run.error).toContain('no safety dump was taken');
    expect(run.error).toContain('the database was not touched');
    expect(await h.store.listMaintenanceWindows(h.clock.now())).toEqual([]);
    expect(run.incident?.severity).toBe('P1');
    expect(h.notifier.sent.map((n) => n.incident.id)).toContain(run.incident?.id);
  });

  it('times out at the health step when a service stays down, naming it, after starting the services', async () => {
    // Prepare: no probe has recorded anything (no prober in this context)
    const { h, ctx, id, destination } = await setUp();
    // Act
    const run = await restoreDatabase(
      ctx,
      destination,
      { backupId: id, by: 'ops', confirm: true },
      { sleep: async (ms) => h.clock.advance(ms) },
    );
    // Assess
    expect(run.steps.map((s) => [s.name, s.status]).slice(-2)).toEqual([
      ['start', 'succeeded'],
      ['health', 'timed-out'],
    ]);
    expect(run.error).toMatch(/stopped at health \(timed-out\): not healthy within .*auth unknown \(never probed\)/);
    expect(run.error).toContain(`the database as it was is in the safety dump ${run.safetyDump}`);
  });

  it('refuses without confirmation, saying what it would do, before anything runs', async () => {
    // Prepare
    const { ctx, runner, id, destination } = await setUp();
    // Act
    const refused = restoreDatabase(ctx, destination, { backupId: id, by: 'ops', confirm: false }, noSleep);
    // Assess
    await expect(refused).rejects.toThrow(unconfirmedRestore(ctx.config, id));
    expect(runner.requests).toEqual([]);
  });

  it('refuses a second restore of the database while one runs, naming who holds it, running nothing', async () => {
    // Prepare: a restore in another runtime holds the database's lease
    const { h, ctx, runner, id, destination } = await setUp();
    await h.store.acquireLease('restore:postgresql', 'alice@2026-12-01T01:55:00.000Z', T0, T0 + 30 * MINUTE);
    // Act
    const second = restoreDatabase(ctx, destination, { backupId: id, by: 'bob', confirm: true }, noSleep);
    // Assess
    await expect(second).rejects.toThrow(
      /another restore of postgresql is running \(alice@2026-12-01T01:55:00.000Z, until .*nothing was done/,
    );
    expect(runner.requests).toEqual([]);
    expect(await h.store.listMaintenanceWindows(h.clock.now())).toEqual([]);
  });
});
