import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { HANDLERS } from '../lambdas/core/handler-environment.ts';
import { addControlPlane } from './app.ts';
import type { ControlPlaneStack } from './control-plane-stack.ts';

export interface UnbundledSynth {
  readonly app: App;
  readonly stack: ControlPlaneStack;
  /** Removes the temporary directories of this synth. */
  readonly dispose: () => void;
}

/**
 * The app exactly as `bin/app.ts` builds it (cdk.json's context and feature flags, cdk-nag on) but without bundling:
 * `aws:cdk:bundling-stacks` is empty, so the Lambda code is not built. The handler entries are stubs in a temporary
 * project root (without bundling, CDK hashes the project root as the functions' asset, and the real one holds
 * node_modules); the SSM documents are the repository's. For what reads the template only: the infrastructure
 * tests and the cost estimate. `npx cdk synth` bundles the real handlers.
 */
export function synthesizeWithoutBundling(
  configPath: string,
  repositoryRoot: string,
  options: { readonly emulatedFleet?: boolean } = {},
): UnbundledSynth {
  const cdk = JSON.parse(readFileSync(join(repositoryRoot, 'cdk.json'), 'utf8')) as { context: object };
  const outdir = mkdtempSync(join(tmpdir(), 'acgs-synth-cdk.out-'));
  const projectRoot = mkdtempSync(join(tmpdir(), 'acgs-synth-root-'));
  const dispose = () => {
    for (const dir of [outdir, projectRoot]) rmSync(dir, { recursive: true, force: true });
  };
  try {
    mkdirSync(join(projectRoot, 'lambdas', 'handlers'), { recursive: true });
    for (const { entry } of Object.values(HANDLERS))
      writeFileSync(join(projectRoot, 'lambdas', 'handlers', entry), 'export const handler = async () => undefined;\n');
    copyFileSync(join(repositoryRoot, 'package-lock.json'), join(projectRoot, 'package-lock.json'));
    const app = new App({
      context: { ...cdk.context, 'aws:cdk:bundling-stacks': [] },
      analyticsReporting: false,
      outdir,
    });
    const stack = addControlPlane(app, {
      configPath,
      projectRoot,
      documentsDir: join(repositoryRoot, 'ssm-documents'),
      ...options,
    });
    return { app, stack, dispose };
  } catch (error) {
    dispose();
    throw error;
  }
}
