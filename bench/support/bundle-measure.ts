/**
 * The measuring parts of the Lambda bundle benchmark (bench/lambda-bundles.ts), apart so a test can check that they
 * work: the synthesized functions and their asset folders, a real zip of an asset, the start-up of a bundle in fresh
 * Node.js processes, the weight of the modules in a bundle (esbuild metafile), and the verdict against the targets.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib';

const run = promisify(execFile);

/** Issue 9's targets: every function zipped at most 250 KB, import plus first invocation at most 100 ms. */
export const BUNDLE_TARGETS = { zipBytes: 250 * 1000, startupMs: 100 } as const;

export interface FunctionAsset {
  /** The construct id under the stack (Probe, EscalationSweep, CommandStatus, OperatorApi, Backups). */
  readonly name: string;
  readonly logicalId: string;
  /** The asset folder in the cloud assembly: what cdk-assets zips and uploads. */
  readonly dir: string;
  readonly memorySize: number | undefined;
  readonly environment: Readonly<Record<string, string>>;
}

interface TemplateResource {
  readonly Type: string;
  readonly Metadata?: Record<string, string>;
  readonly Properties?: { MemorySize?: number; Environment?: { Variables?: Record<string, unknown> } };
}

/** The Lambda functions of the stack in a cloud assembly (`cdk synth --output`), each with its asset folder. */
export async function functionAssets(cloudAssembly: string): Promise<FunctionAsset[]> {
  const manifest = JSON.parse(await readFile(join(cloudAssembly, 'manifest.json'), 'utf8')) as {
    artifacts: Record<string, { type: string; properties?: { templateFile?: string } }>;
  };
  const stack = Object.values(manifest.artifacts).find((a) => a.type === 'aws:cloudformation:stack');
  const templateFile = stack?.properties?.templateFile;
  if (!templateFile) throw new Error(`no stack template in ${cloudAssembly}/manifest.json`);
  const template = JSON.parse(await readFile(join(cloudAssembly, templateFile), 'utf8')) as {
    Resources: Record<string, TemplateResource>;
  };
  const assets: FunctionAsset[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    const assetPath = resource.Metadata?.['aws:asset:path'];
    if (resource.Type !== 'AWS::Lambda::Function' || !assetPath) continue;
    // aws:cdk:path is <stack>/<construct id>/Function/Resource for a ControlPlaneFunction.
    const name = resource.Metadata?.['aws:cdk:path']?.split('/')[1] ?? logicalId;
    const variables = resource.Properties?.Environment?.Variables ?? {};
    assets.push({
      name,
      logicalId,
      dir: join(cloudAssembly, assetPath),
      memorySize: resource.Properties?.MemorySize,
      environment: Object.fromEntries(
        Object.entries(variables).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
      ),
    });
  }
  return assets;
}

export interface ZipEntry {
  readonly name: string;
  readonly data: Buffer;
}

/**
 * A zip archive of `entries`, each deflated (zlib level 9): the format and compression cdk-assets uploads for a
 * Lambda asset folder, so its length is the deployment package's size to within a few header bytes per file.
 */
