import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStateStore } from '../../lambdas/adapters/local/sqlite-state-store.ts';
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
