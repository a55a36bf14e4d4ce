import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { backupTaskSchema } from '../../../lambdas/core/backup-task.ts';
import { parseFleetConfig } from '../../../lambdas/core/config.ts';
import { WAL_ARCHIVING_DOCUMENT } from '../../../lambdas/core/document-names.ts';
import type { CommandRequest, CommandResult, CommandRunner } from '../../../lambdas/ports.ts';
import { runBackupTask } from '../../../lambdas/use-cases/backup-tasks.ts';
import { createHarness } from '../../support/harness.ts';
import { MemoryObjectStore } from '../../support/memory-object-store.ts';

/*
 * The weekly base backup as the backups Lambda runs it (task base-backup): acgs-wal-archiving sent to the database
 * host, dispatched like the daily backup (its command id in the summary), or refused when archiving is not configured.
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

function dispatching(): CommandRunner & { requests: CommandRequest[] } {
  const requests: CommandRequest[] = [];
  return {
    requests,
    run: async (request): Promise<CommandResult> => {
      requests.push(request);
      return { status: 'pending', output: 'sent\n', commandId: 'cmd-base-1' };
    },
  };
}

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
