import { createHash, randomBytes } from 'node:crypto';
import * as nodeFs from 'node:fs';
import { join } from 'node:path';
import { ControlPlaneError, errorMessage } from '../core/errors.ts';

/**
 * One daemon per state directory: two would both probe, page and restart.
 *
 * The lock is a symbolic link, `daemon.lock`, whose target is the owner's identity (`acgs:PID:START:BOOT:NONCE`).
 * symlink(2) creates it in one atomic step and fails with EEXIST if the name exists, so of racing processes exactly
 * one wins and nobody ever reads a half-written lock. A short target lives in the inode (under 60 bytes on ext4,
 * 128 on tmpfs), so the lock needs no data block and does not stop a daemon restarted on a full disk from paging,
 * which is what its write-behind state store is for. It does need an inode: where the file system has none left,
 * symlink(2) fails with ENOSPC and the daemon refuses to start, saying so.
 *
 * The owner is identified by more than its pid (pids are reused, across reboots above all): the pid, the process's
 * start time (/proc/PID/stat) and the boot id (/proc/sys/kernel/random/boot_id); the nonce tells apart two
 * acquisitions by one process. A lock whose owner is gone (kill -9, a reboot, its pid now another program's) is
 * taken over; where /proc is absent only the pid can be checked. Locks of earlier builds, a file holding a JSON
 * line or the pid alone, are read the same way and taken over when stale.
 *
 * Taking over a stale lock is serialised by a takeover token; see `removeStale` for why that is safe for any number
 * of racing processes.
 */
export interface DaemonLock {
  release(): void;
}

/** The file operations the lock makes: node:fs, or in a test a wrapper that slows them down to force a schedule. */
export type LockFileSystem = Pick<
  typeof nodeFs,
  'lstatSync' | 'readdirSync' | 'readFileSync' | 'readlinkSync' | 'symlinkSync' | 'unlinkSync'
>;

/** What a lock says about its owner. */
interface LockOwner {
  readonly pid: number;
  /** Clock ticks after boot at which the owner started (field 22 of /proc/PID/stat). */
  readonly startTime?: string;
  /** The boot id, as its first BOOT_KEY_LENGTH hex digits (see `bootKey`). */
  readonly bootKey?: string;
}

interface FoundLock {
  /** The identity exactly as stored: the link's target, or the file's content. */
  readonly text: string;
  readonly writtenAt: number;
}

const LOCK_FILE = 'daemon.lock';
/** 64 bits of the boot id tell boots apart and keep the link target short enough to live in the inode. */
const BOOT_KEY_LENGTH = 16;
/** How long to wait for another process's takeover of a stale lock (it takes a few system calls) before giving up. */
const TAKEOVER_WAIT_MS = 5_000;
const RETRY_PAUSE_MS = 1;
/** Each level is a takeover whose holder died mid-way; more than a few in a row is not a race but a fault. */
const MAX_TAKEOVER_DEPTH = 8;
/** /proc start times are in USER_HZ ticks, 100 per second on every Linux architecture Node runs on. */
const TICKS_PER_SECOND = 100;
/** The boot time is known to the second: allow that much (and a little) when comparing with the lock's mtime. */
const START_TIME_SLACK_MS = 2_000;

export function acquireDaemonLock(stateDir: string, pid = process.pid, fs: LockFileSystem = nodeFs): DaemonLock {
  const file = join(stateDir, LOCK_FILE);
  const me = identity(pid);
  const deadline = Date.now() + TAKEOVER_WAIT_MS;
  for (;;) {
    if (takeLink(fs, stateDir, me, file)) {
      const lock = { release: () => releaseIfOwn(fs, file, me) };
      try {
        sweepTokens(fs, stateDir);
      } catch (error) {
        lock.release();
        throw error;
      }
      return lock;
    }
    const found = readLock(fs, file);
    if (found !== undefined) {
      const current = liveOwner(found, pid);
      if (current !== undefined)
        throw new ControlPlaneError(
          'DAEMON_RUNNING',
          `a daemon (pid ${current.pid}) already runs on ${stateDir}; stop it first, or use another --state`,
        );
      const removed = removeStale(fs, stateDir, file, found.text, identity(process.pid), 0);
      if (removed) continue;
    }
    if (Date.now() > deadline)
      throw new ControlPlaneError(
        'DAEMON_LOCK',
        `could not take the daemon lock ${file}: another takeover never ended`,
      );
    pause(RETRY_PAUSE_MS);
  }
}

