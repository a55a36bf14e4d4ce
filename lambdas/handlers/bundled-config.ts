import { formatConfigProblems, parseFleetConfig } from '../core/config.ts';
import type { FleetConfig } from '../core/config-schema.ts';
import { ControlPlaneError } from '../core/errors.ts';

/** Replaced at bundle time by the config file's text (esbuild `define`, set by the CDK stack). */
declare const __ACGS_FLEET_CONFIG__: string | undefined;

/** The fleet config baked into this Lambda bundle; parsed and validated once per cold start. */
export function bundledConfig(): FleetConfig {
  const text = typeof __ACGS_FLEET_CONFIG__ === 'string' ? __ACGS_FLEET_CONFIG__ : undefined;
  if (text === undefined)
    throw new ControlPlaneError(
      'CONFIG_MISSING',
      'this bundle carries no fleet config (__ACGS_FLEET_CONFIG__ not defined)',
    );
  const parsed = parseFleetConfig(text);
  if (!parsed.ok)
    throw new ControlPlaneError('CONFIG_INVALID', formatConfigProblems('bundled config', parsed.problems));
  return parsed.config;
}
