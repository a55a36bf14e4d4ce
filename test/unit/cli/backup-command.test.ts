import { afterEach, describe, expect, it, vi } from 'vitest';
import type { OperatorApiCall } from '../../../lambdas/cli/aws-operator-client.ts';
import { backupCommand } from '../../../lambdas/cli/backup-command.ts';
import { UsageError } from '../../../lambdas/core/errors.ts';
import { ManualClock } from '../../support/harness.ts';

/*
 * `acgs-ops backup archiving|base-backup|restore --to --target aws`: the request each sends to the operator API (the
 * signed client is replaced by a recording fake) and how each answer becomes an exit status, as on this host.
 */

const sent: OperatorApiCall[] = [];
let answer: { statusCode: number; body: unknown } = { statusCode: 200, body: {} };
vi.mock('../../../lambdas/cli/aws-operator-client.ts', () => ({
  sendOperatorApi: async (_url: string, _region: string, call: OperatorApiCall) => {
    sent.push(call);
    return answer;
  },
}));

afterEach(() => {
  sent.length = 0;
});

const AWS = ['--target', 'aws', '--url', 'https://abc.lambda-url.eu-west-1.on.aws/', '--region', 'eu-west-1'];

async function backup(args: readonly string[]) {
  let out = '';
  let err = '';
  const code = await backupCommand.run([...args, ...AWS], {
    stdout: (t) => {
      out += t;
    },
    stderr: (t) => {
      err += t;
    },
    clock: new ManualClock(),
  });
  return { code, out, err };
}

const procedure = (fields: Record<string, unknown>) => ({
  procedure: 'archiving.enable',
  services: [],
  output: '',
  report: null,
  ...fields,
});

describe('acgs-ops backup archiving --target aws', () => {
  it('enable without --yes: POST /backups/archiving/enable {confirm: false}; a restart needed is exit 4 with the reason', async () => {
    // Prepare
    answer = {
      statusCode: 409,
      body: procedure({
        status: 'failed',
        exitCode: 4,
        state: 'restart-needed',
        code: 'RESTART_NEEDED',
        output: 'RESTART NEEDED: archive_mode is off\n',
        error: 'RESTART NEEDED: archive_mode is off',
      }),
    };
    // Act
    const run = await backup(['archiving', 'enable']);
    // Assess
    expect(sent).toEqual([
      expect.objectContaining({ method: 'POST', path: '/backups/archiving/enable', body: { confirm: false } }),
    ]);
    expect(run.out).toBe('archiving enable: restart-needed\nRESTART NEEDED: archive_mode is off\n');
    expect(run.code).toBe(4);
  });

  it('enable --yes outside a window is a usage error naming the window, as on this host', async () => {
    // Prepare
    answer = {
      statusCode: 409,
      body: {
        error: 'restarting PostgreSQL needs an open maintenance window covering postgresql',
        code: 'NO_MAINTENANCE_WINDOW',
      },
    };
    // Act
    const run = backup(['archiving', 'enable', '--yes']);
    // Assess
    await expect(run).rejects.toThrow(UsageError);
    await expect(run).rejects.toThrow('needs an open maintenance window covering postgresql');
    expect(sent.map((c) => c.body)).toEqual([{ confirm: true }]);
  });

  it('base-backup: dispatched in AWS, exit 0 naming the command', async () => {
    // Prepare
    answer = {
      statusCode: 202,
      body: procedure({ procedure: 'archiving.base-backup', status: 'pending', state: 'pending', commandId: 'cmd-9' }),
    };
    // Act
    const run = await backup(['base-backup', '--timeout', '1800']);
    // Assess
    expect(sent).toEqual([
      expect.objectContaining({
        method: 'POST',
        path: '/backups/archiving/base-backup',
        body: { timeoutSeconds: 1800 },
      }),
    ]);
    expect(run.out).toContain('base backup: pending (command cmd-9)');
    expect(run.code).toBe(0);
  });

  it('status: GET /backups/archiving, exit 0 only when archiving is active', async () => {
    // Prepare
    answer = { statusCode: 200, body: procedure({ procedure: 'archiving.status', status: 'succeeded', state: 'off' }) };
    // Act
    const off = await backup(['archiving', 'status']);
    answer = {
      statusCode: 200,
      body: procedure({ procedure: 'archiving.status', status: 'succeeded', state: 'active' }),
    };
    const active = await backup(['archiving', 'status']);
    // Assess
    expect(sent.map((c) => `${c.method} ${c.path}`)).toEqual(['GET /backups/archiving', 'GET /backups/archiving']);
    expect([off.code, active.code]).toEqual([1, 0]);
  });

  it('restore --to: POST /backups/pitr-restore with the target, the scratch directory and port; a 400 is exit 64', async () => {
    // Prepare
    answer = { statusCode: 400, body: { error: "port 5432 is the production database's port" } };
    // Act
    const run = backup(['restore', '--to', 'latest', '--scratch', '/srv/scratch/', '--port', '5432']);
    // Assess
    await expect(run).rejects.toThrow("port 5432 is the production database's port");
    expect(sent).toEqual([
      expect.objectContaining({
        method: 'POST',
        path: '/backups/pitr-restore',
        body: { target: 'latest', scratchDirectory: '/srv/scratch', port: 5432 },
      }),
    ]);
  });

  it('refuses --pg-bin with --target aws before sending anything', async () => {
    // Act
    const run = backup(['archiving', 'status', '--pg-bin', '/usr/lib/postgresql/15/bin']);
    // Assess
    await expect(run).rejects.toThrow('--pg-bin is for --target local');
    expect(sent).toEqual([]);
  });
});