/** Creates `file` as a link to `target`: true if this call created it, false if the name was taken. */
function takeLink(fs: LockFileSystem, stateDir: string, target: string, file: string): boolean {
  try {
    fs.symlinkSync(target, file);
    return true;
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return false;
    throw lockError(stateDir, error);
  }
}

/**
 * Removes the lock only while it is still this acquisition's: a lock taken over (which needs this process judged
 * gone) is another's and stays. Nothing else can replace a live owner's lock between the read and the unlink (see
 * `removeStale`), so the check holds when the unlink runs.
 */
function releaseIfOwn(fs: LockFileSystem, file: string, me: string): void {
  if (readLock(fs, file)?.text === me) unlinkIfPresent(fs, file);
}

/**
 * Removes the stale lock at `file` whose identity is `stale`, and nothing else. Returns false while another live
 * process is removing it (the caller waits and looks again), true once it is gone.
 *
 * Why this is safe for any number of racers. Unlinking by name after reading is not: A and B both read the stale X,
 * A removes X and takes the lock, then B's unlink removes A's lock and a third process takes the name (moving X
 * aside with rename(2) and checking what was moved has the same hole: while A's lock is aside, a third process takes
 * the name, and A's lock cannot be put back). So only the holder of the takeover token for X may remove X. The token
 * is a symlink named after X's identity (`daemon.lock.takeover.HASH`), created with symlink(2): at most one process
 * holds it at a time, and it names its holder the way the lock does. Under the token the holder reads the lock
 * again; if it still is X, it stays X until the holder unlinks it, because nothing else removes it: X's owner is
 * gone (that is what stale means), and removing X needs the token. If it is not X, X is gone for good (identities
 * carry a nonce and are never reused) and there is nothing to do. Whoever removed X, the racers then meet at
 * symlink(2) on an empty name, where exactly one wins. The token is unlinked by its holder when done; one whose
 * holder died mid-way is itself a stale lock, removed the same way under a token named after its own identity, so
 * the argument repeats one level up (each level needs another death in the middle of a takeover).
 */
function removeStale(
  fs: LockFileSystem,
  stateDir: string,
  file: string,
  stale: string,
  me: string,
  depth: number,
): boolean {
  const token = join(
    stateDir,
    `${LOCK_FILE}.takeover.${createHash('sha256').update(stale).digest('hex').slice(0, 16)}`,
  );
  if (!takeLink(fs, stateDir, me, token)) {
    const holding = readLock(fs, token);
    if (holding === undefined || depth >= MAX_TAKEOVER_DEPTH) return false;
    if (liveOwner(holding, process.pid) !== undefined) return false;
    removeStale(fs, stateDir, token, holding.text, me, depth + 1);
    return false;
  }
  try {
    if (readLock(fs, file)?.text === stale) unlinkIfPresent(fs, file);
  } finally {
    unlinkIfPresent(fs, token);
  }
  return true;
}

/**
 * Removes takeover tokens whose holder died after removing the stale lock but before its token (a kill between two
 * system calls): nothing else would. Each is removed as any stale lock is, under a token of its own, so a racer that
 * holds or is breaking one is never undercut.
 */
function sweepTokens(fs: LockFileSystem, stateDir: string): void {
  for (const name of fs.readdirSync(stateDir)) {
    if (!name.startsWith(`${LOCK_FILE}.takeover.`)) continue;
    const token = join(stateDir, name);
    const holding = readLock(fs, token);
    if (holding === undefined || liveOwner(holding, process.pid) !== undefined) continue;
    removeStale(fs, stateDir, token, holding.text, identity(process.pid), 1);
  }
}

/** This process's identity as a lock names it: short enough to be stored in the link's inode. */
function identity(pid: number): string {
  const nonce = randomBytes(4).toString('hex');
  return ['acgs', pid, processStartTicks(pid) ?? '-', currentBootKey() ?? '-', nonce].join(':');
}

/** What `file` says, or undefined if it is gone or changed while being read (the caller looks again). */
function readLock(fs: LockFileSystem, file: string): FoundLock | undefined {
  try {
    const stat = fs.lstatSync(file);
    const text = stat.isSymbolicLink() ? fs.readlinkSync(file, 'utf8') : fs.readFileSync(file, 'utf8');
    return { text, writtenAt: stat.mtimeMs };
  } catch (error) {
    // ENOENT: removed meanwhile; EINVAL: a file replaced by a link between lstat and readlink.
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'EINVAL') return undefined;
    throw error;
  }
}

