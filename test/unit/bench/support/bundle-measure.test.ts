import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refusingPort } from '../../../../bench/support/bundle-events.ts';
import {
  assetFiles,
  functionAssets,
  loadedAtImport,
  measureStartup,
  median,
  moduleWeights,
  RUNTIME_PRELOADED_MODULES,
  readZipArchive,
  verdict,
  zipArchive,
} from '../../../../bench/support/bundle-measure.ts';

/* The bundle benchmark's measuring parts work; the times themselves are not asserted (they depend on the machine). */

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'acgs-bundle-measure-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('bundle measuring', () => {
  it('writes a zip whose entries read back intact and compressed', () => {
    const code = Buffer.from('export const handler = async () => 1;\n'.repeat(500));
    const zip = zipArchive([
      { name: 'index.mjs', data: code },
      { name: 'lib/empty.txt', data: Buffer.alloc(0) },
    ]);
    expect(zip.length).toBeLessThan(code.length / 10);
    expect(readZipArchive(zip)).toEqual([
      { name: 'index.mjs', data: code },
      { name: 'lib/empty.txt', data: Buffer.alloc(0) },
    ]);
    const corrupt = Buffer.from(zip);
    corrupt.writeUInt32LE(0, zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])) + 16);
    expect(() => readZipArchive(corrupt)).toThrow('CRC mismatch');
  });

  it('finds every function of a cloud assembly with its asset folder, leaving out excluded files', async () => {
    const assembly = join(dir, 'cdk.out');
    await mkdir(join(assembly, 'asset.abc'), { recursive: true });
    await writeFile(join(assembly, 'asset.abc', 'index.mjs'), 'export const handler = 1;');
    await writeFile(join(assembly, 'asset.abc', 'index.meta.json'), '{}');
    await writeFile(
      join(assembly, 'manifest.json'),
      JSON.stringify({
        artifacts: { s: { type: 'aws:cloudformation:stack', properties: { templateFile: 's.template.json' } } },
      }),
    );
    await writeFile(
      join(assembly, 's.template.json'),
      JSON.stringify({
        Resources: {
          ProbeFunction1234ABCD: {
            Type: 'AWS::Lambda::Function',
            Metadata: { 'aws:asset:path': 'asset.abc', 'aws:cdk:path': 'stack/Probe/Function/Resource' },
            Properties: {
              MemorySize: 512,
              Environment: { Variables: { A: 'x', B: { Ref: 'Table' } } },
            },
          },
          Other: { Type: 'AWS::SNS::Topic' },
        },
      }),
    );
    expect(await functionAssets(assembly)).toEqual([
      {
        name: 'Probe',
        logicalId: 'ProbeFunction1234ABCD',
        dir: join(assembly, 'asset.abc'),
        memorySize: 512,
        environment: { A: 'x' },
      },
    ]);
    const files = await assetFiles(join(assembly, 'asset.abc'), (name) => name === 'index.meta.json');
    expect(files.map((f) => f.name)).toEqual(['index.mjs']);
  });

  it('times the import and the first invocation of a bundle in fresh processes', async () => {
    const file = join(dir, 'fake-bundle.mjs');
    await writeFile(
      file,
      [
        'const started = Date.now(); while (Date.now() - started < 20) {}',
        'export const handler = async (event, context) => {',
        "  if (event.fail) throw new TypeError('refused ' + process.env.BENCH_VALUE);",
        "  console.log('a log line the bench drops', context.awsRequestId);",
        '  return 1;',
        '};',
      ].join('\n'),
    );
    const ok = await measureStartup(file, {}, { BENCH_VALUE: 'v' }, 2);
    expect(ok).toHaveLength(2);
    for (const sample of ok) {
      expect(sample.outcome).toBe('ok');
      expect(sample.importMs).toBeGreaterThanOrEqual(20);
      expect(sample.importCpuMs).toBeGreaterThan(0);
      expect(sample.firstInvokeMs).toBeGreaterThanOrEqual(0);
    }
    const [failed] = await measureStartup(file, { fail: true }, { BENCH_VALUE: 'v' }, 1);
    expect(failed?.outcome).toBe('TypeError: refused v');
  });

  it('loads http and https before it times the import, as the Lambda runtime has them loaded', async () => {
    // Prepare: a bundle that reports at import time which of the two built-ins the process had already loaded.
    const file = join(dir, 'preload-bundle.mjs');
    await writeFile(
      file,
      [
        "const missing = ['http', 'https'].filter((m) => !process.moduleLoadList.includes('NativeModule ' + m));",
        'export const handler = async () => {',
        "  if (missing.length > 0) throw new Error('not loaded before the import: ' + missing.join(', '));",
        '};',
      ].join('\n'),
    );
    // Act
    const [sample] = await measureStartup(file, {}, {}, 1);
    // Assess
    expect(RUNTIME_PRELOADED_MODULES).toEqual(['node:http', 'node:https']);
    expect(sample?.outcome).toBe('ok');
  });

  it('gives a loopback port that refuses connections', async () => {
    const port = await refusingPort();
    const error = await new Promise<NodeJS.ErrnoException>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.on('error', resolve);
      socket.on('connect', () => {
        socket.destroy();
        resolve(Object.assign(new Error('connected'), { code: 'CONNECTED' }));
      });
    });
    expect(error.code).toBe('ECONNREFUSED');
  });

  it('weighs a metafile by package and project folder, and judges against the targets', () => {
    const weights = moduleWeights({
      outputs: {
        'index.mjs': {
          inputs: {
            '../main/node_modules/zod/v4/core/schemas.js': { bytesInOutput: 300 },
            '../main/node_modules/zod/v4/classic/schemas.js': { bytesInOutput: 200 },
            '../main/node_modules/@aws-sdk/client-ssm/dist-es/index.js': { bytesInOutput: 400 },
            'lambdas/core/incident.ts': { bytesInOutput: 50 },
            'lambdas/core/escalation.ts': { bytesInOutput: 60 },
          },
        },
      },
    });
    expect(weights).toEqual([
      { source: 'zod', bytes: 500 },
      { source: '@aws-sdk/client-ssm', bytes: 400 },
      { source: 'lambdas/core', bytes: 110 },
    ]);
    expect(verdict(250_000, 100)).toEqual({ zip: 'PASS', startup: 'PASS' });
    expect(verdict(250_001, 100.5)).toEqual({ zip: 'FAIL', startup: 'FAIL' });
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('finds what importing index.mjs loads: it and the chunks it imports statically, not the dynamic ones', () => {
    const metafile = {
      outputs: {
        'out/index.mjs': {
          bytes: 100,
          inputs: { 'lambdas/handlers/probe.ts': { bytesInOutput: 100 } },
          imports: [
            { path: 'out/chunks/shared.mjs', kind: 'import-statement' },
            { path: 'out/chunks/sns.mjs', kind: 'dynamic-import' },
            { path: 'node:http', kind: 'import-statement', external: true },
          ],
        },
        'out/chunks/shared.mjs': {
          bytes: 40,
          inputs: { '../main/node_modules/zod/v4/mini/schemas.js': { bytesInOutput: 40 } },
          imports: [{ path: 'out/chunks/base.mjs', kind: 'import-statement' }],
        },
        'out/chunks/base.mjs': { bytes: 7, inputs: { 'lambdas/core/errors.ts': { bytesInOutput: 7 } }, imports: [] },
        'out/chunks/sns.mjs': {
          bytes: 500,
          inputs: { '../main/node_modules/@aws-sdk/client-sns/dist-es/index.js': { bytesInOutput: 500 } },
          imports: [{ path: 'out/chunks/base.mjs', kind: 'import-statement' }],
        },
      },
    };
    const loaded = loadedAtImport(metafile);
    expect([...loaded.outputs].sort()).toEqual(['out/chunks/base.mjs', 'out/chunks/shared.mjs', 'out/index.mjs']);
    expect(loaded.bytes).toBe(147);
    expect(moduleWeights(metafile, loaded.outputs).map((w) => w.source)).toEqual([
      'lambdas/handlers',
      'zod',
      'lambdas/core',
    ]);
    expect(moduleWeights(metafile)[0]).toEqual({ source: '@aws-sdk/client-sns', bytes: 500 });
  });
});
