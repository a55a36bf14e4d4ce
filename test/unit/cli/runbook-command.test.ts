import { describe, expect, it } from 'vitest';
import { runCli } from '../../../lambdas/cli/run-cli.ts';
import { runbookCommand } from '../../../lambdas/cli/runbook-command.ts';
import { ManualClock } from '../../support/harness.ts';

async function cli(args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(['runbook', ...args], [runbookCommand], {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    clock: new ManualClock(),
  });
  return { code, stdout, stderr };
}

describe('acgs-ops runbook', () => {
  it('lists the eleven runbooks with the heading of each description', async () => {
    const { code, stdout } = await cli(['list']);
    expect(code).toBe(0);
    expect(stdout.split('\n').filter((l) => l.startsWith('acgs-'))).toHaveLength(11);
    expect(stdout).toMatch(/acgs-emergency-stop-all\s+ACGS emergency stop all/);
    expect(stdout).toMatch(/acgs-wal-archiving\s+ACGS WAL archiving/);
  });

  it('shows a runbook: its description, typed parameters with what they allow, steps and outputs', async () => {
    const { code, stdout } = await cli(['show', 'acgs-emergency-restart-all']);
    expect(code).toBe(0);
    expect(stdout).toContain('# ACGS emergency restart all');
    expect(stdout).toMatch(/WaitSeconds\s+Integer\s+240\s+60\|120\|180\|240/);
    expect(stdout).toMatch(/startEach\.waitHealthy\s+aws:invokeLambdaFunction\s+step:declareNotHealthy/);
    expect(stdout).toContain('Outputs: stopAll.Status, stopAll.WindowId');
  });

  it('refuses an unknown runbook, action or a malformed --param (exit 64)', async () => {
    expect(await cli(['show', 'acgs-nope'])).toMatchObject({
      code: 64,
      stderr: expect.stringContaining('"acgs-nope" is not a runbook'),
    });
    expect(await cli(['frobnicate'])).toMatchObject({
      code: 64,
      stderr: expect.stringContaining('unknown action "frobnicate"'),
    });
    expect(await cli(['run', 'acgs-dr-drill', '--param', 'novalue'])).toMatchObject({
      code: 64,
      stderr: expect.stringContaining('--param novalue must be KEY=VALUE'),
    });
    expect(await cli(['list', '--param', 'a=b'])).toMatchObject({ code: 64 });
  });
});
