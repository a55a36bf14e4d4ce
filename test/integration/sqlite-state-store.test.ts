import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStateStore } from '../../lambdas/adapters/local/sqlite-state-store.ts';
import { StateUnavailableError } from '../../lambdas/core/errors.ts';
import { T0 } from '../support/harness.ts';
import { describeStateStoreContract, newIncident } from '../support/state-store-contract.ts';

const dir = mkdtempSync(join(tmpdir(), 'acgs-sqlite-'));
const opened: SqliteStateStore[] = [];
let n = 0;
afterAll(() => {
  for (const s of opened) s.close();
  rmSync(dir, { recursive: true, force: true });
});

function openStore(file = join(dir, `state-${n++}.db`)): SqliteStateStore {
  const store = new SqliteStateStore(file);
  opened.push(store);
  return store;
}

describeStateStoreContract('SqliteStateStore', () => openStore());

/**
 * The cases on directories nothing can write need root (as root, chmod stops no write) and `chattr` (e2fsprogs):
 * without them the test fails on this assertion, naming what is missing.
 */
function requireRootWith(...tools: string[]): void {
  const missing = [
    ...(process.getuid?.() === 0 ? [] : ['root']),
    ...tools.filter((tool) => spawnSync('sh', ['-c', 'command -v "$0"', tool]).status !== 0),
  ];
  expect(missing, `this test needs root and ${tools.join(', ')}; missing`).toEqual([]);
}

/** Runs `act` while `path` is immutable (chattr +i): nothing can be created, changed or removed in it, even by root. */
function whileImmutable(path: string, act: () => void): void {
  requireRootWith('chattr');
  execFileSync('chattr', ['+i', path]);
  try {
    expect(() => writeFileSync(join(path, 'probe'), '')).toThrow(/EPERM/);
    act();
  } finally {
    execFileSync('chattr', ['-i', path]);
  }
}

describe('SqliteStateStore on disk', () => {
  it('keeps everything when the file is closed and opened again', async () => {
    const file = join(dir, 'reopen.db');
    const first = new SqliteStateStore(file);
    await first.createIncident(newIncident('k'), [{ at: T0, type: 'note', by: 'a', text: 'kept' }]);
    await first.setIsolated('pgc', true, 'alice', T0);
    first.close();
    const second = openStore(file);
    expect((await second.findOpenIncident('k'))?.id).toBe(newIncident('k').id);
    expect(await second.getTimeline(newIncident('k').id)).toHaveLength(1);
    expect([...(await second.listIsolated())]).toEqual(['pgc']);
  });

  it('enforces one open incident per key across two processes sharing the file', async () => {
    const file = join(dir, 'shared.db');
    const a = openStore(file);
    const b = openStore(file);
    const [ra, rb] = await Promise.all([
      a.createIncident(newIncident('shared'), []),
      b.createIncident(newIncident('shared', T0 + 1), []),
    ]);
    expect([ra.created, rb.created].filter(Boolean)).toHaveLength(1);
  });

  it('loses no committed write and leaves no half-written incident when the writer is killed with SIGKILL', async () => {
    // Prepare: a writer process creating incidents (1 timeline entry) and updating each 3 times (1 entry each).
    const file = join(dir, 'crash.db');
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/sqlite-writer.ts', file], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`writer exited early with ${code}`)));
    });
    // Act: once it has written 30 incidents, kill it without warning (mid-write, most likely).
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        if (
          chunk
            .toString()
            .split('\n')
            .some((line) => Number(line) >= 30)
        )
          resolve();
      });
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    // Assess: every stored incident's version matches its timeline, i.e. no update landed without its entry.
    const store = openStore(file);
    const incidents = await store.listIncidents({});
    expect(incidents.length).toBeGreaterThan(3);
    for (const incident of incidents) {
      const timeline = await store.getTimeline(incident.id);
      expect(timeline.length).toBe(incident.version);
      expect(incident.count).toBe(incident.version);
    }
  });
});

