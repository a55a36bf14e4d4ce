import { describe, expect, it } from 'vitest';
import type { CommandResult, ObjectStore } from '../../../lambdas/ports.ts';
import {
  applyRetention,
  finishBackupCommand,
  loadCatalogue,
  monitorBackups,
  runBackup,
  runDrill,
} from '../../../lambdas/use-cases/backups.ts';
import { createHarness, loadShippedConfig, MINUTE, T0 } from '../../support/harness.ts';
import { MemoryObjectStore, publishBackup as publish, sha256Of } from '../../support/memory-object-store.ts';

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
  /** The status-change event of a backup command that ended Failed on HOST. */
  const failed = {
    commandId: COMMAND,
    ssmStatus: 'Failed',
    status: 'failed',
    instanceId: HOST,
    requestedAt: T0,
  } as const;

  it('opens the P2 backup incident a failed attempt opens on one host, naming SSM status, command and instance, when the command ends Failed', async () => {
    // Prepare: the incident runBackup opens for a failed attempt, on a harness of its own
    const onHost = createHarness();
    onHost.commands.next = { status: 'failed', exitCode: 1, output: 'cannot write s3://acgs-1-backups/' };
    await runBackup(onHost.ctx, { objects: untouched });
    const [expected] = await onHost.store.listOpenIncidents();
    const h = createHarness();
    h.clock.set(T0 + 7 * MINUTE);
    // Act
    const incident = await finishBackupCommand(h.ctx, failed);
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
    // (with the shipped daily dumps and its 15-minute RPO, the standing "not achievable" P3 too)
    expect((await h.store.listOpenIncidents()).map((i) => [i.dedupKey.split(':')[0], i.severity])).toEqual([
      ['backup', 'P2'],
      ['drill', 'P3'],
      ['rpo', 'P3'],
    ]);
    // Act: a good backup started after the attempt answers it
    await publish(objects, T0 + 4 * HOUR, 400);
    h.clock.set(T0 + 5 * HOUR);
    const answered = await monitorBackups(h.ctx, objects);
    // Assess
    expect(answered.status).toBe('ok');
    expect((await h.store.listOpenIncidents()).map((i) => i.dedupKey.split(':')[0])).toEqual(['drill', 'rpo']);
  });
});

describe('runDrill', () => {
  /** Two daily backups, the newest started at T0, an hour later; the drill the harness runs next ends with `drill`. */
  async function twoBackupsThenDrill(drill: CommandResult) {
    const h = createHarness();
    const objects = new MemoryObjectStore();
    const older = await publish(objects, T0 - 24 * HOUR);
    const newest = await publish(objects, T0);
    h.clock.set(T0 + HOUR);
    h.commands.next = drill;
    return { h, objects, older, newest };
  }

  it('keeps the backup good when the drill could not run (exit 1: the environment), and drills it again next time', async () => {
    // Prepare
    const { h, objects, older, newest } = await twoBackupsThenDrill({
      status: 'failed',
      exitCode: 1,
      output: 'acgs-restore-drill: restore drill of x failed: psql: FATAL: password authentication failed',
    });
    // Act
    const failed = await runDrill(h.ctx, { objects });
    const catalogue = await loadCatalogue(h.ctx, objects);
    const judged = await monitorBackups(h.ctx, objects);
    const again = await runDrill(h.ctx, { objects });
    // Assess
    expect(failed.manifest.id).toBe(newest);
    expect(catalogue.drillFailures.map((f) => [f.failure.backupId, f.failure.cause])).toEqual([
      [newest, 'environment'],
    ]);
    expect(catalogue.backups.map((b) => [b.manifest.id, b.verdict])).toEqual([
      [older, 'good'],
      [newest, 'good'],
    ]);
    expect([judged.status, judged.drillStatus]).toEqual(['ok', 'failed']);
    expect((await h.store.listOpenIncidents()).map((i) => i.dedupKey.split(':')[0])).toEqual(['drill', 'rpo']);
    expect(again.manifest.id).toBe(newest);
  });

  it('marks the backup bad when the drill found its content unrestorable (exit 3), and drills the one before next', async () => {
    // Prepare
    const { h, objects, older, newest } = await twoBackupsThenDrill({
      status: 'failed',
      exitCode: 3,
      output: 'acgs-restore-drill: restore drill of x failed: pg_restore failed (exit 1): could not uncompress data',
    });
    // Act
    await runDrill(h.ctx, { objects });
    const catalogue = await loadCatalogue(h.ctx, objects);
    const again = await runDrill(h.ctx, { objects });
    // Assess
    expect(catalogue.drillFailures.map((f) => f.failure.cause)).toEqual(['content']);
    expect(catalogue.backups.map((b) => [b.manifest.id, b.verdict])).toEqual([
      [older, 'good'],
      [newest, 'bad'],
    ]);
    expect(again.manifest.id).toBe(older);
  });
});

