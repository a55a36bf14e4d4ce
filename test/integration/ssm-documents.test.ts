import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_DOCUMENTS_DIR, ShellCommandRunner } from '../../lambdas/adapters/local/shell-command-runner.ts';
import { FLEET_DOCUMENT_PARAMETERS, SERVICE_DOCUMENT_PARAMETERS } from '../../lambdas/core/document-parameters.ts';
import { encodeServiceList, type ServiceCommandSpec } from '../../lambdas/core/service-list.ts';
import { parseSsmDocument, renderScript, type SsmDocument } from '../../lambdas/core/ssm-document.ts';
import type { CommandResult } from '../../lambdas/ports.ts';
import { expectEveryHostileValueRejected } from '../support/hostile-values.ts';

/*
 * Every document run through ShellCommandRunner against real processes: a fake service (test/support/fake-service.mjs)
 * started and stopped by port. Every process a test causes writes its pid into PID_DIR (or is spawned here), and
 * afterEach kills them all by process group.
 */

const FAKE_SERVICE = fileURLToPath(new URL('../support/fake-service.mjs', import.meta.url));
const NODE = process.execPath;
const COMMAND_TIMEOUT_MS = 20_000;

let root = '';
let pidDir = '';
let stateDir = '';
const spawned = new Set<number>();
const runner = new ShellCommandRunner();

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'acgs-ssm-it-'));
  pidDir = join(root, 'pids');
  stateDir = join(root, 'state');
  mkdirSync(pidDir);
});

afterEach(async () => {
  const pids = [...spawned, ...readdirSync(pidDir).map(Number)];
  for (const pid of pids) killGroup(pid);
  await Promise.all(pids.map((pid) => waitFor(() => !alive(pid), 3_000, `pid ${pid} to exit`)));
  for (const file of readdirSync(pidDir)) unlinkSync(join(pidDir, file));
  spawned.clear();
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

function killGroup(pid: number): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Alive and not a zombie (a killed service re-parented to a non-reaping init stays a zombie). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function waitFor(condition: () => boolean | Promise<boolean>, withinMs: number, what: string): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

interface Health {
  readonly status: string;
  readonly pid: number;
  readonly cwd: string;
}

async function health(port: number): Promise<Health | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2_000) });
    return (await response.json()) as Health;
  } catch {
    return undefined;
  }
}

/** A fake service of the fleet: its directory exists, its start command runs fake-service.mjs on `port`. */
function service(name: string, port: number, flags: readonly string[] = []): ServiceCommandSpec {
  const directory = join(root, 'services', name);
  mkdirSync(directory, { recursive: true });
  return {
    name,
    port,
    directory,
    startCommand: [NODE, FAKE_SERVICE, '--port', String(port), '--pid-dir', pidDir, ...flags].join(' '),
    logFile: join(root, 'logs', `${name}_service.log`),
    healthUrl: `http://127.0.0.1:${port}/health`,
  };
}

/** The parameters a service document declares, for `spec`. */
function paramsFor(
  document: keyof typeof SERVICE_DOCUMENT_PARAMETERS,
  spec: ServiceCommandSpec,
  overrides: Record<string, string> = {},
): Record<string, string> {
  const all: Record<string, string> = {
    ServiceName: spec.name,
    Port: String(spec.port),
    Directory: spec.directory,
    StartCommand: spec.startCommand,
    LogFile: spec.logFile,
    HealthUrl: spec.healthUrl,
    TimeoutSeconds: '10',
    GraceSeconds: '2',
    StateDirectory: stateDir,
    Force: 'false',
    LogLines: '20',
    DatabaseHost: '127.0.0.1',
    DatabasePort: '5432',
    RedisHost: '127.0.0.1',
    RedisPort: '6379',
    ...overrides,
  };
  return Object.fromEntries(SERVICE_DOCUMENT_PARAMETERS[document].map((name) => [name, all[name] ?? '']));
}

function run(document: string, parameters: Record<string, string>, using = runner): Promise<CommandResult> {
  return using.run({ document, parameters, timeoutMs: COMMAND_TIMEOUT_MS });
}

