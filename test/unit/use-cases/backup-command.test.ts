import { describe, expect, it } from 'vitest';
import type { ObjectStore } from '../../../lambdas/ports.ts';
import { finishBackupCommand, monitorBackups, runBackup } from '../../../lambdas/use-cases/backups.ts';
import { createHarness, MINUTE, T0 } from '../../support/harness.ts';
import { MemoryObjectStore, publishBackup as publish } from '../../support/memory-object-store.ts';

const HOUR = 60 * MINUTE;

/**
 * A backup sent through SSM without waiting (the backups Lambda) ends later, in a command status-change event:
 * `finishBackupCommand` must then do what `runBackup` does with a failed result on one host.
 */
const HOST = 'i-0123456789abcdef0';
const COMMAND = '5f7a6b1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b';

/** The failure path of a backup never reads the store: any use of it is a defect of the test. */
const untouched: ObjectStore = new Proxy({} as ObjectStore, {
  get: (_target, method) => () => Promise.reject(new Error(`the store was used (${String(method)})`)),
});

describe('finishBackupCommand', () => {
  it('opens the P2 backup incident a failed attempt opens on one host, naming SSM status, command and instance, when the command ends Failed', async () => {
    // Prepare: the incident runBackup opens for a failed attempt, on a harness of its own
    const onHost = createHarness();
    onHost.commands.next = { status: 'failed', exitCode: 1, output: 'cannot write s3://acgs-1-backups/' };
    await runBackup(onHost.ctx, { objects: untouched });
    const [expected] = await onHost.store.listOpenIncidents();
    const h = createHarness();
    h.clock.set(T0 + 7 * MINUTE);
    // Act
    const incident = await finishBackupCommand(h.ctx, {
      commandId: COMMAND,
      ssmStatus: 'Failed',
      status: 'failed',
      instanceId: HOST,
      requestedAt: T0,
    });
    // Assess
    const open = await h.store.listOpenIncidents();
    expect(open.map((i) => i.id)).toEqual([incident?.id]);
    expect(open[0]).toMatchObject({
      kind: 'backup',
      severity: 'P2',
      dedupKey: expected?.dedupKey,
      title: expected?.title,
      failingSince: T0,
    });
    expect(expected?.title).toBe('Backups of postgresql: the latest attempt failed');
    expect(expected?.detail).toBe(
      'backup acgs_pgp_db-20261201T020000Z failed (failed, exit 1): cannot write s3://acgs-1-backups/',
    );
    expect(open[0]?.detail).toBe(`backup command ${COMMAND} on ${HOST} failed: SSM status Failed`);
    expect(h.notifier.lines()).toEqual([`L1 opened P2 ${expected?.dedupKey}`]);
  });

  it.each([
    ['TimedOut', 'timed-out'],
    ['DeliveryTimedOut', 'failed'],
    ['Cancelled', 'failed'],
  ] as const)('opens the backup incident when the command ends %s', async (ssmStatus, status) => {
    // Prepare
    const h = createHarness();
    // Act
    await finishBackupCommand(h.ctx, { commandId: COMMAND, ssmStatus, status, instanceId: HOST, requestedAt: T0 });
    // Assess
    const open = await h.store.listOpenIncidents();
    expect(open.map((i) => [i.kind, i.severity])).toEqual([['backup', 'P2']]);
    expect(open[0]?.detail).toContain(`failed: SSM status ${ssmStatus}`);
  });

  it('opens nothing and pages nobody when the command ends Success', async () => {
    // Prepare
    const h = createHarness();
    // Act
    const incident = await finishBackupCommand(h.ctx, {
      commandId: COMMAND,
      ssmStatus: 'Success',
      status: 'succeeded',
      instanceId: HOST,
      requestedAt: T0,
    });
    // Assess
    expect(incident).toBeUndefined();
    expect(await h.store.listIncidents({})).toEqual([]);
    expect(h.notifier.sent).toEqual([]);
  });

  it('says "on the database host" and dates the attempt now when the event names neither instance nor time', async () => {
    // Prepare
    const h = createHarness();
    h.clock.set(T0 + 7 * MINUTE);
    // Act
    await finishBackupCommand(h.ctx, { commandId: COMMAND, ssmStatus: 'Failed', status: 'failed' });
    // Assess
    const [incident] = await h.store.listOpenIncidents();
    expect(incident?.detail).toBe(`backup command ${COMMAND} on the database host failed: SSM status Failed`);
    expect(incident?.failingSince).toBe(T0 + 7 * MINUTE);
  });

  it('adds to the open backup incident, paging once, when the same failure is delivered twice', async () => {
    // Prepare
    const h = createHarness();
    const failed = {
      commandId: COMMAND,
      ssmStatus: 'Failed',
      status: 'failed',
      instanceId: HOST,
      requestedAt: T0,
    } as const;
    await finishBackupCommand(h.ctx, failed);
    h.clock.advance(MINUTE);
    // Act
    await finishBackupCommand(h.ctx, failed);
    // Assess
    const all = await h.store.listIncidents({});
    expect(all.map((i) => [i.kind, i.count])).toEqual([['backup', 2]]);
    expect(h.notifier.sent).toHaveLength(1);
  });
});

describe('the failed attempt the monitor holds the backup incident for', () => {
  it('keeps the incident open when an attempt fails after a good backup, although a suspicious incident opened earlier', async () => {
    // Prepare: a dump far smaller than the one before opens a suspicious incident at T0 (its failingSince)
    const h = createHarness();
    const objects = new MemoryObjectStore();
    await publish(objects, T0 - 2 * HOUR, 400);
    await publish(objects, T0 - HOUR, 100);
    h.clock.set(T0);
    expect((await monitorBackups(h.ctx, objects)).status).toBe('suspicious');
    // A good backup lands (the size is back), then an attempt fails and leaves nothing in the store
    await publish(objects, T0 + HOUR, 400);
    h.clock.set(T0 + 2 * HOUR);
    h.commands.next = { status: 'failed', exitCode: 1, output: 'cannot write /var/backups/acgs-pgp' };
    await runBackup(h.ctx, { objects: untouched });
    // Act
    h.clock.set(T0 + 3 * HOUR);
    const held = await monitorBackups(h.ctx, objects);
    // Assess: the attempt is newer than the good backup: the incident stays, failed
    expect(held.status).toBe('failed');
    expect(held.reasons.join(' ')).toContain('cannot write /var/backups/acgs-pgp');
    expect((await h.store.listOpenIncidents()).map((i) => [i.kind, i.severity])).toEqual([
      ['backup', 'P2'],
      ['drill', 'P3'],
    ]);
    // Act: a good backup started after the attempt answers it
    await publish(objects, T0 + 4 * HOUR, 400);
    h.clock.set(T0 + 5 * HOUR);
    const answered = await monitorBackups(h.ctx, objects);
    // Assess
    expect(answered.status).toBe('ok');
    expect((await h.store.listOpenIncidents()).map((i) => i.kind)).toEqual(['drill']);
  });
});
