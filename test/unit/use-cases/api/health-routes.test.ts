import { describe, expect, it } from 'vitest';
import type { ProbeResult } from '../../../../lambdas/core/probe-evaluation.ts';
import type { Prober } from '../../../../lambdas/ports.ts';
import { call, probe } from '../../../support/api-calls.ts';
import { createHarness, type Harness, MINUTE, T0 } from '../../../support/harness.ts';

describe('POST /health/wait', () => {
  const sleeping = (h: Harness) => ({ sleep: async (ms: number) => h.clock.advance(ms) });

  it('answers 200 at once when every service is recorded healthy and no since is given', async () => {
    const h = createHarness();
    await probe(h, 3);
    const answer = await call(h, 'POST', '/health/wait', { services: ['auth', 'gs'], timeoutSeconds: 60 }, sleeping(h));
    expect(answer).toMatchObject({ statusCode: 200, body: { healthy: true, services: ['auth', 'gs'], waitedMs: 0 } });
  });

  it('counts a service recorded up before since only once the probes would have seen it fail since', async () => {
    const h = createHarness();
    await probe(h, 3);
    const since = new Date(h.clock.now()).toISOString();
    const answer = await call(
      h,
      'POST',
      '/health/wait',
      { services: ['auth'], since, timeoutSeconds: 600 },
      sleeping(h),
    );
    // failuresToDown 3 x the 1 minute probe interval.
    expect(answer).toMatchObject({ statusCode: 200, body: { healthy: true, waitedMs: 3 * MINUTE } });
  });

  it('answers 503 at the timeout naming each service still not healthy, its state and why', async () => {
    const h = createHarness();
    await probe(h, 4, { auth: 'unhealthy' });
    const answer = await call(
      h,
      'POST',
      '/health/wait',
      { services: ['auth', 'gs', 'ec'], timeoutSeconds: 30 },
      sleeping(h),
    );
    expect(answer).toMatchObject({
      statusCode: 503,
      body: {
        healthy: false,
        unhealthy: [{ service: 'auth', state: 'down', reason: 'auth refused' }],
        waitedMs: 30_000,
      },
    });
  });

  it('probes the services itself when the context has a prober (one host)', async () => {
    const h = createHarness();
    let calls = 0;
    const prober: Prober = {
      probe: async (target): Promise<ProbeResult> => {
        calls++;
        const healthy = calls > 2;
        return {
          targetId: target.id,
          name: target.name,
          kind: target.kind,
          status: healthy ? 'healthy' : 'unhealthy',
          reason: healthy ? 'ok' : 'refused',
          detail: healthy ? 'HTTP 200' : 'connection refused',
          latencyMs: 1,
          checkedAt: h.clock.now(),
        };
      },
    };
    const ctx = { ...h.ctx, prober };
    const answer = await call(
      { ...h, ctx },
      'POST',
      '/health/wait',
      { services: ['auth'], since: new Date(T0).toISOString(), timeoutSeconds: 60 },
      sleeping(h),
    );
    expect(answer).toMatchObject({ statusCode: 200, body: { healthy: true, waitedMs: 10_000 } });
  });

  it('refuses bad input with 400 naming the field', async () => {
    const h = createHarness();
    const bad: [unknown, RegExp][] = [
      [{ services: ['auth'], timeoutSeconds: 0 }, /^timeoutSeconds: /],
      [{ services: ['auth'], timeoutSeconds: 841 }, /^timeoutSeconds: /],
      [{ services: ['auth'] }, /^timeoutSeconds: /],
      [{ services: [], timeoutSeconds: 5 }, /^services: /],
      [{ services: ['nosuch'], timeoutSeconds: 5 }, /^services: unknown service nosuch/],
      [{ services: ['auth'], timeoutSeconds: 5, since: 'an hour ago' }, /^since: /],
    ];
    for (const [body, error] of bad)
      expect(await call(h, 'POST', '/health/wait', body)).toMatchObject({
        statusCode: 400,
        body: { error: expect.stringMatching(error) },
      });
  });
});
