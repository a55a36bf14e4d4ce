import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ShellCommandRunner } from '../../lambdas/adapters/local/shell-command-runner.ts';
import { encodeServiceList, type ServiceCommandSpec } from '../../lambdas/core/service-list.ts';
import type { CommandResult } from '../../lambdas/ports.ts';
import { git } from '../support/git-fleet.ts';
import { expectEveryHostileValueRejected } from '../support/hostile-values.ts';

/*
 * acgs-rolling-update run through ShellCommandRunner against real processes (test/support/fake-service.mjs on free
 * ports) and real git repositories. Every fake service writes its pid into pidDir; afterEach kills them all.
 */

const FAKE_SERVICE = fileURLToPath(new URL('../support/fake-service.mjs', import.meta.url));
const NODE = process.execPath;
const DOCUMENT = 'acgs-rolling-update';
const RUN_TIMEOUT_MS = 30_000;

let root = '';
let pidDir = '';
let stateDir = '';
const runner = new ShellCommandRunner();

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'acgs-rolling-it-'));
  pidDir = join(root, 'pids');
  stateDir = join(root, 'state');
  mkdirSync(pidDir);
});

afterEach(async () => {
  const pids = readdirSync(pidDir).map(Number);
  for (const pid of pids)
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  await Promise.all(pids.map((pid) => until(() => !alive(pid), 3_000, `pid ${pid} to exit`)));
  for (const file of readdirSync(pidDir)) unlinkSync(join(pidDir, file));
  rmSync(stateDir, { recursive: true, force: true });
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function until(condition: () => boolean, withinMs: number, what: string): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!condition()) {
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

/** The pid answering on `port`'s health endpoint, or undefined when nothing healthy answers. */
async function healthyPid(port: number): Promise<number | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2_000) });
    const body = (await response.json()) as { status: string; pid: number };
    return response.ok && body.status === 'healthy' ? body.pid : undefined;
  } catch {
    return undefined;
  }
}

let serial = 0;

/** A fake service with its own directory (made unless it exists, e.g. a git clone) and a free port. */
async function service(name: string, directory?: string, flags: readonly string[] = []): Promise<ServiceCommandSpec> {
  serial += 1;
  const port = await freePort();
  const dir = directory ?? join(root, `run-${serial}`, name);
  mkdirSync(dir, { recursive: true });
  return {
    name,
    port,
    directory: dir,
    startCommand: [NODE, FAKE_SERVICE, '--port', String(port), '--pid-dir', pidDir, ...flags].join(' '),
    logFile: join(root, 'logs', `${name}-${serial}.log`),
    healthUrl: `http://127.0.0.1:${port}/health`,
  };
}

/** Starts the services (acgs-start-all) and returns their pids, in order. */
async function startAll(specs: readonly ServiceCommandSpec[]): Promise<number[]> {
  const result = await runner.run({
    document: 'acgs-start-all',
    parameters: { Services: encodeServiceList(specs), TimeoutSeconds: '10', StateDirectory: stateDir },
    timeoutMs: RUN_TIMEOUT_MS,
  });
  expect(result.status, result.output).toBe('succeeded');
  return Promise.all(specs.map(async (s) => (await healthyPid(s.port)) ?? -1));
}

function rollingUpdate(
  specs: readonly ServiceCommandSpec[],
  extra: Record<string, string> = {},
): Promise<CommandResult> {
  return runner.run({
    document: DOCUMENT,
    parameters: {
      Services: encodeServiceList(specs),
      TimeoutSeconds: '10',
      GraceSeconds: '2',
      StateDirectory: stateDir,
      ...extra,
    },
    timeoutMs: RUN_TIMEOUT_MS,
  });
}

/** The runner reads stdout and stderr through separate pipes: which ends the output is not fixed, so look at lines. */
function lines(output: string): string[] {
  return output.trim().split('\n');
}

/** Each pattern found in `output`, each after the one before. */
function expectInOrder(output: string, patterns: readonly string[]): void {
  let from = 0;
  for (const pattern of patterns) {
    const at = output.indexOf(pattern, from);
    expect(at, `"${pattern}" after offset ${from} in:\n${output}`).toBeGreaterThanOrEqual(0);
    from = at + pattern.length;
  }
}

