import { performance } from 'node:perf_hooks';
import type { ProbeResult } from '../core/probe-evaluation.ts';

/** What a kind-specific prober found. The NetworkProber adds the target's identity and the time. */
export type ProbeOutcome = Pick<ProbeResult, 'status' | 'reason' | 'detail' | 'latencyMs' | 'httpStatus' | 'value'>;

/** What every kind-specific prober is given. */
export interface ProbeRequest {
  /** Answers slower than this are `degraded` with reason `latency`. */
  readonly slowAfterMs: number;
  /** The hard deadline the caller enforces; probers may pass it on (e.g. as a server-side statement timeout). */
  readonly timeoutMs: number;
  /** Aborted at the deadline: the prober must destroy its sockets at once. */
  readonly signal: AbortSignal;
}

/** Monotonic milliseconds for latency (the wall clock may jump). */
export function startStopwatch(): () => number {
  const started = performance.now();
  return () => Math.round((performance.now() - started) * 10) / 10;
}

/** A successful answer is still degraded when it was slow. */
export function judgeLatency(latencyMs: number, slowAfterMs: number, okDetail: string): ProbeOutcome {
  if (latencyMs > slowAfterMs) {
    return {
      status: 'degraded',
      reason: 'latency',
      detail: `${okDetail}, but in ${Math.round(latencyMs)} ms, above the ${slowAfterMs} ms threshold`,
      latencyMs,
    };
  }
  return { status: 'healthy', reason: 'ok', detail: okDetail, latencyMs };
}

/** The outcome of a probe that ran out of time, whoever enforced the deadline. */
export function timedOut(timeoutMs: number): ProbeOutcome {
  return { status: 'unhealthy', reason: 'timeout', detail: `no answer within ${timeoutMs} ms`, latencyMs: timeoutMs };
}
