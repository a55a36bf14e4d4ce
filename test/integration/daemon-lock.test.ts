import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import {
  mkdtempSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireDaemonLock } from '../../lambdas/local/daemon-lock.ts';
import { REPO_ROOT } from '../support/run-cli.ts';
import { fillDisk, mountSmallDisk, unmountSmallDisk, useUpInodes } from '../support/small-disk.ts';
import { bundlePath } from '../support/test-bundles.ts';

const dirs: string[] = [];
const mounts: string[] = [];
const children: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  for (const m of mounts.splice(0)) unmountSmallDisk(m);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function stateDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'acgs-lock-'));
  dirs.push(d);
  return d;
}

/** A state directory on a 1 MiB tmpfs of its own (at most `inodes` files when given), unmounted after the test. */
function smallDiskStateDir(inodes?: number): string {
  const d = stateDir();
  mountSmallDisk(d, '1m', inodes);
  mounts.push(d);
  return d;
}

/** The identity the lock names, whatever its representation. */
function lockOwnerText(dir: string): string {
  return readlinkSync(join(dir, 'daemon.lock'));
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
  const child = spawn(process.execPath, [bundlePath('lock-racer')], { cwd: REPO_ROOT });
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
    expect(() => acquireDaemonLock(dir)).toThrow(`a daemon (pid ${child.pid}) already runs on ${dir};`);
  });

  it('takes over the lock of a daemon that died without releasing it', async () => {
    const dir = stateDir();
    const child = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => child.once('exit', r));
    writeFileSync(join(dir, 'daemon.lock'), `${child.pid}\n`);
    const lock = acquireDaemonLock(dir);
    expect(lockOwnerText(dir)).toMatch(new RegExp(`^acgs:${process.pid}:`));
    lock.release();
    expect(readdirSync(dir)).toEqual([]);
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
    expect(lockOwnerText(dir)).toMatch(new RegExp(`^acgs:${process.pid}:`));
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
    expect(lockOwnerText(dir)).toMatch(new RegExp(`^acgs:${process.pid}:`));
    lock.release();
  });

  it('takes over a lock naming a live process that started after the daemon that wrote it', () => {
    // Prepare: same boot, but the pid's process is not the one that took the lock (its start time differs).
    const dir = stateDir();
    const unrelated = liveProcess();
    const held = acquireDaemonLock(dir, unrelated.pid);
    const [, pid, , boot, nonce] = lockOwnerText(dir).split(':');
    unlinkSync(join(dir, 'daemon.lock'));
    symlinkSync(['acgs', pid, '1', boot, nonce].join(':'), join(dir, 'daemon.lock'));
    // Act
    const lock = acquireDaemonLock(dir);
    // Assess
    expect(lockOwnerText(dir)).toMatch(new RegExp(`^acgs:${process.pid}:`));
    held.release();
    expect(readdirSync(dir)).toEqual(['daemon.lock']);
    lock.release();
  });

  it('takes over a stale lock whose previous taker was killed in the middle of the takeover', async () => {
    // Prepare: a racer starts taking over a stale lock, sleeping 40 ms after each read, and is killed with
    // SIGKILL while it holds the takeover token (it reads the lock again under the token 80 ms to 160 ms in).
    const dir = stateDir();
    leaveStaleLock(dir, await deadPid(), 0);
    const taker = racer();
    expect(await taker.next()).toBe('ready');
    const at = Date.now() + 150;
    taker.child.stdin.write(`go ${dir} ${at} 40\n`);
    await new Promise((r) => setTimeout(r, at + 120 - Date.now()));
    taker.child.kill('SIGKILL');
    await new Promise((r) => taker.child.once('exit', r));
    expect(readdirSync(dir).sort()).toEqual(['daemon.lock', expect.stringMatching(/^daemon\.lock\.takeover\./)]);
    // Act
    const lock = acquireDaemonLock(dir);
    // Assess
    expect(lockOwnerText(dir)).toMatch(new RegExp(`^acgs:${process.pid}:`));
    expect(readdirSync(dir)).toEqual(['daemon.lock']);
    lock.release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('removes a takeover token left by a taker killed after it removed the stale lock', async () => {
    // Prepare: no lock, but the token of a takeover whose taker is gone.
    const dir = stateDir();
    symlinkSync(`acgs:${await deadPid()}:-:-:0badc0de`, join(dir, 'daemon.lock.takeover.0123456789abcdef'));
    // Act
    const lock = acquireDaemonLock(dir);
    // Assess
    expect(readdirSync(dir)).toEqual(['daemon.lock']);
    lock.release();
  });

  it('takes the lock on a state directory whose file system is full to the last byte', () => {
    // Prepare
    const dir = smallDiskStateDir();
    fillDisk(dir);
    const daemon = liveProcess();
    // Act
    const lock = acquireDaemonLock(dir, daemon.pid);
    // Assess: it is held (a second daemon is refused) and released
    expect(() => acquireDaemonLock(dir)).toThrow(`a daemon (pid ${daemon.pid}) already runs on ${dir};`);
    lock.release();
    expect(readdirSync(dir)).toEqual(['filler']);
  });

  it('takes over a stale lock on a state directory whose file system is full to the last byte', async () => {
    // Prepare: the lock of a daemon killed while the disk filled up, in each format a daemon ever wrote.
    const dead = await deadPid();
    for (const stale of [
      (dir: string) => acquireDaemonLock(dir, dead),
      (dir: string) => writeFileSync(join(dir, 'daemon.lock'), `${JSON.stringify({ pid: dead, nonce: 'old' })}\n`),
      (dir: string) => writeFileSync(join(dir, 'daemon.lock'), `${dead}\n`),
    ]) {
      const dir = smallDiskStateDir();
      stale(dir);
      fillDisk(dir);
      // Act
      const lock = acquireDaemonLock(dir);
      // Assess
      expect(lockOwnerText(dir)).toMatch(new RegExp(`^acgs:${process.pid}:`));
      lock.release();
      expect(readdirSync(dir)).toEqual(['filler']);
    }
  });

  it('refuses to start, naming the state directory, when its file system has no inode left for the lock', () => {
    // Prepare: data blocks to spare, but every inode in use.
    const dir = smallDiskStateDir(64);
    useUpInodes(dir);
    // Act and assess
    expect(() => acquireDaemonLock(dir)).toThrow(
      `could not take the daemon lock in ${dir} (its file system has no inode, or no directory space, left for the lock)`,
    );
  });

  it('lets exactly one of two processes racing for the lock at the same instant win, round after round', async () => {
    // Prepare: every other round starts from the stale lock a killed daemon leaves behind.
    const dead = await deadPid();
    // Act
    const winners = await raceRounds(2, (dir, round) => {
      if (round % 2 === 1) writeFileSync(join(dir, 'daemon.lock'), `${dead}\n`);
    });
    // Assess
    expect(winners).toEqual(Array.from({ length: RACE_ROUNDS }, () => 1));
  }, 60_000);

  it.each([3, 5])(
    'lets exactly one of %i processes taking over the same stale lock at the same instant win, round after round',
    async (count) => {
      // Prepare: each round starts from a stale lock (in turn of each format a daemon ever wrote).
      const dead = await deadPid();
      // Act
      const winners = await raceRounds(count, (dir, round) => leaveStaleLock(dir, dead, round));
      // Assess
      expect(winners).toEqual(Array.from({ length: RACE_ROUNDS }, () => 1));
    },
    120_000,
  );

  it.each([3, 5])(
    'lets exactly one of %i processes win when one read the stale lock, slept, and woke after another took over',
    async (count) => {
      // Prepare: racer 0 reads the stale lock at once but sleeps 40 ms after each read, so what it read is out of
      // date when it acts (a descheduled process); racer 1 arrives 60 ms in and takes over the stale lock
      // meanwhile; the rest arrive from 120 ms on, when a takeover acting on racer 0's old reading would leave the
      // name free for them.
      const dead = await deadPid();
      // Act
      const winners = await raceRounds(
        count,
        (dir, round) => leaveStaleLock(dir, dead, round),
        (i) => (i === 0 ? { startMs: 0, stallMs: 40 } : { startMs: i === 1 ? 60 : 120 + 20 * (i - 2) }),
      );
      // Assess
      expect(winners).toEqual(Array.from({ length: RACE_ROUNDS }, () => 1));
    },
    120_000,
  );
});

