import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStateStore } from '../../lambdas/adapters/local/sqlite-state-store.ts';
import { backupCommand } from '../../lambdas/cli/backup-command.ts';
import { serviceCommand } from '../../lambdas/cli/service-command.ts';
import { statusCommand } from '../../lambdas/cli/status-command.ts';
import { type CliRun, runAcgsOps } from '../support/run-cli.ts';
import { newIncident } from '../support/state-store-contract.ts';

/**
 * Broken config and broken state directories, with real files on disk: every case ends in one line naming the
 * path and what is wrong, exit 64 (usage) or 74 (I/O), never a stack trace; read-only commands never create state.
 */
let root: string;
let n = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'acgs-state-cli-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function freshDir(): Promise<string> {
  const dir = join(root, `case-${n++}`);
  await mkdir(dir);
  return dir;
}

/** A state directory holding a real control-plane store, closed. */
async function stateDirWithStore(): Promise<string> {
  const dir = await freshDir();
  new SqliteStateStore(join(dir, 'state.db')).close();
  return dir;
}

/**
 * The read-only mount case needs root and util-linux (`unshare`, `mount`): without them the test fails on this
 * assertion, naming what is missing.
 */
function requireRootWith(...tools: string[]): void {
  const missing = [
    ...(process.getuid?.() === 0 ? [] : ['root']),
    ...tools.filter((tool) => spawnSync('sh', ['-c', 'command -v "$0"', tool]).status !== 0),
  ];
  expect(missing, `this test needs root and ${tools.join(', ')}; missing`).toEqual([]);
}

function expectOneLineError(run: CliRun, code: number, ...parts: (string | RegExp)[]): void {
  expect({ code: run.code, stdout: run.stdout }).toEqual({ code, stdout: '' });
  expect(run.stderr).toMatch(/^acgs-ops: [^\n]+\n$/);
  for (const part of parts) expect(run.stderr).toMatch(part);
}

/** Commands that only read the state (status, which reports no state as critical, is tested on its own). */
const READ_COMMANDS: readonly (readonly string[])[] = [
  ['incident', 'list'],
  ['incident', 'show', 'INC-1'],
  ['maintenance', 'list'],
];

const BILLION_LAUGHS = `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
`;