/** A process holding `port` that is not the service: started here, from another directory. */
async function startForeign(port: number, flags: readonly string[] = []): Promise<ChildProcess> {
  const child = spawn(NODE, [FAKE_SERVICE, '--port', String(port), ...flags], {
    cwd: root,
    detached: true,
    stdio: 'ignore',
  });
  if (child.pid === undefined) throw new Error('could not spawn the fake service');
  spawned.add(child.pid);
  await waitFor(() => listening(port), 5_000, `port ${port} to listen`);
  return child;
}

function expectSucceeded(result: CommandResult): void {
  expect(result.status, result.output).toBe('succeeded');
  expect(result.exitCode).toBe(0);
}

function lastLine(output: string): string {
  return output.trimEnd().split('\n').at(-1) ?? '';
}

describe('acgs-start-service', () => {
  it('starts the service from its directory and waits until it is healthy', async () => {
    // Prepare
    const spec = service('alpha', await freePort());
    // Act
    const result = await run('acgs-start-service', paramsFor('acgs-start-service', spec));
    // Assess
    expectSucceeded(result);
    expect(result.output).toContain('alpha: healthy (HTTP 200');
    const body = await health(spec.port);
    expect(body).toMatchObject({ status: 'healthy', cwd: spec.directory });
    expect(readFileSync(spec.logFile, 'utf8')).toContain(`listening on 127.0.0.1:${spec.port}`);
  });

  it('checks health only when the service already runs from its directory', async () => {
    // Prepare
    const spec = service('alpha', await freePort());
    expectSucceeded(await run('acgs-start-service', paramsFor('acgs-start-service', spec)));
    const before = await health(spec.port);
    // Act
    const result = await run('acgs-start-service', paramsFor('acgs-start-service', spec));
    // Assess
    expectSucceeded(result);
    expect(result.output).toContain('already running');
    expect((await health(spec.port))?.pid).toBe(before?.pid);
  });

  it('refuses with exit 2 when another process holds the port, and leaves that process alone', async () => {
    // Prepare
    const spec = service('alpha', await freePort());
    const foreign = await startForeign(spec.port);
    // Act
    const result = await run('acgs-start-service', paramsFor('acgs-start-service', spec));
    // Assess
    expect(result.status).toBe('failed');
    expect(result.exitCode).toBe(2);
    expect(lastLine(result.output)).toMatch(/refusing to start alpha: port \d+ is held by pid \d+ \(node\)/);
    expect((await health(spec.port))?.pid).toBe(foreign.pid);
  });

  it('fails fast with the last log lines when the command exits at once', async () => {
    // Prepare
    const spec = service('alpha', await freePort(), ['--fail-on-start']);
    const started = Date.now();
    // Act
    const result = await run('acgs-start-service', paramsFor('acgs-start-service', spec, { TimeoutSeconds: '30' }));
    // Assess
    expect(result.status).toBe('failed');
    expect(result.exitCode).toBe(1);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result.output).toContain('fatal: cannot connect to database acgs_pgp_db');
    expect(lastLine(result.output)).toMatch(/alpha failed to start: pid \d+ exited before .* answered healthy/);
  });

  it('fails after TimeoutSeconds when the service answers 200 but calls itself unhealthy', async () => {
    // Prepare
    const spec = service('alpha', await freePort(), ['--status', 'unhealthy']);
    // Act
    const result = await run('acgs-start-service', paramsFor('acgs-start-service', spec, { TimeoutSeconds: '1' }));
    // Assess
    expect(result.status).toBe('failed');
    expect(lastLine(result.output)).toContain('HTTP 200 but the body reports unhealthy');
  });

  it('fails, naming the command, when the start command does not exist', async () => {
    // Prepare
    const spec = { ...service('alpha', await freePort()), startCommand: 'no-such-binary --port 1' };
    // Act
    const result = await run('acgs-start-service', paramsFor('acgs-start-service', spec));
    // Assess
    expect(result.status).toBe('failed');
    expect(lastLine(result.output)).toContain('command no-such-binary not found');
  });
});

