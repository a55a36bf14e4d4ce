import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { HANDLERS } from '../../../lambdas/core/handler-environment.ts';
import { addControlPlane, type ControlPlaneAppOptions } from '../../../lib/app.ts';
import type { ControlPlaneStack } from '../../../lib/control-plane-stack.ts';

export const REPOSITORY_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const ACGS_CONFIG = join(REPOSITORY_ROOT, 'config', 'acgs-1.yaml');
export const OTHER_FLEET_CONFIG = join(REPOSITORY_ROOT, 'test', 'fixtures', 'other-fleet.yaml');

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation properties are arbitrary JSON; the tests assert their shape.
export type Json = any;

export interface Synthesized {
  readonly app: App;
  readonly stack: ControlPlaneStack;
  readonly template: Template;
  /** Removes the temporary directories of this synth (call in afterAll). */
  readonly dispose: () => void;
}

/**
 * Synthesizes the app exactly as `bin/app.ts` builds it (cdk.json's context and feature flags, cdk-nag on) but
 * without bundling: `aws:cdk:bundling-stacks` is empty, so the Lambda code is not built. The handler entries are stubs
 * in a temporary project root, so these tests depend on the stack, not on the handlers' state; `npx cdk synth`
 * bundles the real ones. `options` adds app options of the test's own (the project root and documents stay these).
 */
export function synthesize(
  configPath: string,
  options: Omit<ControlPlaneAppOptions, 'configPath' | 'projectRoot' | 'documentsDir'> = {},
): Synthesized {
  const context = (JSON.parse(readFileSync(join(REPOSITORY_ROOT, 'cdk.json'), 'utf8')) as { context: object }).context;
  const outdir = mkdtempSync(join(tmpdir(), 'acgs-infra-cdk.out-'));
  const projectRoot = stubProjectRoot();
  const app = new App({ context: { ...context, 'aws:cdk:bundling-stacks': [] }, analyticsReporting: false, outdir });
  const stack = addControlPlane(app, {
    ...options,
    configPath,
    projectRoot,
    documentsDir: join(REPOSITORY_ROOT, 'ssm-documents'),
  });
  const dispose = () => {
    for (const dir of [outdir, projectRoot]) rmSync(dir, { recursive: true, force: true });
  };
  return { app, stack, template: Template.fromStack(stack), dispose };
}

/** The Properties of a construct's CloudFormation resource in the template (throws if it is not there). */
export function propsOf(template: Template, construct: IConstruct): Json {
  const resource = (template.toJSON().Resources as Record<string, Resource>)[logicalId(construct)];
  if (!resource) throw new Error(`${construct.node.path} is not in the template`);
  return resource.Properties ?? {};
}

/** A project root with one stub per handler entry and the real lock file: enough for NodejsFunction without bundling. */
function stubProjectRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'acgs-infra-root-'));
  mkdirSync(join(root, 'lambdas', 'handlers'), { recursive: true });
  for (const { entry } of Object.values(HANDLERS))
    writeFileSync(join(root, 'lambdas', 'handlers', entry), 'export const handler = async () => undefined;\n');
  copyFileSync(join(REPOSITORY_ROOT, 'package-lock.json'), join(root, 'package-lock.json'));
  return root;
}

export interface Resource {
  readonly Type: string;
  readonly Properties?: Json;
  readonly DeletionPolicy?: string;
}

/** Resources of one type, by logical id. */
export function resourcesOfType(template: Template, type: string): Record<string, Resource> {
  return template.findResources(type) as Record<string, Resource>;
}

/** The logical id of a construct's CloudFormation resource (its default child, or itself). */
export function logicalId(construct: IConstruct): string {
  const element = construct.node.defaultChild ?? construct;
  if (!CfnElement.isCfnElement(element)) throw new Error(`${construct.node.path} has no CloudFormation resource`);
  return Stack.of(construct).getLogicalId(element);
}