describe('reading the dumps cheaply', () => {
  it('has the hourly monitor read one dump afresh per run, each in turn', async () => {
    // Prepare
    const h = createHarness();
    const objects = new MemoryObjectStore();
    const ids = [await publish(objects, T0 - 2 * HOUR), await publish(objects, T0 - HOUR), await publish(objects, T0)];
    // Act
    for (let run = 0; run < 3; run += 1) {
      h.clock.set(T0 + (run + 1) * HOUR);
      await monitorBackups(h.ctx, objects);
    }
    // Assess
    expect(objects.freshly).toHaveLength(3);
    expect([...objects.freshly].sort()).toEqual(ids.map((id) => `${id}.dump`).sort());
  });

  it('deletes nothing on the strength of a cached hash: a kept dump that rotted since stops the prune', async () => {
    // Prepare: nine dailies, retention 2: the cached hashes would let seven go; then the newest dump rots in place
    const h = createHarness();
    const objects = new MemoryObjectStore();
    const ids: string[] = [];
    for (let day = 8; day >= 0; day -= 1) ids.push(await publish(objects, T0 - day * 24 * HOUR));
    const newestDump = `${ids.at(-1)}.dump`;
    const original = objects.objects.get(newestDump) ?? new Uint8Array();
    objects.cached.set(newestDump, sha256Of(original));
    const rotted = Uint8Array.from(original);
    rotted[10] = (rotted[10] ?? 0) ^ 0x01;
    objects.objects.set(newestDump, rotted);
    h.clock.set(T0 + HOUR);
    const small = {
      ...h.ctx.config,
      backups: { ...h.ctx.config.backups, retention: { daily: 2, weekly: 0, monthly: 0 } },
    };
    const ctx = { ...h.ctx, config: small } as typeof h.ctx;
    // Act
    const dryRun = await applyRetention(ctx, objects, { dryRun: true });
    const run = await applyRetention(ctx, objects);
    // Assess
    expect(dryRun.plan.delete).toHaveLength(7);
    expect(run.deleted).toEqual([]);
    expect(run.plan.refused).toMatch(/is not a usable backup: dump .* has SHA-256/);
    expect(objects.freshly).toContain(newestDump);
  });
});

describe('a drill that breached the objectives', () => {
  /** The drill document's report of a restore of backup `id` (published at `startedAt`) taking `restoreSeconds`. */
  function drillOutput(objects: MemoryObjectStore, id: string, startedAt: number, restoreSeconds: number): string {
    const dump = objects.objects.get(`${id}.dump`) ?? new Uint8Array();
    return JSON.stringify({
      kind: 'acgs-ops.drill',
      version: 1,
      source: `${id}.dump`,
      sha256: sha256Of(dump),
      restoreSeconds,
      tables: 4,
      tableDataEntries: 4,
      startedAt: new Date(startedAt).toISOString(),
      finishedAt: new Date(startedAt + restoreSeconds * 1000).toISOString(),
    });
  }

  it('stays failed, its P3 open, through the next monitor run until a newer drill passes', async () => {
    // Prepare: a good backup; a drill whose restore took 2 h against the 1 h RTO opens the drill P3
    const h = createHarness();
    const objects = new MemoryObjectStore();
    const id = await publish(objects, T0);
    h.clock.set(T0 + HOUR);
    h.commands.next = { status: 'succeeded', exitCode: 0, output: drillOutput(objects, id, T0 + HOUR, 7_200) };
    const breached = await runDrill(h.ctx, { objects });
    expect(breached.judgement?.met).toBe(false);
    const opened = (await h.store.listOpenIncidents()).find((i) => i.kind === 'drill');
    expect(opened?.title).toBe('Restore drill of postgresql: objectives not met');
    // Act: the next monitor run (or `backup status`)
    h.clock.set(T0 + 4 * HOUR);
    const judged = await monitorBackups(h.ctx, objects);
    // Assess: the breach is still the latest word on drills
    expect(judged.drillStatus).toBe('failed');
    expect(judged.drillReasons.join(' ')).toContain('RTO breached: the restore took 2h');
    expect((await h.store.listOpenIncidents()).find((i) => i.kind === 'drill')?.id).toBe(opened?.id);
    // Act: a newer drill, within the RTO
    h.clock.set(T0 + 5 * HOUR);
    h.commands.next = { status: 'succeeded', exitCode: 0, output: drillOutput(objects, id, T0 + 5 * HOUR, 60) };
    await runDrill(h.ctx, { objects });
    const after = await monitorBackups(h.ctx, objects);
    // Assess: only the newer passing drill answers it
    expect(after.drillStatus).toBe('ok');
    expect((await h.store.listOpenIncidents()).filter((i) => i.kind === 'drill')).toEqual([]);
  });
});

