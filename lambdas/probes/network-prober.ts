import type { ProbeResult } from '../core/probe-evaluation.ts';
import type { Target } from '../core/targets.ts';
import type { Clock, ProbeOptions, Prober, SecretSource } from '../ports.ts';
import { runWithDeadline } from './deadline.ts';
import { probeHttp } from './http-prober.ts';
import { describeNetworkError, hostPort } from './network-errors.ts';
import { type ProbeOutcome, type ProbeRequest, startStopwatch, timedOut } from './probe-outcome.ts';
import { probePrometheus } from './prometheus-prober.ts';
import { probeRedis } from './redis-prober.ts';
import { probeTcp } from './tcp-prober.ts';

/**
 * Probes targets over the network (HTTP/HTTPS, TCP, Redis, PostgreSQL, Prometheus). Never throws and never takes
 * longer than `timeoutMs`: every failure is a result with a reason and a one-sentence detail, and a probe past
 * its deadline has its socket destroyed.
 */
export class NetworkProber implements Prober {
  readonly #clock: Clock;
  readonly #secrets: SecretSource;

  /**
   * `secrets` gives the passwords the config names (Secrets Manager in AWS; the environment variables and the pgpass
   * file on one host); the config never holds them.
   */
  constructor(clock: Clock, secrets: SecretSource) {
    this.#clock = clock;
    this.#secrets = secrets;
  }

  async probe(target: Target, options: ProbeOptions): Promise<ProbeResult> {
    const checkedAt = this.#clock.now();
    const elapsed = startStopwatch();
    const outcome = await runWithDeadline<ProbeOutcome>(
      (signal) =>
        probeByKind(target, { slowAfterMs: options.slowAfterMs, timeoutMs: options.timeoutMs, signal }, this.#secrets),
      options.timeoutMs,
      {
        onTimeout: () => timedOut(options.timeoutMs),
        onError: (error) => ({
          status: 'unhealthy',
          ...describeNetworkError(error, endpointOf(target)),
          latencyMs: elapsed(),
        }),
      },
      options.signal,
    );
    return { targetId: target.id, name: target.name, kind: target.kind, checkedAt, ...outcome };
  }
}

function probeByKind(target: Target, request: ProbeRequest, secrets: SecretSource): Promise<ProbeOutcome> {
  switch (target.kind) {
    case 'http':
      return probeHttp(target, request);
    case 'tcp':
      return probeTcp(target, request);
    case 'redis':
      return probeRedis(target, request);
    case 'postgres':
      // pg comes with the first PostgreSQL check, not with every import of the probers: it is the probe Lambda's
      // heaviest package, and on Node.js 20 its runtime check (`new Response`) also loads undici.
      return import('./postgres-prober.ts').then((m) => m.probePostgres(target, request, secrets));
    case 'prometheus':
      return probePrometheus(target, request);
  }
}

/** Where a target is reached, for error details. */
export function endpointOf(target: Target): string {
  switch (target.kind) {
    case 'http':
    case 'prometheus':
      return new URL(target.url).host;
    case 'tcp':
    case 'redis':
    case 'postgres':
      return hostPort(target.host, target.port);
  }
}
