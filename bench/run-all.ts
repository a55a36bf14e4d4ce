/**
 * Runs every benchmark in turn and prints its figures. Benchmarks measure; they do not assert on wall-clock.
 * Add one: export an async function from bench/<name>.ts and list it below.
 */
import { performance } from 'node:perf_hooks';
import { backupThroughput } from './backup-throughput.ts';
import { lambdaBundles } from './lambda-bundles.ts';
import { probeFanout } from './probe-fanout.ts';
import { recoveryDrill } from './recovery-drill.ts';

const benchmarks: ReadonlyArray<readonly [string, () => Promise<unknown>]> = [
  ['probe fan-out', () => probeFanout()],
  ['recovery drill', () => recoveryDrill()],
  ['lambda bundles', () => lambdaBundles()],
  ['backup throughput', () => backupThroughput()],
];

for (const [name, run] of benchmarks) {
  const started = performance.now();
  console.log(`== ${name}`);
  await run();
  console.log(`== ${name}: done in ${((performance.now() - started) / 1_000).toFixed(1)} s\n`);
}
