import { DETAIL_TYPE } from '../core/events.ts';
import type { ProbeResult } from '../core/probe-evaluation.ts';
import type { Prober } from '../ports.ts';
import { runProbes } from '../probes/run-probes.ts';
import { type ControlPlaneContext, mutingWindows, publishEvents } from './context.ts';
import { type ReconcileResult, reconcileIncidents } from './reconcile-incidents.ts';
import { type HealthChange, recordHealth } from './record-health.ts';
import { type RemediationRun, remediate } from './remediate.ts';

export interface ProbeCycleResult {
  readonly results: readonly ProbeResult[];
  readonly changes: readonly HealthChange[];
  readonly stateWrites: number;
  readonly incidents: ReconcileResult;
  readonly remediation: RemediationRun;
  readonly durationMs: number;
}

/** One probe cycle: probe everything, fold into health states, reconcile incidents, page, remediate. */
export async function runProbeCycle(ctx: ControlPlaneContext, prober: Prober): Promise<ProbeCycleResult> {
  const started = ctx.clock.now();
  const { thresholds } = ctx.config;
  const results = await runProbes(
    ctx.targets,
    prober,
    {
      timeoutMs: thresholds.probeTimeout,
      slowAfterMs: thresholds.probeLatency,
      concurrency: thresholds.probeConcurrency,
    },
    ctx.clock,
  );
  return applyProbeResults(ctx, results, started);
}

/** The part of the cycle after probing; also what a test or a replay feeds with results directly. */
export async function applyProbeResults(
  ctx: ControlPlaneContext,
  results: readonly ProbeResult[],
  started = ctx.clock.now(),
): Promise<ProbeCycleResult> {
  const health = await recordHealth(ctx, results);
  await publishEvents(
    ctx,
    health.changes.map((c) => ({
      detailType: DETAIL_TYPE.healthChanged,
      detail: { ...c, at: new Date(c.at).toISOString() },
    })),
  );
  // Maintenance windows and isolation marks, read once and shared by incident reconciliation and remediation.
  const windows = await mutingWindows(ctx, ctx.clock.now());
  const incidents = await reconcileIncidents(ctx, health.states, windows);
  const remediation = await remediate(ctx, incidents.open, health.states, windows);
  return {
    results,
    changes: health.changes,
    stateWrites: health.writes,
    incidents,
    remediation,
    durationMs: ctx.clock.now() - started,
  };
}
