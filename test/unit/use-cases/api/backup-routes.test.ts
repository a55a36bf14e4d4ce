import { describe, expect, it } from 'vitest';
import { RESTORE_DOCUMENT } from '../../../../lambdas/core/document-names.ts';
import type { CommandRequest, CommandResult, CommandRunner } from '../../../../lambdas/ports.ts';
import type { BackupDestination, ControlPlaneContext } from '../../../../lambdas/use-cases/context.ts';
import { handleApiRequest } from '../../../../lambdas/use-cases/operator-api.ts';
import { createHarness, MINUTE, T0 } from '../../../support/harness.ts';
import { MemoryObjectStore, publishBackup } from '../../../support/memory-object-store.ts';

/*
 * The backup routes as the AWS operator Lambda wires them: the backup dispatched (its end arrives by the command's
 * status-change event), the drill and the restore bounded by what the Lambda may wait.
 */

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

async function setUp(destination: Partial<BackupDestination> = {}) {
  const h = createHarness();
  const objects = new MemoryObjectStore();
  const id = await publishBackup(objects, T0 - 60 * MINUTE);
  const waiting = recording(() => ({ status: 'succeeded', exitCode: 0, output: 'done\n' }));
  const ctx: ControlPlaneContext = { ...h.ctx, commands: waiting, backups: { objects, ...destination } };
  const call = (method: string, path: string, body?: unknown) =>
    handleApiRequest(
      ctx,
      {
        method,
        path,
        query: {},
        body: body === undefined ? undefined : JSON.stringify(body),
        caller: 'arn:aws:iam::123456789012:user/ops',
      },
      // A health wait moves the test's clock instead of sleeping.
      { sleep: async (ms) => h.clock.advance(ms) },
    );
  return { h, ctx, id, waiting, call };
}

describe('the backup routes in a runtime that dispatches backups and bounds its waits (AWS)', () => {
  it('answers POST /backups with 202 and the command id when the backup is dispatched, waiting for nothing', async () => {
    // Prepare
    const dispatch = recording(() => ({ status: 'pending', output: 'sent\n', commandId: 'cmd-0123' }));
    const { waiting, call } = await setUp({ dispatch, bucket: 'acgs-backups' });
    // Act
    const response = await call('POST', '/backups', {});
    // Assess
    expect(response.statusCode).toBe(202);
    expect(response.body).toMatchObject({ procedure: 'backup.run', status: 'pending', commandId: 'cmd-0123' });
    expect(dispatch.requests.map((r) => r.document)).toEqual(['acgs-backup-database']);
    expect(dispatch.requests[0]?.parameters.Destination).toBe('s3://acgs-backups/backups/acgs_pgp_db/');
    expect(waiting.requests).toEqual([]);
  });

  it('bounds the drill document to the wait budget', async () => {
    // Prepare
    const { waiting, call } = await setUp({ waitBudgetMs: 600_000 });
    // Act
    await call('POST', '/backups/drill', {});
    // Assess
    expect(waiting.requests[0]?.document).toBe('acgs-restore-drill');
    expect(Number(waiting.requests[0]?.parameters.TimeoutSeconds)).toBeLessThanOrEqual(600);
    expect(waiting.requests[0]?.timeoutMs).toBeLessThanOrEqual(600_000);
  });

  it('gives each database step of a restore a third of the wait budget, and refuses a longer timeout before anything runs', async () => {
    // Prepare
    const { id, waiting, call } = await setUp({ waitBudgetMs: 600_000 });
    // Act
    const tooLong = await call('POST', `/backups/${id}/restore`, { confirm: true, timeoutSeconds: 3600 });
    const ran = waiting.requests.length;
    await call('POST', `/backups/${id}/restore`, { confirm: true });
    // Assess
    expect(tooLong.statusCode).toBe(400);
    expect((tooLong.body as { error: string }).error).toMatch(/^timeoutSeconds: must be at most 200 seconds here/);
    expect(ran).toBe(0);
    const restoreSteps = waiting.requests.filter((r) => r.document === RESTORE_DOCUMENT);
    expect(restoreSteps.map((r) => [r.parameters.Action, r.parameters.TimeoutSeconds])).toEqual([
      ['safety-dump', '200'],
      ['restore', '200'],
    ]);
  });

  it('answers 409 naming why when the runtime has no backup store wired', async () => {
    // Prepare
    const h = createHarness();
    // Act
    const response = await handleApiRequest(h.ctx, {
      method: 'GET',
      path: '/backups',
      query: {},
      body: undefined,
      caller: 'ops',
    });
    // Assess
    expect(response.statusCode).toBe(409);
    expect((response.body as { error: string }).error).toContain('no backup store wired');
  });
});

describe('GET /backups', () => {
  it('carries the dumps-only recovery point (the daily schedule + the last dump), running nothing and recording nothing', async () => {
    // Prepare
    const { h, waiting, call } = await setUp();
    h.clock.set(T0);
    // Act
    const response = await call('GET', '/backups');
    // Assess
    const { judgement } = response.body as {
      judgement: { recovery?: { archiving: boolean; point: { basis: string; lossMs?: number; met: boolean } } };
    };
    expect(response.statusCode).toBe(200);
    expect(judgement.recovery).toMatchObject({
      archiving: false,
      point: { basis: 'dump-schedule', lossMs: 24 * 60 * MINUTE + MINUTE, met: false },
    });
    expect(waiting.requests).toEqual([]);
    expect(await h.store.listIncidents({})).toEqual([]);
  });
});
