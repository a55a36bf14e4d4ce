import { describe, expect, it } from 'vitest';
import { VersionConflictError } from '../../lambdas/core/errors.ts';
import { freezePolicy, resolve } from '../../lambdas/core/escalation.ts';
import { initialTargetState } from '../../lambdas/core/health-state.ts';
import type { Incident, Notice } from '../../lambdas/core/incident.ts';
import { openIncident } from '../../lambdas/core/incident-planner.ts';
import type { ControlStore, IncidentStore, TargetStateStore } from '../../lambdas/ports.ts';
import { loadShippedConfig, ManualClock, MINUTE, T0 } from './harness.ts';

export type AnyStateStore = TargetStateStore & IncidentStore & ControlStore;

const policy = freezePolicy(loadShippedConfig());

export function newIncident(dedupKey: string, at = T0): Incident {
  return openIncident(
    {
      dedupKey,
      kind: 'service-down',
      severity: 'P2',
      title: `${dedupKey} is down`,
      targets: [dedupKey],
      services: ['auth'],
      flapping: false,
      detail: 'refused',
      failingSince: at - MINUTE,
    },
    policy,
    at,
  ).incident;
}

/**
 * The behaviour every state store must have, whatever it is built on (memory, SQLite, DynamoDB): the use-cases
 * rely on exactly these guarantees.
 */