/** A bare upstream with one commit on main, and `clones` clones of it. */
function gitFixture(clones: readonly string[]): { upstream: string; work: string; dirs: string[] } {
  serial += 1;
  const base = join(root, `git-${serial}`);
  const upstream = join(base, 'upstream.git');
  const work = join(base, 'work');
  mkdirSync(base, { recursive: true });
  git(base, 'init', '--quiet', '--bare', '--initial-branch=main', upstream);
  git(base, 'clone', '--quiet', upstream, work);
  git(work, 'checkout', '--quiet', '-B', 'main');
  writeFileSync(join(work, 'VERSION'), 'v1\n');
  git(work, 'add', 'VERSION');
  git(work, 'commit', '--quiet', '-m', 'v1');
  git(work, 'push', '--quiet', 'origin', 'main');
  const dirs = clones.map((name) => {
    const dir = join(base, name);
    git(base, 'clone', '--quiet', '--branch', 'main', upstream, dir);
    return dir;
  });
  return { upstream, work, dirs };
}

/** Commits VERSION=`version` in the working clone and pushes it upstream. */
function publish(work: string, version: string): string {
  writeFileSync(join(work, 'VERSION'), `${version}\n`);
  git(work, 'commit', '--quiet', '-am', version);
  git(work, 'push', '--quiet', 'origin', 'main');
  return git(work, 'rev-parse', 'HEAD');
}

