import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { REPO_ROOT } from './run-cli.ts';
import { bundlePath, TEST_BUNDLES, type TestBundle } from './test-bundles.ts';

/**
 * Builds the CLI (and the other programs of TEST_BUNDLES), each as one ES module, once per test run (vitest's
 * globalSetup).
 *
 * Why: every CLI and daemon test starts `acgs-ops` as a real process, and under tsx each start transforms and loads
 * some 300 TypeScript modules: about 1.1 s of CPU on this two-core machine, against 0.4 s for this bundle. Hundreds
 * of such starts were a third of CI's CPU. The bundle is the same source: `import.meta.url` is replaced in every
 * module by that module's own file URL (so paths beside it, such as `ssm-documents/` and `config/`, resolve as they do
 * under tsx), and only native or optional packages stay outside. `test/integration/cli-entry.test.ts` runs the real
 * entry point under tsx, as `npm run acgs-ops` does, and checks that both give the same answers.
 */
export async function buildTestBundles(): Promise<void> {
  await Promise.all(Object.keys(TEST_BUNDLES).map((name) => buildBundle(name as TestBundle)));
}

async function buildBundle(name: TestBundle): Promise<void> {
  await build({
    entryPoints: [join(REPO_ROOT, TEST_BUNDLES[name])],
    outfile: bundlePath(name),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
    // Native addons and pg's optional native driver load from node_modules as they do under tsx.
    external: ['better-sqlite3', 'pg-native'],
    // Bundled CommonJS packages call require(): give the module one.
    banner: {
      js: "import { createRequire as acgsCreateRequire } from 'node:module'; const require = acgsCreateRequire(import.meta.url);",
    },
    plugins: [
      {
        name: 'source-import-meta-url',
        setup(pluginBuild) {
          pluginBuild.onLoad({ filter: /\.ts$/ }, async ({ path }) => {
            const source = await readFile(path, 'utf8');
            const url = JSON.stringify(pathToFileURL(path).href);
            return { contents: source.replaceAll('import.meta.url', url), loader: 'ts' };
          });
        },
      },
    ],
  });
}