describe('acgs-stop-service', () => {
  it('stops the service listening on the port and frees the port', async () => {
    // Prepare
    const spec = service('alpha', await freePort());
    expectSucceeded(await run('acgs-start-service', paramsFor('acgs-start-service', spec)));
    const pid = (await health(spec.port))?.pid ?? 0;
    // Act
    const result = await run('acgs-stop-service', paramsFor('acgs-stop-service', spec));
    // Assess
    expectSucceeded(result);
    expect(result.output).toContain('stopped; port');
    expect(await listening(spec.port)).toBe(false);
    expect(alive(pid)).toBe(false);
  });

  it('succeeds and says so when nothing is running', async () => {
    // Prepare
    const spec = service('alpha', await freePort());
    // Act
    const result = await run('acgs-stop-service', paramsFor('acgs-stop-service', spec));
    // Assess
    expectSucceeded(result);
    expect(result.output).toContain('alpha: not running');
  });

  it('kills a process that ignores SIGTERM once the grace period is over', async () => {
    // Prepare
    const spec = service('alpha', await freePort());
    const stubborn = await startForeign(spec.port, ['--ignore-term']);
    const started = Date.now();
    // Act
    const result = await run('acgs-stop-service', paramsFor('acgs-stop-service', spec, { GraceSeconds: '1' }));
    // Assess
    expectSucceeded(result);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(result.output).toContain('still running after 1s; sending SIGKILL');
    expect(await listening(spec.port)).toBe(false);
    await waitFor(() => !alive(stubborn.pid ?? 0), 2_000, 'the stubborn process to be gone');
  });
});

describe('acgs-restart-service', () => {
  it('replaces the running process with a new, healthy one', async () => {
    // Prepare
    const spec = service('alpha', await freePort());
    expectSucceeded(await run('acgs-start-service', paramsFor('acgs-start-service', spec)));
    const before = await health(spec.port);
    // Act
    const result = await run('acgs-restart-service', paramsFor('acgs-restart-service', spec));
    // Assess
    expectSucceeded(result);
    const after = await health(spec.port);
    expect(after?.status).toBe('healthy');
    expect(after?.pid).not.toBe(before?.pid);
    expect(alive(before?.pid ?? 0)).toBe(false);
  });

  it('starts a service that was down', async () => {
    // Prepare
    const spec = service('alpha', await freePort());
    // Act
    const result = await run('acgs-restart-service', paramsFor('acgs-restart-service', spec));
    // Assess
    expectSucceeded(result);
    expect((await health(spec.port))?.status).toBe('healthy');
  });
});

describe('isolation', () => {
  it('stops the service, refuses starts and restarts until released or forced', async () => {
    // Prepare
    const spec = service('alpha', await freePort());
    const marker = join(stateDir, 'isolated', 'alpha');
    expectSucceeded(await run('acgs-start-service', paramsFor('acgs-start-service', spec)));

    // Act & Assess: isolate
    const isolated = await run('acgs-isolate-service', paramsFor('acgs-isolate-service', spec));
    expectSucceeded(isolated);
    expect(existsSync(marker)).toBe(true);
    expect(await listening(spec.port)).toBe(false);

    // Act & Assess: start and restart refused, nothing started
    for (const document of ['acgs-start-service', 'acgs-restart-service'] as const) {
      const refused = await run(document, paramsFor(document, spec));
      expect(refused.status, document).toBe('failed');
      expect(refused.exitCode, document).toBe(2);
      expect(lastLine(refused.output), document).toContain('refusing to start alpha: it is isolated');
      expect(await listening(spec.port), document).toBe(false);
    }

    // Act & Assess: a forced start starts it and releases the isolation
    const forced = await run('acgs-start-service', paramsFor('acgs-start-service', spec, { Force: 'true' }));
    expectSucceeded(forced);
    expect(forced.output).toContain('isolation released');
    expect(existsSync(marker)).toBe(false);
    expect((await health(spec.port))?.status).toBe('healthy');
  });

  it('releases through acgs-release-service, which is idempotent', async () => {
    // Prepare
    const spec = service('beta', await freePort());
    expectSucceeded(await run('acgs-isolate-service', paramsFor('acgs-isolate-service', spec)));
    // Act
    const released = await run('acgs-release-service', paramsFor('acgs-release-service', spec));
    const again = await run('acgs-release-service', paramsFor('acgs-release-service', spec));
    const started = await run('acgs-start-service', paramsFor('acgs-start-service', spec));
    // Assess
    expectSucceeded(released);
    expect(released.output).toContain('beta: isolation released');
    expectSucceeded(again);
    expect(again.output).toContain('beta: not isolated');
    expectSucceeded(started);
  });
});

