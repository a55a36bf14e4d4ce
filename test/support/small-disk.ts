import { spawnSync } from 'node:child_process';
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Mounts a tmpfs on `dir` (which must exist): a file system the test can fill, of `size` bytes and at most `inodes`
 * files when given. Needs root (and a kernel that allows it); fails naming that requirement otherwise. Unmount it
 * with `unmountSmallDisk` before removing the directory.
 */
export function mountSmallDisk(dir: string, size: string, inodes?: number): void {
  const options = inodes === undefined ? `size=${size}` : `size=${size},nr_inodes=${inodes}`;
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { encoding: 'utf8' });
  if (mounted.status !== 0)
    throw new Error(`this test needs to mount a tmpfs (root): mount said ${mounted.stderr || mounted.error}`);
}

export function unmountSmallDisk(dir: string): void {
  spawnSync('umount', [dir]);
}

/** Fills the file system holding `dir` to the last byte; returns the filler file (remove it to free the space). */
export function fillDisk(dir: string): string {
  const filler = join(dir, 'filler');
  const fd = openSync(filler, 'w');
  try {
    for (const size of [1 << 20, 1 << 12, 1]) {
      const chunk = Buffer.alloc(size, 0x61);
      try {
        for (;;) writeSync(fd, chunk);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      }
    }
  } finally {
    closeSync(fd);
  }
  return filler;
}

/** Creates empty files in `dir` until its file system has no inode left; returns how many it made. */
export function useUpInodes(dir: string): number {
  for (let made = 0; ; made++) {
    try {
      writeFileSync(join(dir, `inode-${made}`), '');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOSPC') return made;
      throw error;
    }
  }
}
