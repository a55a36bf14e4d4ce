#!/usr/bin/env node
/**
 * The CDK app: the control-plane stack of the fleet config named by the context value `config` (cdk.json sets
 * config/acgs-1-aws.yaml; `cdk synth -c config=other.yaml` picks another fleet), checked by cdk-nag. A bad config,
 * or one whose hosts the probe Lambda cannot reach (the single-host config/acgs-1.yaml is on loopback), stops the
 * synth with every problem listed.
 */
import { resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { addControlPlane, FleetConfigError } from '../lib/app.ts';

const DEFAULT_CONFIG = 'config/acgs-1-aws.yaml';

const app = new App();
try {
  addControlPlane(app, { configPath: resolve(String(app.node.tryGetContext('config') ?? DEFAULT_CONFIG)) });
} catch (error) {
  if (!(error instanceof FleetConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
