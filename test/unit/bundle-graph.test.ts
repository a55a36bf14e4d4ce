import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { HANDLERS } from '../../lambdas/core/handler-environment.ts';
import { bundleAliases } from '../../lib/constructs/control-plane-function.ts';

/*
 * What each Lambda bundle is made of, from esbuild's metafile of the handler entry (bundled as the stack bundles it:
 * ESM for Node, module main fields first). The cold path carries the config as baked JSON: no YAML parser, no config
 * schema, no SSM document parser, and zod without its ~60 locale files.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

async function bundleInputs(entry: string): Promise<string[]> {
  const result = await build({
    entryPoints: [resolve(ROOT, 'lambdas/handlers', entry)],
    absWorkingDir: ROOT,
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    mainFields: ['module', 'main'],
    outfile: 'index.mjs',
    external: ['pg-native'],
    // The stack's own replacements, as `npx cdk synth` applies them by default.
    alias: bundleAliases(ROOT, { xraySdk: false }),
    logLevel: 'silent',
  });
  const output = Object.values(result.metafile.outputs)[0];
  return Object.keys(output?.inputs ?? {}).map((p) => p.split('\\').join('/'));
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
          /node_modules\/aws-xray-sdk-core\//.test(p),
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
