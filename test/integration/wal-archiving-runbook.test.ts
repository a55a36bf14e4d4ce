import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { resolveParameters } from '../../lambdas/core/automation-document.ts';
import { parseFleetConfig } from '../../lambdas/core/config.ts';
import { WAL_ARCHIVING_DOCUMENT } from '../../lambdas/core/document-names.ts';
import { loadRunbook } from '../../lambdas/local/automation-runner.ts';
import type { CommandRequest, CommandResult, CommandRunner } from '../../lambdas/ports.ts';
import type { BackupDestination, ControlPlaneContext } from '../../lambdas/use-cases/context.ts';
import { handleApiRequest } from '../../lambdas/use-cases/operator-api.ts';
import { createHarness, T0 } from '../support/harness.ts';
import { runLocalRunbook } from '../support/local-runbook.ts';
import { MemoryObjectStore } from '../support/memory-object-store.ts';

/*
 * acgs-wal-archiving, the Automation runbook, run from its file by the local interpreter against the operator API
 * in-process (the deployed file is the tested file); the database host's document is a scripted fake that needs a
 * restart to turn archive_mode on.
 */

const EXECUTION = '5e1f0c2a-0000-4000-8000-0000000000aa';
const NAME = 'acgs-wal-archiving';

function archivedConfig() {
  const raw = parse(readFileSync(new URL('../../config/acgs-1.yaml', import.meta.url), 'utf8')) as {
    backups: Record<string, unknown>;
  };
  raw.backups.archiving = { directory: '/srv/archive' };
  const parsed = parseFleetConfig(stringify(raw));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
}

/** acgs-wal-archiving on a server whose archive_mode is off until a restart. */
function host(): CommandRunner & { requests: CommandRequest[] } {
  const requests: CommandRequest[] = [];
  let restarted = false;
  const line = (fields: Record<string, unknown>) => JSON.stringify({ kind: 'acgs-ops.wal-archiving', ...fields });
  return {
    requests,
    run: async (request): Promise<CommandResult> => {
      requests.push(request);
      const { Action, Restart } = request.parameters;
      if (Action === 'enable' && Restart === 'no' && !restarted)
        return {
          status: 'failed',
          exitCode: 4,
          output: `${line({ action: 'enable', state: 'restart-needed' })}\nRESTART NEEDED: archive_mode is off and becomes on only when PostgreSQL restarts\n`,
        };
      if (Action === 'enable') restarted = true;
      return {
        status: 'succeeded',
        exitCode: 0,
        output: `${line({ action: Action, state: restarted ? 'active' : 'restart-needed', archiveMode: restarted ? 'on' : 'off' })}\n`,
      };
    },
  };
}

function setUp(destination: Partial<BackupDestination> = {}) {
  const h = createHarness(archivedConfig());
  h.clock.set(T0);
  const commands = host();
  const ctx: ControlPlaneContext = {
    ...h.ctx,
    commands,
    backups: { objects: new MemoryObjectStore(), ...destination },
  };
  const run = (params: Record<string, string>) =>
    runLocalRunbook(ctx, h.clock, NAME, params, { executionId: EXECUTION });
  return { h, ctx, commands, run };
}

const actions = (commands: { requests: CommandRequest[] }) =>
  commands.requests.map(
    (r) =>
      `${r.document} ${r.parameters.Action}${r.parameters.Action === 'enable' ? ` Restart=${r.parameters.Restart}` : ''}`,
  );

describe('the acgs-wal-archiving runbook through the local interpreter', () => {
  it('reports the status by default', async () => {
    // Prepare
    const { commands, run } = setUp();
    // Act
    const report = await run({});
    // Assess
    expect(report.status).toBe('Success');
    expect(report.steps.map((s) => `${s.name} ${s.status}`)).toEqual([
      'chooseAction Success',
      'archivingStatus Success',
    ]);
    expect(report.outputs['archivingStatus.State']).toBe('restart-needed');
    expect(report.outputs['archivingStatus.Report']).toMatchObject({ archiveMode: 'off' });
    expect(actions(commands)).toEqual([`${WAL_ARCHIVING_DOCUMENT} status`]);
  });

  it('fails with "restart needed" when enabling without ConfirmRestart, then shows the status', async () => {
    // Prepare
    const { commands, run } = setUp();
    // Act
    const report = await run({ Action: 'enable' });
    // Assess
    expect(report.status).toBe('Failed');
    expect(report.failure).toMatch(/^enable: the operator API answered 409: RESTART NEEDED: archive_mode is off/);
    expect(report.steps.map((s) => `${s.name} ${s.status}`)).toEqual([
      'chooseAction Success',
      'enable Failed',
      'archivingStatus Success',
    ]);
    expect(actions(commands)).toEqual([
      `${WAL_ARCHIVING_DOCUMENT} enable Restart=no`,
      `${WAL_ARCHIVING_DOCUMENT} status`,
    ]);
  });

  it('refuses ConfirmRestart outside a maintenance window covering the database, sending no enable', async () => {
    // Prepare
    const { commands, run } = setUp();
    // Act
    const report = await run({ Action: 'enable', ConfirmRestart: 'true' });
    // Assess
    expect(report.status).toBe('Failed');
    expect(report.failure).toMatch(
      /^enable: the operator API answered 409: restarting PostgreSQL needs an open maintenance window covering postgresql/,
    );
    expect(actions(commands)).toEqual([`${WAL_ARCHIVING_DOCUMENT} status`]);
  });

  it('restarts with ConfirmRestart inside a window covering the database, and archiving is active', async () => {
    // Prepare
    const { ctx, commands, run } = setUp();
    const window = await handleApiRequest(ctx, {
      method: 'POST',
      path: '/maintenance',
      query: {},
      body: JSON.stringify({ subjects: ['postgresql'], minutes: 30, reason: 'enable WAL archiving' }),
      caller: 'ops',
    });
    expect(window.statusCode).toBe(201);
    // Act
    const report = await run({ Action: 'enable', ConfirmRestart: 'true' });
    // Assess
    expect(report.failure).toBeUndefined();
    expect(report.status).toBe('Success');
    expect(report.outputs).toMatchObject({ 'enable.State': 'active', 'archivingStatus.State': 'active' });
    expect(actions(commands)).toEqual([
      `${WAL_ARCHIVING_DOCUMENT} enable Restart=yes`,
      `${WAL_ARCHIVING_DOCUMENT} status`,
    ]);
  });

  it('sends a base backup and answers its command id where the runtime dispatches it (AWS)', async () => {
    // Prepare
    const dispatched: CommandRequest[] = [];
    const dispatch: CommandRunner = {
      run: async (request) => {
        dispatched.push(request);
        return { status: 'pending', output: 'sent\n', commandId: 'cmd-base-7' };
      },
    };
    const { commands, run } = setUp({ dispatch });
    // Act
    const report = await run({ Action: 'base-backup' });
    // Assess
    expect(report.status).toBe('Success');
    expect(report.outputs).toMatchObject({ 'baseBackup.Status': 'pending', 'baseBackup.CommandId': 'cmd-base-7' });
    expect(dispatched.map((r) => r.parameters.Action)).toEqual(['base-backup']);
    expect(commands.requests).toEqual([]);
  });

  it('refuses an action it does not know, naming the parameter, before anything runs', () => {
    // Prepare
    const document = loadRunbook(NAME);
    // Act
    const resolved = resolveParameters(document, { Action: 'drop-archive' });
    // Assess
    expect(resolved.ok).toBe(false);
    expect(JSON.stringify(resolved.ok ? [] : resolved.errors)).toContain('Action');
  });
});
