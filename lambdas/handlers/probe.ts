import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { deadMansSwitchUrl, HttpDeadMansSwitch } from '../adapters/http/dead-mans-switch.ts';
import { cycleFailed, cycleSucceeded } from '../core/dead-mans-switch.ts';
import { errorMessage } from '../core/errors.ts';
import { SEVERITIES } from '../core/fleet-constants.ts';
import { PROBE_RESULT_LOG } from '../core/metrics.ts';
import type { Prober, SecretSource } from '../ports.ts';
import { NetworkProber } from '../probes/network-prober.ts';
import { RUN_LEASES } from '../use-cases/run-exclusive.ts';
import { runProbeCycle } from '../use-cases/run-probe-cycle.ts';
import { type AwsRuntime, awsRuntime, CONTROL_PLANE_METRICS as M } from './aws-runtime.ts';
import { lazySecretSource } from './lazy-adapters.ts';
import { lazyHandler } from './lazy-handler.ts';
import { exclusiveInvocation, withPowertools } from './middleware.ts';

/**
 * The probers of the probe Lambda: passwords come from the Secrets Manager secrets the baked config names (read once
 * per cold start), never from the function's environment.
 */
export function awsProber(runtime: AwsRuntime, secrets: SecretSource = awsSecrets(runtime)): Prober {
  return new NetworkProber(runtime.ctx.clock, secrets);
}

/**
 * Secrets Manager, read once per cold start (the source keeps what it read); its SDK client loads with the first
 * secret read, not at cold start.
 */
export function awsSecrets(runtime: AwsRuntime): SecretSource {
  return lazySecretSource(async () => {
    const { SecretsManagerClient, SecretsManagerSecretSource } = await import('./on-demand/secrets.ts');
    return new SecretsManagerSecretSource(runtime.tracer.captureAWSv3Client(new SecretsManagerClient({})));
  });
}

/**
 * The dead man's switch of the config (`deadMansSwitch`), its URL from the config or its secret; undefined without
 * one. A Lambda in a VPC reaches it only through a NAT gateway (or another way out to the internet).
 */
export function awsDeadMansSwitch(runtime: AwsRuntime, secrets: () => SecretSource): HttpDeadMansSwitch | undefined {
  const dms = runtime.ctx.config.deadMansSwitch;
  if (!dms) return undefined;
  return new HttpDeadMansSwitch(deadMansSwitchUrl(dms, secrets()), {
    timeoutMs: dms.timeout,
    log: (event, fields) => runtime.logger.warn(event, fields),
  });
}

/** Scheduled probe cycle: probe, fold health, reconcile incidents, page, send restarts; emit the heartbeat. */
export function createProbeHandler(
  runtime: AwsRuntime,
  prober?: Prober,
  deadMansSwitch?: Pick<HttpDeadMansSwitch, 'ping'>,
) {
  const { ctx, metrics, logger } = runtime;
  // One Secrets Manager source for the probes and the ping URL: each secret is read once per cold start.
  let secrets: SecretSource | undefined;
  const sharedSecrets = () => {
    secrets ??= awsSecrets(runtime);
    return secrets;
  };
  const probes = prober ?? awsProber(runtime, sharedSecrets());
  const pinger = deadMansSwitch ?? awsDeadMansSwitch(runtime, sharedSecrets);
  return withPowertools(runtime, async (_event: unknown, context: Context) => {
    // One cycle at a time across Lambda instances: a cycle that starts while the last one still runs does nothing.
    const run = await exclusiveInvocation(runtime, context, RUN_LEASES.probe, async () => {
      const cycle = await runProbeCycle(ctx, probes);
      // Restarts are only dispatched (SSM); wait for their attempts to be recorded before the Lambda freezes.
      await Promise.all(cycle.remediation.inFlight);
      return cycle;
    }).catch(async (error: unknown) => {
      // Awaited (the Lambda freezes on return), bounded by the ping's timeout; a ping never throws.
      await pinger?.ping(cycleFailed(errorMessage(error)));
      throw error;
    });
    // No heartbeat for a skipped cycle: cycles that keep overrunning show as missing ones.
    if (!run.ran) return { skipped: run.skipped, heldBy: run.heldBy, until: run.until };
    const cycle = run.value;
    await pinger?.ping(
      cycleSucceeded({
        targets: cycle.results.length,
        healthy: cycle.results.filter((r) => r.status === 'healthy').length,
        openIncidents: cycle.incidents.open.length,
        durationMs: cycle.durationMs,
      }),
    );
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
