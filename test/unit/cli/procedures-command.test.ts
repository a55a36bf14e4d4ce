import { describe, expect, it } from 'vitest';
import { backupCommand } from '../../../lambdas/cli/backup-command.ts';
import type { CliCommand } from '../../../lambdas/cli/command.ts';
import { healthCommand } from '../../../lambdas/cli/health-command.ts';
import { incidentCommand } from '../../../lambdas/cli/incident-command.ts';
import { maintenanceCommand } from '../../../lambdas/cli/maintenance-command.ts';
import { proceduresCommand } from '../../../lambdas/cli/procedures-command.ts';
import { runCli } from '../../../lambdas/cli/run-cli.ts';
import { serviceCommand } from '../../../lambdas/cli/service-command.ts';
import { statusCommand } from '../../../lambdas/cli/status-command.ts';
import { ALERTS, proceduresFor } from '../../../lambdas/core/procedures.ts';
import { ManualClock } from '../../support/harness.ts';

/** Every command bin/acgs-ops.ts registers that a procedure may name. */
const COMMANDS: readonly CliCommand[] = [
  healthCommand,
  statusCommand,
  incidentCommand,
  serviceCommand,
  maintenanceCommand,
  backupCommand,
  proceduresCommand,
];

/** What an operator fills in for each word in capitals. */
const FILL: Record<string, string> = { ID: 'INC-1', NAME: 'auth', TEXT: 'text', DURATION: '30m' };
const MISSING_CONFIG = '/nonexistent/acgs-ops-procedures-test.yaml';

async function cli(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, COMMANDS, {
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

describe('acgs-ops procedures', () => {
  it('names only command lines the real CLI parser accepts: each gets as far as reading its config', async () => {
    // Prepare: every command line of every procedure, filled in, pointed at a config that does not exist, so that
    // each is parsed and validated by its command and stops before it reads any state or runs anything.
    const lines = proceduresFor().flatMap((p) => p.steps.flatMap((s) => s.commands));
    expect(lines.length).toBeGreaterThan(30);
    for (const line of lines) {
      const command = COMMANDS.find((c) => c.name === line[0]);
      expect(command, `acgs-ops ${line.join(' ')}`).toBeDefined();
      const filled = line.map((w) => FILL[w] ?? w);
      // A command may describe an action in its own usage block (`health wait`): that block's options apply.
      const blocks = (command?.usage ?? '').split(/(?=Usage: )/);
      const usage = blocks.find((b) => b.startsWith(`Usage: acgs-ops ${line[0]} ${line[1]} `)) ?? blocks[0] ?? '';
      const extra = usage.includes('--state') ? ['--state', '/nonexistent/state'] : [];
      // Act
      const run = await cli([...filled, ...extra, '--config', MISSING_CONFIG]);
      // Assess
      expect({ line: filled.join(' '), code: run.code, err: run.err }).toEqual({
        line: filled.join(' '),
        code: 64,
        err: `acgs-ops: cannot read config ${MISSING_CONFIG}: no such file\n`,
      });
    }
  });

  it("prints the severity's and the alert's steps with their commands", async () => {
    // Act
    const run = await cli(['procedures', '--severity', 'P1', '--alert', 'security']);
    // Assess
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/^CRITICAL \(P1\)/);
    expect(run.out).toContain(
      '  1. Acknowledge incident\n       $ acgs-ops incident list\n       $ acgs-ops incident ack ID',
    );
    expect(run.out).toContain('Security Alert');
    expect(run.out).toContain('$ acgs-ops incident check ID assess --note TEXT');
    expect(run.out).not.toContain('Service Down Alert');
  });

  it('lists every procedure without options, and one per filter', async () => {
    // Act
    const all = JSON.parse((await cli(['procedures', '--json'])).out) as { procedures: { id: string }[] };
    const slow = JSON.parse((await cli(['procedures', '--alert', 'slow', '--json'])).out) as typeof all;
    // Assess
    expect(all.procedures.map((p) => p.id)).toEqual([
      'severity:P1',
      'severity:P2',
      'severity:P3',
      ...ALERTS.map((a) => `alert:${a}`),
    ]);
    expect(slow.procedures.map((p) => p.id)).toEqual(['alert:slow']);
  });

  it('exits 64 naming the option for an unknown severity or alert', async () => {
    // Act
    const runs = await Promise.all([
      cli(['procedures', '--severity', 'P4']),
      cli(['procedures', '--alert', 'fire']),
      cli(['procedures', '--alert', 'slow; touch /tmp/x']),
      cli(['procedures', 'security']),
    ]);
    // Assess
    expect(runs.map((r) => [r.code, r.err])).toEqual([
      [64, 'acgs-ops: --severity: must be P1, P2 or P3\n'],
      [64, 'acgs-ops: --alert: must be one of service-down, slow, database, security\n'],
      [64, 'acgs-ops: --alert: must be one of service-down, slow, database, security\n'],
      [64, 'acgs-ops: unexpected argument security for "acgs-ops procedures" (see acgs-ops procedures --help)\n'],
    ]);
  });
});
