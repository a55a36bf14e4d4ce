/**
 * Lambda bundles: synthesizes the stack exactly as `cdk deploy` would (local esbuild), then for each function
 * prints the bundle's size (raw, and deflated as in the deployment zip) and its initialisation time in a fresh
 * Node.js process: the module import, and the first invocation (which builds the runtime: environment, config,
 * SDK clients) on a path that makes no AWS call. Figures only.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { deflateRawSync } from 'node:zlib';

const run = promisify(execFile);
const REPO = new URL('..', import.meta.url).pathname;
const RUNS = 5;

const FAKE_ENV = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'AKIDBENCH',
  AWS_SECRET_ACCESS_KEY: 'bench',
  ACGS_TABLE_NAME: 'bench',
  ACGS_EVENT_BUS_NAME: 'bench',
  ACGS_TOPIC_ARNS: JSON.stringify({
    1: 'arn:aws:sns:us-east-1:123456789012:l1',
    2: 'arn:aws:sns:us-east-1:123456789012:l2',
    3: 'arn:aws:sns:us-east-1:123456789012:l3',
    4: 'arn:aws:sns:us-east-1:123456789012:l4',
  }),
  ACGS_DOCUMENT_NAMES: JSON.stringify({ 'acgs-restart-service': 'bench-restart' }),
  ACGS_COMMAND_LOG_GROUP: '/bench',
  POWERTOOLS_SERVICE_NAME: 'bench',
  POWERTOOLS_METRICS_NAMESPACE: 'Bench',
  POWERTOOLS_METRICS_DISABLED: 'true',
};

/** Imports the bundle and, for the operator API, invokes it once unauthenticated (403, no AWS call). */
const PROBE_SCRIPT = `
const file = process.argv[1];
const invoke = process.argv[2] === 'invoke';
const t0 = performance.now();
const mod = await import(file);
const t1 = performance.now();
let t2 = t1;
if (invoke) {
  const r = await mod.handler({ rawPath: '/incidents', body: undefined, requestContext: { http: { method: 'GET' } } },
    { functionName: 'bench', awsRequestId: 'r', getRemainingTimeInMillis: () => 1000 });
  if (r.statusCode !== 403) throw new Error('unexpected ' + JSON.stringify(r));
  t2 = performance.now();
}
console.log(JSON.stringify({ importMs: t1 - t0, firstInvokeMs: t2 - t1 }));
`;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

export async function lambdaBundles(): Promise<void> {
  const out = await mkdtemp(join(tmpdir(), 'acgs-bench-synth-'));
  try {
    const started = performance.now();
    await run('npx', ['cdk', 'synth', '--quiet', '--output', out], { cwd: REPO, maxBuffer: 64 * 1024 * 1024 });
    const synthMs = performance.now() - started;
    const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')) as {
      artifacts: Record<string, { type: string; properties?: { templateFile?: string } }>;
    };
    const stackArtifact = Object.values(manifest.artifacts).find((a) => a.type === 'aws:cloudformation:stack');
    const template = JSON.parse(await readFile(join(out, stackArtifact?.properties?.templateFile ?? ''), 'utf8')) as {
      Resources: Record<
        string,
        { Type: string; Metadata?: Record<string, string>; Properties?: { MemorySize?: number } }
      >;
    };
    console.log(`cdk synth (with bundling of every Lambda): ${(synthMs / 1000).toFixed(1)} s`);
    const rows: string[][] = [];
    for (const [id, resource] of Object.entries(template.Resources)) {
      if (resource.Type !== 'AWS::Lambda::Function') continue;
      const assetPath = resource.Metadata?.['aws:asset:path'];
      if (!assetPath) continue;
      const dir = join(out, assetPath);
      const code = await readFile(join(dir, 'index.mjs'));
      const map = await stat(join(dir, 'index.mjs.map')).catch(() => undefined);
      const zipped =
        deflateRawSync(code).length + (map ? deflateRawSync(await readFile(join(dir, 'index.mjs.map'))).length : 0);
      const invoke = id.toLowerCase().includes('operator') ? 'invoke' : 'import';
      const timings: { importMs: number; firstInvokeMs: number }[] = [];
      for (let i = 0; i < RUNS; i++) {
        const { stdout } = await run(
          process.execPath,
          ['--input-type=module', '-e', PROBE_SCRIPT, join(dir, 'index.mjs'), invoke],
          {
            env: { PATH: process.env.PATH ?? '', ...FAKE_ENV },
          },
        );
        timings.push(JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}'));
      }
      rows.push([
        id.replace(/[0-9A-F]{8}$/, ''),
        `${(code.length / 1024).toFixed(0)} KiB`,
        `${((map?.size ?? 0) / 1024).toFixed(0)} KiB`,
        `${(zipped / 1024).toFixed(0)} KiB`,
        `${median(timings.map((t) => t.importMs)).toFixed(0)} ms`,
        invoke === 'invoke' ? `${median(timings.map((t) => t.firstInvokeMs)).toFixed(0)} ms` : '-',
        String(resource.Properties?.MemorySize ?? '-'),
      ]);
    }
    const header = [
      'function',
      'index.mjs',
      'source map',
      'zip (deflate)',
      `import (median of ${RUNS})`,
      'first invoke (runtime built)',
      'MB',
    ];
    const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
    for (const row of [header, ...rows]) console.log(row.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  '));
    console.log(
      `node ${process.version} on this machine; Lambda's arm64 cold start adds its own sandbox and download time`,
    );
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await lambdaBundles();
