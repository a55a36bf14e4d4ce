import { describe, expect, it } from 'vitest';
import {
  type StateWriteStatus,
  WriteBehindStateStore,
} from '../../../../lambdas/adapters/local/write-behind-state-store.ts';
import { MemoryStateStore } from '../../../../lambdas/adapters/memory/memory-state-store.ts';
import { VersionConflictError } from '../../../../lambdas/core/errors.ts';
import { initialTargetState, type TargetState } from '../../../../lambdas/core/health-state.ts';
import type { Incident, TimelineEntry } from '../../../../lambdas/core/incident.ts';
import type { RemediationAttempt } from '../../../../lambdas/core/remediation.ts';
import type { CreateIncidentResult } from '../../../../lambdas/ports.ts';
import { createContext } from '../../../../lambdas/use-cases/context.ts';
import { applyProbeResults } from '../../../../lambdas/use-cases/run-probe-cycle.ts';
import { sweepEscalations } from '../../../../lambdas/use-cases/sweep-escalations.ts';
import { createHarness, MINUTE, results, T0 } from '../../../support/harness.ts';
import { describeStateStoreContract, newIncident } from '../../../support/state-store-contract.ts';

/** SQLite's answer to a write on a full disk. */
function diskFull(): Error {
  return Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
}

/** A store whose disk fills up on demand: the daemon's writes then fail as SQLite's do; reads still work. */
class FillableStore extends MemoryStateStore {
  full = false;
  private check(): void {
    if (this.full) throw diskFull();
  }
  override async saveTargetStates(states: readonly TargetState[]): Promise<void> {
    this.check();
    return super.saveTargetStates(states);
  }
  override async createIncident(incident: Incident, timeline: readonly TimelineEntry[]): Promise<CreateIncidentResult> {
    this.check();
    return super.createIncident(incident, timeline);
  }
  override async updateIncident(incident: Incident, timeline: readonly TimelineEntry[]): Promise<Incident> {
    this.check();
    return super.updateIncident(incident, timeline);
  }
  override async recordAttempt(attempt: RemediationAttempt): Promise<void> {
    this.check();
    return super.recordAttempt(attempt);
  }
  override async finishAttempt(
    id: string,
    outcome: 'succeeded' | 'failed',
    finishedAt: number,
    detail: string,
  ): Promise<boolean> {
    this.check();
    return super.finishAttempt(id, outcome, finishedAt, detail);
  }
}

function writeBehind(full: boolean) {
  const disk = new FillableStore();
  disk.full = full;
  const reports: StateWriteStatus[] = [];
  const store = new WriteBehindStateStore(disk, { now: () => T0 }, (s) => reports.push(s));
  return { disk, store, reports };
}

// Held in memory, the daemon's changes keep every guarantee the store gives.
describeStateStoreContract('WriteBehindStateStore on a full disk', () => writeBehind(true).store);
describeStateStoreContract('WriteBehindStateStore on a healthy disk', () => writeBehind(false).store);

