import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { parseFleetConfig } from '../../../../lambdas/core/config.ts';
import type { FleetConfig } from '../../../../lambdas/core/config-schema.ts';
import { PITR_RESTORE_DOCUMENT, WAL_ARCHIVING_DOCUMENT } from '../../../../lambdas/core/document-names.ts';
import type { CommandRequest, CommandResult, CommandRunner } from '../../../../lambdas/ports.ts';
import type { BackupDestination, ControlPlaneContext } from '../../../../lambdas/use-cases/context.ts';
import { handleApiRequest } from '../../../../lambdas/use-cases/operator-api.ts';
import { createHarness, T0 } from '../../../support/harness.ts';
import { MemoryObjectStore } from '../../../support/memory-object-store.ts';

/*
 * The archiving and point-in-time restore routes: the document each sends and with what, the restart only when
 * confirmed inside a maintenance window, bad input named before anything runs, and the AWS wiring (a base backup
 * dispatched, the other documents bounded by the wait budget).
 */

const CALLER = 'arn:aws:iam::123456789012:user/ops';

function archivedConfig(archiving: Record<string, unknown> | null = { directory: '/srv/archive' }): FleetConfig {
  const raw = parse(readFileSync(new URL('../../../../config/acgs-1.yaml', import.meta.url), 'utf8')) as {
    backups: Record<string, unknown>;
  };
  if (archiving) raw.backups.archiving = archiving;
  const parsed = parseFleetConfig(stringify(raw));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
}

const report = (fields: Record<string, unknown>) => JSON.stringify({ kind: 'acgs-ops.wal-archiving', ...fields });

/** What acgs-wal-archiving answers: `enable` on a server whose archive_mode was off waits for a restart unless asked. */
function archivingHost(request: CommandRequest): CommandResult {
  const { Action, Restart } = request.parameters;
  if (Action === 'enable' && Restart === 'no')
    return {
      status: 'failed',
      exitCode: 4,
      output: `${report({ action: 'enable', state: 'restart-needed' })}\nRESTART NEEDED: archive_mode is off and becomes on only when PostgreSQL restarts\n`,
    };
  if (Action === 'base-backup')
    return {
      status: 'succeeded',
      exitCode: 0,
      output: `${JSON.stringify({ kind: 'acgs-ops.base-backup', id: 'base-20261201T020000Z', finishedAt: '2026-12-01T02:00:05Z', sizeBytes: 4096 })}\n`,
    };
  return { status: 'succeeded', exitCode: 0, output: `${report({ action: Action, state: 'active' })}\n` };
}

const PITR_REPORT = {
  kind: 'acgs-ops.pitr-restore',
  baseBackup: 'base-20261201T010000Z',
  baseBackupFinishedAt: '2026-12-01T01:00:05Z',
  target: 'latest',
  scratchDirectory: '/srv/scratch',
  port: 55432,
  unpackMs: 900,
  replayMs: 1200,
  rtoMs: 2100,
  newestTransactionAt: '2026-12-01T01:59:58Z',
};

function recording(answer: (request: CommandRequest) => CommandResult): CommandRunner & { requests: CommandRequest[] } {
  const requests: CommandRequest[] = [];
  return {
    requests,
    run: async (request) => {
      requests.push(request);
      return answer(request);
    },
  };
}

function setUp(destination: Partial<BackupDestination> = {}, config: FleetConfig = archivedConfig()) {
  const h = createHarness(config);
  h.clock.set(T0);
  const waiting = recording((request) =>
    request.document === PITR_RESTORE_DOCUMENT
      ? { status: 'succeeded', exitCode: 0, output: `restored\n${JSON.stringify(PITR_REPORT)}\n` }
      : archivingHost(request),
  );
  const ctx: ControlPlaneContext = {
    ...h.ctx,
    commands: waiting,
    backups: { objects: new MemoryObjectStore(), ...destination },
  };
  const call = (method: string, path: string, body?: unknown) =>
    handleApiRequest(ctx, {
      method,
      path,
      query: {},
      body: body === undefined ? undefined : JSON.stringify(body),
      caller: CALLER,
    });
  return { h, ctx, waiting, call };
}

const errorOf = (response: { body: unknown }) => (response.body as { error: string }).error;

