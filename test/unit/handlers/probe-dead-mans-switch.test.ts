import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PingOutcome } from '../../../lambdas/core/dead-mans-switch.ts';
import { CONTROL_PLANE_METRICS } from '../../../lambdas/core/metrics.ts';
import type { ProbeResult } from '../../../lambdas/core/probe-evaluation.ts';
import type { AwsRuntime } from '../../../lambdas/handlers/aws-runtime.ts';
import { awsDeadMansSwitch, createProbeHandler } from '../../../lambdas/handlers/probe.ts';
import type { Prober } from '../../../lambdas/ports.ts';
import { RUN_LEASES } from '../../../lambdas/use-cases/run-exclusive.ts';
import { createHarness, loadShippedConfig, results } from '../../support/harness.ts';
import { lambdaContext } from '../../support/lambda-context.ts';

/** The probe Lambda pings the dead man's switch after each cycle it runs: success, or /fail with the reason. */

beforeEach(() => {
  vi.stubEnv('POWERTOOLS_DEV', 'true');
  vi.spyOn(console, 'log').mockImplementation(() => {});
  vi.spyOn(console, 'info').mockImplementation(() => {});
  vi.spyOn(console, 'warn').mockImplementation(() => {});
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
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
