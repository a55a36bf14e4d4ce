import { readFileSync } from 'node:fs';
import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { formatConfigProblems, parseFleetConfig } from '../lambdas/core/config.ts';
import { errorMessage } from '../lambdas/core/errors.ts';
import { ControlPlaneStack, type ControlPlaneStackProps } from './control-plane-stack.ts';
import { awsReachabilityProblems, formatReachabilityProblems } from './probe-reachability.ts';
import { awsSecretProblems, formatSecretProblems } from './secrets.ts';

export interface ControlPlaneAppOptions {
  /** Path of the fleet config file (YAML). */
  readonly configPath: string;
  /** @default see ControlPlaneStackProps.projectRoot */
  readonly projectRoot?: string;
  /** @default see ControlPlaneStackProps.documentsDir */
  readonly documentsDir?: string;
  /** @default false; see ControlPlaneStackProps.emulatedFleet (never for a real account) */
  readonly emulatedFleet?: boolean;
}

/**
 * A config file that cannot be read, is invalid, or names hosts the probe Lambda cannot reach from AWS; the message
 * lists every problem with its field (and line, where the parser knows it).
 */
export class FleetConfigError extends Error {
  override readonly name = 'FleetConfigError';
}

/**
 * Adds the control-plane stack of the fleet described by `configPath` to `app`, with the cdk-nag AwsSolutions checks
 * on the whole app. `bin/app.ts` runs exactly this, and so do the infrastructure tests.
 */
export function addControlPlane(app: App, options: ControlPlaneAppOptions): ControlPlaneStack {
  let configText: string;
  try {
    configText = readFileSync(options.configPath, 'utf8');
  } catch (error) {
    throw new FleetConfigError(`cannot read config ${options.configPath}: ${errorMessage(error)}`, { cause: error });
  }
  const parsed = parseFleetConfig(configText);
  if (!parsed.ok) throw new FleetConfigError(formatConfigProblems(options.configPath, parsed.problems));
  const { config } = parsed;
  const unreachable = options.emulatedFleet ? [] : awsReachabilityProblems(config);
  if (unreachable.length > 0)
    throw new FleetConfigError(formatReachabilityProblems(`config ${options.configPath}`, unreachable));
  // The stack checks both again when it is built directly; here they become a FleetConfigError (exit 1, no trace).
  const withoutSecret = awsSecretProblems(config);
  if (withoutSecret.length > 0)
    throw new FleetConfigError(formatSecretProblems(`config ${options.configPath}`, withoutSecret));
  const props: ControlPlaneStackProps = {
    config,
    description: `ACGS operations control plane for the ${config.fleet.name} fleet (${config.fleet.environment})`,
    ...(options.projectRoot === undefined ? {} : { projectRoot: options.projectRoot }),
    ...(options.documentsDir === undefined ? {} : { documentsDir: options.documentsDir }),
    ...(options.emulatedFleet ? { emulatedFleet: true } : {}),
  };
  const stack = new ControlPlaneStack(app, `${config.fleet.name}-ops-control-plane`, props);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}
