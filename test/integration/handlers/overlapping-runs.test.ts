import { beforeAll, describe, expect, it } from 'vitest';
import type { Target } from '../../../lambdas/core/targets.ts';
import { type AwsRuntime, createAwsRuntime } from '../../../lambdas/handlers/aws-runtime.ts';
import { createEscalationSweepHandler } from '../../../lambdas/handlers/escalation-sweep.ts';
import { createProbeHandler } from '../../../lambdas/handlers/probe.ts';
import type { ProbeOptions, Prober } from '../../../lambdas/ports.ts';
import { createAwsControlPlane } from '../../support/aws-control-plane.ts';
import { loadShippedConfig, ManualClock, SECOND } from '../../support/harness.ts';
import { lambdaContext } from '../../support/lambda-context.ts';
import { useMotoServer } from '../../support/moto.ts';

/**
 * Reserved concurrency is off by default (accounts with the default quota of 10 cannot reserve any), so overlapping
 * scheduled runs are kept apart by a lease in the control table: the probe and sweep handlers with their real
 * DynamoDB store on moto, invoked as two Lambda instances would be (two request ids).
 */
const moto = useMotoServer();
const TABLE = 'acgs-control';
const BUS = 'acgs-1-events';
const PROBE_TIMEOUT_MS = 55_000;
const clock = new ManualClock(Date.UTC(2026, 11, 1, 2, 0, 0));
let runtime: AwsRuntime;

/** A prober whose probes all hang until the test lets them answer (healthy): a cycle that is still running. */
class HeldProber implements Prober {
  calls = 0;
  private release: () => void = () => {};
  private gate = new Promise<void>((resolve) => {
    this.release = resolve;
  });
  async probe(target: Target, _options: ProbeOptions) {
    this.calls++;
    await this.gate;
    return {
      targetId: target.id,
      name: target.name,
      kind: target.kind,
      status: 'healthy' as const,
      reason: 'ok' as const,
      detail: 'HTTP 200',
      latencyMs: 5,
      checkedAt: clock.now(),
    };
  }
  answer(): void {
    this.release();
  }
}

const invocation = (requestId: string, remainingMs = PROBE_TIMEOUT_MS) => ({
  ...lambdaContext('acgs-probe', remainingMs),
  awsRequestId: requestId,
});

beforeAll(async () => {
  const plane = await createAwsControlPlane(moto.endpoint, { levels: [1], table: TABLE, bus: BUS });
  runtime = createAwsRuntime(loadShippedConfig(), plane.env, plane.clients, clock);
}, 60_000);

describe('overlapping scheduled runs, kept apart by a lease in DynamoDB', () => {
  it('a probe cycle that starts while the previous one still runs probes nothing and says so', async () => {
    // Prepare: the first cycle is probing (its probes hang).
    const prober = new HeldProber();
    const probe = createProbeHandler(runtime, prober);
    const first = probe({}, invocation('req-1'));
    while (prober.calls === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const probesOfOneCycle = prober.calls;
    // Act: the next schedule fires a minute later in another Lambda instance.
    clock.advance(20 * SECOND);
    const second = await probe({}, invocation('req-2'));
    // Assess
    const until = new Date(Date.UTC(2026, 11, 1, 2, 0, 0) + PROBE_TIMEOUT_MS).toISOString();
    expect(second).toEqual({
      skipped: `skipped: previous probe cycle still running (lease held by req-1 until ${until})`,
      heldBy: 'req-1',
      until,
    });
    expect(prober.calls).toBe(probesOfOneCycle);
    prober.answer();
    expect(await first).toMatchObject({ targets: runtime.ctx.targets.length });
    // The finished cycle gave the lease up: the next one runs at once.
    clock.advance(40 * SECOND);
    expect(await probe({}, invocation('req-3'))).toMatchObject({ targets: runtime.ctx.targets.length });
  }, 60_000);

  it('a probe cycle killed at its timeout keeps the next one out only until that timeout', async () => {
    // Prepare: a cycle took the lease for its 55 s and died holding it.
    const started = clock.now();
    await runtime.ctx.control.acquireLease('probe', 'req-killed', started, started + PROBE_TIMEOUT_MS);
    const prober = new HeldProber();
    prober.answer();
    const probe = createProbeHandler(runtime, prober);
    // Act and assess
    clock.set(started + PROBE_TIMEOUT_MS - 1);
    expect(await probe({}, invocation('req-4'))).toMatchObject({ heldBy: 'req-killed' });
    expect(prober.calls).toBe(0);
    clock.set(started + PROBE_TIMEOUT_MS);
    expect(await probe({}, invocation('req-5'))).toMatchObject({ targets: runtime.ctx.targets.length });
  }, 60_000);

  it('an escalation sweep that starts while another one runs does nothing', async () => {
    const now = clock.now();
    await runtime.ctx.control.acquireLease('escalation-sweep', 'req-sweeping', now, now + 50_000);
    const sweep = createEscalationSweepHandler(runtime);
    expect(await sweep({}, invocation('req-6', 50_000))).toMatchObject({
      heldBy: 'req-sweeping',
      skipped: expect.stringContaining('skipped: previous escalation-sweep cycle still running'),
    });
    await runtime.ctx.control.releaseLease('escalation-sweep', 'req-sweeping');
    expect(await sweep({}, invocation('req-7', 50_000))).toEqual({ advanced: [] });
  }, 60_000);
});
