import { buildCliBundle } from './cli-bundle.ts';

/** Once per `vitest run`, before any test file: the CLI bundle that CLI and daemon tests start (see cli-bundle.ts). */
export default async function setup(): Promise<void> {
  await buildCliBundle();
}