describe('acgs-start-all and acgs-stop-all', () => {
  it('start every listed service, then stop every one', async () => {
    // Prepare
    const specs = [
      service('one', await freePort()),
      service('two', await freePort()),
      service('three', await freePort()),
    ];
    const Services = encodeServiceList(specs);
    // Act
    const started = await run('acgs-start-all', { Services, TimeoutSeconds: '10', StateDirectory: stateDir });
    // Assess
    expectSucceeded(started);
    expect(lastLine(started.output)).toBe('3 of 3 services started and healthy');
    for (const spec of specs) expect((await health(spec.port))?.cwd, spec.name).toBe(spec.directory);

    // Act
    const stopped = await run('acgs-stop-all', { Services, GraceSeconds: '2' });
    // Assess
    expectSucceeded(stopped);
    expect(lastLine(stopped.output)).toBe('all 3 services stopped; their ports are free');
    for (const spec of specs) expect(await listening(spec.port), spec.name).toBe(false);
  });

  it('start-all fails naming the service that did not come up, and skips an isolated one', async () => {
    // Prepare
    const good = service('good', await freePort());
    const broken = service('broken', await freePort(), ['--fail-on-start']);
    const held = service('held', await freePort());
    expectSucceeded(await run('acgs-isolate-service', paramsFor('acgs-isolate-service', held)));
    // Act
    const result = await run('acgs-start-all', {
      Services: encodeServiceList([good, broken, held]),
      TimeoutSeconds: '10',
      StateDirectory: stateDir,
    });
    // Assess
    expect(result.status).toBe('failed');
    expect(lastLine(result.output)).toBe(
      'acgs-start-all: 1 of 3 services healthy; failed: broken; skipped (isolated): held',
    );
    expect((await health(good.port))?.status).toBe('healthy');
    expect(await listening(held.port)).toBe(false);
    expectSucceeded(await run('acgs-release-service', paramsFor('acgs-release-service', held)));
  });

  it('stop-all accepts short name-and-port entries and succeeds when nothing runs', async () => {
    // Act
    const result = await run('acgs-stop-all', { Services: `alpha ${await freePort()},beta ${await freePort()}` });
    // Assess
    expectSucceeded(result);
    expect(result.output).toContain('alpha: not running');
    expect(result.output).toContain('beta: not running');
  });
});

describe('acgs-collect-diagnostics', () => {
  it('collects every section and succeeds whatever tools are missing', async () => {
    // Prepare
    const spec = service('alpha', await freePort());
    expectSucceeded(await run('acgs-start-service', paramsFor('acgs-start-service', spec)));
    // Act
    const result = await run(
      'acgs-collect-diagnostics',
      paramsFor('acgs-collect-diagnostics', spec, { DatabasePort: String(await freePort()), LogLines: '5' }),
    );
    // Assess
    expectSucceeded(result);
    for (const section of [
      `=== processes listening on port ${spec.port} ===`,
      `=== health (${spec.healthUrl}) ===`,
      '=== listening TCP sockets ===',
      `=== log: last 5 lines of ${spec.logFile} ===`,
      '=== disk (df -h) ===',
      '=== memory ===',
      '=== load ===',
      '=== postgresql (pg_isready',
      '=== redis (redis-cli',
    ])
      expect(result.output).toContain(section);
    expect(result.output).toContain(`pid ${(await health(spec.port))?.pid} runs from ${spec.directory}`);
    expect(result.output).toContain('healthy: HTTP 200');
    expect(result.output).toContain(`listening on 127.0.0.1:${spec.port}`);
    expect(result.output).toMatch(/no response|not installed/);
    expect(result.output).toMatch(/PONG|Could not connect|not installed/);
  });
});

