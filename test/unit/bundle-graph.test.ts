import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { BENCH_EVENTS, benchEnvironment, refusingPort } from '../../bench/support/bundle-events.ts';
import { measureStartup } from '../../bench/support/bundle-measure.ts';
import { bakeFleetConfig } from '../../lambdas/core/baked-config.ts';
import { parseFleetConfig } from '../../lambdas/core/config.ts';
import { HANDLERS } from '../../lambdas/core/handler-environment.ts';
import { lambdaBundleOptions } from '../../lib/constructs/control-plane-function.ts';

/*
 * What each Lambda bundle is made of, from esbuild's metafile of the handler entry bundled with the stack's own
 * options (lambdaBundleOptions: ESM, split at dynamic imports, the stack's aliases). `all` is every file of the
 * asset; `coldPath` is what importing index.mjs loads (it and the chunks it imports statically), which a cold start
 * compiles and runs before the handler is called. The cold path carries the config as baked JSON: no YAML parser, no
 * config schema, no SSM document parser, and zod without its ~60 locale files.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

interface BundleGraph {
  readonly all: string[];
  readonly coldPath: string[];
  /** What the project's own modules import dynamically (`import()`): the points where the bundle is split. */
  readonly dynamicImports: string[];
}

async function bundleGraph(entry: string, options: { httpChannels?: boolean } = {}): Promise<BundleGraph> {
  const result = await build({
    ...lambdaBundleOptions({
      projectRoot: ROOT,
      entry: resolve(ROOT, 'lambdas/handlers', entry),
      sourceMaps: false,
      xraySdk: false,
      ...options,
    }),
    outdir: 'out',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const outputs = result.metafile.outputs;
  const inputsOf = (files: Iterable<string>) => [
    ...new Set([...files].flatMap((f) => Object.keys(outputs[f]?.inputs ?? {}).map((p) => p.split('\\').join('/')))),
  ];
  const index = Object.keys(outputs).find((f) => f.endsWith('index.mjs'));
  if (index === undefined) throw new Error(`${entry}: no index.mjs in the bundle`);
  const loaded = new Set<string>();
  const pending = [index];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (loaded.has(file)) continue;
    loaded.add(file);
    for (const i of outputs[file]?.imports ?? [])
      if (i.kind === 'import-statement' && !i.external) pending.push(i.path);
  }
  const dynamicImports = Object.entries(result.metafile.inputs)
    .filter(([path]) => path.startsWith('lambdas/'))
    .flatMap(([, input]) => input.imports.filter((i) => i.kind === 'dynamic-import').map((i) => i.path));
  return { all: inputsOf(Object.keys(outputs)), coldPath: inputsOf(loaded), dynamicImports };
}

async function bundleInputs(entry: string): Promise<string[]> {
  return (await bundleGraph(entry)).all;
}

describe('Lambda bundle graphs', () => {
  it.each(Object.values(HANDLERS).map((h) => h.entry))(
    '%s: nothing parses YAML or a config at cold start, and no credential chain or X-Ray SDK is bundled',
    { timeout: 60_000 },
    async (entry) => {
      const inputs = await bundleInputs(entry);
      expect(inputs.some((p) => p.endsWith('lambdas/handlers/bundled-config.ts'))).toBe(true);
      const forbidden = inputs.filter(
        (p) =>
          /node_modules\/yaml\//.test(p) ||
          /lambdas\/core\/(config|config-schema|yaml-schema|ssm-document)\.ts$/.test(p) ||
          // zod's English messages are its default; every other locale is dead weight.
          (/node_modules\/zod\/.*\/locales\//.test(p) && !/locales\/en\.js$/.test(p)) ||
          // Lambda's credentials are in the environment: no credential chain with its STS and SSO clients, and no
          // X-Ray SDK unless asked for.
          /node_modules\/@aws-sdk\/(credential-provider-node|nested-clients|credential-provider-sso)\//.test(p) ||
          /node_modules\/aws-xray-sdk-core\//.test(p) ||
          // The SDK's browser user-agent parser: dead code in Node, which a split bundle would still emit as a chunk.
          /node_modules\/bowser\//.test(p),
      );
      expect(forbidden).toEqual([]);
    },
  );

  it.each(['escalation-sweep.ts', 'command-status.ts'])(
    '%s sends no command, so it carries no SSM client',
    { timeout: 60_000 },
    async (entry) => {
      const inputs = await bundleInputs(entry);
      expect(inputs.filter((p) => /node_modules\/@aws-sdk\/client-ssm\//.test(p))).toEqual([]);
    },
  );

  it('keeps the SSM client in the Lambdas that send commands', { timeout: 60_000 }, async () => {
    const inputs = await bundleInputs('probe.ts');
    expect(inputs.some((p) => /node_modules\/@aws-sdk\/client-ssm\//.test(p))).toBe(true);
  });
});

describe('what a cold start loads', () => {
  it.each(Object.values(HANDLERS).map((h) => h.entry))(
    '%s: no SDK client for DynamoDB; no SNS, EventBridge, SSM or Secrets Manager client until an invocation pages, publishes, sends a command or reads a secret',
    { timeout: 60_000 },
    async (entry) => {
      const { coldPath } = await bundleGraph(entry);
      // DynamoDB through the control plane's own signed JSON client: no SDK client, and no @smithy at all.
      expect(coldPath.some((p) => p.endsWith('lambdas/adapters/aws/dynamodb-http.ts'))).toBe(true);
      expect(
        coldPath.filter((p) => /node_modules\/(@aws-sdk\/client-dynamodb|@aws-sdk\/lib-dynamodb)\//.test(p)),
      ).toEqual([]);
      expect(
        coldPath.filter((p) =>
          /node_modules\/@aws-sdk\/client-(sns|eventbridge|ssm|secrets-manager)\/|lambdas\/adapters\/aws\/(sns-notifier|eventbridge-publisher|ssm-command-runner)\.ts$/.test(
            p,
          ),
        ),
      ).toEqual([]);
    },
  );

  // PagerDuty, Slack, Teams and webhook channels (adapters/aws/channel-notifier.ts) come with the first page or
  // notice through one of them; SMTP is the daemon's (refused at synth), so nodemailer is in no Lambda at all.
  it.each(Object.values(HANDLERS).map((h) => h.entry))(
    '%s: no nodemailer, and the HTTP channels, their router and Secrets Manager only after the cold start',
    { timeout: 60_000 },
    async (entry) => {
      const { all, coldPath } = await bundleGraph(entry);
      expect(all.filter((p) => /node_modules\/nodemailer\//.test(p))).toEqual([]);
      expect(all.some((p) => p.endsWith('lambdas/adapters/aws/channel-notifier.ts'))).toBe(true);
      expect(
        coldPath.filter((p) =>
          /lambdas\/adapters\/(local\/(http-channels|routing-notifier|webhook-channel|notifiers)|aws\/channel-notifier)\.ts$/.test(
            p,
          ),
        ),
      ).toEqual([]);
      // The probe reads its database passwords at cold start; the others load Secrets Manager with a channel.
      if (entry !== 'probe.ts')
        expect(coldPath.filter((p) => /node_modules\/@aws-sdk\/client-secrets-manager\//.test(p))).toEqual([]);
    },
  );

  // The operator API's routes parse with zod/mini too; restore-database.ts, which still imports classic zod, is in
  // the backups route group, loaded with the first /backups request.
  it.each(['probe.ts', 'escalation-sweep.ts', 'command-status.ts', 'backups.ts', 'operator-api.ts'])(
    '%s: zod/mini only (environment, events, records), not classic zod',
    { timeout: 60_000 },
    async (entry) => {
      const { coldPath } = await bundleGraph(entry);
      expect(coldPath.some((p) => /node_modules\/zod\/v4\/mini\//.test(p))).toBe(true);
      expect(coldPath.filter((p) => /node_modules\/zod\/v4\/classic\//.test(p))).toEqual([]);
    },
  );

  it('probe.ts: pg only with the first PostgreSQL check, not at cold start', { timeout: 60_000 }, async () => {
    const { all, coldPath } = await bundleGraph('probe.ts');
    const pg = /node_modules\/pg(-protocol)?\//;
    expect(all.some((p) => pg.test(p))).toBe(true);
    expect(coldPath.filter((p) => pg.test(p))).toEqual([]);
  });

  // The operator API's routes load by group with the first request under one of their path segments.
  it('operator-api.ts: no route module, procedure, backup or restore use-case until a request reaches it', {
    timeout: 60_000,
  }, async () => {
    const { all, coldPath } = await bundleGraph('operator-api.ts');
    const routes = /lambdas\/use-cases\/(api\/[a-z-]+-routes?|restore-database|service-procedures|backups)\.ts$/;
    expect(all.filter((p) => routes.test(p)).length).toBeGreaterThan(10);
    expect(coldPath.filter((p) => routes.test(p))).toEqual([]);
  });

  // esbuild keeps every export of a dynamically imported module: import() of an SDK package would bundle all of its
  // commands. The Lambdas import their own on-demand modules, which name the client and adapter they need.
  it.each(Object.values(HANDLERS).map((h) => h.entry))(
    '%s: splits only at its own modules, never at an SDK package',
    { timeout: 60_000 },
    async (entry) => {
      const { dynamicImports } = await bundleGraph(entry);
      expect(dynamicImports.length).toBeGreaterThan(0);
      expect(dynamicImports.filter((p) => !p.startsWith('lambdas/'))).toEqual([]);
    },
  );
});

// ControlPlaneFunction bundles with httpChannels: false when the baked config names no PagerDuty, Slack, Teams or
// webhook channel (the shipped AWS config names none): the channels are then not in the asset at all.
describe('a bundle for a config without HTTP channels', () => {
  const channelCode =
    /lambdas\/adapters\/aws\/channel-notifier\.ts$|lambdas\/core\/channel-payloads\/|lambdas\/adapters\/local\/(http-channels|webhook-channel|routing-notifier)\.ts$/;

  it.each(Object.values(HANDLERS).map((h) => h.entry))(
    '%s carries no webhook or other HTTP channel code when built without HTTP channels',
    { timeout: 60_000 },
    async (entry) => {
      // Prepare / Act
      const withChannels = await bundleGraph(entry, { httpChannels: true });
      const without = await bundleGraph(entry, { httpChannels: false });
      // Assess: the same entry carries them when the config names one.
      expect(withChannels.all.some((p) => channelCode.test(p))).toBe(true);
      expect(without.all.filter((p) => channelCode.test(p))).toEqual([]);
      expect(without.dynamicImports.filter((p) => p.endsWith('on-demand/channels.ts'))).toEqual([]);
      // The probe reads its database passwords from Secrets Manager; no other Lambda needs the client without channels.
      if (entry !== 'probe.ts')
        expect(without.all.filter((p) => /node_modules\/@aws-sdk\/client-secrets-manager\//.test(p))).toEqual([]);
    },
  );

  it('fails its cold start, naming the channel and why, when its baked config names one anyway', {
    timeout: 60_000,
  }, async () => {
    // Prepare: the escalation sweep bundled without HTTP channels, with a config that names a webhook channel.
    const parsed = parseFleetConfig(readFileSync(resolve(ROOT, 'config/acgs-1-aws.yaml'), 'utf8'));
    if (!parsed.ok) throw new Error('the shipped AWS config is invalid');
    const config = {
      ...parsed.config,
      notifications: {
        ...parsed.config.notifications,
        channels: [
          ...parsed.config.notifications.channels,
          {
            kind: 'webhook' as const,
            name: 'ops-hook',
            url: 'https://hooks.example.com/acgs',
            timeout: 5_000,
            pages: true,
          },
        ],
      },
    };
    const out = await mkdtemp(join(tmpdir(), 'acgs-http-channels-'));
    try {
      await build({
        ...lambdaBundleOptions({
          projectRoot: ROOT,
          entry: resolve(ROOT, 'lambdas/handlers/escalation-sweep.ts'),
          sourceMaps: false,
          xraySdk: false,
          fleetConfigJson: JSON.stringify(bakeFleetConfig(config)),
          httpChannels: false,
        }),
        outdir: out,
        logLevel: 'silent',
      });
      // Act: a first invocation in a fresh process, as Lambda would start it.
      const [sample] = await measureStartup(
        join(out, 'index.mjs'),
        BENCH_EVENTS.EscalationSweep,
        benchEnvironment(await refusingPort()),
        1,
      );
      // Assess
      expect(sample?.outcome).toContain('names the HTTP channels ops-hook');
      expect(sample?.outcome).toContain('built without HTTP channel code');
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