describe('acgs-rolling-update', () => {
  it('restarts three services one at a time, in order, each with a new pid and healthy', async () => {
    // Prepare
    const specs = [await service('alpha'), await service('beta'), await service('gamma')];
    const before = await startAll(specs);
    // Act
    const result = await rollingUpdate(specs);
    // Assess
    expect(result.status, result.output).toBe('succeeded');
    expect(result.exitCode).toBe(0);
    expectInOrder(result.output, [
      'alpha: stopping',
      'alpha: started pid',
      '[1/3] alpha: restarted and healthy',
      'beta: stopping',
      'beta: started pid',
      '[2/3] beta: restarted and healthy',
      'gamma: stopping',
      'gamma: started pid',
      '[3/3] gamma: restarted and healthy',
    ]);
    expect(lines(result.output)).toContain(
      'rolling update done: 3 of 3 services restarted and healthy (alpha beta gamma)',
    );
    const after = await Promise.all(specs.map((s) => healthyPid(s.port)));
    for (const [i, pid] of after.entries()) {
      expect(pid, specs[i]?.name).toBeGreaterThan(0);
      expect(pid, specs[i]?.name).not.toBe(before[i]);
      expect(alive(before[i] ?? -1), `old ${specs[i]?.name}`).toBe(false);
    }
  });

  it('stops the rollout at the first service that does not come back: the later ones keep their old pids', async () => {
    // Prepare: beta starts fine now, but its next start (the new version) exits at once
    const alpha = await service('alpha');
    const beta = await service('beta');
    const gamma = await service('gamma');
    const [alphaOld, betaOld, gammaOld] = await startAll([alpha, beta, gamma]);
    const brokenBeta = { ...beta, startCommand: `${beta.startCommand} --fail-on-start` };
    // Act
    const result = await rollingUpdate([alpha, brokenBeta, gamma]);
    // Assess
    expect(result.status).toBe('failed');
    expect(result.exitCode).toBe(1);
    expect(lines(result.output)).toContainEqual(
      expect.stringMatching(
        /^acgs-rolling-update: rolling update stopped at beta \(.*did not come back healthy.*\); already updated: alpha; not touched \(still on the old version\): gamma$/,
      ),
    );
    expect(result.output).toContain('beta failed to start');
    expect(result.output).not.toContain('gamma: stopping');
    const alphaNew = await healthyPid(alpha.port);
    expect(alphaNew).toBeGreaterThan(0);
    expect(alphaNew).not.toBe(alphaOld);
    expect(alive(betaOld ?? -1)).toBe(false);
    expect(await healthyPid(beta.port)).toBeUndefined();
    expect(await healthyPid(gamma.port)).toBe(gammaOld);
  });

  it('skips an isolated service, leaving it as it is, and names it', async () => {
    // Prepare
    const specs = [await service('alpha'), await service('beta'), await service('gamma')];
    const [alphaOld, betaOld, gammaOld] = await startAll(specs);
    mkdirSync(join(stateDir, 'isolated'), { recursive: true });
    writeFileSync(join(stateDir, 'isolated', 'beta'), '');
    // Act
    const result = await rollingUpdate(specs);
    // Assess
    expect(result.status, result.output).toBe('succeeded');
    expect(result.output).toContain('[2/3] beta: isolated; skipped (not updated, not restarted)');
    expect(result.output).not.toContain('beta: stopping');
    expect(lines(result.output)).toContain(
      'rolling update done: 2 of 3 services restarted and healthy (alpha gamma); skipped (isolated): beta',
    );
    expect(await healthyPid(specs[1]?.port ?? 0)).toBe(betaOld);
    expect(await healthyPid(specs[0]?.port ?? 0)).not.toBe(alphaOld);
    expect(await healthyPid(specs[2]?.port ?? 0)).not.toBe(gammaOld);
  });

  it('with git-pull, fast-forwards each service directory from origin before restarting it', async () => {
    // Prepare
    const { work, dirs } = gitFixture(['alpha', 'beta']);
    const specs = [await service('alpha', dirs[0]), await service('beta', dirs[1])];
    const before = await startAll(specs);
    const head = publish(work, 'v2');
    // Act
    const result = await rollingUpdate(specs, { Update: 'git-pull', Branch: 'main' });
    // Assess
    expect(result.status, result.output).toBe('succeeded');
    expectInOrder(result.output, [
      'alpha: updated ',
      'alpha: stopping',
      'alpha: started pid',
      '[1/2] alpha: restarted and healthy',
      'beta: updated ',
      'beta: stopping',
      '[2/2] beta: restarted and healthy',
    ]);
    for (const [i, dir] of dirs.entries()) {
      expect(readFileSync(join(dir, 'VERSION'), 'utf8')).toBe('v2\n');
      expect(git(dir, 'rev-parse', 'HEAD')).toBe(head);
      const pid = await healthyPid(specs[i]?.port ?? 0);
      expect(pid).toBeGreaterThan(0);
      expect(pid).not.toBe(before[i]);
    }
  });

  it('with git-pull, fails before stopping anything when a clone cannot fast-forward', async () => {
    // Prepare: alpha has a local commit upstream does not have, and upstream moved on
    const { work, dirs } = gitFixture(['alpha', 'beta']);
    const alphaDir = dirs[0] ?? '';
    writeFileSync(join(alphaDir, 'LOCAL'), 'hotfix\n');
    git(alphaDir, 'add', 'LOCAL');
    git(alphaDir, '-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '--quiet', '-m', 'local');
    const localHead = git(alphaDir, 'rev-parse', 'HEAD');
    publish(work, 'v2');
    const specs = [await service('alpha', alphaDir), await service('beta', dirs[1])];
    const [alphaOld, betaOld] = await startAll(specs);
    // Act
    const result = await rollingUpdate(specs, { Update: 'git-pull' });
    // Assess
    expect(result.status).toBe('failed');
    expect(result.exitCode).toBe(1);
    expect(lines(result.output)).toContainEqual(
      expect.stringMatching(
        /^acgs-rolling-update: rolling update stopped at alpha \(git pull failed; not stopped, still running the old version\); already updated: none; not touched \(still on the old version\): beta$/,
      ),
    );
    expect(result.output).toMatch(/cannot update alpha: git pull --ff-only origin main failed/);
    expect(result.output).not.toContain('stopping');
    expect(await healthyPid(specs[0]?.port ?? 0)).toBe(alphaOld);
    expect(await healthyPid(specs[1]?.port ?? 0)).toBe(betaOld);
    expect(git(alphaDir, 'rev-parse', 'HEAD')).toBe(localHead);
    expect(readFileSync(join(dirs[1] ?? '', 'VERSION'), 'utf8')).toBe('v1\n');
  });

  it('rejects every hostile value for every parameter, running nothing', async () => {
    // Prepare
    const spec = await service('alpha');
    const marker = join(tmpdir(), `pwned-rolling-${process.pid}-${Date.now().toString(36)}`);
    const base: Record<string, string> = {
      Services: encodeServiceList([spec]),
      Update: 'git-pull',
      Branch: 'main',
      TimeoutSeconds: '10',
      GraceSeconds: '2',
      StateDirectory: stateDir,
    };
    // Act & Assess
    const checked = await expectEveryHostileValueRejected(
      [{ document: DOCUMENT, valid: base, parameters: Object.keys(base) }],
      {
        marker,
        // The last field of a Services entry is the start command, whose words are its arguments
        commandParameters: new Set(['Services']),
        extra: (_document, parameter, good) => [
          ...(parameter === 'Services' ? [good.replace(spec.directory, `${spec.directory}/../../etc`)] : []),
          // ('../../etc/passwd' is among the hostile values of every parameter but Services)
          ...(parameter === 'StateDirectory' ? [`${good}/../../etc`] : []),
          // git options smuggled in as the ref (the start command's words are arguments, so they are not hostile there)
          ...(parameter === 'Branch' || parameter === 'Update'
            ? [`--upload-pack=touch ${marker}`, `-main`, 'main..HEAD', 'main@{upstream}', `${good} --upload-pack=x`]
            : []),
        ],
      },
    );
    expect(checked).toBeGreaterThan(85);
    expect(readdirSync(pidDir)).toEqual([]);
  });
});