describe('without ss, lsof, fuser and curl', () => {
  it('finds, stops and health-checks through /proc and /dev/tcp', async () => {
    // Prepare: a PATH of every tool on this machine but those four
    const bin = join(root, 'bin-without-tools');
    mkdirSync(bin, { recursive: true });
    const missing = new Set(['ss', 'lsof', 'fuser', 'curl']);
    for (const dir of ['/usr/local/bin', '/usr/bin', '/bin', '/usr/sbin', '/sbin']) {
      if (!existsSync(dir)) continue;
      for (const tool of readdirSync(dir)) {
        if (missing.has(tool) || existsSync(join(bin, tool))) continue;
        symlinkSync(join(dir, tool), join(bin, tool));
      }
    }
    const bare = new ShellCommandRunner(DEFAULT_DOCUMENTS_DIR, { env: { PATH: bin, LANG: 'C' } });
    const spec = service('alpha', await freePort());
    const foreign = await startForeign(spec.port);
    // Act
    const refused = await run('acgs-start-service', paramsFor('acgs-start-service', spec), bare);
    const stopped = await run('acgs-stop-service', paramsFor('acgs-stop-service', spec), bare);
    const started = await run('acgs-start-service', paramsFor('acgs-start-service', spec), bare);
    // Assess
    expect(refused.exitCode, refused.output).toBe(2);
    expect(lastLine(refused.output)).toContain(`pid ${foreign.pid} (node)`);
    expectSucceeded(stopped);
    expectSucceeded(started);
    expect(started.output).toContain('alpha: healthy (HTTP 200');
  });
});

describe('ShellCommandRunner', () => {
  /** A scratch documents directory with test documents. */
  function scratchRunner(documents: Record<string, string[]>): ShellCommandRunner {
    const dir = mkdtempSync(join(root, 'docs-'));
    for (const [name, lines] of Object.entries(documents)) {
      const doc = {
        schemaVersion: '2.2',
        description: name,
        parameters: { PidFile: { type: 'String', description: 'pid file', allowedPattern: '^(/[A-Za-z0-9_.-]+)+$' } },
        mainSteps: [{ action: 'aws:runShellScript', name: 'run', inputs: { runCommand: lines } }],
      };
      writeFileSync(join(dir, `${name}.yaml`), JSON.stringify(doc));
    }
    return new ShellCommandRunner(dir);
  }

  const pidFile = () => join(root, `bg-${Math.random().toString(36).slice(2)}.pid`);

  it('kills the whole process group when the command times out', async () => {
    // Prepare
    const runner = scratchRunner({
      slow: [
        '#!/bin/bash',
        'set -euo pipefail',
        "PID_FILE='{{ PidFile }}'",
        'sleep 60 & echo $! > "$PID_FILE"',
        'echo waiting',
        'sleep 60',
      ],
    });
    const file = pidFile();
    const started = Date.now();
    // Act
    const result = await runner.run({ document: 'slow', parameters: { PidFile: file }, timeoutMs: 500 });
    // Assess
    expect(result.status).toBe('timed-out');
    expect(result.output).toContain('waiting');
    expect(lastLine(result.output)).toBe('timed out after 500 ms; its process group was killed');
    expect(Date.now() - started).toBeLessThan(3_000);
    await waitFor(() => !alive(Number(readFileSync(file, 'utf8'))), 2_000, 'the background sleep to be killed');
  });

  it('leaves no stray background process behind when the script ends', async () => {
    // Prepare
    const runner = scratchRunner({
      stray: [
        '#!/bin/bash',
        'set -euo pipefail',
        "PID_FILE='{{ PidFile }}'",
        'sleep 60 & echo $! > "$PID_FILE"',
        'exit 0',
      ],
    });
    const file = pidFile();
    // Act
    const result = await runner.run({ document: 'stray', parameters: { PidFile: file }, timeoutMs: 5_000 });
    // Assess
    expectSucceeded(result);
    await waitFor(() => !alive(Number(readFileSync(file, 'utf8'))), 2_000, 'the stray sleep to be killed');
  });

  it('reports a non-zero exit as failed with its code and keeps only the last 64 KiB of output', async () => {
    // Prepare
    const runner = scratchRunner({
      loud: [
        '#!/bin/bash',
        'set -euo pipefail',
        "PID_FILE='{{ PidFile }}'",
        'for i in $(seq 1 20000); do echo "line $i of output"; done',
        'echo "reason: broken" >&2',
        'exit 7',
      ],
    });
    // Act
    const result = await runner.run({ document: 'loud', parameters: { PidFile: pidFile() }, timeoutMs: 10_000 });
    // Assess
    expect(result).toMatchObject({ status: 'failed', exitCode: 7 });
    expect(Buffer.byteLength(result.output)).toBeLessThan(64 * 1024 + 100);
    expect(result.output).toMatch(/^\[\d+ earlier bytes of output dropped\]\n/);
    expect(result.output).toContain('line 20000 of output');
    expect(lastLine(result.output)).toBe('reason: broken');
  });

  it.each([
    ['an unknown document', 'acgs-no-such-document', /unknown document acgs-no-such-document/],
    ['a path as the document name', '../../etc/passwd', /not a valid document name/],
  ])('rejects %s without running anything', async (_what, document, message) => {
    // Act
    const result = await runner.run({ document, parameters: {}, timeoutMs: 1_000 });
    // Assess
    expect(result.status).toBe('rejected');
    expect(result.output).toMatch(message);
  });
});

