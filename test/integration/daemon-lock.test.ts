import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireDaemonLock } from '../../lambdas/local/daemon-lock.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function stateDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'acgs-lock-'));
  dirs.push(d);
  return d;
}

describe('daemon lock', () => {
  it('refuses a second daemon on the same state directory, naming the running one', () => {
    const dir = stateDir();
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 5000)']);
    try {
      acquireDaemonLock(dir, child.pid);
      expect(() => acquireDaemonLock(dir)).toThrow(new RegExp(`a daemon \\(pid ${child.pid}\\) already runs`));
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('takes over the lock of a daemon that died without releasing it', async () => {
    const dir = stateDir();
    const child = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => child.once('exit', r));
    writeFileSync(join(dir, 'daemon.lock'), `${child.pid}\n`);
    const lock = acquireDaemonLock(dir);
    expect(readFileSync(join(dir, 'daemon.lock'), 'utf8').trim()).toBe(String(process.pid));
    lock.release();
    expect(() => readFileSync(join(dir, 'daemon.lock'))).toThrow(/ENOENT/);
  });
});