describe('GET /backups/archiving', () => {
  it('answers the status document report, its wait bounded by the runtime budget', async () => {
    // Prepare
    const { waiting, call } = setUp({ waitBudgetMs: 300_000, pgBinDir: '/usr/lib/postgresql/15/bin' });
    // Act
    const response = await call('GET', '/backups/archiving');
    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.body).toMatchObject({ procedure: 'archiving.status', status: 'succeeded', state: 'active' });
    expect(waiting.requests.map((r) => [r.document, r.parameters.Action])).toEqual([
      [WAL_ARCHIVING_DOCUMENT, 'status'],
    ]);
    expect(waiting.requests[0]?.parameters.TimeoutSeconds).toBe('300');
    expect(waiting.requests[0]?.timeoutMs).toBeLessThanOrEqual(300_000);
    expect(waiting.requests[0]?.parameters.PgBinDir).toBe('/usr/lib/postgresql/15/bin');
  });

  it('answers 409 naming the missing section when the config has no backups.archiving, running nothing', async () => {
    // Prepare
    const { waiting, call } = setUp({}, archivedConfig(null));
    // Act
    const response = await call('GET', '/backups/archiving');
    // Assess
    expect(response.statusCode).toBe(409);
    expect(response.body).toMatchObject({ code: 'ARCHIVING_NOT_CONFIGURED' });
    expect(errorOf(response)).toContain('no backups.archiving section');
    expect(waiting.requests).toEqual([]);
  });
});

describe('POST /backups/archiving/enable', () => {
  it('answers 409 "restart needed" without confirmation when archive_mode waits for a restart, and audits it', async () => {
    // Prepare
    const { h, waiting, call } = setUp();
    // Act
    const response = await call('POST', '/backups/archiving/enable', {});
    // Assess
    expect(response.statusCode).toBe(409);
    expect(response.body).toMatchObject({ code: 'RESTART_NEEDED', state: 'restart-needed', exitCode: 4 });
    expect(errorOf(response)).toMatch(/^RESTART NEEDED: archive_mode is off/);
    expect(waiting.requests.map((r) => r.parameters.Restart)).toEqual(['no']);
    const audit = await h.ctx.control.listAudit({});
    expect(audit.map((a) => [a.action, a.statusCode, a.caller])).toEqual([['archiving.enable', 409, CALLER]]);
  });

  it('refuses a confirmed restart with 409 naming the window to open when none covers the database, running nothing', async () => {
    // Prepare
    const { waiting, call } = setUp();
    // A window over another service does not cover the database.
    const other = await call('POST', '/maintenance', { subjects: ['auth'], minutes: 30, reason: 'auth upgrade' });
    expect(other.statusCode).toBe(201);
    // Act
    const response = await call('POST', '/backups/archiving/enable', { confirm: true });
    // Assess
    expect(response.statusCode).toBe(409);
    expect(response.body).toMatchObject({ code: 'NO_MAINTENANCE_WINDOW' });
    expect(errorOf(response)).toContain('needs an open maintenance window covering postgresql');
    expect(waiting.requests).toEqual([]);
  });

  it('restarts (Restart=yes) when confirmed inside a window covering the database, and answers active', async () => {
    // Prepare
    const { waiting, call } = setUp();
    const window = await call('POST', '/maintenance', { subjects: ['postgresql'], minutes: 30, reason: 'archiving' });
    expect(window.statusCode).toBe(201);
    // Act
    const response = await call('POST', '/backups/archiving/enable', { confirm: true, timeoutSeconds: 600 });
    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.body).toMatchObject({ procedure: 'archiving.enable', status: 'succeeded', state: 'active' });
    expect(waiting.requests.map((r) => [r.parameters.Restart, r.parameters.TimeoutSeconds])).toEqual([['yes', '600']]);
  });

  it.each([
    [{ confirm: 'yes' }, /^confirm: /],
    [{ restart: true }, /restart/],
    [{ timeoutSeconds: 0 }, /^timeoutSeconds: /],
  ])('answers 400 naming the field for %j, running nothing', async (body, message) => {
    // Prepare
    const { waiting, call } = setUp();
    // Act
    const response = await call('POST', '/backups/archiving/enable', body);
    // Assess
    expect(response.statusCode).toBe(400);
    expect(errorOf(response)).toMatch(message);
    expect(waiting.requests).toEqual([]);
  });
});

