import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { parseFleetConfig } from '../../../lambdas/core/config.ts';
import type { FleetConfig } from '../../../lambdas/core/config-schema.ts';
import { PITR_RESTORE_DOCUMENT, WAL_ARCHIVING_DOCUMENT } from '../../../lambdas/core/document-names.ts';
import type { CommandRequest, CommandResult } from '../../../lambdas/ports.ts';
import { type HealthObserver, serviceTargets } from '../../../lambdas/use-cases/await-healthy.ts';
import type { RecoveryStepName } from '../../../lambdas/use-cases/database-recovery.ts';
import { handleApiRequest } from '../../../lambdas/use-cases/operator-api.ts';
import { PITR_NOT_RESTORABLE, restoreProductionToPoint } from '../../../lambdas/use-cases/pitr-production-restore.ts';
import { runLocalRunbook } from '../../support/local-runbook.ts';
import { PITR_PRODUCTION_STEPS, recoveryWorld, scriptedHost, succeeded } from '../../support/recovery-host.ts';

/*
 * The point-in-time restore of production through the Recovery Procedure's skeleton, with scripted documents: the
 * plan first, the steps in order, the refusal without confirmation naming what would happen, a failure at any step
 * leaving the services started and the window ended, and the 409 of a target no base backup precedes.
 */

/** The shipped fleet with archiving; `independent`: no service depends on the database (nothing to stop or wait for). */
function archivedConfig(independent = false): FleetConfig {
  const raw = parse(readFileSync(new URL('../../../config/acgs-1.yaml', import.meta.url), 'utf8')) as {
    backups: Record<string, unknown>;
    services: Record<string, unknown>[];
  };
  if (independent) raw.services = raw.services.map((s) => ({ ...s, dependsOn: [] }));
  raw.backups.archiving = { directory: '/srv/archive', dataDirectory: '/var/lib/postgresql/15/main' };
  const parsed = parseFleetConfig(stringify(raw));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
}

const PLAN = {
  kind: 'acgs-ops.pitr-plan',
  version: 1,
  baseBackup: 'base-20261201T010000Z',
  baseBackupFinishedAt: '2026-12-01T01:00:05.000Z',
  baseBackupSizeBytes: 4_000_000,
  target: '2026-12-01T01:30:00.000Z',
  walSegments: 12,
  dataDirectory: '/var/lib/postgresql/15/main',
  dataDirectorySizeBytes: 2_000_000_000,
  freeBytes: 9_000_000_000,
};
const REPORT = {
  kind: 'acgs-ops.pitr-restore',
  version: 1,
  mode: 'production',
  baseBackup: 'base-20261201T010000Z',
  baseBackupFinishedAt: '2026-12-01T01:00:05.000Z',
  target: '2026-12-01T01:30:00.000Z',
  dataDirectory: '/var/lib/postgresql/15/main',
  safetyCopy: '/var/lib/postgresql/15/main.before-pitr-20261201T020000Z',
  timeline: '00000002',
  unpackMs: 900,
  replayMs: 1_200,
  downMs: 2_300,
  rtoMs: 2_600,
  newestTransactionAt: '2026-12-01T01:29:59.500000Z',
  recoveredAt: '2026-12-01T02:00:03.000Z',
  recoveryLog: '',
};
const BASE = { kind: 'acgs-ops.base-backup', id: 'base-20261201T020010Z', finishedAt: '2026-12-01T02:00:15Z' };
const FAILED: CommandResult = { status: 'failed', exitCode: 1, output: 'it broke\n' };

/** The host: each document answers by its key (document, and Mode or Action); `fail` names the one that fails. */
function setUp(fail?: string, healthy = true, independent = false) {
  const { h, ctx, host } = recoveryWorld(
    {
      [`${PITR_RESTORE_DOCUMENT}:plan`]: succeeded(`plan\n${JSON.stringify(PLAN)}\n`),
      [`${PITR_RESTORE_DOCUMENT}:production`]: succeeded(`restored\n${JSON.stringify(REPORT)}\n`),
      [`${WAL_ARCHIVING_DOCUMENT}:base-backup`]: succeeded(`${JSON.stringify(BASE)}\n`),
      ...(fail === undefined ? {} : { [fail]: FAILED }),
    },
    archivedConfig(independent),
  );
  // Every service's targets, healthy now (or auth down), as a prober would see them
  const observeHealth: HealthObserver = async (c, services) =>
    serviceTargets(c, services).map((t) => ({
      service: t.service ?? t.name,
      targetId: t.id,
      state: healthy || t.service !== 'auth' ? 'healthy' : 'down',
      knownAt: c.clock.now(),
      ...(healthy || t.service !== 'auth' ? {} : { reason: 'refused' }),
    }));
  const deps = {
    sleep: async (ms: number) => h.clock.advance(ms),
    observeHealth,
  };
  return { h, ctx, commands: host, deps };
}

