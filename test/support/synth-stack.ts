import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type App, CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll } from 'vitest';
import { parseFleetConfig } from '../../lambdas/core/config.ts';
import type { FleetConfig } from '../../lambdas/core/config-schema.ts';
import type { ControlPlaneStack } from '../../lib/control-plane-stack.ts';
import { synthesizeWithoutBundling } from '../../lib/synth-without-bundling.ts';

export const REPOSITORY_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The ACGS-1 fleet as cdk.json deploys it (private hosts, aws.vpc). */
export const ACGS_CONFIG = join(REPOSITORY_ROOT, 'config', 'acgs-1-aws.yaml');
/** The single-host ACGS-1 config (loopback hosts): the daemon's and the demo's, refused by the stack. */
export const SINGLE_HOST_CONFIG = join(REPOSITORY_ROOT, 'config', 'acgs-1.yaml');
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

/** The app as `bin/app.ts` builds it, without bundling (see `synthesizeWithoutBundling`), and its template. */
export function synthesize(configPath: string, options: { readonly emulatedFleet?: boolean } = {}): Synthesized {
  const { app, stack, dispose } = synthesizeWithoutBundling(configPath, REPOSITORY_ROOT, options);
  return { app, stack, template: Template.fromStack(stack), dispose };
}

/** One file's synthesized stack, read through accessors once `beforeAll` has run. */
export interface SynthesizedStack {
  /** The synth itself (app, stack, template). */
  readonly synth: Synthesized;
  readonly app: App;
  readonly stack: ControlPlaneStack;
  readonly template: Template;
  /** The fleet config the stack was synthesized from, parsed. */
  readonly config: FleetConfig;
  /** The template's resources, by logical id. */
  readonly resources: Record<string, Resource>;
  /** The Properties of a construct's CloudFormation resource in the template (throws if it is not there). */
  props(construct: IConstruct): Json;
}

/**
 * Registers the synth of one file: `beforeAll` parses the config (it must be valid) and synthesizes the stack from
 * it, `afterAll` disposes of the synth. `configPath` may be a function, called in `beforeAll`, for a config the file
 * writes itself. One synth per file: every describe of the file reads the same template.
 */
export function useSynthesizedStack(configPath: string | (() => string)): SynthesizedStack {
  let state: { synth: Synthesized; config: FleetConfig; resources: Record<string, Resource> } | undefined;
  const current = () => {
    if (!state) throw new Error('the stack is not synthesized yet (read it in a test or hook, not at file level)');
    return state;
  };
  beforeAll(() => {
    const path = typeof configPath === 'function' ? configPath() : configPath;
    const parsed = parseFleetConfig(readFileSync(path, 'utf8'));
    if (!parsed.ok) throw new Error(`${relative(REPOSITORY_ROOT, path)} must be valid`);
    const synth = synthesize(path);
    state = { synth, config: parsed.config, resources: synth.template.toJSON().Resources };
  }, 120_000);
  afterAll(() => state?.synth.dispose());
  return {
    get synth() {
      return current().synth;
    },
    get app() {
      return current().synth.app;
    },
    get stack() {
      return current().synth.stack;
    },
    get template() {
      return current().synth.template;
    },
    get config() {
      return current().config;
    },
    get resources() {
      return current().resources;
    },
    props: (construct) => propsOf(current().synth.template, construct),
  };
}

/** The Properties of a construct's CloudFormation resource in the template (throws if it is not there). */
export function propsOf(template: Template, construct: IConstruct): Json {
  const resource = (template.toJSON().Resources as Record<string, Resource>)[logicalId(construct)];
  if (!resource) throw new Error(`${construct.node.path} is not in the template`);
  return resource.Properties ?? {};
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
