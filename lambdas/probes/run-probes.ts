import { errorMessage } from '../core/errors.ts';
import type { ProbeResult } from '../core/probe-evaluation.ts';
import type { Target } from '../core/targets.ts';
import type { Clock, ProbeOptions, Prober } from '../ports.ts';
import { runWithDeadline } from './deadline.ts';
import { timedOut } from './probe-outcome.ts';

export interface RunProbesOptions {
  /** Hard per-probe deadline, enforced here whatever the prober does. */
  readonly timeoutMs: number;
  /** Slower healthy answers are degraded with reason `latency`. */
  readonly slowAfterMs: number;
  /** At most this many probes in flight at once. */
  readonly concurrency: number;
}

/**
 * Probes every target once with at most `concurrency` probes in flight, and returns the results in target order.
 * Each probe gets a hard deadline of `timeoutMs` enforced here too (a prober that hangs or ignores its own timeout
 * still costs exactly one timeout); at the deadline the probe's AbortSignal fires so it can release its socket.
 * Never throws: a prober that throws yields an `error` result.
 */
export async function runProbes(
  targets: readonly Target[],
  prober: Prober,
  options: RunProbesOptions,
  clock: Clock,
): Promise<ProbeResult[]> {
  if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
    throw new RangeError(`concurrency must be a positive integer, got ${options.concurrency}`);
  }
  const slot = limiter(options.concurrency);
  return Promise.all(targets.map((target) => slot(() => probeOnce(target, prober, options, clock))));
}

function probeOnce(target: Target, prober: Prober, options: RunProbesOptions, clock: Clock): Promise<ProbeResult> {
  const checkedAt = clock.now();
  const identity = { targetId: target.id, name: target.name, kind: target.kind, checkedAt };
  return runWithDeadline(
    (signal) => {
      const probeOptions: ProbeOptions = {
        timeoutMs: options.timeoutMs,
        slowAfterMs: options.slowAfterMs,
        signal,
      };
      return prober.probe(target, probeOptions);
    },
    options.timeoutMs,
    {
      onTimeout: () => ({ ...identity, ...timedOut(options.timeoutMs) }),
      onError: (error) => ({
        ...identity,
        status: 'unhealthy',
        reason: 'error',
        detail: `the prober failed: ${errorMessage(error)}`,
        latencyMs: 0,
      }),
    },
  );
}

/** A counting semaphore: `slot(task)` runs the task when fewer than `max` tasks are running. */
function limiter(max: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (running < max) running++;
    else await new Promise<void>((resume) => waiting.push(resume));
    try {
      return await task();
    } finally {
      // Hand the slot straight to the next waiter, so no newcomer can overtake it.
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}