/**
 * The owner a lock names, in any format a daemon ever wrote: the link target of this build, a JSON line (pid,
 * startTime, bootId), or the pid alone. Undefined for anything else: nobody can own it, so it is stale.
 */
function parseOwner(text: string): LockOwner | undefined {
  const trimmed = text.trim();
  const link = /^acgs:([1-9][0-9]*):([0-9]+|-):([0-9a-f]+|-):[0-9a-f]+$/.exec(trimmed);
  if (link) {
    const [, pid = '', startTime = '-', boot = '-'] = link;
    return {
      pid: Number(pid),
      ...(startTime === '-' ? {} : { startTime }),
      ...(boot === '-' ? {} : { bootKey: boot }),
    };
  }
  if (/^[1-9][0-9]*$/.test(trimmed)) return { pid: Number(trimmed) };
  try {
    const parsed = JSON.parse(trimmed) as Partial<Record<'pid' | 'startTime' | 'bootId', unknown>>;
    if (typeof parsed.pid !== 'number' || !Number.isInteger(parsed.pid) || parsed.pid <= 0) return undefined;
    return {
      pid: parsed.pid,
      ...(typeof parsed.startTime === 'string' ? { startTime: parsed.startTime } : {}),
      ...(typeof parsed.bootId === 'string' ? { bootKey: bootKey(parsed.bootId) } : {}),
    };
  } catch {
    return undefined;
  }
}

/**
 * The owner a lock or token names if it still runs; undefined if it is stale. One naming `self` (the pid acquiring)
 * is stale too: it is left by an earlier process that had the same pid, as a daemon restarted in a container has.
 */
function liveOwner(found: FoundLock, self: number): LockOwner | undefined {
  const owner = parseOwner(found.text);
  return owner !== undefined && owner.pid !== self && ownerIsAlive(owner, found.writtenAt) ? owner : undefined;
}

/**
 * Whether the process that took the lock still runs: its pid is alive and, where /proc tells, it is the same
 * boot and the same process (same start time). A pid-only lock of an earlier build is judged by its mtime: a
 * process that started after the lock was written cannot have written it.
 */
function ownerIsAlive(owner: LockOwner, writtenAt: number): boolean {
  if (!pidIsAlive(owner.pid)) return false;
  const current = currentBootKey();
  if (owner.bootKey !== undefined && current !== undefined && owner.bootKey !== current) return false;
  const startTime = processStartTicks(owner.pid);
  if (owner.startTime !== undefined && startTime !== undefined) return owner.startTime === startTime;
  const startedAt = processStartedAt(startTime);
  return startedAt === undefined || startedAt <= writtenAt + START_TIME_SLACK_MS;
}

function pidIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) === 'EPERM';
  }
}

function currentBootKey(): string | undefined {
  const bootId = readProc('/proc/sys/kernel/random/boot_id')?.trim();
  return bootId ? bootKey(bootId) : undefined;
}

function bootKey(bootId: string): string {
  return bootId.replaceAll('-', '').toLowerCase().slice(0, BOOT_KEY_LENGTH);
}

/** Field 22 of /proc/PID/stat (after the parenthesised command name, which may itself contain spaces). */
function processStartTicks(pid: number): string | undefined {
  const stat = readProc(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = fields[19];
  return ticks !== undefined && /^[0-9]+$/.test(ticks) ? ticks : undefined;
}

/** Epoch ms at which a process started, from its start ticks and the boot time (`btime` in /proc/stat). */
function processStartedAt(ticks: string | undefined): number | undefined {
  if (ticks === undefined) return undefined;
  const btime = /^btime (\d+)$/m.exec(readProc('/proc/stat') ?? '')?.[1];
  return btime === undefined ? undefined : Number(btime) * 1_000 + (Number(ticks) * 1_000) / TICKS_PER_SECOND;
}

function readProc(path: string): string | undefined {
  try {
    return nodeFs.readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function unlinkIfPresent(fs: LockFileSystem, file: string): void {
  try {
    fs.unlinkSync(file);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
  }
}

function lockError(stateDir: string, cause: unknown): ControlPlaneError {
  const full =
    errorCode(cause) === 'ENOSPC' ? ' (its file system has no inode, or no directory space, left for the lock)' : '';
  return new ControlPlaneError(
    'DAEMON_LOCK',
    `could not take the daemon lock in ${stateDir}${full}: ${errorMessage(cause)}`,
    { cause },
  );
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** A synchronous pause: the lock is taken before the daemon's event loop has anything to do. */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
