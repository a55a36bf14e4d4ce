import { readFileSync } from 'node:fs';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { parseFleetConfig } from '../../lambdas/core/config.ts';
import type { FleetConfig } from '../../lambdas/core/config-schema.ts';
import { ControlPlaneFunction } from '../../lib/constructs/control-plane-function.ts';
import { ACGS_CONFIG, REPOSITORY_ROOT } from '../support/synth-stack.ts';

/*
 * Source maps are opt-in: a deployed bundle carries index.mjs alone and Node does not map stack traces, unless the
 * app is synthesized with `-c sourceMaps=true` (or the construct is given `sourceMaps`). Bundling itself is skipped
 * here; `npm run bench` synthesizes with it and shows the files.
 */
function probeFunction(
  context: Record<string, unknown>,
  sourceMaps?: boolean,
  config: FleetConfig = shippedConfig(),
): { stack: Stack; fn: ControlPlaneFunction } {
  const app = new App({ context: { ...context, 'aws:cdk:bundling-stacks': [] }, analyticsReporting: false });
  const stack = new Stack(app, 'Bundling');
  const fn = new ControlPlaneFunction(stack, 'Probe', {
    handler: 'probe',
    projectRoot: REPOSITORY_ROOT,
    config,
    environment: {
      ACGS_TABLE_NAME: 't',
      ACGS_EVENT_BUS_NAME: 'b',
      ACGS_TOPIC_ARNS: '{}',
      ACGS_DOCUMENT_NAMES: '{}',
      ACGS_COMMAND_LOG_GROUP: 'g',
      POWERTOOLS_SERVICE_NAME: 's',
      POWERTOOLS_METRICS_NAMESPACE: 'n',
    },
    timeout: Duration.seconds(30),
    logRetention: RetentionDays.ONE_WEEK,
    ...(sourceMaps === undefined ? {} : { sourceMaps }),
  });
  return { stack, fn };
}

function shippedConfig(): FleetConfig {
  const parsed = parseFleetConfig(readFileSync(ACGS_CONFIG, 'utf8'));
  if (!parsed.ok) throw new Error('config/acgs-1.yaml is invalid');
  return parsed.config;
}

function functionEnvironment(context: Record<string, unknown>, sourceMaps?: boolean): Record<string, string> {
  const { stack } = probeFunction(context, sourceMaps);
  const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function');
  const [fn] = Object.values(functions) as { Properties: { Environment: { Variables: Record<string, string> } } }[];
  if (!fn) throw new Error('no function synthesized');
  return fn.Properties.Environment.Variables;
}

describe('bundling options', { timeout: 120_000 }, () => {
  it('leaves source maps out by default', () => {
    expect(functionEnvironment({}).NODE_OPTIONS).toBeUndefined();
  });

  it('turns them on with -c sourceMaps=true or the sourceMaps prop', () => {
    expect(functionEnvironment({ sourceMaps: 'true' }).NODE_OPTIONS).toBe('--enable-source-maps');
    expect(functionEnvironment({ sourceMaps: true }).NODE_OPTIONS).toBe('--enable-source-maps');
    expect(functionEnvironment({}, true).NODE_OPTIONS).toBe('--enable-source-maps');
    expect(functionEnvironment({ sourceMaps: 'true' }, false).NODE_OPTIONS).toBeUndefined();
  });

  it('bundles the HTTP channels only when the baked config names one (esbuild define __ACGS_HTTP_CHANNELS__)', () => {
    // Prepare: the shipped config delivers through console and jsonl only, which the Lambdas ignore.
    const shipped = shippedConfig();
    const withWebhook: FleetConfig = {
      ...shipped,
      notifications: {
        ...shipped.notifications,
        channels: [
          ...shipped.notifications.channels,
          { kind: 'webhook', name: 'hook', url: 'https://hooks.example.com/acgs', timeout: 5_000, pages: false },
        ],
      },
    };
    // Act
    const without = probeFunction({}).fn.bundleOptions.define;
    const withChannel = probeFunction({}, undefined, withWebhook).fn.bundleOptions.define;
    // Assess
    expect(without?.__ACGS_HTTP_CHANNELS__).toBe('false');
    expect(withChannel?.__ACGS_HTTP_CHANNELS__).toBe('true');
    // The define is a JS string literal of the config's JSON.
    expect(JSON.parse(JSON.parse(withChannel?.__ACGS_FLEET_CONFIG_JSON__ ?? '"null"'))).toEqual(withWebhook);
  });
});
