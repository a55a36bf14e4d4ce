import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SEVERITIES } from '../../../lambdas/core/config-schema.ts';
import type { PingOutcome } from '../../../lambdas/core/dead-mans-switch.ts';
import { CONTROL_PLANE_METRICS, emittedMetricSeries, PROBE_RESULT_LOG } from '../../../lambdas/core/metrics.ts';
import type { ProbeResult } from '../../../lambdas/core/probe-evaluation.ts';
import type { AwsRuntime } from '../../../lambdas/handlers/aws-runtime.ts';
import { awsDeadMansSwitch, createProbeHandler } from '../../../lambdas/handlers/probe.ts';
import type { Prober } from '../../../lambdas/ports.ts';
import { RUN_LEASES } from '../../../lambdas/use-cases/run-exclusive.ts';
import { createHarness, loadShippedConfig, results } from '../../support/harness.ts';
import { lambdaContext } from '../../support/lambda-context.ts';

/**
 * What the probe Lambda writes to CloudWatch: the custom metric series it emits (each is billed) and the per-target
 * log lines the dashboard reads. Powertools writes both to stdout (POWERTOOLS_DEV routes them through console.log),
 * which this test captures; the runtime is the memory harness with Powertools utilities of its own.
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

function runtimeWith(prober: (h: ReturnType<typeof createHarness>) => ProbeResult[]) {
  const h = createHarness();
  const serviceName = 'acgs-1-control-plane';
  const runtime = {
    ctx: h.ctx,
    logger: new Logger({ serviceName }),
    metrics: new Metrics({ namespace: CONTROL_PLANE_METRICS.namespace, serviceName }),
    tracer: new Tracer({ serviceName, enabled: false }),
    env: {} as AwsRuntime['env'],
  } satisfies AwsRuntime;
  const fake: Prober = { probe: async (target) => prober(h).find((r) => r.targetId === target.id) as ProbeResult };
  return { h, handler: createProbeHandler(runtime, fake) };
}

function emitted(): { name: string; dimensions: Record<string, string> }[] {
  const out: { name: string; dimensions: Record<string, string> }[] = [];
  for (const line of lines) {
    const aws = line._aws as { CloudWatchMetrics?: { Metrics: { Name: string }[]; Dimensions: string[][] }[] };
    for (const directive of aws?.CloudWatchMetrics ?? [])
      for (const metric of directive.Metrics) {
        const names = (directive.Dimensions[0] ?? []).filter((d) => d !== CONTROL_PLANE_METRICS.dimensions.service);
        out.push({ name: metric.Name, dimensions: Object.fromEntries(names.map((d) => [d, String(line[d])])) });
      }
  }
  return out;
}

describe('probe handler output', () => {
  it('emits exactly the declared custom metric series of a probe cycle, whatever the fleet size', async () => {
    const { handler } = runtimeWith((h) => results(h.ctx, { auth: 'unhealthy' }));
    await handler({}, lambdaContext('probe'));
    const series = emitted();
    // NoticeFailures comes from the Lambdas that deliver notices (escalation-sweep.test.ts), not from the probe.
    const declared = emittedMetricSeries({ severities: SEVERITIES, backups: false }).filter(
      (s) => s.name !== CONTROL_PLANE_METRICS.noticeFailures,
    );
    expect(series).toEqual(expect.arrayContaining(declared));
    expect(series).toHaveLength(declared.length);
    const unhealthy = lines.find((l) => CONTROL_PLANE_METRICS.unhealthyTargets in l);
    expect(unhealthy?.[CONTROL_PLANE_METRICS.unhealthyTargets]).toBe(1);
  });

  it('logs one line per probed target with its status, latency and, when not healthy, the reason', async () => {
    const { h, handler } = runtimeWith((h) => results(h.ctx, { auth: 'unhealthy' }));
    await handler({}, lambdaContext('probe'));
    const probed = lines.filter((l) => l.message === PROBE_RESULT_LOG.message);
    expect(probed.map((l) => l.target).sort()).toEqual(h.ctx.targets.map((t) => t.name).sort());
    expect(probed.find((l) => l.target === 'auth')).toMatchObject({
      status: 'unhealthy',
      healthy: 0,
      latencyMs: 5,
      reason: 'refused: auth refused',
    });
    const healthy = probed.find((l) => l.target === 'ac');
    expect(healthy).toMatchObject({ status: 'healthy', healthy: 1 });
    expect(healthy).not.toHaveProperty('reason');
  });
});

function probeLambda(down: Record<string, 'unhealthy'> = {}) {
  const h = createHarness();
  const serviceName = 'acgs-1-control-plane';
  const runtime = {
    ctx: h.ctx,
    logger: new Logger({ serviceName }),
    metrics: new Metrics({ namespace: CONTROL_PLANE_METRICS.namespace, serviceName }),
    tracer: new Tracer({ serviceName, enabled: false }),
    env: {} as AwsRuntime['env'],
  } satisfies AwsRuntime;
  const prober: Prober = {
    probe: async (target) => results(h.ctx, down).find((r) => r.targetId === target.id) as ProbeResult,
  };
  const pings: PingOutcome[] = [];
  const pinger = {
    ping: async (outcome: PingOutcome) => {
      pings.push(outcome);
      return true;
    },
  };
  return { h, runtime, pings, handler: createProbeHandler(runtime, prober, pinger) };
}

describe("the probe Lambda's dead man's switch", () => {
  it('pings success after a cycle, with what it saw', async () => {
    const { handler, pings, h } = probeLambda({ auth: 'unhealthy' });
    await handler({}, lambdaContext('probe'));
    expect(pings).toEqual([
      {
        ok: true,
        text: expect.stringMatching(
          new RegExp(`^probe cycle done: ${h.ctx.targets.length - 1}/${h.ctx.targets.length} targets healthy, `),
        ),
      },
    ]);
  });

  it('pings /fail with the reason when the cycle fails, and still fails the invocation', async () => {
    const { handler, pings, h } = probeLambda();
    Object.assign(h.ctx.states, {
      loadTargetStates: async () => {
        throw new Error('ProvisionedThroughputExceededException: throttled');
      },
    });
    await expect(handler({}, lambdaContext('probe'))).rejects.toThrow(/throttled/);
    expect(pings).toEqual([{ ok: false, text: expect.stringMatching(/^probe cycle failed: .*throttled/) }]);
  });

  it('sends no ping for a cycle skipped because another still runs (missing pings show overruns)', async () => {
    const { handler, pings, h } = probeLambda();
    const now = h.ctx.clock.now();
    await h.ctx.control.acquireLease(RUN_LEASES.probe, 'req-other', now, now + 60_000);
    const answer = await handler({}, lambdaContext('probe'));
    expect(answer).toMatchObject({ skipped: expect.any(String) });
    expect(pings).toEqual([]);
  });

  it('has no switch without deadMansSwitch in the config, and reads a secret URL through the shared source', async () => {
    const { runtime } = probeLambda();
    const secrets = vi.fn(() => ({ get: async () => 'https://hc-ping.com/5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278' }));
    expect(awsDeadMansSwitch(runtime, secrets)).toBeUndefined();
    expect(secrets).not.toHaveBeenCalled();
    const config = { ...loadShippedConfig(), deadMansSwitch: { urlSecret: { id: 'acgs-1/dms' }, timeout: 5_000 } };
    const withSwitch = { ...runtime, ctx: { ...runtime.ctx, config } };
    expect(awsDeadMansSwitch(withSwitch, secrets)).toBeDefined();
    expect(secrets).toHaveBeenCalledTimes(1);
  });
});
