import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SEVERITIES } from '../../../lambdas/core/config-schema.ts';
import { CONTROL_PLANE_METRICS, emittedMetricSeries } from '../../../lambdas/core/metrics.ts';
import type { AwsRuntime } from '../../../lambdas/handlers/aws-runtime.ts';
import { createBackupsHandler } from '../../../lambdas/handlers/backups.ts';
import type { CommandResult, CommandRunner } from '../../../lambdas/ports.ts';
import { createHarness, loadShippedConfig } from '../../support/harness.ts';
import { lambdaContext } from '../../support/lambda-context.ts';
import { MemoryObjectStore } from '../../support/memory-object-store.ts';

/**
 * What the backups Lambda's monitor task writes to CloudWatch: the backup age and, with backups.archiving, the
 * archive lag (the current RPO in seconds) that the archive-lag alarm reads. Powertools writes the EMF lines to
 * stdout (POWERTOOLS_DEV routes them through console.log), captured here; the runtime is the memory harness.
 */
let lines: Record<string, unknown>[];
beforeEach(() => {
  vi.stubEnv('POWERTOOLS_DEV', 'true');
  // Dev mode disables metrics unless told otherwise.
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
  lines = [];
  const capture = (...args: unknown[]) => {
    for (const arg of args) {
      if (typeof arg !== 'string') continue;
      try {
        lines.push(JSON.parse(arg) as Record<string, unknown>);
      } catch {
        // not a JSON line
      }
    }
  };
  vi.spyOn(console, 'log').mockImplementation(capture);
  vi.spyOn(console, 'info').mockImplementation(capture);
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

const OBSERVED = Date.parse('2026-12-04T10:00:00Z');

/** The status report of acgs-wal-archiving: the newest segment archived `lagMs` before the host's `observedAt`. */
function statusAnswer(lagMs: number): CommandResult {
  const iso = (ms: number) => new Date(ms).toISOString();
  const report = {
    kind: 'acgs-ops.wal-archiving',
    action: 'status',
    state: 'active',
    archiveMode: 'on',
    archiveTimeoutSeconds: 60,
    pendingRestart: false,
    archiveDirectory: '/var/backups/acgs-ops-archive',
    observedAt: iso(OBSERVED),
    newestSegment: '000000010000000000000007',
    newestSegmentAt: iso(OBSERVED - lagMs),
    unarchivedWalBytes: 4096,
    newestBaseBackup: 'base-20261130T010000Z',
    newestBaseBackupFinishedAt: iso(OBSERVED - 24 * 3_600_000),
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

function monitorHandler(archiving: boolean, answer: CommandResult) {
  const shipped = loadShippedConfig();
  const backups = shipped.backups;
  if (!backups) throw new Error('the shipped config has no backups');
  const h = createHarness(
    archiving
      ? {
          ...shipped,
          backups: {
            ...backups,
            archiving: {
              directory: '/var/backups/acgs-ops-archive',
              scriptDirectory: '/usr/local/lib/acgs-ops',
              archiveTimeout: 60_000,
              baseBackupMaxAge: 8 * 24 * 3_600_000,
            },
          },
        }
      : shipped,
  );
  h.clock.set(OBSERVED + 5_000);
  const serviceName = 'acgs-1-control-plane';
  const runtime = {
    ctx: h.ctx,
    logger: new Logger({ serviceName }),
    metrics: new Metrics({ namespace: CONTROL_PLANE_METRICS.namespace, serviceName }),
    tracer: new Tracer({ serviceName, enabled: false }),
    env: {} as AwsRuntime['env'],
  } satisfies AwsRuntime;
  const statusRunner: CommandRunner = { run: async () => answer };
  return createBackupsHandler(runtime, {
    destination: { objects: new MemoryObjectStore() },
    drillRunner: statusRunner,
  });
}

/** The value of one metric in the EMF lines, and its unit. */
function emitted(name: string): { value: unknown; unit: unknown }[] {
  return lines.flatMap((line) => {
    const aws = line._aws as { CloudWatchMetrics?: { Metrics: { Name: string; Unit?: string }[] }[] } | undefined;
    const declared = (aws?.CloudWatchMetrics ?? []).flatMap((d) => d.Metrics).find((m) => m.Name === name);
    return declared ? [{ value: line[name], unit: declared.Unit }] : [];
  });
}

describe('backups handler, task monitor', () => {
  it('emits the archive lag in seconds, the age of the newest restorable point, with archiving', async () => {
    // Prepare
    const handler = monitorHandler(true, statusAnswer(75_000));
    // Act
    await handler({ task: 'monitor' }, lambdaContext('backups', 900_000));
    // Assess
    expect(emitted(CONTROL_PLANE_METRICS.archiveLagSeconds)).toEqual([{ value: 75, unit: 'Seconds' }]);
    expect(
      emittedMetricSeries({ severities: SEVERITIES, backups: true, archiving: true }).map((s) => s.name),
    ).toContain(CONTROL_PLANE_METRICS.archiveLagSeconds);
  });

  it('emits no archive lag when the archive status could not be read (the alarm counts it as missing)', async () => {
    // Prepare
    const handler = monitorHandler(true, { status: 'failed', exitCode: 2, output: 'psql: could not connect\n' });
    // Act
    const summary = await handler({ task: 'monitor' }, lambdaContext('backups', 900_000));
    // Assess: the monitor ran and answered, but measured no lag
    expect(summary).toMatchObject({ task: 'monitor' });
    expect(emitted(CONTROL_PLANE_METRICS.archiveLagSeconds)).toEqual([]);
  });

  it('emits no archive lag, and declares none, without archiving', async () => {
    // Prepare
    const handler = monitorHandler(false, statusAnswer(75_000));
    // Act
    await handler({ task: 'monitor' }, lambdaContext('backups', 900_000));
    // Assess
    expect(emitted(CONTROL_PLANE_METRICS.archiveLagSeconds)).toEqual([]);
    expect(emittedMetricSeries({ severities: SEVERITIES, backups: true }).map((s) => s.name)).not.toContain(
      CONTROL_PLANE_METRICS.archiveLagSeconds,
    );
  });
});
