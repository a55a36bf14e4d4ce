/**
 * Probe fan-out: one probe cycle over 1,000 local HTTP endpoints (900 healthy, 100 hanging) with the real
 * NetworkProber and runProbes, at several concurrency limits. Prints figures; asserts nothing about wall-clock.
 *
 * With H hanging targets and concurrency c, hanging probes hold their slot for a full timeout, so a cycle takes
 * at least ceil(H / c) timeouts: one timeout per cycle needs c > H (plus room for the healthy probes to flow).
 */

import { type ChildProcess, fork } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { LocalSecretSource } from '../lambdas/adapters/local/local-secret-source.ts';
import type { Target } from '../lambdas/core/targets.ts';
import { type Prober, systemClock } from '../lambdas/ports.ts';
import { NetworkProber } from '../lambdas/probes/network-prober.ts';
import { runProbes } from '../lambdas/probes/run-probes.ts';

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
const FLEET_SCRIPT = fileURLToPath(new URL('./support/endpoint-fleet.ts', import.meta.url));

export interface FanoutOptions {
  readonly endpoints: number;
  /** Every n-th endpoint hangs. */
  readonly hangEvery: number;
  readonly timeoutMs: number;
  readonly slowAfterMs: number;
  readonly concurrencies: readonly number[];
}

export const DEFAULT_FANOUT: FanoutOptions = {
  endpoints: 1_000,
  hangEvery: 10,
  timeoutMs: 2_000,
  slowAfterMs: 500,
  concurrencies: [64, 200, 1_000],
};

export interface FanoutRun {
  readonly concurrency: number;
  readonly cycleMs: number;
  readonly ratio: number;
  readonly lowerBoundTimeouts: number;
  /** When the pool started its last probe: the cycle is about this plus one timeout. */
  readonly lastStartMs: number;
  readonly counts: Record<string, number>;
  readonly healthyLatencyP50Ms: number;
  readonly healthyLatencyP99Ms: number;
  readonly rssBeforeMb: number;
  readonly rssAfterMb: number;
  readonly heapBeforeMb: number;
  readonly heapAfterMb: number;
}

