import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { backupTaskSchema } from '../../../lambdas/core/backup-task.ts';
import { parseFleetConfig } from '../../../lambdas/core/config.ts';
import { CONFIG_ARCHIVE_DOCUMENT, WAL_ARCHIVING_DOCUMENT } from '../../../lambdas/core/document-names.ts';
import type { CommandRequest, CommandResult, CommandRunner } from '../../../lambdas/ports.ts';
import { runBackupTask } from '../../../lambdas/use-cases/backup-tasks.ts';
import { createHarness } from '../../support/harness.ts';
import { MemoryObjectStore } from '../../support/memory-object-store.ts';

/*
 * The weekly base backup, the canary and the daily configuration archive as the backups Lambda runs them (tasks
 * base-backup, canary, config-archive): their document sent to the database host, dispatched like the daily backup
 * (its command id in the summary), or refused when their section is not configured; and the archive lag the monitor
 * task hands to the handler for its metric.
 */

function configWithArchiving(archiving: boolean, s3Prefix?: string) {
  const raw = parse(readFileSync(new URL('../../../config/acgs-1.yaml', import.meta.url), 'utf8')) as {
    backups: Record<string, unknown>;
  };
  if (archiving) raw.backups.archiving = { directory: '/srv/archive', ...(s3Prefix ? { s3Prefix } : {}) };
  const parsed = parseFleetConfig(stringify(raw));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
}

function dispatching(
  answer: CommandResult = { status: 'pending', output: 'sent\n', commandId: 'cmd-base-1' },
): CommandRunner & { requests: CommandRequest[] } {
  const requests: CommandRequest[] = [];
  return {
    requests,
    run: async (request): Promise<CommandResult> => {
      requests.push(request);
      return answer;
    },
  };
}

/** SendCommand refused (what the SSM runner answers when the call fails): nothing runs on the host. */
const REJECTED: CommandResult = { status: 'rejected', output: 'AccessDeniedException: not authorized\n' };

describe('runBackupTask base-backup', () => {
  it('is a task the schedules may send', () => {
    expect(backupTaskSchema.safeParse({ task: 'base-backup' }).success).toBe(true);
  });

  it('sends acgs-wal-archiving base-backup to the database host and answers the command id', async () => {
    // Prepare
    const h = createHarness(configWithArchiving(true));
    const commands = dispatching();
    const destination = { objects: new MemoryObjectStore(), pgBinDir: '/usr/lib/postgresql/15/bin' };
    // Act
    const outcome = await runBackupTask(
      { ...h.ctx, commands },
      'base-backup',
      { destination, drillRunner: commands },
      { remainingMs: 900_000 },
    );
    // Assess
    expect(outcome.summary).toEqual({
      task: 'base-backup',
      state: 'pending',
      status: 'pending',
      commandId: 'cmd-base-1',
    });
    expect(commands.requests.map((r) => [r.document, r.parameters.Action, r.parameters.PgBinDir])).toEqual([
      [WAL_ARCHIVING_DOCUMENT, 'base-backup', '/usr/lib/postgresql/15/bin'],
    ]);
  });

  it('sends the S3 archive in the backup bucket, with its key, when archiving.s3Prefix is set', async () => {
    // Prepare
    const h = createHarness(configWithArchiving(true, 'wal-archive/'));
    const commands = dispatching();
    const destination = { objects: new MemoryObjectStore(), bucket: 'acgs-backups', kmsKeyId: 'alias/acgs' };
    // Act
    await runBackupTask(
      { ...h.ctx, commands },
      'base-backup',
      { destination, drillRunner: commands },
      { remainingMs: 900_000 },
    );
    // Assess
    expect(commands.requests.map((r) => [r.parameters.S3Archive, r.parameters.KmsKeyId])).toEqual([
      ['s3://acgs-backups/wal-archive/', 'alias/acgs'],
    ]);
  });

  it('fails, naming the reason, when the command could not be sent', async () => {
    // Prepare
    const h = createHarness(configWithArchiving(true));
    const commands = dispatching(REJECTED);
    // Act
    const run = runBackupTask(
      { ...h.ctx, commands },
      'base-backup',
      { destination: { objects: new MemoryObjectStore() }, drillRunner: commands },
      { remainingMs: 900_000 },
    );
    // Assess
    await expect(run).rejects.toThrow('base backup: AccessDeniedException: not authorized');
  });

  it('refuses, naming the missing section and sending nothing, when archiving is not configured', async () => {
    // Prepare
    const h = createHarness(configWithArchiving(false));
    const commands = dispatching();
    // Act
    const run = runBackupTask(
      { ...h.ctx, commands },
      'base-backup',
      { destination: { objects: new MemoryObjectStore() }, drillRunner: commands },
      { remainingMs: 900_000 },
    );
    // Assess
    await expect(run).rejects.toThrow('no backups.archiving section');
    expect(commands.requests).toEqual([]);
  });
});