describe('acgs-ops with a broken config', () => {
  it('exits 64 naming the file and the alias bomb when the config is a YAML billion laughs', async () => {
    // Prepare
    const dir = await freshDir();
    const config = join(dir, 'bomb.yaml');
    await writeFile(config, BILLION_LAUGHS);
    // Act
    const run = await runAcgsOps(['health', '--config', config]);
    // Assess
    expect(run.code).toBe(64);
    expect(run.stderr).toContain(`invalid config ${config}`);
    expect(run.stderr).toMatch(/too many YAML aliases/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('acgs-ops with a broken state directory', () => {
  it('exits 74 naming the file and leaves it alone when state.db is not an SQLite database', async () => {
    // Prepare
    const dir = await freshDir();
    const file = join(dir, 'state.db');
    const junk = 'these are not the bytes of an SQLite database, '.repeat(20);
    await writeFile(file, junk);
    // Act
    const read = await runAcgsOps(['incident', 'list', '--state', dir]);
    const write = await runAcgsOps(['incident', 'ack', 'INC-1', '--state', dir]);
    // Assess
    for (const run of [read, write]) expectOneLineError(run, 74, file, /not an SQLite database/, /--state/);
    expect(readFileSync(file, 'utf8')).toBe(junk);
  });

  it('exits 74 and does not overwrite a zero-byte state.db, for reading and for writing', async () => {
    // Prepare
    const dir = await freshDir();
    const file = join(dir, 'state.db');
    await writeFile(file, '');
    // Act
    const read = await runAcgsOps(['incident', 'list', '--state', dir]);
    const write = await runAcgsOps([
      'incident',
      'declare',
      '--type',
      'manual',
      '--severity',
      'P3',
      '--title',
      'x',
      '--state',
      dir,
    ]);
    // Assess
    for (const run of [read, write]) expectOneLineError(run, 74, file, /is empty \(0 bytes\)/);
    expect(statSync(file).size).toBe(0);
  });

  it('exits 64 when --state names a file, for reading and for writing', async () => {
    // Prepare
    const dir = await freshDir();
    const file = join(dir, 'not-a-dir');
    await writeFile(file, 'x');
    // Act
    const read = await runAcgsOps(['incident', 'list', '--state', file]);
    const status = await runAcgsOps(['status', '--state', file]);
    const write = await runAcgsOps(['maintenance', 'start', '--for', '1h', '--reason', 'x', '--state', file]);
    // Assess
    for (const run of [read, status, write]) expectOneLineError(run, 64, file, /is a file, not a directory/);
    expect(readFileSync(file, 'utf8')).toBe('x');
  });

  it('exits 64 and creates nothing when a read-only command is pointed at a directory without state', async () => {
    // Prepare
    const dir = await freshDir();
    const typo = join(dir, 'stat-typo');
    // Act
    const runs = await Promise.all(READ_COMMANDS.map((command) => runAcgsOps([...command, '--state', typo])));
    const empty = await runAcgsOps(['incident', 'list', '--state', dir]);
    // Assess
    for (const run of runs) expectOneLineError(run, 64, `no control-plane state in ${typo}`, /--state/);
    expect(existsSync(typo)).toBe(false);
    expectOneLineError(empty, 64, `no control-plane state in ${dir}`);
    expect(existsSync(join(dir, 'state.db'))).toBe(false);
  });

  it('exits 2 (critical) saying no daemon has run there, and creates nothing, when status finds no state', async () => {
    // Prepare: a host where the daemon never started: no directory, or a directory without state.db.
    const dir = await freshDir();
    const typo = join(dir, 'stat-typo');
    // Act
    const missing = await runAcgsOps(['status', '--state', typo]);
    const empty = await runAcgsOps(['status', '--state', dir]);
    const json = await runAcgsOps(['status', '--json', '--state', dir]);
    // Assess
    for (const [run, where] of [
      [missing, typo],
      [empty, dir],
    ] as const) {
      expect(run.code).toBe(2);
      expect(run.stdout.split('\n')[0]).toBe(
        `daemon has never run here: no control-plane state in ${where} (start it with acgs-ops run, or pass --state to name its state directory)`,
      );
    }
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout).daemon).toEqual({
      alive: false,
      stoppedCleanly: false,
      stoppedAt: null,
      silentSince: null,
      heartbeat: null,
      ageMs: null,
    });
    expect(json.stderr).toBe(`acgs-ops: daemon has never run here: no control-plane state in ${dir}\n`);
    expect(existsSync(typo)).toBe(false);
    expect(existsSync(join(dir, 'state.db'))).toBe(false);
  });

  it('lists 74 in the exit status of every command whose usage lists exit codes and that opens state', () => {
    // Act
    const exitStatus = [backupCommand, serviceCommand, statusCommand].map((c) => ({
      name: c.name,
      listed: /Exit status:[\s\S]*\b74 the state cannot be opened/.test(c.usage),
    }));
    // Assess
    expect(exitStatus).toEqual([
      { name: 'backup', listed: true },
      { name: 'service', listed: true },
      { name: 'status', listed: true },
    ]);
  });

  it('lists backups without needing or creating state', async () => {
    // Prepare
    const typo = join(await freshDir(), 'stat-typo');
    // Act
    const run = await runAcgsOps(['backup', 'list', '--state', typo]);
    // Assess
    expect(run.code).toBe(0);
    expect(existsSync(typo)).toBe(false);
  });

  it('creates no state for diagnostics and backup prune, which only look at the host and the backup directory', async () => {
    // Prepare
    const typo = join(await freshDir(), 'stat-typo');
    // Act
    const diagnostics = await runAcgsOps(['service', 'diagnostics', 'auth', '--state', typo]);
    const dryRun = await runAcgsOps(['backup', 'prune', '--dry-run', '--state', typo]);
    // Assess
    expect(existsSync(typo)).toBe(false);
    expect(diagnostics.stdout).toContain('=== end of diagnostics ===');
    expect(dryRun.stderr).not.toMatch(/no control-plane state|state file/);
  });

  it('exits 64 and creates no state when maintenance start or service stop is given input it refuses', async () => {
    // Prepare
    const typo = join(await freshDir(), 'stat-typo');
    // Act
    const runs = await Promise.all([
      runAcgsOps(['maintenance', 'start', '--for', '99d', '--reason', 'x', '--state', typo]),
      runAcgsOps(['maintenance', 'start', '--for', '1h', '--in', '99d', '--reason', 'x', '--state', typo]),
      runAcgsOps(['maintenance', 'start', '--for', '1h', '--reason', 'x', '--service', 'nope', '--state', typo]),
      runAcgsOps(['service', 'stop', 'nope', '--state', typo]),
    ]);
    // Assess
    for (const run of runs) expectOneLineError(run, 64);
    expect(runs.map((r) => r.stderr)).toEqual([
      expect.stringMatching(/--for/),
      expect.stringMatching(/--in/),
      expect.stringMatching(/unknown service or check: nope/),
      expect.stringMatching(/unknown service nope/),
    ]);
    expect(existsSync(typo)).toBe(false);
  });

  it('exits 0 and lists nothing when a read-only command finds an empty store', async () => {
    // Prepare
    const dir = await stateDirWithStore();
    // Act
    const run = await runAcgsOps(['incident', 'list', '--state', dir]);
    // Assess
    expect({ code: run.code, stdout: run.stdout, stderr: run.stderr }).toEqual({
      code: 0,
      stdout: 'no incidents\n',
      stderr: '',
    });
  });

  it('creates the directory and the store for a command that writes', async () => {
    // Prepare
    const dir = join(await freshDir(), 'new', 'state');
    // Act
    const started = await runAcgsOps(['maintenance', 'start', '--for', '1h', '--reason', 'patching', '--state', dir]);
    const listed = await runAcgsOps(['maintenance', 'list', '--state', dir]);
    // Assess
    expect(started.code).toBe(0);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('patching');
  });

  it('reads the state on a read-only mount, and exits 74 naming the directory for a command that writes', async () => {
    // Prepare: a real store holding an incident, then the directory bind-mounted read-only in a private mount
    // namespace (as root, chmod would not stop the writes; a read-only mount does).
    requireRootWith('unshare', 'mount');
    const dir = await freshDir();
    const store = new SqliteStateStore(join(dir, 'state.db'));
    const incident = newIncident('auth-down');
    await store.createIncident(incident, []);
    store.close();
    // Act
    const read = await runAcgsOps(['incident', 'list', '--state', dir], { readOnlyDir: dir });
    const write = await runAcgsOps(['incident', 'ack', incident.id, '--state', dir], { readOnlyDir: dir });
    // Assess
    expect({ code: read.code, stderr: read.stderr }).toEqual({ code: 0, stderr: '' });
    expect(read.stdout).toContain(incident.id);
    expectOneLineError(write, 74, dir, /read-only/);
  });
});
