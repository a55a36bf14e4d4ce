import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ControlPlaneError } from '../core/errors.ts';

/**
 * One daemon per state directory: two would both probe, page and restart.
 *
 * Taking the lock is one atomic step: the owner's identity is written complete to a private temporary file, which
 * is then hard-linked to `daemon.lock`; link(2) fails with EEXIST if the name exists, so of racing processes exactly
 * one wins and nobody ever reads a half-written lock. The owner is identified by more than its pid (pids are reused,
 * across reboots above all): the pid, the process's start time (/proc/PID/stat) and the boot id
 * (/proc/sys/kernel/random/boot_id). A lock whose owner is gone (kill -9, a reboot, its pid now another program's)
 * is taken over; where /proc is absent only the pid can be checked.
 */
export interface DaemonLock {
  release(): void;
}

/** What a lock file says about its owner. Earlier builds wrote the pid alone. */
interface LockOwner {
  readonly pid: number;
  /** Clock ticks after boot at which the owner started (field 22 of /proc/PID/stat). */
  readonly startTime?: string;
  readonly bootId?: string;
  /** Unique per acquisition: release and takeover check they act on this very lock. */
  readonly nonce?: string;
}

const LOCK_FILE = 'daemon.lock';
const ATTEMPTS = 5;
/** /proc start times are in USER_HZ ticks, 100 per second on every Linux architecture Node runs on. */
const TICKS_PER_SECOND = 100;
/** The boot time is known to the second: allow that much (and a little) when comparing with the lock's mtime. */
const START_TIME_SLACK_MS = 2_000;

export function acquireDaemonLock(stateDir: string, pid = process.pid): DaemonLock {
  const file = join(stateDir, LOCK_FILE);
  const nonce = randomBytes(8).toString('hex');
  const bootId = readBootId();
  const startTime = processStartTicks(pid);
  const owner: LockOwner = {
    pid,
    ...(startTime === undefined ? {} : { startTime }),
    ...(bootId === undefined ? {} : { bootId }),
    nonce,
  };
  const temp = join(stateDir, `${LOCK_FILE}.${pid}.${nonce}.tmp`);
  writeFileSync(temp, `${JSON.stringify(owner)}\n`, { flag: 'wx', mode: 0o600 });
  try {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      try {
        linkSync(temp, file);
        return { release: () => releaseIfOwn(file, nonce) };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const found = readLock(file);
      if (found === undefined) continue; // released meanwhile: try again
      const current = parseOwner(found.text);
      if (current !== undefined && current.pid !== pid && ownerIsAlive(current, found.writtenAt))
        throw new ControlPlaneError(
          'DAEMON_RUNNING',
          `a daemon (pid ${current.pid}) already runs on ${stateDir}; stop it first, or use another --state`,
        );
      removeStale(file, found.text, nonce);
    }
  } finally {
    rmSync(temp, { force: true });
  }
  throw new ControlPlaneError('DAEMON_LOCK', `could not take the daemon lock ${file}`);
}

function releaseIfOwn(file: string, nonce: string): void {
  const found = readLock(file);
  if (found && parseOwner(found.text)?.nonce === nonce) rmSync(file, { force: true });
}

/**
 * Removes the stale lock whose content is `stale`, and nothing else: another process may have removed it and taken
 * the lock since it was read. Renaming is atomic, so the lock is moved aside first and its content checked; a live
 * lock moved aside by mistake is linked back at once.
 */
function removeStale(file: string, stale: string, nonce: string): void {
  const aside = `${file}.${nonce}.stale`;
  try {
    renameSync(file, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    if (readLock(aside)?.text === stale) return;
    try {
      linkSync(aside, file);
    } catch (error) {
      // A third process took the name meanwhile; the lock linked back would be a second one: theirs stands.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  } finally {
    rmSync(aside, { force: true });
  }
}

function readLock(file: string): { text: string; writtenAt: number } | undefined {
  try {
    const writtenAt = statSync(file).mtimeMs;
    return { text: readFileSync(file, 'utf8'), writtenAt };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** The owner a lock names; undefined for content no daemon writes (nobody can own it, so it is stale). */
function parseOwner(text: string): LockOwner | undefined {
  const trimmed = text.trim();
  if (/^[1-9][0-9]*$/.test(trimmed)) return { pid: Number(trimmed) };
  try {
    const parsed = JSON.parse(trimmed) as Partial<Record<keyof LockOwner, unknown>>;
    if (typeof parsed.pid !== 'number' || !Number.isInteger(parsed.pid) || parsed.pid <= 0) return undefined;
    return {
      pid: parsed.pid,
      ...(typeof parsed.startTime === 'string' ? { startTime: parsed.startTime } : {}),
      ...(typeof parsed.bootId === 'string' ? { bootId: parsed.bootId } : {}),
      ...(typeof parsed.nonce === 'string' ? { nonce: parsed.nonce } : {}),
    };
  } catch {
    return undefined;
  }
}

/**
 * Whether the process that took the lock still runs: its pid is alive and, where /proc tells, it is the same
 * boot and the same process (same start time). A pid-only lock of an earlier build is judged by its mtime: a
 * process that started after the lock was written cannot have written it.
 */
function ownerIsAlive(owner: LockOwner, writtenAt: number): boolean {
  if (!pidIsAlive(owner.pid)) return false;
  const bootId = readBootId();
  if (owner.bootId !== undefined && bootId !== undefined && owner.bootId !== bootId) return false;
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
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readBootId(): string | undefined {
  return readProc('/proc/sys/kernel/random/boot_id')?.trim() || undefined;
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
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