describe('the recovery point in the monitor', () => {
  /** The shipped config with backups.archiving (defaults). */
  function archivingHarness() {
    const shipped = loadShippedConfig();
    const backups = shipped.backups;
    if (!backups) throw new Error('the shipped config has no backups');
    const archiving = {
      directory: '/var/backups/acgs-ops-archive',
      scriptDirectory: '/usr/local/lib/acgs-ops',
      archiveTimeout: 60_000,
      baseBackupMaxAge: 8 * 24 * HOUR,
    };
    return createHarness({ ...shipped, backups: { ...backups, archiving } });
  }

  /** The acgs-wal-archiving status report at `at`, the archiver's figures overridden by `archiver`. */
  function statusOutput(at: number, over: Record<string, unknown> = {}, archiver: Record<string, unknown> = {}) {
    const iso = (ms: number) => new Date(ms).toISOString();
    return JSON.stringify({
      kind: 'acgs-ops.wal-archiving',
      action: 'status',
      state: 'active',
      archiveMode: 'on',
      archiveTimeoutSeconds: 60,
      pendingRestart: false,
      archiveDirectory: '/var/backups/acgs-ops-archive',
      observedAt: iso(at),
      newestSegment: '000000010000000000000007',
      newestSegmentAt: iso(at - 30_000),
      unarchivedWalBytes: 4096,
      newestBaseBackup: 'base-20261130T030000Z',
      newestBaseBackupFinishedAt: iso(at - 24 * HOUR),
      ...over,
      archiver: {
        archivedCount: 7,
        lastArchivedWal: '000000010000000000000007',
        lastArchivedAt: iso(at - 30_000),
        failedCount: 0,
        lastFailedWal: null,
        lastFailedAt: null,
        ...archiver,
      },
    });
  }

  const open = async (h: ReturnType<typeof createHarness>) =>
    (await h.store.listOpenIncidents()).map((i) => [i.dedupKey.split(':')[0], i.severity, i.detail]);

  it('opens a P2 naming the failing archive_command, and resolves it once segments are archived again', async () => {
    // Prepare
    const h = archivingHarness();
    const objects = new MemoryObjectStore();
    await publish(objects, T0);
    h.clock.set(T0 + HOUR);
    const failedAt = T0 + HOUR - 10_000;
    h.commands.next = {
      status: 'succeeded',
      exitCode: 0,
      output: statusOutput(
        T0 + HOUR,
        {},
        {
          failedCount: 3,
          lastFailedWal: '000000010000000000000008',
          lastFailedAt: new Date(failedAt).toISOString(),
          lastArchivedAt: new Date(T0 + HOUR - 20 * MINUTE).toISOString(),
        },
      ),
    };
    // Act
    const failing = await monitorBackups(h.ctx, objects);
    // Assess
    expect(h.commands.requests.at(-1)?.parameters).toMatchObject({ Action: 'status', TimeoutSeconds: '120' });
    expect(failing.recovery.archive?.ok).toBe(false);
    const archive = (await open(h)).find(([subject]) => subject === 'archive');
    expect(archive?.[1]).toBe('P2');
    expect(archive?.[2]).toContain('archive_command is failing: segment 000000010000000000000008 failed at');
    expect(archive?.[2]).toContain('(failed_count 3)');
    // Act: archive_command works again
    h.clock.set(T0 + 2 * HOUR);
    h.commands.next = { status: 'succeeded', exitCode: 0, output: statusOutput(T0 + 2 * HOUR, {}, { failedCount: 3 }) };
    const healed = await monitorBackups(h.ctx, objects);
    // Assess
    expect(healed.recovery.archive).toEqual({ ok: true, reasons: [] });
    expect((await open(h)).map(([subject]) => subject)).toEqual(['drill']);
  });

  it('opens the archive P2 when failed_count rose since the last run though the latest attempt succeeded', async () => {
    // Prepare: a first run reads failed_count 0
    const h = archivingHarness();
    const objects = new MemoryObjectStore();
    await publish(objects, T0);
    h.clock.set(T0 + HOUR);
    h.commands.next = { status: 'succeeded', exitCode: 0, output: statusOutput(T0 + HOUR) };
    await monitorBackups(h.ctx, objects);
    expect((await open(h)).map(([subject]) => subject)).toEqual(['drill']);
    // Act: an hour later, two failures came and went
    h.clock.set(T0 + 2 * HOUR);
    const failedAt = new Date(T0 + 90 * MINUTE).toISOString();
    h.commands.next = {
      status: 'succeeded',
      exitCode: 0,
      output: statusOutput(
        T0 + 2 * HOUR,
        {},
        { failedCount: 2, lastFailedWal: '000000010000000000000006', lastFailedAt: failedAt },
      ),
    };
    await monitorBackups(h.ctx, objects);
    // Assess
    const archive = (await open(h)).find(([subject]) => subject === 'archive');
    expect(archive?.[2]).toBe(
      `archive_command failed 2 times since ${new Date(T0 + HOUR).toISOString()} (failed_count 0 -> 2; last failure 000000010000000000000006 at ${failedAt})`,
    );
  });

  it('opens a P3 when the base backup is older than its schedule, and a P3 when the status cannot be read', async () => {
    // Prepare
    const h = archivingHarness();
    const objects = new MemoryObjectStore();
    await publish(objects, T0);
    h.clock.set(T0 + HOUR);
    h.commands.next = {
      status: 'succeeded',
      exitCode: 0,
      output: statusOutput(T0 + HOUR, { newestBaseBackupFinishedAt: new Date(T0 - 10 * 24 * HOUR).toISOString() }),
    };
    // Act
    await monitorBackups(h.ctx, objects);
    h.commands.next = { status: 'failed', exitCode: 1, output: 'acgs-wal-archiving: psql: connection refused' };
    const unreadable = await monitorBackups(h.ctx, objects);
    // Assess
    const incidents = await open(h);
    expect(incidents.find(([s]) => s === 'base-backup')?.slice(0, 2)).toEqual(['base-backup', 'P3']);
    expect(incidents.find(([s]) => s === 'base-backup')?.[2]).toMatch(
      /^newest base backup base-20261130T030000Z is 10d 1h old \(max 8d\)/,
    );
    expect(unreadable.recovery.unreadable).toContain('connection refused');
    expect(incidents.find(([s]) => s === 'archive')?.slice(0, 2)).toEqual(['archive', 'P3']);
  });

  it('keeps one standing P3 with the worst case when archiving is off: paged once, not re-opened hourly, not resolved by a passing drill', async () => {
    // Prepare: dumps only (the shipped config: daily at 02:00, RPO 15 m); the last dump took a minute
    const h = createHarness();
    const objects = new MemoryObjectStore();
    const id = await publish(objects, T0);
    h.clock.set(T0 + HOUR);
    // Act
    const first = await monitorBackups(h.ctx, objects);
    const pagesAfterFirst = h.notifier.sent.length;
    for (let hour = 2; hour <= 4; hour += 1) {
      h.clock.set(T0 + hour * HOUR);
      await monitorBackups(h.ctx, objects);
    }
    const dump = objects.objects.get(`${id}.dump`) ?? new Uint8Array();
    h.commands.next = {
      status: 'succeeded',
      exitCode: 0,
      output: JSON.stringify({
        kind: 'acgs-ops.drill',
        version: 1,
        source: `${id}.dump`,
        sha256: sha256Of(dump),
        restoreSeconds: 5,
        tables: 4,
        tableDataEntries: 4,
        startedAt: new Date(T0 + 4 * HOUR).toISOString(),
        finishedAt: new Date(T0 + 4 * HOUR + 5_000).toISOString(),
      }),
    };
    const drill = await runDrill(h.ctx, { objects });
    h.clock.set(T0 + 5 * HOUR);
    const after = await monitorBackups(h.ctx, objects);
    // Assess
    const standing =
      "the RPO objective 15m cannot be met with the configured dump schedule: worst case 1d 1m (a dump every 1d + the last good dump's 1m); only WAL archiving (backups.archiving) brings it down";
    expect(first.recovery.point).toMatchObject({ basis: 'dump-schedule', lossMs: 24 * HOUR + MINUTE, met: false });
    expect(first.recovery.point.detail).toBe(standing);
    expect(drill.judgement).toMatchObject({ met: false, passed: true, rpo: { measuredMs: 24 * HOUR + MINUTE } });
    expect(after.drillStatus).toBe('ok');
    const all = await h.store.listIncidents({});
    const rpo = all.filter((i) => i.dedupKey.startsWith('rpo:'));
    expect(rpo.map((i) => [i.status, i.severity, i.title, i.detail])).toEqual([
      ['open', 'P3', 'Recovery point objective of postgresql not achievable with dumps only', standing],
    ]);
    // Opened (and paged) once; left unacknowledged, it escalates like any P3 (the 4 h response time)
    expect(h.notifier.lines().filter((l) => l.includes(' opened ') && l.includes('rpo:'))).toEqual([
      `L1 opened P3 ${rpo[0]?.dedupKey}`,
    ]);
    expect(pagesAfterFirst).toBeGreaterThan(0);
  });
});

