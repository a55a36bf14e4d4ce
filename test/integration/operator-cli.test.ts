import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditCommand } from '../../lambdas/cli/audit-command.ts';
import { healthCommand } from '../../lambdas/cli/health-command.ts';
import { maintenanceCommand } from '../../lambdas/cli/maintenance-command.ts';
import { runCli } from '../../lambdas/cli/run-cli.ts';
import { serviceCommand } from '../../lambdas/cli/service-command.ts';
import { systemClock } from '../../lambdas/ports.ts';
import { freePort } from '../support/local-servers.ts';
import { configDir, fleetYaml } from '../support/test-fleet.ts';

/*
 * The operator commands in-process through the operator API (--target local), on a state directory of their own and
 * a fleet of two services at free ports whose directories do not exist: the real SSM documents run here, so a stop
 * finds nothing to stop and a start fails at once. What is checked is the way in: the request, the exit status, the
 * printed outcome and the audit trail.
 */

let configs: Awaited<ReturnType<typeof configDir>>;
let config = '';
let stateDir = '';

beforeAll(async () => {
  configs = await configDir();
  const services = [
    { name: 'alpha', port: await freePort() },
    { name: 'beta', port: await freePort() },
  ];
  config = await configs.write('fleet.yaml', fleetYaml({ services }));
  stateDir = await mkdtemp(join(tmpdir(), 'acgs-operator-cli-'));
});

afterAll(async () => {
  await configs?.remove();
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
});

async function acgsOps(args: readonly string[], state = stateDir) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(
    [...args, '--config', config, '--state', state],
    [serviceCommand, maintenanceCommand, auditCommand, healthCommand],
    {
      stdout: (t) => {
        stdout += t;
      },
      stderr: (t) => {
        stderr += t;
      },
      clock: systemClock,
    },
  );
  return { code, stdout, stderr };
}

async function audit() {
  const run = await acgsOps(['audit', '--json']);
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as { action: string; caller: string; statusCode: number; outcome: string }[];
}

describe('acgs-ops through the operator API on this host', () => {
  it('opens a window of whole minutes (rounded up), lists it, ends it, and the audit trail says who did it', async () => {
    const opened = await acgsOps(['maintenance', 'start', '--for', '90s', '--reason', 'disk swap', '--by', 'alice']);
    expect(opened.code).toBe(0);
    const [, id, from, until] = /^opened (mw-[a-z0-9]+) for \* from (\S+) until (\S+)\n$/.exec(opened.stdout) ?? [];
    expect(Date.parse(until ?? '') - Date.parse(from ?? '')).toBe(2 * 60_000);
    expect((await acgsOps(['maintenance', 'list'])).stdout).toContain(`${id} `);
    expect(await acgsOps(['maintenance', 'end', id ?? '', '--by', 'bob'])).toMatchObject({
      code: 0,
      stdout: `ended ${id}\n`,
    });
    expect((await audit()).slice(0, 2)).toMatchObject([
      { action: 'maintenance.end', caller: 'bob', statusCode: 200, outcome: 'succeeded' },
      { action: 'maintenance.start', caller: 'alice', statusCode: 201, outcome: 'succeeded' },
    ]);
    const text = await acgsOps(['audit', '--limit', '1']);
    expect(text.stdout).toMatch(
      /^AT +CALLER +ACTION +SUBJECTS +STATUS +OUTCOME +DETAIL\n\S+ +bob +maintenance\.end +\* +200 +succeeded +ended mw-/,
    );
  });

  it('runs restart-all: stops both, stops at the first start that fails, names it, exits 1, and audits it', async () => {
    const run = await acgsOps(['service', 'restart-all', '--by', 'carol']);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      'restart-all stopped at alpha: it did not come back healthy (failed); not started: beta',
    );
    expect(run.stdout).toMatch(/ succeeded +acgs-stop-all beta, alpha \(/);
    expect(run.stdout).toMatch(/ not-run +acgs-start-service beta /);
    expect(run.stderr).toMatch(
      /^maintenance window mw-\S+ for \* until \S+\nacgs-ops service restart-all: failed \(exit 1\)\n$/,
    );
    expect((await audit())[0]).toMatchObject({
      action: 'fleet.restart-all',
      caller: 'carol',
      statusCode: 502,
      outcome: 'failed',
    });
    // The window ended with the procedure.
    expect((await acgsOps(['maintenance', 'list'])).stdout).toBe('no current or future maintenance windows\n');
  }, 60_000);

  it('refuses bad input with exit 64 and one line naming it, before any state is created', async () => {
    const fresh = join(stateDir, 'never-created');
    const cases: [string[], RegExp][] = [
      [['service', 'restart-all', 'alpha', 'nosuch'], /unknown service nosuch/],
      [['service', 'restart', 'alpha', '--for', '5m'], /--for applies to stop, stop-all and restart-all only/],
      [['service', 'stop', 'alpha; touch /tmp/x'], /unknown service alpha; touch/],
      [['service', 'stop', 'alpha', '--target', 'aws', '--url', 'https://x.example'], /--region|--by/],
      [['service', 'stop', 'alpha', '--target', 'gcp'], /--target must be local or aws/],
      [['audit', '--limit', '0'], /no control-plane state|--limit/],
    ];
    for (const [args, message] of cases) {
      const env = { AWS_REGION: process.env.AWS_REGION, AWS_DEFAULT_REGION: process.env.AWS_DEFAULT_REGION };
      delete process.env.AWS_REGION;
      delete process.env.AWS_DEFAULT_REGION;
      try {
        const run = await acgsOps(args, fresh);
        expect({ args, code: run.code }).toEqual({ args, code: 64 });
        expect(run.stderr).toMatch(message);
        expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
      } finally {
        if (env.AWS_REGION !== undefined) process.env.AWS_REGION = env.AWS_REGION;
        if (env.AWS_DEFAULT_REGION !== undefined) process.env.AWS_DEFAULT_REGION = env.AWS_DEFAULT_REGION;
      }
    }
    expect(existsSync(fresh)).toBe(false);
  });

  it('names the flag when the audit query is refused', async () => {
    expect(await acgsOps(['audit', '--limit', '0'])).toMatchObject({
      code: 64,
      stderr: expect.stringMatching(/^acgs-ops: --limit: /),
    });
    expect(await acgsOps(['audit', '--since', 'yesterday'])).toMatchObject({
      code: 64,
      stderr: expect.stringMatching(/^acgs-ops: --since: /),
    });
  });

  it('waits for health by probing here, and names each service still not healthy at the timeout', async () => {
    const run = await acgsOps(['health', 'wait', 'alpha', 'beta', '--timeout', '1s']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^not healthy: alpha down \(.+\)\nnot healthy: beta down \(.+\)\n$/);
    expect((await audit())[0]).toMatchObject({ action: 'health.wait', statusCode: 503 });
    expect(await acgsOps(['health', 'wait', 'alpha', '--timeout', '20m'])).toMatchObject({
      code: 64,
      stderr: expect.stringContaining('--timeout must be between'),
    });
    expect(await acgsOps(['health', 'wait', 'alpha', '--timeout', '5s', '--since', 'noon'])).toMatchObject({
      code: 64,
      stderr: expect.stringMatching(/^acgs-ops: --since: /),
    });
  }, 30_000);
});
