/**
 * Lambda bundles: synthesizes the stack exactly as `cdk deploy` would (local esbuild, the default bundling options,
 * plus esbuild's metafile written beside each bundle), then for each function prints
 * - index.mjs and its source map (none by default); what importing index.mjs loads (it and the chunks it imports
 *   statically: the bundle is split at dynamic imports, and the other chunks load only when an invocation reaches
 *   them); and the asset zipped as cdk-assets zips it (a real zip written here with zlib level 9; the metafile is left
 *   out, it is only there because the bench asked for it);
 * - the start-up in fresh Node.js processes (median of 5), each with `http` and `https` loaded first as in Lambda's
 *   runtime (RUNTIME_PRELOADED_MODULES): the module import, and the first invocation with a fake
 *   event against an AWS endpoint that refuses connections (see support/bundle-events.ts for why that is the whole
 *   cold path but the network), as wall-clock and as CPU time, the latter less sensitive to a busy machine;
 * - PASS/FAIL against issue 9's targets (zip <= 250 KB, import + first invocation <= 100 ms wall-clock);
 * - what weighs most in what a cold start loads, by package (from the metafile).
 * `-- --source-maps` synthesizes with `-c sourceMaps=true` instead, to see what the opt-in costs.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { BENCH_EVENTS, benchEnvironment, refusingPort } from './support/bundle-events.ts';
import {
  assetFiles,
  BUNDLE_TARGETS,
  functionAssets,
  loadedAtImport,
  type Metafile,
  measureStartup,
  median,
  moduleWeights,
  verdict,
  zipArchive,
} from './support/bundle-measure.ts';

const run = promisify(execFile);
const REPO = new URL('..', import.meta.url).pathname;
const RUNS = 5;
const METAFILE = 'index.meta.json';

const kb = (bytes: number) => `${(bytes / 1000).toFixed(0)} KB`;
const ms = (value: number) => `${value.toFixed(0)} ms`;

function table(header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  for (const row of [header, ...rows]) console.log(row.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  '));
}

export async function lambdaBundles(options: { sourceMaps?: boolean } = {}): Promise<void> {
  const out = await mkdtemp(join(tmpdir(), 'acgs-bench-synth-'));
  try {
    const started = performance.now();
    const context = ['-c', 'bundleMetafile=true', ...(options.sourceMaps ? ['-c', 'sourceMaps=true'] : [])];
    await run('npx', ['cdk', 'synth', '--quiet', '--output', out, ...context], {
      cwd: REPO,
      maxBuffer: 64 * 1024 * 1024,
    });
    console.log(
      `cdk synth with bundling of every Lambda${options.sourceMaps ? ' (-c sourceMaps=true)' : ''}: ` +
        `${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    const port = await refusingPort();
    const rows: string[][] = [];
    const weights: string[] = [];
    const outcomes: string[] = [];
    for (const asset of await functionAssets(out)) {
      const code = await stat(join(asset.dir, 'index.mjs'));
      const map = await stat(join(asset.dir, 'index.mjs.map')).catch(() => undefined);
      const zip = zipArchive(await assetFiles(asset.dir, (name) => name === METAFILE));
      const metafile = await readFile(join(asset.dir, METAFILE), 'utf8')
        .then((text) => JSON.parse(text) as Metafile)
        .catch(() => undefined);
      const loaded = metafile ? loadedAtImport(metafile) : undefined;
      const event = BENCH_EVENTS[asset.name] ?? {};
      // The function's own NODE_OPTIONS (--enable-source-maps when source maps are on) applies, as in Lambda.
      const env = {
        ...benchEnvironment(port),
        ...(asset.environment.NODE_OPTIONS ? { NODE_OPTIONS: asset.environment.NODE_OPTIONS } : {}),
      };
      const samples = await measureStartup(join(asset.dir, 'index.mjs'), event, env, RUNS);
      const importMs = median(samples.map((s) => s.importMs));
      const invokeMs = median(samples.map((s) => s.firstInvokeMs));
      const startupMs = median(samples.map((s) => s.importMs + s.firstInvokeMs));
      const startupCpuMs = median(samples.map((s) => s.importCpuMs + s.firstInvokeCpuMs));
      const judged = verdict(zip.length, startupMs);
      rows.push([
        asset.name,
        kb(code.size),
        loaded ? `${kb(loaded.bytes)} (${loaded.outputs.length} files)` : '-',
        map ? kb(map.size) : '-',
        `${kb(zip.length)} ${judged.zip}`,
        ms(importMs),
        ms(invokeMs),
        `${ms(startupMs)} ${judged.startup}`,
        `${ms(median(samples.map((s) => s.importCpuMs)))} + ${ms(median(samples.map((s) => s.firstInvokeCpuMs)))} = ${ms(startupCpuMs)}`,
        String(asset.memorySize ?? '-'),
      ]);
      outcomes.push(`${asset.name}: ${samples[0]?.outcome ?? '?'}`);
      if (metafile && loaded) {
        const top = moduleWeights(metafile, loaded.outputs).slice(0, 8);
        weights.push(`${asset.name}: ${top.map((w) => `${w.source} ${kb(w.bytes)}`).join(', ')}`);
      }
    }
    table(
      [
        'function',
        'index.mjs',
        'loaded at import',
        'source map',
        `zip (<= ${kb(BUNDLE_TARGETS.zipBytes)})`,
        'import',
        'first invoke',
        `import + invoke (<= ${BUNDLE_TARGETS.startupMs} ms)`,
        'CPU: import + invoke',
        'MB',
      ],
      rows,
    );
    console.log(`times: median of ${RUNS} fresh node processes each`);
    console.log('first invocations ended with (the endpoint refuses by design):');
    for (const line of outcomes) console.log(`  ${line}`);
    console.log(
      'heaviest sources of what a cold start loads (bytes in index.mjs and its static chunks, esbuild metafile):',
    );
    for (const line of weights) console.log(`  ${line}`);
    const [one, five] = loadavg();
    console.log(
      `node ${process.version}; load average ${one?.toFixed(1)} (1 min), ${five?.toFixed(1)} (5 min) on this ` +
        'machine: wall-clock times grow with the load, CPU times much less. Lambda adds its own sandbox and ' +
        'download time; its runtime has already loaded http and https, which the bench loads before timing too.',
    );
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`)
  await lambdaBundles({ sourceMaps: process.argv.includes('--source-maps') });
