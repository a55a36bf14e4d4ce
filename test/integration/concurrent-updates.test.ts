import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStateStore } from '../../lambdas/adapters/local/sqlite-state-store.ts';
import { MemoryStateStore } from '../../lambdas/adapters/memory/memory-state-store.ts';
import type { IncidentStore } from '../../lambdas/ports.ts';
import { updateIncidentWithRetry } from '../../lambdas/use-cases/update-incident.ts';
import { T0 } from '../support/harness.ts';
import { newIncident } from '../support/state-store-contract.ts';

const REPORTS = 100;
const dir = mkdtempSync(join(tmpdir(), 'acgs-concurrent-'));
const opened: SqliteStateStore[] = [];
afterAll(() => {
  for (const s of opened) s.close();
  rmSync(dir, { recursive: true, force: true });
});

/** 100 reports about one incident at once, each through one of `stores` (several connections to one file). */
async function concurrentReports(stores: readonly IncidentStore[]): Promise<{ landed: number; errors: string[] }> {
  const [first] = stores;
  if (!first) throw new Error('no store');
  const created = await first.createIncident(newIncident('contended'), []);
  if (!created.created) throw new Error('not created');
  const { id } = created.incident;
  const results = await Promise.allSettled(
    Array.from({ length: REPORTS }, (_, i) =>
      updateIncidentWithRetry(stores[i % stores.length] ?? first, id, (current) => ({
        incident: { ...current, count: current.count + 1 },
        timeline: [{ at: T0 + i, type: 'note', by: `reporter-${i}`, text: `report ${i}` }],
      })),
    ),
  );
  const errors = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
  const timeline = await first.getTimeline(id);
  const stored = await first.getIncident(id);
  expect(stored?.count).toBe(created.incident.count + REPORTS);
  expect(new Set(timeline.map((e) => (e.type === 'note' ? e.by : ''))).size).toBe(REPORTS);
  return { landed: timeline.length, errors };
}

describe('concurrent updates of one incident', () => {
  it('lands every one of 100 concurrent reports when they race on the memory store', async () => {
    const { landed, errors } = await concurrentReports([new MemoryStateStore()]);
    expect({ landed, errors }).toEqual({ landed: REPORTS, errors: [] });
  });

  it('lands every one of 100 concurrent reports when they race through four SQLite connections to one file', async () => {
    const file = join(dir, 'state.db');
    const stores = Array.from({ length: 4 }, () => new SqliteStateStore(file));
    opened.push(...stores);
    const { landed, errors } = await concurrentReports(stores);
    expect({ landed, errors }).toEqual({ landed: REPORTS, errors: [] });
  });
});
