import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsManagerSecretSource } from '../adapters/aws/secrets-manager-secret-source.ts';
import { SEVERITIES } from '../core/config-schema.ts';
import type { Prober } from '../ports.ts';
import { NetworkProber } from '../probes/network-prober.ts';
import { runProbeCycle } from '../use-cases/run-probe-cycle.ts';
import { type AwsRuntime, awsRuntime, CONTROL_PLANE_METRICS as M } from './aws-runtime.ts';
import { lazyHandler } from './lazy-handler.ts';
import { withPowertools } from './middleware.ts';

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
  const { ctx, metrics } = runtime;
  return withPowertools(
    runtime,
    async () => {
      const cycle = await runProbeCycle(ctx, prober);
      // Restarts are only dispatched (SSM); wait for their attempts to be recorded before the Lambda freezes.
      await Promise.all(cycle.remediation.inFlight);
      for (const r of cycle.results) {
        const target = metrics.singleMetric();
        target.addDimension(M.dimensions.target, r.name);
        target.addMetric(M.targetAvailability, MetricUnit.Count, r.status === 'unhealthy' ? 0 : 1);
        target.addMetric(M.probeLatency, MetricUnit.Milliseconds, r.latencyMs);
      }
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
    },
    { captureColdStartMetric: true },
  );
}

export const handler = lazyHandler(() => createProbeHandler(awsRuntime()));