describe('runBackupTask canary', () => {
  it('is a task the schedules may send', () => {
    expect(backupTaskSchema.safeParse({ task: 'canary' }).success).toBe(true);
  });

  it('sends acgs-wal-archiving with Action canary to the database host and answers the command id', async () => {
    // Prepare
    const h = createHarness(configWithArchiving(true));
    const commands = dispatching({ status: 'pending', output: 'sent\n', commandId: 'cmd-canary-1' });
    const destination = { objects: new MemoryObjectStore(), pgBinDir: '/usr/lib/postgresql/15/bin' };
    // Act
    const outcome = await runBackupTask(
      { ...h.ctx, commands },
      'canary',
      { destination, drillRunner: commands },
      { remainingMs: 900_000 },
    );
    // Assess
    expect(outcome.summary).toEqual({ task: 'canary', state: 'pending', status: 'pending', commandId: 'cmd-canary-1' });
    expect(commands.requests.map((r) => [r.document, r.parameters.Action, r.parameters.PgBinDir])).toEqual([
      [WAL_ARCHIVING_DOCUMENT, 'canary', '/usr/lib/postgresql/15/bin'],
    ]);
  });

  it('fails, naming the reason, when the command could not be sent', async () => {
    // Prepare
    const h = createHarness(configWithArchiving(true));
    const commands = dispatching(REJECTED);
    // Act
    const run = runBackupTask(
      { ...h.ctx, commands },
      'canary',
      { destination: { objects: new MemoryObjectStore() }, drillRunner: commands },
      { remainingMs: 900_000 },
    );
    // Assess
    await expect(run).rejects.toThrow('canary: AccessDeniedException: not authorized');
  });

  it('refuses, naming the missing section and sending nothing, when archiving is not configured', async () => {
    // Prepare
    const h = createHarness(configWithArchiving(false));
    const commands = dispatching();
    // Act
    const run = runBackupTask(
      { ...h.ctx, commands },
      'canary',
      { destination: { objects: new MemoryObjectStore() }, drillRunner: commands },
      { remainingMs: 900_000 },
    );
    // Assess
    await expect(run).rejects.toThrow('no backups.archiving section');
    expect(commands.requests).toEqual([]);
  });
});

describe('runBackupTask config-archive', () => {
  it('is a task the schedules may send', () => {
    expect(backupTaskSchema.safeParse({ task: 'config-archive' }).success).toBe(true);
  });

  it('sends acgs-config-archive with action archive, copying to the bucket with the backups key, and answers the command id', async () => {
    // Prepare: the shipped config has backups.configArchive (paths /etc/acgs-ops)
    const h = createHarness(configWithArchiving(false));
    h.clock.set(Date.parse('2026-12-04T02:30:00Z'));
    const commands = dispatching({ status: 'pending', output: 'sent\n', commandId: 'cmd-config-1' });
    const destination = { objects: new MemoryObjectStore(), bucket: 'acgs-1-backups', kmsKeyId: 'arn:aws:kms:key/1' };
    // Act
    const outcome = await runBackupTask(
      { ...h.ctx, commands },
      'config-archive',
      { destination, drillRunner: commands },
      { remainingMs: 900_000 },
    );
    // Assess
    expect(outcome.summary).toEqual({ task: 'config-archive', status: 'pending', commandId: 'cmd-config-1' });
    expect(commands.requests).toHaveLength(1);
    expect(commands.requests[0]?.document).toBe(CONFIG_ARCHIVE_DOCUMENT);
    expect(commands.requests[0]?.parameters).toMatchObject({
      Action: 'archive',
      Paths: '/etc/acgs-ops',
      ArchiveId: 'config-20261204T023000Z',
      S3Destination: 's3://acgs-1-backups/config-archives/',
      KmsKeyId: 'arn:aws:kms:key/1',
    });
  });

  it('fails, naming the reason, when the command could not be sent', async () => {
    // Prepare
    const h = createHarness(configWithArchiving(false));
    const commands = dispatching(REJECTED);
    // Act
    const run = runBackupTask(
      { ...h.ctx, commands },
      'config-archive',
      { destination: { objects: new MemoryObjectStore(), bucket: 'acgs-1-backups' }, drillRunner: commands },
      { remainingMs: 900_000 },
    );
    // Assess
    await expect(run).rejects.toThrow('configuration archive: AccessDeniedException: not authorized');
  });

  it('refuses, naming the missing section and sending nothing, when backups.configArchive is not configured', async () => {
    // Prepare
    const config = configWithArchiving(false);
    const backups = config.backups;
    if (!backups) throw new Error('the shipped config has no backups');
    const { configArchive: _, ...withoutArchive } = backups;
    const h = createHarness({ ...config, backups: withoutArchive });
    const commands = dispatching();
    // Act
    const run = runBackupTask(
      { ...h.ctx, commands },
      'config-archive',
      { destination: { objects: new MemoryObjectStore() }, drillRunner: commands },
      { remainingMs: 900_000 },
    );
    // Assess
    await expect(run).rejects.toThrow('backups.configArchive');
    expect(commands.requests).toEqual([]);
  });
});

