import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ProbeResult } from '../../../lambdas/core/probe-evaluation.ts';
import type { Target } from '../../../lambdas/core/targets.ts';
import type { Clock, ProbeOptions, Prober } from '../../../lambdas/ports.ts';
import { runProbes } from '../../../lambdas/probes/run-probes.ts';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const fixedClock: Clock = { now: () => NOW };
const OPTIONS = { timeoutMs: 1_000, slowAfterMs: 200 };

function tcpTarget(name: string): Target {
  return { id: `${name}:tcp@h`, name, kind: 'tcp', host: 'h', critical: false, role: 'dependency', port: 1 };
}

function healthy(target: Target): ProbeResult {
  return {
    targetId: target.id,
    name: target.name,
    kind: target.kind,
    status: 'healthy',
    reason: 'ok',
    detail: 'fine',
    latencyMs: 1,
    checkedAt: NOW,
  };
}

/** A prober whose probes finish only when the test says so; it records how many run at once. */
class ControlledProber implements Prober {
  readonly started: string[] = [];
  readonly #pending = new Map<string, () => void>();
  active = 0;
  maxActive = 0;

  probe(target: Target): Promise<ProbeResult> {
    this.started.push(target.name);
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    return new Promise((resolve) => {
      this.#pending.set(target.name, () => {
        this.active--;
        resolve(healthy(target));
      });
    });
  }

  running(): string[] {
    return [...this.#pending.keys()];
  }

  finish(name: string): void {
    const done = this.#pending.get(name);
    if (!done) throw new Error(`probe of ${name} is not running`);
    this.#pending.delete(name);
    done();
  }
}

/** A prober that never answers, and remembers the signals it was given. */
class HangingProber implements Prober {
  readonly signals: AbortSignal[] = [];

  probe(_target: Target, options: ProbeOptions): Promise<ProbeResult> {
    if (options.signal) this.signals.push(options.signal);
    return new Promise<ProbeResult>(() => undefined);
  }
}

/** Lets every already-queued promise callback run (real timers only). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

afterEach(() => {
  vi.useRealTimers();
});

describe('runProbes', () => {
  it('keeps at most `concurrency` probes in flight when there are more targets than slots', async () => {
    // Prepare
    const targets = Array.from({ length: 10 }, (_, i) => tcpTarget(`t${i}`));
    const prober = new ControlledProber();
    // Act
    const running = runProbes(targets, prober, { ...OPTIONS, concurrency: 3 }, fixedClock);
    await settle();
    const startedAtFirst = [...prober.started];
    // Finish probes out of order (the most recently started first) until none is left.
    while (prober.running().length > 0) {
      prober.finish(prober.running().at(-1) ?? '');
      await settle();
    }
    const results = await running;
    // Assess
    expect(startedAtFirst).toEqual(['t0', 't1', 't2']);
    expect(prober.maxActive).toBe(3);
    expect(results.map((r) => r.name)).toEqual(targets.map((t) => t.name));
  });

  it('passes the timeout, the slow threshold and an abort signal to the prober', async () => {
    // Prepare
    const seen: ProbeOptions[] = [];
    const prober: Prober = {
      probe: async (target, options) => {
        seen.push(options);
        return healthy(target);
      },
    };
    // Act
    await runProbes([tcpTarget('a')], prober, { ...OPTIONS, concurrency: 1 }, fixedClock);
    // Assess
    expect(seen[0]).toMatchObject({ timeoutMs: 1_000, slowAfterMs: 200, signal: expect.any(AbortSignal) });
  });

  it('answers timeout after exactly timeoutMs and aborts the probe when the prober never resolves', async () => {
    // Prepare
    vi.useFakeTimers();
    const prober = new HangingProber();
    let results: ProbeResult[] | undefined;
    // Act
    const running = runProbes([tcpTarget('stuck')], prober, { ...OPTIONS, concurrency: 4 }, fixedClock).then((r) => {
      results = r;
    });
    await vi.advanceTimersByTimeAsync(999);
    const beforeDeadline = results;
    await vi.advanceTimersByTimeAsync(1);
    await running;
    // Assess
    expect(beforeDeadline).toBeUndefined();
    expect(results).toEqual([
      {
        targetId: 'stuck:tcp@h',
        name: 'stuck',
        kind: 'tcp',
        checkedAt: NOW,
        status: 'unhealthy',
        reason: 'timeout',
        detail: 'no answer within 1000 ms',
        latencyMs: 1_000,
      },
    ]);
    expect(prober.signals.map((s) => s.aborted)).toEqual([true]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('costs one timeout for all hanging probes when concurrency covers them', async () => {
    // Prepare
    vi.useFakeTimers();
    const targets = Array.from({ length: 6 }, (_, i) => tcpTarget(`t${i}`));
    const hanging = new HangingProber();
    const prober: Prober = {
      probe: (target, options) =>
        Number(target.name.slice(1)) % 2 === 0 ? hanging.probe(target, options) : Promise.resolve(healthy(target)),
    };
    let done = false;
    // Act
    const running = runProbes(targets, prober, { ...OPTIONS, concurrency: 4 }, fixedClock).then((r) => {
      done = true;
      return r;
    });
    await vi.advanceTimersByTimeAsync(1_000);
    const results = await running;
    // Assess
    expect(done).toBe(true);
    expect(results.map((r) => r.reason)).toEqual(['timeout', 'ok', 'timeout', 'ok', 'timeout', 'ok']);
  });

  it('needs ceil(hanging / concurrency) timeouts when hanging probes outnumber the slots', async () => {
    // Prepare
    vi.useFakeTimers();
    const targets = Array.from({ length: 5 }, (_, i) => tcpTarget(`t${i}`));
    let done = false;
    // Act
    const running = runProbes(targets, new HangingProber(), { ...OPTIONS, concurrency: 2 }, fixedClock).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(2_999);
    const doneBeforeThirdTimeout = done;
    await vi.advanceTimersByTimeAsync(1);
    await running;
    // Assess
    expect(doneBeforeThirdTimeout).toBe(false);
    expect(done).toBe(true);
  });

  it('ignores a result that arrives after the deadline', async () => {
    // Prepare
    vi.useFakeTimers();
    const prober: Prober = {
      probe: (target) => new Promise((resolve) => setTimeout(() => resolve(healthy(target)), 1_500)),
    };
    // Act
    const running = runProbes([tcpTarget('late')], prober, { ...OPTIONS, concurrency: 1 }, fixedClock);
    await vi.advanceTimersByTimeAsync(2_000);
    const [result] = await running;
    // Assess
    expect(result).toMatchObject({ status: 'unhealthy', reason: 'timeout' });
  });

  it('returns an error result instead of throwing when the prober breaks its promise not to throw', async () => {
    // Prepare
    const prober: Prober = {
      probe: (target) => {
        if (target.name === 'sync') throw new Error('boom');
        return Promise.reject(new Error('bang'));
      },
    };
    // Act
    const results = await runProbes(
      [tcpTarget('sync'), tcpTarget('async')],
      prober,
      { ...OPTIONS, concurrency: 2 },
      fixedClock,
    );
    // Assess
    expect(results.map((r) => [r.name, r.status, r.reason, r.detail])).toEqual([
      ['sync', 'unhealthy', 'error', 'the prober failed: boom'],
      ['async', 'unhealthy', 'error', 'the prober failed: bang'],
    ]);
  });

  it('rejects a concurrency below 1', async () => {
    // Act + Assess
    await expect(runProbes([], new HangingProber(), { ...OPTIONS, concurrency: 0 }, fixedClock)).rejects.toThrow(
      'concurrency must be a positive integer',
    );
  });
});