const TARGET = Date.parse('2026-12-01T01:30:00Z');

describe('restoreProductionToPoint', () => {
  it('plans, then opens the window, stops the services, restores production, starts them, waits for health, takes a fresh base backup and ends the window', async () => {
    // Prepare
    const { h, ctx, commands, deps } = setUp();
    // Act
    const run = await restoreProductionToPoint(
      ctx,
      ctx.backups as never,
      { target: TARGET, by: 'ops', confirm: true },
      deps,
    );
    // Assess
    expect(run.error).toBeUndefined();
    expect(run.status).toBe('succeeded');
    expect(run.steps.map((s) => s.name)).toEqual(PITR_PRODUCTION_STEPS);
    expect(commands.keys()).toEqual([
      `${PITR_RESTORE_DOCUMENT}:plan`,
      'acgs-stop-all',
      `${PITR_RESTORE_DOCUMENT}:production`,
      'acgs-start-all',
      `${WAL_ARCHIVING_DOCUMENT}:base-backup`,
    ]);
    const production = commands.requests[2]?.parameters ?? {};
    expect(production).toMatchObject({
      TargetTime: '2026-12-01T01:30:00.000Z',
      DataDirectory: '/var/lib/postgresql/15/main',
      ScratchDirectory: '',
      ScratchPort: '',
    });
    expect(run.safetyCopy).toBe(REPORT.safetyCopy);
    expect(run.baseBackup).toBe(BASE.id);
    expect(await h.store.listMaintenanceWindows(h.clock.now())).toEqual([]);
    expect(h.notifier.sent).toEqual([]);
  });

  it('refuses without confirmation, naming what would happen from the plan, running nothing but the plan', async () => {
    // Prepare
    const { ctx, commands, deps } = setUp();
    // Act
    const refused = restoreProductionToPoint(
      ctx,
      ctx.backups as never,
      { target: TARGET, by: 'ops', confirm: false },
      deps,
    );
    // Assess
    await expect(refused).rejects.toThrow(
      /would open a maintenance window, stop auth, .* and PostgreSQL, rename \/var\/lib\/postgresql\/15\/main \(2\.00 GB\) to a safety copy .*base backup base-20261201T010000Z .*replay 12 archived WAL segments.*Nothing was done/,
    );
    expect(commands.keys()).toEqual([`${PITR_RESTORE_DOCUMENT}:plan`]);
  });

  it.each<[RecoveryStepName, string | undefined, boolean]>([
    ['stop', 'acgs-stop-all', true],
    ['pitr-restore', `${PITR_RESTORE_DOCUMENT}:production`, true],
    ['start', 'acgs-start-all', true],
    ['health', undefined, false],
    ['base-backup', `${WAL_ARCHIVING_DOCUMENT}:base-backup`, true],
  ])('leaves the services started and the window ended when %s fails, and pages a P1', async (step, fail, healthy) => {
    // Prepare
    const { h, ctx, commands, deps } = setUp(fail, healthy);
    // Act
    const run = await restoreProductionToPoint(
      ctx,
      ctx.backups as never,
      { target: TARGET, by: 'ops', confirm: true },
      deps,
    );
    // Assess
    expect(run.status).not.toBe('succeeded');
    expect(run.steps.at(-1)?.name).toBe(step);
    const keys = commands.keys();
    // Started after the stop: by the start step, or again by the procedure once the step failed
    expect(keys.lastIndexOf('acgs-start-all')).toBeGreaterThan(keys.indexOf('acgs-stop-all'));
    expect(await h.store.listMaintenanceWindows(h.clock.now())).toEqual([]);
    expect(run.incident?.severity).toBe('P1');
    expect(run.error).toContain(`stopped at ${step}`);
  });

  it('says the document rolled back when the restore fails before promotion', async () => {
    // Prepare
    const { ctx, commands, deps } = setUp();
    const run0 = commands.run;
    ctx.commands.run = async (request: CommandRequest): Promise<CommandResult> =>
      request.parameters.Mode === 'production'
        ? {
            status: 'failed',
            exitCode: 1,
            output:
              'acgs-pitr-restore: PostgreSQL stopped during recovery; rolled back: /var/lib/postgresql/15/main is as it was\n',
          }
        : run0(request);
    // Act
    const run = await restoreProductionToPoint(
      ctx,
      ctx.backups as never,
      { target: TARGET, by: 'ops', confirm: true },
      deps,
    );
    // Assess
    expect(run.error).toContain('rolled back');
    expect(run.error).toContain('the services were started again');
  });
});