describe('a drill with archiving configured', () => {
  it("reports as RPO the archive's lag at the drill's moment, and fails when the archive was behind the objective", async () => {
    // Prepare: archiving configured; the archive's newest segment is 40 minutes old and WAL waits behind it
    const shipped = loadShippedConfig();
    const backups = shipped.backups;
    if (!backups) throw new Error('the shipped config has no backups');
    const archiving = {
      directory: '/var/backups/acgs-ops-archive',
      scriptDirectory: '/usr/local/lib/acgs-ops',
      archiveTimeout: 60_000,
      baseBackupMaxAge: 8 * 24 * HOUR,
    };
    const h = createHarness({ ...shipped, backups: { ...backups, archiving } });
    const objects = new MemoryObjectStore();
    const id = await publish(objects, T0);
    const drillAt = T0 + HOUR;
    h.clock.set(drillAt);
    const iso = (ms: number) => new Date(ms).toISOString();
    const status = JSON.stringify({
      kind: 'acgs-ops.wal-archiving',
      action: 'status',
      state: 'active',
      archiveMode: 'on',
      observedAt: iso(drillAt),
      newestSegment: '000000010000000000000009',
      newestSegmentAt: iso(drillAt - 40 * MINUTE),
      unarchivedWalBytes: 65_536,
      newestBaseBackup: 'base-20261130T030000Z',
      newestBaseBackupFinishedAt: iso(drillAt - 24 * HOUR),
      archiver: {
        archivedCount: 9,
        lastArchivedWal: '000000010000000000000009',
        lastArchivedAt: iso(drillAt - 40 * MINUTE),
        failedCount: 0,
        lastFailedWal: null,
        lastFailedAt: null,
      },
    });
    const dump = objects.objects.get(`${id}.dump`) ?? new Uint8Array();
    const report = JSON.stringify({
      kind: 'acgs-ops.drill',
      version: 1,
      source: `${id}.dump`,
      sha256: sha256Of(dump),
      restoreSeconds: 5,
      tables: 4,
      tableDataEntries: 4,
      startedAt: iso(drillAt),
      finishedAt: iso(drillAt + 5_000),
    });
    const documents: string[] = [];
    const runner = {
      run: async (request: { document: string }): Promise<CommandResult> => {
        documents.push(request.document);
        const output = request.document === 'acgs-wal-archiving' ? status : report;
        return { status: 'succeeded', exitCode: 0, output };
      },
    };
    // Act
    const drill = await runDrill(h.ctx, { objects }, runner);
    // Assess: a drill right after a dump does not say "RPO met": the archive's 40 minutes are what a disaster loses
    expect(documents).toEqual(['acgs-wal-archiving', 'acgs-restore-drill']);
    expect(drill.judgement).toMatchObject({
      met: false,
      passed: false,
      rpo: { basis: 'archive', measuredMs: 40 * MINUTE, targetMs: 15 * MINUTE, met: false },
    });
    expect(drill.judgement?.reasons[1]).toMatch(
      /^RPO breached: a disaster at the drill's moment would have lost up to 40m/,
    );
    const incident = (await h.store.listOpenIncidents()).find((i) => i.kind === 'drill');
    expect(incident?.title).toBe('Restore drill of postgresql: objectives not met');
  });
});