/** Leaves the lock of the dead daemon `pid` in `dir`, in turn as this build, the JSON-line and the pid-only build wrote it. */
function leaveStaleLock(dir: string, pid: number, round: number): void {
  if (round % 3 === 0) acquireDaemonLock(dir, pid);
  else if (round % 3 === 1) writeFileSync(join(dir, 'daemon.lock'), `${JSON.stringify({ pid, nonce: 'old' })}\n`);
  else writeFileSync(join(dir, 'daemon.lock'), `${pid}\n`);
}

/** The pid of a process that has exited: a lock naming it is stale. */
async function deadPid(): Promise<number> {
  const dead = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => dead.once('exit', r));
  if (dead.pid === undefined) throw new Error('could not start a process');
  return dead.pid;
}

/** When a racer starts after the others (ms), and how long it sleeps after each read of the lock (ms), if at all. */
interface RacerSchedule {
  readonly startMs: number;
  readonly stallMs?: number;
}

/**
 * Races `count` real processes for the lock of a fresh state directory, RACE_ROUNDS times, all starting at the
 * same instant unless `schedule` says otherwise; `prepare` sets up each round's directory. Every loser must be refused because a daemon runs,
 * and the winner's release must leave the directory empty. Returns the number of winners of each round.
 */
async function raceRounds(
  count: number,
  prepare: (dir: string, round: number) => void,
  schedule: (racer: number) => RacerSchedule = () => ({ startMs: 0 }),
): Promise<number[]> {
  const racers = Array.from({ length: count }, () => racer());
  for (const r of racers) expect(await r.next()).toBe('ready');
  const winners: number[] = [];
  for (let round = 0; round < RACE_ROUNDS; round++) {
    const dir = stateDir();
    prepare(dir, round);
    const at = Date.now() + 150;
    for (const [i, r] of racers.entries()) {
      const { startMs, stallMs } = schedule(i);
      r.child.stdin.write(`go ${dir} ${at + startMs}${stallMs === undefined ? '' : ` ${stallMs}`}\n`);
    }
    const answers = await Promise.all(racers.map((r) => r.next()));
    winners.push(answers.filter((a) => a === 'acquired').length);
    expect(answers.filter((a) => a !== 'acquired').every((a) => a.startsWith('refused a daemon'))).toBe(true);
    for (const [i, r] of racers.entries()) {
      if (answers[i] !== 'acquired') continue;
      r.child.stdin.write('release\n');
      expect(await r.next()).toBe('released');
    }
    expect(readdirSync(dir)).toEqual([]);
  }
  return winners;
}