export function zipArchive(entries: readonly ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  // 1980-01-01 00:00, the date CDK stamps on every entry so that the asset hash is stable.
  const dosTime = 0;
  const dosDate = (0 << 9) | (1 << 5) | 1;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const compressed = deflateRawSync(entry.data, { level: 9 });
    const crc = crc32(entry.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(8, 8); // deflate
    local.writeUInt16LE(dosTime, 10);
    local.writeUInt16LE(dosDate, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(compressed.length, 18);
    local.writeUInt32LE(entry.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(0x0314, 4); // made by: Unix, 2.0
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt16LE(dosTime, 12);
    central.writeUInt16LE(dosDate, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(compressed.length, 20);
    central.writeUInt32LE(entry.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE((0o100644 << 16) >>> 0, 38); // regular file, rw-r--r--
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, compressed);
    centrals.push(central, name);
    offset += local.length + name.length + compressed.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** The entries of a zip written by zipArchive (central directory, deflate only), checked against their CRC. */
export function readZipArchive(zip: Buffer): ZipEntry[] {
  const endAt = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (endAt < 0) throw new Error('not a zip archive: no end of central directory');
  const count = zip.readUInt16LE(endAt + 10);
  let at = zip.readUInt32LE(endAt + 16);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error(`zip entry ${i}: bad central directory header`);
    const crc = zip.readUInt32LE(at + 16);
    const size = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extra = zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
    const localAt = zip.readUInt32LE(at + 42);
    const name = zip.subarray(at + 46, at + 46 + nameLength).toString('utf8');
    const dataAt = localAt + 30 + zip.readUInt16LE(localAt + 26) + zip.readUInt16LE(localAt + 28);
    const data = inflateRawSync(zip.subarray(dataAt, dataAt + size));
    if (crc32(data) !== crc) throw new Error(`zip entry ${name}: CRC mismatch`);
    entries.push({ name, data });
    at += 46 + nameLength + extra;
  }
  return entries;
}

/** Every file of an asset folder (recursively, sorted), as cdk-assets would zip it. */
export async function assetFiles(dir: string, exclude: (name: string) => boolean = () => false): Promise<ZipEntry[]> {
  const names = (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name).slice(dir.length + 1))
    .filter((name) => !exclude(name))
    .sort();
  return Promise.all(names.map(async (name) => ({ name, data: await readFile(join(dir, name)) })));
}

export interface StartupSample {
  readonly importMs: number;
  /** From the handler's call until its promise settles: the runtime built and the first request run. */
  readonly firstInvokeMs: number;
  /**
   * CPU time (user + system, all threads of the process) of the same two phases: on a machine shared with other
   * work, wall-clock times grow with the load while CPU time stays near what the phase costs on an idle machine.
   */
  readonly importCpuMs: number;
  readonly firstInvokeCpuMs: number;
  /** How the first invocation ended: `ok` or the error's name and message (the fake endpoint refuses). */
  readonly outcome: string;
}

/**
 * The Node built-ins Lambda's Node.js runtime has loaded before it imports a handler: its runtime interface client
 * talks to the Runtime API over `http`, and loads `https` with it. A bundle that imports them finds them loaded, so
 * the bench loads them before it starts timing, as Lambda would; timing their first load would charge every
 * function for work its cold start does not do.
 */
export const RUNTIME_PRELOADED_MODULES = ['node:http', 'node:https'] as const;

/**
 * Run in a fresh `node` per sample: loads RUNTIME_PRELOADED_MODULES, then (timed) imports the bundle and calls its
 * `handler` once with the event and a fake Lambda context; prints the two times and how the invocation ended as one
 * JSON line.
 */
const STARTUP_SCRIPT = `
const [file, eventJson] = process.argv.slice(1);
for (const builtin of ${JSON.stringify(RUNTIME_PRELOADED_MODULES)}) await import(builtin);
const c0 = process.cpuUsage();
const t0 = performance.now();
const mod = await import(file);
const t1 = performance.now();
const c1 = process.cpuUsage(c0);
const context = { functionName: 'bench', functionVersion: '$LATEST', awsRequestId: 'bench-request',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:bench', memoryLimitInMB: '256',
  logGroupName: '/aws/lambda/bench', logStreamName: 'bench', getRemainingTimeInMillis: () => 60000 };
let outcome = 'ok';
try { await mod.handler(JSON.parse(eventJson), context); }
catch (error) { outcome = String(error && error.name) + ': ' + String(error && error.message).slice(0, 160); }
const t2 = performance.now();
const c2 = process.cpuUsage(c0);
const cpuMs = (c) => (c.user + c.system) / 1000;
process.stdout.write('\\n' + JSON.stringify({ importMs: t1 - t0, firstInvokeMs: t2 - t1,
  importCpuMs: cpuMs(c1), firstInvokeCpuMs: cpuMs(c2) - cpuMs(c1), outcome }) + '\\n');
`;

/**
 * Times `runs` cold starts of the bundle at `file`, each in a new Node.js process with only `env` (plus PATH) as
 * its environment. The handler's logs (stdout) are dropped; the figures are the last line.
 */
export async function measureStartup(
  file: string,
  event: unknown,
  env: Readonly<Record<string, string>>,
  runs: number,
): Promise<StartupSample[]> {
  const samples: StartupSample[] = [];
  for (let i = 0; i < runs; i++) {
    const { stdout } = await run(
      process.execPath,
      ['--input-type=module', '-e', STARTUP_SCRIPT, file, JSON.stringify(event)],
      { env: { PATH: process.env.PATH ?? '', ...env }, maxBuffer: 16 * 1024 * 1024, timeout: 60_000 },
    );
    const last = stdout.trim().split('\n').at(-1) ?? '';
    samples.push(JSON.parse(last) as StartupSample);
  }
  return samples;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** The part of an esbuild metafile this reads: each output's size, inputs (bytes each left in it) and imports. */
export interface Metafile {
  readonly outputs: Record<
    string,
    {
      readonly bytes?: number;
      readonly inputs: Record<string, { readonly bytes?: number; readonly bytesInOutput: number }>;
      readonly imports?: readonly { readonly path: string; readonly kind: string; readonly external?: boolean }[];
    }
  >;
}

/**
 * The files a cold start compiles before the handler runs: `index.mjs` and the chunks it imports statically (a bundle
 * split at dynamic imports loads the other chunks only when an invocation reaches them), and their bytes.
 */
export function loadedAtImport(metafile: Metafile): { readonly outputs: string[]; readonly bytes: number } {
  const index = Object.keys(metafile.outputs).find((f) => f === 'index.mjs' || f.endsWith('/index.mjs'));
  if (index === undefined) throw new Error('the metafile has no index.mjs output');
  const loaded = new Set<string>();
  const pending = [index];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (loaded.has(file)) continue;
    loaded.add(file);
    for (const i of metafile.outputs[file]?.imports ?? [])
      if (i.kind === 'import-statement' && !i.external) pending.push(i.path);
  }
  const outputs = [...loaded];
  return { outputs, bytes: outputs.reduce((n, f) => n + (metafile.outputs[f]?.bytes ?? 0), 0) };
}

/**
 * Bytes of a bundle by where they come from: an npm package (`zod`, `@aws-sdk/client-ssm`) or a folder of the
 * project (`lambdas/core`), heaviest first; of the `only` outputs if given, else of all.
 */
export function moduleWeights(
  metafile: Metafile,
  only?: readonly string[],
): { readonly source: string; readonly bytes: number }[] {
  const bytes = new Map<string, number>();
  for (const [file, output] of Object.entries(metafile.outputs)) {
    if (only && !only.includes(file)) continue;
    for (const [path, input] of Object.entries(output.inputs)) {
      const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1];
      const source = pkg ?? path.split('/').slice(0, -1).join('/');
      bytes.set(source, (bytes.get(source) ?? 0) + input.bytesInOutput);
    }
  }
  return [...bytes.entries()].map(([source, n]) => ({ source, bytes: n })).sort((a, b) => b.bytes - a.bytes);
}

export interface Verdict {
  readonly zip: 'PASS' | 'FAIL';
  readonly startup: 'PASS' | 'FAIL';
}

export function verdict(zipBytes: number, startupMs: number, targets = BUNDLE_TARGETS): Verdict {
  return {
    zip: zipBytes <= targets.zipBytes ? 'PASS' : 'FAIL',
    startup: startupMs <= targets.startupMs ? 'PASS' : 'FAIL',
  };
}
