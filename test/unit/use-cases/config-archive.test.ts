import { describe, expect, it } from 'vitest';
import { CONFIG_ARCHIVE_DOCUMENT } from '../../../lambdas/core/document-names.ts';
import { ControlPlaneError } from '../../../lambdas/core/errors.ts';
import {
  listConfigArchives,
  restoreConfigArchive,
  scheduledConfigArchive,
  takeConfigArchive,
} from '../../../lambdas/use-cases/config-archive.ts';
import { createHarness, MINUTE, T0 } from '../../support/harness.ts';

const SUMMARY = {
  kind: 'acgs-ops.config-archive',
  version: 1,
  id: 'config-20261201T023000Z',
  createdAt: '2026-12-01T02:30:00.100Z',
  finishedAt: '2026-12-01T02:30:01.100Z',
  durationMs: 1000,
  host: 'db1',
  archive: 'config-20261201T023000Z.tar.gz',
  sizeBytes: 482,
  sha256: 'a'.repeat(64),
  fileCount: 3,
  fileBytes: 129,
  excludedCount: 2,
  missingCount: 0,
};
const ARCHIVED = `archived 3 files\n${JSON.stringify({ ...SUMMARY, location: '/var/backups/acgs-ops-config/config-20261201T023000Z.tar.gz', copiedTo: null, pruned: [] })}\n`;

describe('takeConfigArchive', () => {
  it('sends acgs-config-archive to archive under an id of the clock time, and reads the report back', async () => {
    // Prepare
    const h = createHarness();
    h.clock.set(T0 + 30 * MINUTE);
    h.commands.next = { status: 'succeeded', exitCode: 0, output: ARCHIVED };
    // Act
    const run = await takeConfigArchive(h.ctx);
    // Assess
    const [request] = h.commands.requests;
    expect(request?.document).toBe(CONFIG_ARCHIVE_DOCUMENT);
    expect(request?.parameters).toMatchObject({ Action: 'archive', ArchiveId: 'config-20261201T023000Z', Keep: '14' });
    expect(request?.timeoutMs).toBe(660_000);
    expect(run.report).toMatchObject({ id: SUMMARY.id, fileCount: 3, excludedCount: 2 });
    expect(run.error).toBeUndefined();
  });

  it('says why when the document fails, with no report', async () => {
    // Prepare
    const h = createHarness();
    h.commands.next = {
      status: 'failed',
      exitCode: 1,
      output: 'acgs-config-archive: cannot create the archive directory /x',
    };
    // Act
    const run = await takeConfigArchive(h.ctx);
    // Assess
    expect(run.report).toBeUndefined();
    expect(run.error).toBe('acgs-config-archive: cannot create the archive directory /x');
  });

  it('does not call a success without a report one', async () => {
    // Prepare
    const h = createHarness();
    h.commands.next = { status: 'succeeded', exitCode: 0, output: 'archived\n' };
    // Act
    const run = await takeConfigArchive(h.ctx);
    // Assess
    expect(run.report).toBeUndefined();
    expect(run.error).toBe('the document succeeded but printed no report');
  });
});

describe('scheduledConfigArchive', () => {
  it('throws a ControlPlaneError naming the reason when the archive fails, so the daemon logs it', async () => {
    // Prepare
    const h = createHarness();
    h.commands.next = { status: 'timed-out', output: '' };
    // Act & Assess
    await expect(scheduledConfigArchive(h.ctx)).rejects.toThrow(ControlPlaneError);
    await expect(scheduledConfigArchive(h.ctx)).rejects.toThrow(/configuration archive: the document timed-out/);
  });

  it('returns the report when the archive is written', async () => {
    // Prepare
    const h = createHarness();
    h.commands.next = { status: 'succeeded', exitCode: 0, output: ARCHIVED };
    // Act & Assess
    await expect(scheduledConfigArchive(h.ctx)).resolves.toMatchObject({ id: SUMMARY.id });
  });
});

describe('listConfigArchives', () => {
  it('reads the archives the document lists', async () => {
    // Prepare
    const h = createHarness();
    h.commands.next = {
      status: 'succeeded',
      exitCode: 0,
      output: JSON.stringify({ kind: 'acgs-ops.config-archive-list', directory: '/x', archives: [SUMMARY] }),
    };
    // Act
    const run = await listConfigArchives(h.ctx);
    // Assess
    expect(h.commands.requests[0]?.parameters.Action).toBe('list');
    expect(run.report?.map((a) => a.id)).toEqual([SUMMARY.id]);
  });
});

describe('restoreConfigArchive', () => {
  it.each([
    [2, 'refused'],
    [3, 'damaged'],
    [1, 'failed'],
  ] as const)('calls a document exit %i %s', async (exitCode, outcome) => {
    // Prepare
    const h = createHarness();
    h.commands.next = { status: 'failed', exitCode, output: 'acgs-config-archive: no' };
    // Act
    const run = await restoreConfigArchive(h.ctx, { id: SUMMARY.id, targetDirectory: '/srv/r', overwrite: false });
    // Assess
    expect(run.outcome).toBe(outcome);
    expect(run.error).toBe('acgs-config-archive: no');
  });

  it('sends Overwrite=yes only when asked, and calls a reported restore restored', async () => {
    // Prepare
    const h = createHarness();
    h.commands.next = {
      status: 'succeeded',
      exitCode: 0,
      output: JSON.stringify({
        kind: 'acgs-ops.config-restore',
        id: SUMMARY.id,
        targetDirectory: '/srv/r',
        sha256: SUMMARY.sha256,
        fileCount: 3,
        overwrittenCount: 1,
        written: ['/srv/r/a', '/srv/r/b', '/srv/r/c'],
      }),
    };
    // Act
    const run = await restoreConfigArchive(h.ctx, { id: SUMMARY.id, targetDirectory: '/srv/r', overwrite: true });
    // Assess
    expect(h.commands.requests[0]?.parameters).toMatchObject({
      Action: 'restore',
      ArchiveId: SUMMARY.id,
      TargetDirectory: '/srv/r',
      Overwrite: 'yes',
    });
    expect(run.outcome).toBe('restored');
    expect(run.report?.overwrittenCount).toBe(1);
  });
});