describe('POST /backups/archiving/base-backup', () => {
  it('waits for the base backup on one host and answers its manifest', async () => {
    // Prepare
    const { waiting, call } = setUp();
    // Act
    const response = await call('POST', '/backups/archiving/base-backup', {});
    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.body).toMatchObject({
      procedure: 'archiving.base-backup',
      state: 'published',
      report: { id: 'base-20261201T020000Z' },
    });
    expect(waiting.requests.map((r) => r.parameters.Action)).toEqual(['base-backup']);
  });

  it('dispatches it where the runtime says long documents outlast its wait (AWS): 202 with the command id', async () => {
    // Prepare
    const dispatch = recording(() => ({ status: 'pending', output: 'sent\n', commandId: 'cmd-0456' }));
    const { waiting, call } = setUp({ dispatch, waitBudgetMs: 780_000 });
    // Act
    const response = await call('POST', '/backups/archiving/base-backup', {});
    // Assess
    expect(response.statusCode).toBe(202);
    expect(response.body).toMatchObject({ status: 'pending', state: 'pending', commandId: 'cmd-0456' });
    expect((response.body as { error?: string }).error).toBeUndefined();
    expect(dispatch.requests.map((r) => [r.document, r.parameters.Action])).toEqual([
      [WAL_ARCHIVING_DOCUMENT, 'base-backup'],
    ]);
    expect(waiting.requests).toEqual([]);
  });

  it('answers 400 for a body it does not know, running nothing', async () => {
    // Prepare
    const { waiting, call } = setUp();
    // Act
    const response = await call('POST', '/backups/archiving/base-backup', { id: 'mine' });
    // Assess
    expect(response.statusCode).toBe(400);
    expect(errorOf(response)).toContain('id');
    expect(waiting.requests).toEqual([]);
  });
});

describe('POST /backups/pitr-restore', () => {
  const good = { target: '2026-12-01T01:30:00Z', scratchDirectory: '/srv/scratch/', port: 55432 };

  it('restores into the scratch cluster and answers the report, bounded by the wait budget', async () => {
    // Prepare
    const { waiting, call } = setUp({ waitBudgetMs: 600_000 });
    // Act
    const response = await call('POST', '/backups/pitr-restore', { ...good, timeoutSeconds: 3600 });
    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.body).toMatchObject({
      procedure: 'backup.pitr-restore',
      status: 'succeeded',
      report: { rtoMs: 2100 },
    });
    const sent = waiting.requests[0];
    expect(sent?.document).toBe(PITR_RESTORE_DOCUMENT);
    expect(sent?.parameters).toMatchObject({
      TargetTime: '2026-12-01T01:30:00.000Z',
      ScratchDirectory: '/srv/scratch',
      ScratchPort: '55432',
      TimeoutSeconds: '600',
    });
  });

  it.each([
    [{ ...good, target: 'yesterday' }, /^target must be latest or a time with its zone/],
    [{ ...good, target: '2026-12-01T01:30:00' }, /^target must be latest or a time with its zone/],
    [{ ...good, scratchDirectory: 'scratch' }, /^scratchDirectory must be an absolute directory/],
    [{ ...good, scratchDirectory: '/srv/../etc' }, /^scratchDirectory must be an absolute directory/],
    [{ ...good, port: 5432 }, /^port 5432 is the production database's port/],
    [{ ...good, port: 80 }, /^port must be a TCP port from 1024 to 65535/],
    [{ ...good, port: '55432' }, /^port: /],
    [{ scratchDirectory: '/srv/scratch', port: 55432 }, /^target: /],
    [{ ...good, baseBackupId: '../base' }, /^baseBackupId: must be a base backup id/],
    [{ ...good, production: true }, /production/],
  ])('answers 400 naming the field for %j, running nothing', async (body, message) => {
    // Prepare
    const { waiting, call } = setUp();
    // Act
    const response = await call('POST', '/backups/pitr-restore', body);
    // Assess
    expect(response.statusCode).toBe(400);
    expect(errorOf(response)).toMatch(message);
    expect(waiting.requests).toEqual([]);
  });

  it('answers 502 with the document reason when the restore fails', async () => {
    // Prepare
    const { ctx, call } = setUp();
    const failing = recording(() => ({
      status: 'failed',
      exitCode: 1,
      output: 'no base backup finished before the target\n',
    }));
    Object.assign(ctx, { commands: failing });
    // Act
    const response = await call('POST', '/backups/pitr-restore', good);
    // Assess
    expect(response.statusCode).toBe(502);
    expect(response.body).toMatchObject({
      status: 'failed',
      report: null,
      error: 'no base backup finished before the target',
    });
  });
});