describe('WriteBehindStateStore', () => {
  it('keeps changes in memory, reports once, and writes them all out once the disk takes writes again', async () => {
    // Prepare
    const { disk, store, reports } = writeBehind(false);
    const created = await store.createIncident(newIncident('k'), [{ at: T0, type: 'note', by: 'a', text: 'one' }]);
    if (!created.created) throw new Error('not created');
    disk.full = true;
    // Act: changes while the disk is full
    await store.saveTargetStates([initialTargetState('auth', T0)]);
    const updated = await store.updateIncident({ ...created.incident, count: 2 }, [
      { at: T0, type: 'note', by: 'a', text: 'two' },
    ]);
    await store.updateIncident({ ...updated, count: 3 }, [{ at: T0, type: 'note', by: 'a', text: 'three' }]);
    const other = await store.createIncident(newIncident('other'), [{ at: T0, type: 'note', by: 'a', text: 'new' }]);
    // Assess: nothing on disk yet, everything visible, one report
    expect(await disk.getTimeline(created.incident.id)).toHaveLength(1);
    expect((await store.getIncident(created.incident.id))?.count).toBe(3);
    expect((await store.getTimeline(created.incident.id)).map((e) => (e.type === 'note' ? e.text : ''))).toEqual([
      'one',
      'two',
      'three',
    ]);
    expect((await store.listOpenIncidents()).map((i) => i.dedupKey).sort()).toEqual(['k', 'other']);
    expect(reports).toMatchObject([{ writable: false, error: 'SQLITE_FULL: database or disk is full' }]);
    expect(store.status()).toMatchObject({ writable: false, pendingChanges: 3 });
    expect(await store.flush()).toBe(false);
    expect(reports).toHaveLength(1);
    // Act: space returns
    disk.full = false;
    expect(await store.flush()).toBe(true);
    // Assess
    expect((await disk.getIncident(created.incident.id))?.count).toBe(3);
    expect(await disk.getTimeline(created.incident.id)).toHaveLength(3);
    expect(other.created && (await disk.getTimeline(other.incident.id))).toHaveLength(1);
    expect((await disk.loadTargetStates(['auth'])).get('auth')?.version).toBe(1);
    expect(store.status()).toEqual({ writable: true, pendingChanges: 0 });
    expect(reports).toMatchObject([{ writable: false }, { writable: true, pendingChanges: 3 }]);
  });

  it('refuses a write over a copy handed out from memory that memory had already moved past, after the write-out', async () => {
    // Prepare: two changes in memory; a writer still holds the copy between them
    const { disk, store } = writeBehind(false);
    const created = await store.createIncident(newIncident('k'), []);
    if (!created.created) throw new Error('not created');
    disk.full = true;
    const stale = await store.updateIncident({ ...created.incident, count: 2 }, []);
    await store.updateIncident({ ...stale, count: 3 }, []);
    disk.full = false;
    // Act
    await store.flush();
    // Assess
    await expect(store.updateIncident({ ...stale, count: 99 }, [])).rejects.toBeInstanceOf(VersionConflictError);
    expect((await disk.getIncident(created.incident.id))?.count).toBe(3);
  });

  it('keeps the record of the daemon and the state an operator wrote when both changed an incident', async () => {
    // Prepare
    const { disk, store } = writeBehind(false);
    const created = await store.createIncident(newIncident('k'), []);
    if (!created.created) throw new Error('not created');
    disk.full = true;
    await store.updateIncident({ ...created.incident, count: 9 }, [{ at: T0, type: 'note', by: 'd', text: 'daemon' }]);
    disk.full = false;
    await disk.updateIncident({ ...created.incident, status: 'acknowledged' }, [
      { at: T0, type: 'acknowledged', by: 'alice' },
    ]);
    // Act
    await store.flush();
    // Assess
    expect((await disk.getIncident(created.incident.id))?.status).toBe('acknowledged');
    expect((await disk.getTimeline(created.incident.id)).map((e) => e.type)).toEqual(['acknowledged', 'note']);
  });

  it('still opens, pages and records an incident when the disk is full from the first write', async () => {
    // Prepare: a healthy fleet on record, then the disk fills up and auth goes down
    const h = createHarness();
    const disk = new FillableStore();
    const store = new WriteBehindStateStore(disk, h.clock, () => {});
    const ctx = createContext(h.ctx.config, { ...h.ctx, states: store, incidents: store, control: store });
    h.clock.advance(MINUTE);
    await applyProbeResults(ctx, results(ctx));
    disk.full = true;
    // Act
    for (let i = 0; i < 3; i++) {
      h.clock.advance(MINUTE);
      const cycle = await applyProbeResults(ctx, results(ctx, { auth: 'unhealthy' }));
      await Promise.all(cycle.remediation.inFlight);
      await sweepEscalations(ctx);
    }
    // Assess: paged while nothing could be written
    expect(h.notifier.lines()).toEqual(['L1 opened P2 auth:health@127.0.0.1']);
    expect(await disk.listOpenIncidents()).toEqual([]);
    // Act: space returns
    disk.full = false;
    await store.flush();
    // Assess: the incident, its page and its restarts are on record
    const [incident] = await disk.listOpenIncidents();
    const types = (await disk.getTimeline(incident?.id ?? '')).map((e) => e.type);
    expect(types).toContain('paged');
    expect(types[0]).toBe('opened');
    expect(incident?.escalation).toMatchObject({ level: 1, pages: 1 });
    expect(await disk.listAttempts(['auth'], 0)).not.toEqual([]);
  });
});