describe('POST /backups/pitr-restore/production', () => {
  it('answers 409 PITR_NOT_RESTORABLE when no base backup finished before the target, stopping nothing', async () => {
    // Prepare
    const { ctx } = setUp();
    const refusing = scriptedHost({
      [`${PITR_RESTORE_DOCUMENT}:plan`]: {
        status: 'failed',
        exitCode: 1,
        output:
          'acgs-pitr-restore: no base backup finished before 2026-11-01T00:00:00.000Z (the oldest finished at 2026-12-01T01:00:05Z): that time cannot be restored\n',
      },
    });
    // Act
    const response = await handleApiRequest(
      { ...ctx, commands: refusing },
      {
        method: 'POST',
        path: '/backups/pitr-restore/production',
        query: {},
        body: JSON.stringify({ target: '2026-11-01T00:00:00Z', confirm: true }),
        caller: 'ops',
      },
    );
    // Assess
    expect(response.statusCode).toBe(409);
    expect(response.body).toMatchObject({ code: PITR_NOT_RESTORABLE });
    expect((response.body as { error: string }).error).toContain('no base backup finished before');
    expect(refusing.keys()).toEqual([`${PITR_RESTORE_DOCUMENT}:plan`]);
  });

  it('answers 400 with the plan without confirm', async () => {
    // Prepare
    const { ctx } = setUp();
    // Act
    const response = await handleApiRequest(ctx, {
      method: 'POST',
      path: '/backups/pitr-restore/production',
      query: {},
      body: JSON.stringify({ target: 'latest', confirm: false }),
      caller: 'ops',
    });
    // Assess
    expect(response.statusCode).toBe(400);
    expect((response.body as { error: string }).error).toContain('Confirm with --yes');
  });
});

describe('the acgs-restore-database runbook with TargetTime, through the local interpreter', () => {
  const NAME = 'acgs-restore-database';
  const EXECUTION = '5e1f0c2a-0000-4000-8000-0000000000bb';
  const runbook = async (params: Record<string, string>, fail?: string) => {
    // No service depends on the database here: the interpreter's API has no fake health observer to wait with.
    const { h, ctx, commands } = setUp(fail, true, true);
    const report = await runLocalRunbook(ctx, h.clock, NAME, params, { executionId: EXECUTION });
    return { report, commands };
  };

  it('restores production to the target time instead of a backup, then shows the fleet', async () => {
    // Act
    const { report, commands } = await runbook({ TargetTime: '2026-12-01T01:30:00Z', Confirm: 'true' });
    // Assess
    expect(report.status).toBe('Success');
    expect(report.steps.map((s) => s.name)).toEqual(['checkChoice', 'chooseRestore', 'pitrRestore', 'fleetState']);
    expect(report.outputs['pitrRestore.SafetyCopy']).toBe(REPORT.safetyCopy);
    expect(commands.keys()).toEqual([
      `${PITR_RESTORE_DOCUMENT}:plan`,
      `${PITR_RESTORE_DOCUMENT}:production`,
      `${WAL_ARCHIVING_DOCUMENT}:base-backup`,
    ]);
    expect(commands.requests[1]?.parameters.TargetTime).toBe('2026-12-01T01:30:00.000Z');
  });

  it('stops nothing without Confirm', async () => {
    // Act
    const { report, commands } = await runbook({ TargetTime: 'latest', Confirm: 'false' });
    // Assess
    expect(report.status).toBe('Failed');
    expect(report.failure).toMatch(/^pitrRestore: the operator API answered 400: .*Nothing was done/);
    expect(commands.keys()).toEqual([`${PITR_RESTORE_DOCUMENT}:plan`]);
  });

  it('restores a backup when no TargetTime is given', async () => {
    // Act
    const { report } = await runbook({ BackupId: 'acgs_pgp_db-20261201T020000Z', Confirm: 'true' });
    // Assess
    expect(report.steps.map((s) => s.name).slice(0, 3)).toEqual(['checkChoice', 'chooseRestore', 'restore']);
  });
});