export function describeStateStoreContract(name: string, open: () => Promise<AnyStateStore> | AnyStateStore): void {
  describe(`${name} (state store contract)`, () => {
    it('stores a new target state at version 1 and refuses a second create of it', async () => {
      const store = await open();
      const fresh = initialTargetState('auth:health@h', T0);
      await store.saveTargetStates([fresh]);
      expect((await store.loadTargetStates(['auth:health@h'])).get('auth:health@h')?.version).toBe(1);
      await expect(store.saveTargetStates([fresh])).rejects.toBeInstanceOf(VersionConflictError);
    });

    it('writes a state only over the version it was read at', async () => {
      const store = await open();
      await store.saveTargetStates([initialTargetState('a', T0)]);
      const read = (await store.loadTargetStates(['a'])).get('a');
      if (!read) throw new Error('not stored');
      await store.saveTargetStates([{ ...read, health: 'down' }]);
      await expect(store.saveTargetStates([{ ...read, health: 'up' }])).rejects.toBeInstanceOf(VersionConflictError);
      expect((await store.loadTargetStates(['a'])).get('a')).toMatchObject({ health: 'down', version: 2 });
    });

    it('writes none of a batch when one state in it conflicts', async () => {
      const store = await open();
      await store.saveTargetStates([initialTargetState('a', T0)]);
      await expect(
        store.saveTargetStates([initialTargetState('b', T0), initialTargetState('a', T0)]),
      ).rejects.toBeInstanceOf(VersionConflictError);
      expect([...(await store.loadTargetStates(['a', 'b'])).keys()]).toEqual(['a']);
    });

    it('returns the open incident instead of creating a second one for the same dedup key', async () => {
      const store = await open();
      const first = await store.createIncident(newIncident('k'), [{ at: T0, type: 'note', by: 't', text: 'one' }]);
      const second = await store.createIncident(newIncident('k', T0 + 1), []);
      expect(first.created).toBe(true);
      expect(second).toMatchObject({ created: false, existing: { id: newIncident('k').id } });
      expect(await store.getTimeline(newIncident('k').id)).toHaveLength(1);
    });

    it('creates exactly one incident when ten writers race on one dedup key', async () => {
      const store = await open();
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => store.createIncident(newIncident('race', T0 + i), [])),
      );
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(await store.listOpenIncidents()).toHaveLength(1);
    });

    it('frees the dedup key when the incident is resolved', async () => {
      const store = await open();
      const created = await store.createIncident(newIncident('k'), []);
      if (!created.created) throw new Error('not created');
      const done = resolve(created.incident, 'ops', 'fixed', T0 + MINUTE);
      await store.updateIncident(done.incident, done.timeline);
      const again = await store.createIncident(newIncident('k', T0 + 2 * MINUTE), []);
      expect(again.created).toBe(true);
      expect(await store.findOpenIncident('k')).toMatchObject({ id: newIncident('k', T0 + 2 * MINUTE).id });
      expect((await store.getIncident(newIncident('k').id))?.status).toBe('resolved');
    });

    it('refuses an update from a stale version and appends none of its timeline', async () => {
      const store = await open();
      const created = await store.createIncident(newIncident('k'), []);
      if (!created.created) throw new Error('not created');
      const v2 = await store.updateIncident({ ...created.incident, count: 2 }, [
        { at: T0, type: 'note', by: 'a', text: 'first' },
      ]);
      expect(v2.version).toBe(2);
      await expect(
        store.updateIncident({ ...created.incident, count: 99 }, [{ at: T0, type: 'note', by: 'b', text: 'lost' }]),
      ).rejects.toBeInstanceOf(VersionConflictError);
      expect((await store.getIncident(created.incident.id))?.count).toBe(2);
      expect((await store.getTimeline(created.incident.id)).map((e) => (e.type === 'note' ? e.text : e.type))).toEqual([
        'first',
      ]);
    });

    it('lists only incidents whose escalation is due', async () => {
      const store = await open();
      const a = newIncident('a');
      const b = newIncident('b');
      await store.createIncident({ ...a, escalation: { ...a.escalation, nextAt: T0 + MINUTE } }, []);
      await store.createIncident({ ...b, escalation: { ...b.escalation, nextAt: T0 + 10 * MINUTE } }, []);
      expect((await store.listIncidentsDue(T0 + 5 * MINUTE)).map((i) => i.dedupKey)).toEqual(['a']);
      expect((await store.listIncidentsDue(T0 + 10 * MINUTE)).map((i) => i.dedupKey).sort()).toEqual(['a', 'b']);
    });

    it('lists a resolved incident while it owes a notice, and not once the notice is gone (the due index)', async () => {
      const store = await open();
      const created = await store.createIncident(newIncident('n'), []);
      const quiet = await store.createIncident(newIncident('q'), []);
      if (!created.created || !quiet.created) throw new Error('not created');
      const owed: Notice = {
        key: 'resolved-1',
        kind: 'resolved',
        at: T0 + MINUTE,
        by: 'ops',
        done: ['file'],
        attempts: 1,
        nextAt: T0 + 2 * MINUTE,
      };
      const done = resolve(created.incident, 'ops', 'fixed', T0 + MINUTE);
      const stored = await store.updateIncident({ ...done.incident, notices: [owed] }, done.timeline);
      const other = resolve(quiet.incident, 'ops', 'fixed', T0 + MINUTE);
      await store.updateIncident(other.incident, other.timeline);
      expect(await store.listIncidentsDue(T0 + 2 * MINUTE - 1)).toEqual([]);
      const due = await store.listIncidentsDue(T0 + 2 * MINUTE);
      expect(due.map((i) => [i.dedupKey, i.status])).toEqual([['n', 'resolved']]);
      expect(due[0]?.notices).toEqual([owed]);
      // A lease on the notice moves it out of the index until the lease lapses.
      const leased = await store.updateIncident({ ...stored, notices: [{ ...owed, leaseUntil: T0 + 3 * MINUTE }] }, []);
      expect(await store.listIncidentsDue(T0 + 3 * MINUTE - 1)).toEqual([]);
      expect((await store.listIncidentsDue(T0 + 3 * MINUTE)).map((i) => i.dedupKey)).toEqual(['n']);
      const { notices: _gone, ...settled } = leased;
      await store.updateIncident(settled, []);
      expect(await store.listIncidentsDue(T0 + 365 * 24 * 60 * MINUTE)).toEqual([]);
    });

    it("keeps a maintenance window's owed notices", async () => {
      const store = await open();
      const notice: Notice = {
        key: 'maintenance-ended-1',
        kind: 'maintenance-ended',
        at: T0 + MINUTE,
        done: [],
        attempts: 0,
        nextAt: T0 + MINUTE,
      };
      const window = {
        id: 'mw-n',
        subjects: ['auth'],
        startsAt: T0,
        endsAt: T0 + MINUTE,
        reason: 'r',
        createdBy: 'a',
        notices: [notice],
      };
      await store.putMaintenanceWindow(window);
      expect(await store.listMaintenanceWindows(T0)).toEqual([window]);
      const { notices: _sent, ...without } = window;
      await store.putMaintenanceWindow(without);
      expect(await store.listMaintenanceWindows(T0)).toEqual([without]);
    });

    it('lists incidents newest first with a limit', async () => {
      const store = await open();
      for (let i = 0; i < 3; i++) await store.createIncident(newIncident(`k${i}`, T0 + i * MINUTE), []);
      expect((await store.listIncidents({ limit: 2 })).map((i) => i.dedupKey)).toEqual(['k2', 'k1']);
    });

    it('keeps remediation attempts, isolation marks and maintenance windows', async () => {
      const store = await open();
      await store.recordAttempt({
        id: 'a1',
        service: 'auth',
        incidentId: 'i',
        action: 'restart',
        requestedAt: T0,
        outcome: 'pending',
      });
      await expect(
        store.recordAttempt({
          id: 'a1',
          service: 'auth',
          incidentId: 'i',
          action: 'restart',
          requestedAt: T0,
          outcome: 'pending',
        }),
      ).rejects.toBeInstanceOf(VersionConflictError);
      expect(await store.finishAttempt('a1', 'failed', T0 + MINUTE, 'exit 1')).toBe(true);
      expect(await store.finishAttempt('a1', 'succeeded', T0 + 2 * MINUTE, 'late')).toBe(false);
      expect(await store.listAttempts(['auth'], T0)).toMatchObject([
        { id: 'a1', outcome: 'failed', finishedAt: T0 + MINUTE },
      ]);
      expect(await store.listAttempts(['auth'], T0 + 1)).toEqual([]);

      await store.setIsolated('pgc', true, 'alice', T0);
      await store.setIsolated('ac', true, 'alice', T0);
      await store.setIsolated('ac', false, 'alice', T0);
      expect([...(await store.listIsolated())]).toEqual(['pgc']);

      const window = { id: 'mw', subjects: ['*'], startsAt: T0, endsAt: T0 + MINUTE, reason: 'r', createdBy: 'a' };
      await store.putMaintenanceWindow(window);
      expect(await store.listMaintenanceWindows(T0)).toEqual([window]);
      expect(await store.listMaintenanceWindows(T0 + MINUTE)).toEqual([]);
    });

    it('finds an attempt by the id of the command carrying it out, and lists stale pending attempts', async () => {
      const store = await open();
      const attempt = { service: 'auth', incidentId: 'i', action: 'restart' as const, outcome: 'pending' as const };
      await store.recordAttempt({ ...attempt, id: 'old', requestedAt: T0 });
      await store.recordAttempt({ ...attempt, id: 'new', requestedAt: T0 + 10 * MINUTE });
      await store.recordAttempt({ ...attempt, id: 'done', requestedAt: T0 });
      await store.finishAttempt('done', 'succeeded', T0 + MINUTE, 'ok');
      await store.attachCommand('old', 'cmd-123');
      expect(await store.findAttemptByCommand('cmd-123')).toMatchObject({ id: 'old', commandId: 'cmd-123' });
      expect(await store.findAttemptByCommand('cmd-999')).toBeUndefined();
      expect((await store.listPendingAttempts(T0 + 5 * MINUTE)).map((a) => a.id)).toEqual(['old']);
      await expect(store.attachCommand('missing', 'cmd-1')).rejects.toBeInstanceOf(VersionConflictError);
    });

    it('grants a lease to one holder at a time until its time runs out, and renews it for that holder', async () => {
      const store = await open();
      const clock = new ManualClock(T0);
      const take = (holder: string, ttl = MINUTE) =>
        store.acquireLease('probe', holder, clock.now(), clock.now() + ttl);
      expect(await take('run-1')).toEqual({ acquired: true });
      clock.advance(30_000);
      expect(await take('run-2')).toEqual({ acquired: false, holder: 'run-1', until: T0 + MINUTE });
      // Another lease name is another lease.
      expect(await store.acquireLease('escalation-sweep', 'run-2', clock.now(), clock.now() + MINUTE)).toEqual({
        acquired: true,
      });
      // Its holder renews it (Lambda retries an invocation with the same request id).
      expect(await take('run-1')).toEqual({ acquired: true });
      clock.advance(MINUTE - 1);
      expect(await take('run-2')).toEqual({ acquired: false, holder: 'run-1', until: T0 + 30_000 + MINUTE });
      // At its `until` the lease has lapsed (a crashed holder blocks no longer than that), and the next one takes it.
      clock.advance(1);
      expect(await take('run-2')).toEqual({ acquired: true });
      expect(await take('run-1')).toEqual({ acquired: false, holder: 'run-2', until: clock.now() + MINUTE });
    });

    it('gives a lease up only for its holder, and then grants it at once', async () => {
      const store = await open();
      await store.acquireLease('backup:drill', 'run-1', T0, T0 + 15 * MINUTE);
      expect(await store.releaseLease('backup:drill', 'run-2')).toBe(false);
      expect(await store.acquireLease('backup:drill', 'run-2', T0 + 1, T0 + MINUTE)).toMatchObject({ acquired: false });
      expect(await store.releaseLease('backup:drill', 'run-1')).toBe(true);
      expect(await store.releaseLease('backup:drill', 'run-1')).toBe(false);
      expect(await store.acquireLease('backup:drill', 'run-2', T0 + 2, T0 + MINUTE)).toEqual({ acquired: true });
      expect(await store.releaseLease('never-taken', 'run-1')).toBe(false);
    });

    it('grants a free lease to exactly one of ten holders racing for it', async () => {
      const store = await open();
      const claims = await Promise.all(
        Array.from({ length: 10 }, (_, i) => store.acquireLease('probe', `run-${i}`, T0, T0 + MINUTE)),
      );
      expect(claims.filter((c) => c.acquired)).toHaveLength(1);
      const winner = claims.findIndex((c) => c.acquired);
      for (const c of claims.filter((c) => !c.acquired))
        expect(c).toEqual({ acquired: false, holder: `run-${winner}`, until: T0 + MINUTE });
    });

    it('keeps the audit trail, newest first, from a time on and up to a limit', async () => {
      const store = await open();
      const entry = (at: number, action: string) => ({
        at,
        caller: 'arn:aws:iam::123456789012:user/alice',
        method: 'POST',
        path: '/services/auth/restart',
        action,
        subjects: ['auth'],
        statusCode: 200,
        outcome: 'succeeded',
        detail: 'auth restarted',
      });
      expect(await store.listAudit({})).toEqual([]);
      await store.appendAudit(entry(T0, 'service.stop'));
      await store.appendAudit(entry(T0 + 2 * MINUTE, 'service.start'));
      await store.appendAudit(entry(T0 + MINUTE, 'service.restart'));
      expect((await store.listAudit({})).map((e) => e.action)).toEqual([
        'service.start',
        'service.restart',
        'service.stop',
      ]);
      expect((await store.listAudit({ limit: 2 })).map((e) => e.action)).toEqual(['service.start', 'service.restart']);
      expect((await store.listAudit({ since: T0 + MINUTE })).map((e) => e.action)).toEqual([
        'service.start',
        'service.restart',
      ]);
      expect(await store.listAudit({ since: T0 + 3 * MINUTE })).toEqual([]);
      expect((await store.listAudit({ limit: 1 }))[0]).toEqual(entry(T0 + 2 * MINUTE, 'service.start'));
    });

    it('refuses a lease that would end before it starts, or a name it cannot key on, naming the field', async () => {
      const store = await open();
      await expect(store.acquireLease('probe', 'run-1', T0, T0)).rejects.toThrow(
        `lease probe: until (${T0}) must be after now (${T0})`,
      );
      await expect(store.acquireLease('probe', 'run-1', T0, Number.NaN)).rejects.toThrow('until NaN');
      await expect(store.acquireLease('', 'run-1', T0, T0 + 1)).rejects.toThrow('lease name ""');
      await expect(store.acquireLease('probe', 'a b', T0, T0 + 1)).rejects.toThrow('lease holder "a b"');
      expect(await store.acquireLease('probe', 'run-2', T0, T0 + 1)).toEqual({ acquired: true });
    });
  });
}
