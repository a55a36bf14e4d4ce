import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetConfig } from '../../lambdas/core/config-schema.ts';
import { PITR_RESTORE_DOCUMENT, WAL_ARCHIVING_DOCUMENT } from '../../lambdas/core/document-names.ts';
import { toCroner } from '../../lambdas/core/schedules.ts';
import { LocalDaemon } from '../../lambdas/local/daemon.ts';
import { openLocalRuntime } from '../../lambdas/local/runtime.ts';
import type { CommandRequest, CommandRunner, Prober } from '../../lambdas/ports.ts';
import { loadShippedConfig, ManualClock, RecordingNotifier, T0 } from '../support/harness.ts';

/*
 * The daemon keeps the weekly base backup where the config has backups.archiving (and not otherwise), and its run
 * sends acgs-wal-archiving base-backup with the host's PostgreSQL tools.
 */

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'acgs-daemon-base-backup-'));
});
afterAll(async () => {
  for (const runtime of opened) runtime.close();
  await rm(root, { recursive: true, force: true });
});

const unused: Prober = {
  probe: () => Promise.reject(new Error('the test runs no probe cycle')),
};

function daemonFor(config: FleetConfig, name: string, commands: CommandRunner): LocalDaemon {
  const runtime = openLocalRuntime({
    config,
    stateDir: join(root, name),
    env: {},
    write: () => {},
    clock: new ManualClock(T0),
    notifier: new RecordingNotifier(),
    commands,
    pgBinDir: '/usr/lib/postgresql/15/bin',
  });
  opened.push(runtime);
  return new LocalDaemon(runtime, unused);
}

const opened: { close(): void }[] = [];

function recording(): CommandRunner & { requests: CommandRequest[] } {
  const requests: CommandRequest[] = [];
  return {
    requests,
    run: async (request) => {
      requests.push(request);
      return { status: 'failed', exitCode: 1, output: 'not on this test host\n' };
    },
  };
}

describe('the daemon and the base backup schedule', () => {
  it('keeps baseBackup weekly (Sundays 01:00) with archiving, and its run sends acgs-wal-archiving base-backup', async () => {
    // Prepare
    const shipped = loadShippedConfig();
    const backups = shipped.backups;
    if (!backups) throw new Error('the shipped config has backups');
    const config: FleetConfig = {
      ...shipped,
      backups: {
        ...backups,
        localDirectory: join(root, 'backups'),
        archiving: {
          directory: join(root, 'archive'),
          scriptDirectory: join(root, 'bin'),
          archiveTimeout: 60_000,
          baseBackupMaxAge: 8 * 24 * 3_600_000,
        },
      },
    };
    const commands = recording();
    const daemon = daemonFor(config, 'archiving', commands);
    // Act
    const jobs = daemon.backupJobs();
    const job = jobs.find((j) => j.name === 'baseBackup');
    await job?.task();
    // Assess
    expect(jobs.map((j) => j.name)).toEqual([
      'backup',
      'backupMonitor',
      'cleanup',
      'drill',
      'configArchive',
      'baseBackup',
    ]);
    expect(job && toCroner(job.schedule, 'UTC').pattern).toBe('0 0 1 * * 0');
    expect(commands.requests.map((r) => [r.document, r.parameters.Action, r.parameters.PgBinDir])).toEqual([
      [WAL_ARCHIVING_DOCUMENT, 'base-backup', '/usr/lib/postgresql/15/bin'],
    ]);
  });

  it('keeps the point-in-time restore drill on schedules.pitrDrill with archiving, its run sending acgs-pitr-restore as a drill', async () => {
    // Prepare
    const shipped = loadShippedConfig();
    const backups = shipped.backups;
    if (!backups) throw new Error('the shipped config has backups');
    const archiving = {
      directory: join(root, 'pitr-archive'),
      scriptDirectory: join(root, 'bin'),
      archiveTimeout: 60_000,
      baseBackupMaxAge: 8 * 24 * 3_600_000,
    };
    const config: FleetConfig = {
      ...shipped,
      schedules: { ...shipped.schedules, pitrDrill: { cron: '0 5 * * 0' } },
      backups: { ...backups, localDirectory: join(root, 'pitr-backups'), archiving },
    };
    const commands = recording();
    const daemon = daemonFor(config, 'pitr-drill', commands);
    // Act
    const job = daemon.backupJobs().find((j) => j.name === 'pitrDrill');
    await job?.task();
    // Assess
    expect(job && toCroner(job.schedule, 'UTC').pattern).toBe('0 0 5 * * 0');
    expect(commands.requests.map((r) => [r.document, r.parameters.Drill, r.parameters.ScratchDirectory])).toEqual([
      [PITR_RESTORE_DOCUMENT, 'yes', `${archiving.directory}-pitr-drill`],
    ]);
  });

  it('keeps no base backup without backups.archiving', () => {
    // Prepare
    const shipped = loadShippedConfig();
    const backups = shipped.backups;
    if (!backups) throw new Error('the shipped config has backups');
    const daemon = daemonFor(
      { ...shipped, backups: { ...backups, localDirectory: join(root, 'plain-backups') } },
      'plain',
      recording(),
    );
    // Act
    const names = daemon.backupJobs().map((j) => j.name);
    // Assess
    expect(names).toEqual(['backup', 'backupMonitor', 'cleanup', 'drill', 'configArchive']);
  });
});
