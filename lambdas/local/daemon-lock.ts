import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ControlPlaneError } from '../core/errors.ts';

/**
 * One daemon per state directory: two would both probe, page and restart. The lock is a file holding the owner's
 * pid, created exclusively; a lock whose owner is gone (kill -9, a reboot) is taken over.
 */
export interface DaemonLock {
  release(): void;
}

export function acquireDaemonLock(stateDir: string, pid = process.pid): DaemonLock {
  const file = join(stateDir, 'daemon.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, `${pid}\n`);
      closeSync(fd);
      return {
        release: () => {
          if (readOwner(file) === pid) rmSync(file, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = readOwner(file);
      if (owner !== undefined && owner !== pid && isAlive(owner))
        throw new ControlPlaneError(
          'DAEMON_RUNNING',
          `a daemon (pid ${owner}) already runs on ${stateDir}; stop it first, or use another --state`,
        );
      rmSync(file, { force: true });
    }
  }
  throw new ControlPlaneError('DAEMON_LOCK', `could not take the daemon lock ${file}`);
}

function readOwner(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
