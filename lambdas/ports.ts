/**
 * Ports: what the use-cases need from the outside world. Adapters implement them (AWS: DynamoDB, SNS, SSM,
 * EventBridge; local: SQLite, console/file/webhook, shell; memory: tests and one-shot commands).
 */
import type { ProbeResult } from './core/probe-evaluation.ts';
import type { Target } from './core/targets.ts';

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export interface ProbeOptions {
  /** Hard per-probe timeout: a probe never takes longer than this, whatever the target does. */
  readonly timeoutMs: number;
  /** Slower healthy answers are `degraded` with reason `latency`. */
  readonly slowAfterMs: number;
}

/** Probes one target. Never throws: every failure is a result with a reason. */
export interface Prober {
  probe(target: Target, options: ProbeOptions): Promise<ProbeResult>;
}
