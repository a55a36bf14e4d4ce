import { describe, expect, it } from 'vitest';
import { MemoryStateStore } from '../../../lambdas/adapters/memory/memory-state-store.ts';
import { VersionConflictError } from '../../../lambdas/core/errors.ts';
import type { Incident, TimelineEntry } from '../../../lambdas/core/incident.ts';
import type { IncidentStore } from '../../../lambdas/ports.ts';
import { updateIncidentWithRetry } from '../../../lambdas/use-cases/update-incident.ts';
import { T0 } from '../../support/harness.ts';
import { newIncident } from '../../support/state-store-contract.ts';

/** A store that loses the race `conflicts` times before letting a write through. */
class ContendedStore extends MemoryStateStore {
  constructor(private conflicts: number) {
    super();
  }
  override async updateIncident(incident: Incident, timeline: readonly TimelineEntry[]): Promise<Incident> {
    if (this.conflicts > 0) {
      this.conflicts--;
      throw new VersionConflictError(`incident ${incident.id}`, incident.version);
    }
    return super.updateIncident(incident, timeline);
  }
}

async function seeded(store: IncidentStore): Promise<Incident> {
  const created = await store.createIncident(newIncident('k'), []);
  if (!created.created) throw new Error('not created');
  return created.incident;
}

const note = (text: string) => (current: Incident) => ({
  incident: current,
  timeline: [{ at: T0, type: 'note' as const, by: 'test', text }],
});

describe('updateIncidentWithRetry', () => {
  it('backs off with growing, jittered sleeps between lost races when writers contend', async () => {
    // Prepare
    const store = new ContendedStore(6);
    const incident = await seeded(store);
    const sleeps: number[] = [];
    // Act
    const updated = await updateIncidentWithRetry(store, incident, note('landed'), {
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      random: () => 0.5,
    });
    // Assess
    expect(updated?.version).toBe(2);
    expect(sleeps).toHaveLength(6);
    for (const [i, ms] of sleeps.entries()) if (i > 0) expect(ms).toBeGreaterThanOrEqual(sleeps[i - 1] ?? 0);
    expect(sleeps[5]).toBeGreaterThan(sleeps[0] ?? 0);
  });

  it('lands after many more lost races than the old eight attempts when contention lasts', async () => {
    // Prepare
    const store = new ContendedStore(20);
    const incident = await seeded(store);
    let slept = 0;
    // Act
    const updated = await updateIncidentWithRetry(store, incident, note('landed'), {
      sleep: async () => {
        slept++;
      },
    });
    // Assess
    expect(updated?.version).toBe(2);
    expect(slept).toBe(20);
    expect(await store.getTimeline(incident.id)).toMatchObject([{ type: 'note', text: 'landed' }]);
  });

  it('spreads the sleeps with jitter so that racing writers do not retry in lockstep', async () => {
    // Prepare
    const store = new ContendedStore(1);
    const incident = await seeded(store);
    const sleeps: number[] = [];
    const sleep = async (ms: number) => {
      sleeps.push(ms);
    };
    // Act
    await updateIncidentWithRetry(store, incident, note('a'), { sleep, random: () => 0 });
    const again = new ContendedStore(1);
    await updateIncidentWithRetry(again, await seeded(again), note('b'), { sleep, random: () => 0.99 });
    // Assess
    expect(sleeps[0]).not.toBe(sleeps[1]);
  });

  it('gives up with the conflict once the attempts are spent when a writer never wins', async () => {
    // Prepare
    const store = new ContendedStore(Number.POSITIVE_INFINITY);
    const incident = await seeded(store);
    // Act / Assess
    await expect(
      updateIncidentWithRetry(store, incident, note('never'), { sleep: async () => {}, maxAttempts: 5 }),
    ).rejects.toBeInstanceOf(VersionConflictError);
  });
});
