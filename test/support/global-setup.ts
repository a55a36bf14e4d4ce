import { buildTestBundles } from './cli-bundle.ts';

/** Once per `vitest run`, before any test file: the bundles of the programs tests start (the CLI, the lock racer) (see cli-bundle.ts). */
export default async function setup(): Promise<void> {
  await buildTestBundles();
}
