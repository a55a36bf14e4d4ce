import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { SecretsManagerSecretSource } from '../adapters/aws/secrets-manager-secret-source.ts';
import { SEVERITIES } from '../core/fleet-constants.ts';
import { PROBE_RESULT_LOG } from '../core/metrics.ts';
import type { Prober } from '../ports.ts';
import { NetworkProber } from '../probes/network-prober.ts';
import { RUN_LEASES } from '../use-cases/run-exclusive.ts';
import { runProbeCycle } from '../use-cases/run-probe-cycle.ts';
import { type AwsRuntime, awsRuntime, CONTROL_PLANE_METRICS as M } from './aws-runtime.ts';
import { lazyHandler } from './lazy-handler.ts';
import { exclusiveInvocation, withPowertools } from './middleware.ts';

/**
 * The probers of the probe Lambda: passwords come from the Secrets Manager secrets the baked config names (read once
 * per cold start), never from the function's environment.
 */
export function awsProber(runtime: AwsRuntime): Prober {
  const client = runtime.tracer.captureAWSv3Client(new SecretsManagerClient({}));
  return new NetworkProber(runtime.ctx.clock, new SecretsManagerSecretSource(client));
}

/** Scheduled probe cycle: probe, fold health, reconcile incidents, page, send restarts; emit the heartbeat. */
export function createProbeHandler(runtime: AwsRuntime, prober: Prober = awsProber(runtime)) {
  const { ctx, metrics, logger } = runtime;
  return withPowertools(runtime, async (_event: unknown, context: Context) => {
    // One cycle at a time across Lambda instances: a cycle that starts while the last one still runs does nothing.
    const run = await exclusiveInvocation(runtime, context, RUN_LEASES.probe, async () => {
      const cycle = await runProbeCycle(ctx, prober);
      // Restarts are only dispatched (SSM); wait for their attempts to be recorded before the Lambda freezes.
      await Promise.all(cycle.remediation.inFlight);
      return cycle;
    });
    // No heartbeat for a skipped cycle: cycles that keep overrunning show as missing ones.
    if (!run.ran) return { skipped: run.skipped, heldBy: run.heldBy, until: run.until };
    const cycle = run.value;
    // Per-target detail goes to the log (the dashboard's Logs Insights widgets read it); metrics stay per fleet.
    const F = PROBE_RESULT_LOG.fields;
    for (const r of cycle.results)
      logger.info(PROBE_RESULT_LOG.message, {
        [F.target]: r.name,
        [F.status]: r.status,
        [F.healthy]: r.status === 'unhealthy' ? 0 : 1,
        [F.latencyMs]: r.latencyMs,
        ...(r.status === 'healthy' ? {} : { [F.reason]: `${r.reason}: ${r.detail}` }),
      });
    metrics.addMetric(
      M.unhealthyTargets,
      MetricUnit.Count,
      cycle.results.filter((r) => r.status === 'unhealthy').length,
    );
    for (const severity of SEVERITIES) {
      const open = metrics.singleMetric();
      open.addDimension(M.dimensions.severity, severity);
      open.addMetric(
        M.openIncidents,
        MetricUnit.Count,
        cycle.incidents.open.filter((i) => i.severity === severity).length,
      );
    }
    metrics.addMetric(M.probeCycles, MetricUnit.Count, 1);
    return {
      targets: cycle.results.length,
      healthy: cycle.results.filter((r) => r.status === 'healthy').length,
      opened: cycle.incidents.opened.map((i) => i.id),
      resolved: cycle.incidents.resolved.map((i) => i.id),
      stateWrites: cycle.stateWrites,
      durationMs: cycle.durationMs,
    };
  });
}

export const handler = lazyHandler(() => createProbeHandler(awsRuntime()));