describe('acgs-ops backup restore --to --production --target aws', () => {
  it.each([
    [['--scratch', '/srv/scratch'], /--production and --scratch are mutually exclusive/],
    [['--port', '55432'], /--port applies to --scratch only/],
  ])('refuses %j with --production before sending anything', async (extra, message) => {
    // Act
    const run = backup(['restore', '--to', 'latest', '--production', ...extra]);
    // Assess
    await expect(run).rejects.toThrow(message);
    expect(sent).toEqual([]);
  });

  it('refuses --production without --to', async () => {
    // Act
    const run = backup(['restore', 'acgs_pgp_db-20261201T020000Z', '--production', '--yes']);
    // Assess
    await expect(run).rejects.toThrow('--production applies to restore --to TIME|latest only');
    expect(sent).toEqual([]);
  });

  it('without --yes: POST /backups/pitr-restore/production {confirm: false}; the plan answered (400) is exit 64', async () => {
    // Prepare
    answer = {
      statusCode: 400,
      body: { error: 'restoring production to latest would open a maintenance window ... Nothing was done.' },
    };
    // Act
    const run = backup(['restore', '--to', 'latest', '--production']);
    // Assess
    await expect(run).rejects.toThrow(/would open a maintenance window.*Nothing was done/);
    expect(sent).toEqual([
      expect.objectContaining({
        method: 'POST',
        path: '/backups/pitr-restore/production',
        body: { target: 'latest', confirm: false },
      }),
    ]);
  });

  it('with --yes: prints each step and the safety copy, exit 0', async () => {
    // Prepare
    answer = {
      statusCode: 200,
      body: {
        status: 'succeeded',
        target: 'latest',
        steps: [{ name: 'pitr-restore', status: 'succeeded', durationMs: 2300, detail: 'restored' }],
        report: { baseBackup: 'base-1', downMs: 2300, unpackMs: 900, replayMs: 1200, newestTransactionAt: null },
        safetyCopy: '/var/lib/postgresql/15/main.before-pitr-20261201T020000Z',
        baseBackup: 'base-2',
      },
    };
    // Act
    const { code, out } = await backup(['restore', '--to', 'latest', '--production', '--yes']);
    // Assess
    expect(code).toBe(0);
    expect(out).toContain('point-in-time restore of production to latest: succeeded');
    expect(out).toContain(
      'safety copy (the data directory as it was): /var/lib/postgresql/15/main.before-pitr-20261201T020000Z',
    );
    expect(sent.at(-1)?.body).toEqual({ target: 'latest', confirm: true });
  });

  it('a 409 PITR_NOT_RESTORABLE is exit 1, said on stderr', async () => {
    // Prepare
    answer = {
      statusCode: 409,
      body: { error: 'nothing was done: no base backup finished before ...', code: 'PITR_NOT_RESTORABLE' },
    };
    // Act
    const { code, err } = await backup(['restore', '--to', '2026-11-01T00:00:00Z', '--production', '--yes']);
    // Assess
    expect(code).toBe(1);
    expect(err).toContain('PITR_NOT_RESTORABLE');
  });
});
