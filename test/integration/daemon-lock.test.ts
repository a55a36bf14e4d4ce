import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireDaemonLock } from '../../lambdas/local/daemon-lock.ts';
import { REPO_ROOT } from '../support/run-cli.ts';

const dirs: string[] = [];
const children: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function stateDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'acgs-lock-'));
  dirs.push(d);
  return d;
}

/** A process that stays alive until killed (a stand-in for a running daemon, or for an unrelated program). */
function liveProcess(): ChildProcessWithoutNullStreams {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
  children.push(child);
  return child;
}

/** A lock racer process (test/fixtures/lock-racer.ts) and a way to read its answers line by line. */
interface Racer {
  readonly child: ChildProcessWithoutNullStreams;
  next(): Promise<string>;
}

function racer(): Racer {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/lock-racer.ts'], { cwd: REPO_ROOT });
  children.push(child);
  const lines: Interface = createInterface({ input: child.stdout });
  const queued: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  lines.on('line', (line) => {
    const take = waiting.shift();
    if (take) take(line);
    else queued.push(line);
  });
  return {
    child,
    next: () => {
      const line = queued.shift();
      if (line !== undefined) return Promise.resolve(line);
      return new Promise((resolve) => waiting.push(resolve));
    },
  };
}

const RACE_ROUNDS = 20;

describe('daemon lock', () => {
  it('refuses a second daemon on the same state directory, naming the running one', () => {
    const dir = stateDir();
    const child = liveProcess();
    acquireDaemonLock(dir, child.pid);
    expect(() => acquireDaemonLock(dir)).toThrow(new RegExp(`a daemon \\(pid ${child.pid}\\) already runs`));
  });

  it('takes over the lock of a daemon that died without releasing it', async () => {
    const dir = stateDir();
    const child = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => child.once('exit', r));
    writeFileSync(join(dir, 'daemon.lock'), `${child.pid}\n`);
    const lock = acquireDaemonLock(dir);
    expect(JSON.parse(readFileSync(join(dir, 'daemon.lock'), 'utf8'))).toMatchObject({ pid: process.pid });
    lock.release();
    expect(existsSync(join(dir, 'daemon.lock'))).toBe(false);
  });

  it('takes over a lock naming a live but unrelated process when the pid was reused after a reboot', () => {
    // Prepare: a lock written by a daemon of an earlier boot whose pid now belongs to another process.
    const dir = stateDir();
    const unrelated = liveProcess();
    writeFileSync(
      join(dir, 'daemon.lock'),
      `${JSON.stringify({ pid: unrelated.pid, startTime: '1', bootId: 'an-earlier-boot', nonce: 'old' })}\n`,
    );
    // Act
    const lock = acquireDaemonLock(dir);
    // Assess
    expect(JSON.parse(readFileSync(join(dir, 'daemon.lock'), 'utf8'))).toMatchObject({ pid: process.pid });
    lock.release();
  });

  it('takes over an old pid-only lock naming a live process that started after the lock was written', () => {
    // Prepare: the lock format of earlier builds (a pid alone), written a day ago; the pid is now another program.
    const dir = stateDir();
    const unrelated = liveProcess();
    const file = join(dir, 'daemon.lock');
    writeFileSync(file, `${unrelated.pid}\n`);
    const dayAgo = new Date(Date.now() - 86_400_000);
    utimesSync(file, dayAgo, dayAgo);
    // Act
    const lock = acquireDaemonLock(dir);
    // Assess
    expect(readFileSync(file, 'utf8')).toContain(`"pid":${process.pid}`);
    lock.release();
  });

  it('takes over a lock naming a live process that started after the daemon that wrote it', () => {
    // Prepare: same boot, but the pid's process is not the one that took the lock (its start time differs).
    const dir = stateDir();
    const unrelated = liveProcess();
    const held = acquireDaemonLock(dir, unrelated.pid);
    const written = JSON.parse(readFileSync(join(dir, 'daemon.lock'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'daemon.lock'), `${JSON.stringify({ ...written, startTime: '1' })}\n`);
    // Act
    const lock = acquireDaemonLock(dir);
    // Assess
    expect(JSON.parse(readFileSync(join(dir, 'daemon.lock'), 'utf8'))).toMatchObject({ pid: process.pid });
    held.release();
    expect(existsSync(join(dir, 'daemon.lock'))).toBe(true);
    lock.release();
  });

  it('lets exactly one of two processes racing for the lock at the same instant win, round after round', async () => {
    // Prepare: two real processes, each acquiring on the same directory at the same millisecond; every other
    // round starts from the stale lock a killed daemon leaves behind.
    const racers = [racer(), racer()];
    for (const r of racers) expect(await r.next()).toBe('ready');
    const dead = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => dead.once('exit', r));
    const winners: number[] = [];
    for (let round = 0; round < RACE_ROUNDS; round++) {
      const dir = stateDir();
      if (round % 2 === 1) writeFileSync(join(dir, 'daemon.lock'), `${dead.pid}\n`);
      // Act
      const at = Date.now() + 150;
      for (const r of racers) r.child.stdin.write(`go ${dir} ${at}\n`);
      const answers = await Promise.all(racers.map((r) => r.next()));
      // Assess
      const won = answers.filter((a) => a === 'acquired').length;
      winners.push(won);
      expect(answers.filter((a) => a !== 'acquired').every((a) => a.startsWith('refused a daemon'))).toBe(true);
      for (const [i, r] of racers.entries()) {
        if (answers[i] !== 'acquired') continue;
        r.child.stdin.write('release\n');
        expect(await r.next()).toBe('released');
      }
      expect(readdirSync(dir)).toEqual([]);
    }
    expect(winners).toEqual(Array.from({ length: RACE_ROUNDS }, () => 1));
  }, 60_000);
});