export async function probeFanout(
  options: FanoutOptions = DEFAULT_FANOUT,
  log: (line: string) => void = console.log,
): Promise<FanoutRun[]> {
  const openFiles = await openFileLimit();
  // Child: one listener per endpoint plus one accepted socket per probe in flight; parent: one socket per probe.
  const maxConcurrency = Math.max(...options.concurrencies);
  const needed = options.endpoints + 2 * Math.min(maxConcurrency, options.endpoints) + 200;
  log(`probe fan-out: open-file limit ${openFiles ?? 'unknown'} (this run needs about ${needed})`);
  if (openFiles !== undefined && openFiles < needed) {
    throw new Error(
      `the open-file limit ${openFiles} is below the ${needed} this benchmark needs; run with fewer endpoints`,
    );
  }

  const fleetStarted = performance.now();
  const fleet = await startFleet(options.endpoints, options.hangEvery);
  const runs: FanoutRun[] = [];
  try {
    log(
      `fleet: ${fleet.ports.length} endpoints (${fleet.ports.length - fleet.hanging.size} healthy, ` +
        `${fleet.hanging.size} hanging) in one child process, started in ${Math.round(performance.now() - fleetStarted)} ms`,
    );
    const targets: Target[] = fleet.ports.map((port, i) => ({
      id: `endpoint-${i}:health@127.0.0.1`,
      name: `endpoint-${i}`,
      kind: 'http',
      host: '127.0.0.1',
      critical: true,
      service: `endpoint-${i}`,
      role: 'service',
      url: `http://127.0.0.1:${port}/health`,
    }));
    const network = new NetworkProber(systemClock, new LocalSecretSource());
    let lastStart = 0;
    const prober: Prober = {
      probe: (target, probeOptions) => {
        lastStart = performance.now();
        return network.probe(target, probeOptions);
      },
    };
    log(`timeout ${options.timeoutMs} ms, slow above ${options.slowAfterMs} ms\n`);
    log(
      pad([
        'concurrency',
        'cycle ms',
        'cycle/timeout',
        'lower bound',
        'last start',
        'healthy',
        'timeout',
        'other',
        'p50 ms',
        'p99 ms',
        'rss MB',
        'heap MB',
      ]),
    );
    for (const concurrency of options.concurrencies) {
      const before = process.memoryUsage();
      const started = performance.now();
      const results = await runProbes(
        targets,
        prober,
        { timeoutMs: options.timeoutMs, slowAfterMs: options.slowAfterMs, concurrency },
        systemClock,
      );
      const cycleMs = performance.now() - started;
      const after = process.memoryUsage();
      const counts: Record<string, number> = {};
      for (const r of results) counts[r.reason] = (counts[r.reason] ?? 0) + 1;
      const latencies = results
        .filter((r) => r.reason === 'ok')
        .map((r) => r.latencyMs)
        .sort((a, b) => a - b);
      const run: FanoutRun = {
        concurrency,
        cycleMs: Math.round(cycleMs),
        ratio: cycleMs / options.timeoutMs,
        lowerBoundTimeouts: Math.ceil(fleet.hanging.size / concurrency),
        lastStartMs: Math.round(lastStart - started),
        counts,
        healthyLatencyP50Ms: percentile(latencies, 0.5),
        healthyLatencyP99Ms: percentile(latencies, 0.99),
        rssBeforeMb: mb(before.rss),
        rssAfterMb: mb(after.rss),
        heapBeforeMb: mb(before.heapUsed),
        heapAfterMb: mb(after.heapUsed),
      };
      runs.push(run);
      const other = results.length - (counts.ok ?? 0) - (counts.timeout ?? 0);
      log(
        pad([
          String(concurrency),
          String(run.cycleMs),
          `${run.ratio.toFixed(2)}x`,
          `${run.lowerBoundTimeouts} timeout${run.lowerBoundTimeouts === 1 ? '' : 's'}`,
          `${run.lastStartMs} ms`,
          String(counts.ok ?? 0),
          String(counts.timeout ?? 0),
          String(other),
          run.healthyLatencyP50Ms.toFixed(1),
          run.healthyLatencyP99Ms.toFixed(1),
          `${run.rssBeforeMb} -> ${run.rssAfterMb}`,
          `${run.heapBeforeMb} -> ${run.heapAfterMb}`,
        ]),
      );
    }
    const oneTimeout = runs.filter((r) => r.ratio <= 1.2).map((r) => r.concurrency);
    log(
      `\nA hanging endpoint holds its slot for a full timeout, so a cycle lasts at least ceil(hanging / concurrency) ` +
        `timeouts, and in practice (time the pool needs to reach the last target) + one timeout: the healthy probes ` +
        `ahead of the last hanging one must pass through the remaining slots first.\n` +
        (oneTimeout.length > 0
          ? `Within 1.2x of one timeout here at concurrency ${oneTimeout.join(', ')}. `
          : 'No run stayed within 1.2x of one timeout. ') +
        `Rule: concurrency above the number of targets that can hang at once (here > ${fleet.hanging.size}), with ` +
        `headroom for the healthy probes; for a fleet of ${targets.length}, concurrency >= the fleet size.`,
    );
  } finally {
    await fleet.stop();
  }
  return runs;
}

interface Fleet {
  readonly ports: readonly number[];
  readonly hanging: ReadonlySet<number>;
  stop(): Promise<void>;
}

async function startFleet(count: number, hangEvery: number): Promise<Fleet> {
  const child = fork(FLEET_SCRIPT, [String(count), String(hangEvery)], {
    cwd: REPO_ROOT,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const stop = () => stopChild(child);
  // Ctrl-C during the benchmark must not leave the fleet behind.
  const onSignal = () => {
    child.kill('SIGKILL');
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  try {
    const ready = await new Promise<{ ports: number[]; hanging: number[] }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the endpoint fleet did not start within 60 s')), 60_000);
      child.once('message', (message) => {
        clearTimeout(timer);
        resolve(message as { ports: number[]; hanging: number[] });
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the endpoint fleet exited with code ${code} before it was ready`));
      });
    });
    return {
      ports: ready.ports,
      hanging: new Set(ready.hanging),
      stop: async () => {
        process.off('SIGINT', onSignal);
        await stop();
      },
    };
  } catch (error) {
    process.off('SIGINT', onSignal);
    await stop();
    throw error;
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    if (child.connected) child.disconnect();
    child.kill('SIGTERM');
  });
}

/** The soft limit on open files, from /proc (Linux); undefined elsewhere. */
async function openFileLimit(): Promise<number | undefined> {
  const limits = await readFile('/proc/self/limits', 'utf8').catch(() => '');
  const soft = /^Max open files\s+(\d+)/m.exec(limits)?.[1];
  return soft === undefined ? undefined : Number(soft);
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

function mb(bytes: number): number {
  return Math.round((bytes / 1024 / 1024) * 10) / 10;
}

const WIDTHS = [11, 8, 13, 11, 10, 7, 7, 5, 6, 6, 14, 12];
function pad(cells: readonly string[]): string {
  return cells.map((cell, i) => cell.padStart(WIDTHS[i] ?? 0)).join('  ');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await probeFanout();
}