describe('every rendered document', () => {
  it.each(Object.keys({ ...SERVICE_DOCUMENT_PARAMETERS, ...FLEET_DOCUMENT_PARAMETERS }))(
    '%s is valid bash',
    async (name) => {
      // Prepare
      const doc = loadDocument(name);
      const spec = service('alpha', 8000);
      const params =
        name in FLEET_DOCUMENT_PARAMETERS
          ? { Services: encodeServiceList([spec]) }
          : paramsFor(name as keyof typeof SERVICE_DOCUMENT_PARAMETERS, spec);
      // Act & Assess: bash -n parses without running
      execFileSync('bash', ['-n'], { input: renderScript(doc, params) });
    },
  );
});

function loadDocument(name: string): SsmDocument {
  const parsed = parseSsmDocument(readFileSync(join(DEFAULT_DOCUMENTS_DIR, `${name}.yaml`), 'utf8'));
  if (!parsed.ok) throw new Error(`${name} is invalid`);
  return parsed.document;
}

describe('injection', () => {
  it('rejects every hostile value for every parameter of every document, running nothing', async () => {
    // Prepare
    const spec = service('alpha', await freePort());
    const marker = join(tmpdir(), `pwned-${process.pid}-${Date.now().toString(36)}`);
    const pathParameters = new Set(['Directory', 'LogFile', 'StateDirectory', 'HealthUrl', 'Services']);
    /** A path climbing out with `..`: appended to a path, or put into the directory field of a Services entry. */
    const traversal = (parameter: string, good: string) =>
      parameter === 'Services'
        ? good.replace(spec.directory, `${spec.directory}/../../etc`)
        : `${good}/../../etc/passwd`;
    const valid = (name: string): Record<string, string> =>
      name in FLEET_DOCUMENT_PARAMETERS
        ? { Services: encodeServiceList([spec]), ...(name === 'acgs-stop-all' ? {} : { StateDirectory: stateDir }) }
        : paramsFor(name as keyof typeof SERVICE_DOCUMENT_PARAMETERS, spec);
    const targets = Object.keys({ ...SERVICE_DOCUMENT_PARAMETERS, ...FLEET_DOCUMENT_PARAMETERS }).map((name) => ({
      document: name,
      valid: valid(name),
      parameters: Object.keys(loadDocument(name).parameters),
    }));
    // Act & Assess
    const checked = await expectEveryHostileValueRejected(targets, {
      marker,
      // The start command's words are its arguments (StartCommand, and the last field of a Services entry)
      commandParameters: new Set(['StartCommand', 'Services']),
      // '../../etc/passwd' is among the hostile values of every other parameter
      extra: (_document, parameter, good) =>
        pathParameters.has(parameter)
          ? [...(parameter === 'Services' ? ['../../etc/passwd'] : []), traversal(parameter, good)]
          : [],
    });
    expect(checked).toBeGreaterThan(400);
    expect(readdirSync(pidDir)).toEqual([]);
  });
});