describe('runBackupTask monitor: the archive lag', () => {
  const OBSERVED = Date.parse('2026-12-04T10:00:00Z');

  /** The acgs-wal-archiving status report: the newest segment archived `lagMs` before the host's `observedAt`. */
  function statusAnswer(lagMs: number, over: Record<string, unknown> = {}): CommandResult {
    const iso = (ms: number) => new Date(ms).toISOString();
    const report = {
      kind: 'acgs-ops.wal-archiving',
      action: 'status',
      state: 'active',
      archiveMode: 'on',
      archiveTimeoutSeconds: 60,
      pendingRestart: false,
      archiveDirectory: '/srv/archive',
      observedAt: iso(OBSERVED),
      newestSegment: '000000010000000000000007',
      newestSegmentAt: iso(OBSERVED - lagMs),
      unarchivedWalBytes: 4096,
      newestBaseBackup: 'base-20261130T010000Z',
      newestBaseBackupFinishedAt: iso(OBSERVED - 24 * 3_600_000),
      ...over,
      archiver: {
        archivedCount: 7,
        lastArchivedWal: '000000010000000000000007',
        lastArchivedAt: iso(OBSERVED - lagMs),
        failedCount: 0,
        lastFailedWal: null,
        lastFailedAt: null,
      },
    };
    return { status: 'succeeded', exitCode: 0, output: `${JSON.stringify(report)}\n` };
  }

  async function monitor(archiving: boolean, answer: CommandResult) {
    const h = createHarness(configWithArchiving(archiving));
    h.clock.set(OBSERVED + 5_000);
    const statusRunner = dispatching(answer);
    const outcome = await runBackupTask(
      h.ctx,
      'monitor',
      { destination: { objects: new MemoryObjectStore() }, drillRunner: statusRunner },
      { remainingMs: 900_000 },
    );
    return { outcome, statusRunner };
  }

  it('is the age of the newest restorable point in seconds, read through the waiting runner', async () => {
    // Act
    const { outcome, statusRunner } = await monitor(true, statusAnswer(42_500));
    // Assess
    expect(outcome.archiveLagSeconds).toBe(42.5);
    expect(statusRunner.requests.map((r) => [r.document, r.parameters.Action])).toEqual([
      [WAL_ARCHIVING_DOCUMENT, 'status'],
    ]);
  });

  it('is above the objective when the archive is behind it', async () => {
    // Act: the shipped recovery.rpo is 15 minutes
    const { outcome } = await monitor(true, statusAnswer(20 * 60_000));
    // Assess
    expect(outcome.archiveLagSeconds).toBe(1_200);
    expect(outcome.summary).toMatchObject({ task: 'monitor' });
  });

  it('is 0 when nothing was written since the newest archived segment', async () => {
    // Act
    const { outcome } = await monitor(true, statusAnswer(3_600_000, { unarchivedWalBytes: 0 }));
    // Assess
    expect(outcome.archiveLagSeconds).toBe(0);
  });

  it('is absent (no datum: the alarm treats it as missing) when the status could not be read', async () => {
    // Act
    const { outcome } = await monitor(true, { status: 'failed', exitCode: 1, output: 'psql: connection refused\n' });
    // Assess
    expect(outcome).not.toHaveProperty('archiveLagSeconds');
  });

  it('is absent when the archive holds no base backup (it restores nothing)', async () => {
    // Act
    const { outcome } = await monitor(
      true,
      statusAnswer(30_000, { newestBaseBackup: null, newestBaseBackupFinishedAt: null }),
    );
    // Assess
    expect(outcome).not.toHaveProperty('archiveLagSeconds');
  });

  it('is absent, and the archive not asked, without backups.archiving (the dump schedule is no lag)', async () => {
    // Act
    const { outcome, statusRunner } = await monitor(false, statusAnswer(30_000));
    // Assess
    expect(outcome).not.toHaveProperty('archiveLagSeconds');
    expect(statusRunner.requests).toEqual([]);
  });
});
