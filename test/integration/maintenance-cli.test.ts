import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStateStore } from '../../lambdas/adapters/local/sqlite-state-store.ts';
import { runAcgsOps } from '../support/run-cli.ts';
import { configDir, fleetYaml } from '../support/test-fleet.ts';

/*
 * Duration options of the operator commands, run as a real `acgs-ops` process against a state directory of its own.
 * Nothing here reaches a service: every command either stops at its options or only reads and writes windows.
 */

let configs: Awaited<ReturnType<typeof configDir>>;
let config = '';
let stateDir = '';

beforeAll(async () => {
  configs = await configDir();
  config = await configs.write('fleet.yaml', fleetYaml({ services: [{ name: 'auth', port: 1 }] }));
  stateDir = await mkdtemp(join(tmpdir(), 'acgs-ops-state-'));
});

afterAll(async () => {
  await configs?.remove();
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
});

function acgsOps(...args: string[]) {
  return runAcgsOps([...args, '--config', config, '--state', stateDir]);
}

describe('duration options', () => {
  it.each([
    [['service', 'stop', 'auth', '--for', '99999999999999999999d'], '--for must be between 1m and 7d'],
    [['service', 'stop-all', '--for', '8d'], '--for must be between 1m and 7d'],
    [['service', 'stop', 'auth', '--for', '0ms'], '--for must be between 1m and 7d'],
    [['maintenance', 'start', '--for', '99999999999999999999d', '--reason', 'x'], '--for must be between 1m and 7d'],
    [['maintenance', 'start', '--for', '30d', '--reason', 'x'], '--for must be between 1m and 7d'],
    [['maintenance', 'start', '--for', '1h', '--in', '1000d', '--reason', 'x'], '--in must be between 0ms and 30d'],
  ])('refuses %j with exit 64 and one line naming the option', async (args, message) => {
    // Act
    const run = await acgsOps(...args);
    // Assess
    expect(run.code).toBe(64);
    expect(run.stderr).toContain(`acgs-ops: ${message}, got "`);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('opens no window when --for is refused', async () => {
    // Prepare: the state exists (a refused command creates none, so none of the runs above made it).
    new SqliteStateStore(join(stateDir, 'state.db')).close();
    // Act
    await acgsOps('service', 'stop', 'auth', '--for', '99999999999999999999d');
    const list = await acgsOps('maintenance', 'list');
    // Assess
    expect(list).toMatchObject({ code: 0, stdout: 'no current or future maintenance windows\n' });
  });
});

describe('a window stored with an end no date can hold (by an older version)', () => {
  const start = Date.UTC(2026, 11, 3, 8, 0);

  beforeAll(async () => {
    const store = new SqliteStateStore(join(stateDir, 'state.db'));
    try {
      await store.putMaintenanceWindow({
        id: 'mw-forever',
        subjects: ['auth'],
        startsAt: start,
        // What `--for 99999999999999999999d` stored before durations had bounds.
        endsAt: start + 1e20 * 86_400_000,
        reason: 'acgs-ops service stop by old-version',
        createdBy: 'old-version',
      });
    } finally {
      store.close();
    }
  });

  it('is listed, with an end that says never', async () => {
    // Act
    const run = await acgsOps('maintenance', 'list');
    // Assess
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^mw-forever +auth +2026-12-03T08:00:00\.000Z +never \(end beyond year 275760\) /m);
  });

  it('is shown by status', async () => {
    // Act
    const run = await acgsOps('status');
    // Assess
    expect(run.code).not.toBe(70);
    expect(run.stdout).toContain('maintenance: mw-forever (auth) until never (end beyond year 275760)');
  });

  it('can be ended', async () => {
    // Act
    const end = await acgsOps('maintenance', 'end', 'mw-forever');
    const list = await acgsOps('maintenance', 'list');
    // Assess
    expect(end).toMatchObject({ code: 0, stdout: 'ended mw-forever\n' });
    expect(list.stdout).not.toContain('mw-forever');
  });
});
