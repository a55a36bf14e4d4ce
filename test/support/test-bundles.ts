import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Programs that tests start as processes, each bundled into one ES module by vitest's globalSetup
 * (support/cli-bundle.ts says why): name and entry point, relative to the repository.
 */
export const TEST_BUNDLES = {
  'acgs-ops': 'bin/acgs-ops.ts',
  'lock-racer': 'test/fixtures/lock-racer.ts',
} as const;

export type TestBundle = keyof typeof TEST_BUNDLES;

const REPOSITORY = fileURLToPath(new URL('../../', import.meta.url));

/** Where the globalSetup writes a bundle: start it with `node <path>`. */
export function bundlePath(name: TestBundle): string {
  return join(REPOSITORY, '.test-results', `${name}.mjs`);
}