describe('SqliteStateStore opening', () => {
  function caseDir(name: string): string {
    const path = join(dir, name);
    mkdirSync(path);
    return path;
  }

  it('refuses a zero-byte file and leaves it empty', () => {
    // Prepare
    const file = join(caseDir('zero'), 'state.db');
    writeFileSync(file, '');
    // Act
    const open = () => new SqliteStateStore(file);
    const read = () => new SqliteStateStore(file, { readOnly: true });
    // Assess
    for (const attempt of [open, read]) {
      expect(attempt).toThrow(StateUnavailableError);
      expect(attempt).toThrow(`state file ${file} is empty (0 bytes)`);
    }
    expect(statSync(file).size).toBe(0);
  });

  it('refuses a file that is not an SQLite database and leaves it unchanged', () => {
    // Prepare
    const file = join(caseDir('junk'), 'state.db');
    const junk = 'not sqlite '.repeat(100);
    writeFileSync(file, junk);
    // Act
    const open = () => new SqliteStateStore(file);
    const read = () => new SqliteStateStore(file, { readOnly: true });
    // Assess
    for (const attempt of [open, read]) expect(attempt).toThrow(/is not an SQLite database/);
    expect(readFileSync(file, 'utf8')).toBe(junk);
  });

  it('refuses an SQLite database that is not control-plane state and adds no table to it', () => {
    // Prepare
    const file = join(caseDir('foreign'), 'state.db');
    const foreign = new Database(file);
    foreign.exec('CREATE TABLE photos (id INTEGER PRIMARY KEY)');
    foreign.close();
    // Act
    const open = () => new SqliteStateStore(file);
    // Assess
    expect(open).toThrow(/is an SQLite database but not control-plane state/);
    const after = new Database(file, { readonly: true });
    const tables = after.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all();
    after.close();
    expect(tables).toEqual([{ name: 'photos' }]);
  });

  it('creates nothing when opened read-only where there is no state', () => {
    // Prepare
    const empty = caseDir('no-state');
    const file = join(empty, 'state.db');
    // Act
    const read = () => new SqliteStateStore(file, { readOnly: true });
    // Assess
    expect(read).toThrow(StateUnavailableError);
    expect(readdirSync(empty)).toEqual([]);
    expect(() => new SqliteStateStore(join(empty, 'missing', 'state.db'), { readOnly: true })).toThrow(
      StateUnavailableError,
    );
    expect(existsSync(join(empty, 'missing'))).toBe(false);
  });

  it('reads what a writer stored when opened read-only', async () => {
    // Prepare
    const file = join(caseDir('reader'), 'state.db');
    const writer = openStore(file);
    await writer.createIncident(newIncident('seen'), []);
    // Act
    const reader = new SqliteStateStore(file, { readOnly: true });
    opened.push(reader);
    // Assess
    expect((await reader.findOpenIncident('seen'))?.id).toBe(newIncident('seen').id);
    await expect(reader.createIncident(newIncident('other'), [])).rejects.toThrow(/readonly/);
  });

  it('refuses to open for writing, and reads what is stored, in a directory where nothing can be created (immutable, as root)', async () => {
    // Prepare: a closed store (no write-ahead log left), in a directory made immutable.
    const immutable = caseDir('immutable');
    const file = join(immutable, 'state.db');
    const writer = new SqliteStateStore(file);
    await writer.createIncident(newIncident('seen'), []);
    writer.close();
    let reader: SqliteStateStore | undefined;
    whileImmutable(immutable, () => {
      // Act
      const open = () => new SqliteStateStore(file);
      reader = new SqliteStateStore(file, { readOnly: true });
      opened.push(reader);
      // Assess
      expect(open).toThrow(StateUnavailableError);
      expect(open).toThrow(`cannot open state file ${file}: its directory is read-only`);
      expect(readdirSync(immutable)).toEqual(['state.db']);
    });
    expect((await reader?.findOpenIncident('seen'))?.id).toBe(newIncident('seen').id);
    await expect(reader?.createIncident(newIncident('other'), [])).rejects.toThrow(/readonly/);
  });

  it('refuses to read, rather than read stale, a store whose write-ahead log it cannot read in an immutable directory', async () => {
    // Prepare: a copy of a live store (its write-ahead log holds the incident; no -shm), made immutable.
    const live = join(caseDir('live'), 'state.db');
    const writer = openStore(live);
    await writer.createIncident(newIncident('in-the-log'), []);
    const immutable = caseDir('immutable-wal');
    const file = join(immutable, 'state.db');
    copyFileSync(live, file);
    copyFileSync(`${live}-wal`, `${file}-wal`);
    expect(statSync(`${file}-wal`).size).toBeGreaterThan(0);
    whileImmutable(immutable, () => {
      // Act
      const read = () => new SqliteStateStore(file, { readOnly: true });
      // Assess
      expect(read).toThrow(StateUnavailableError);
      expect(read).toThrow(`its write-ahead log ${file}-wal`);
    });
  });
});
