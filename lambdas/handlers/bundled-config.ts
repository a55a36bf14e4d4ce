import { readBakedConfig } from '../core/baked-config.ts';
import type { FleetConfig } from '../core/config-schema.ts';
import { ControlPlaneError } from '../core/errors.ts';

/**
 * Replaced at bundle time by the JSON of the fleet config, parsed and validated at synth time (esbuild `define`,
 * set by ControlPlaneFunction from `bakeFleetConfig`).
 */
declare const __ACGS_FLEET_CONFIG_JSON__: string | undefined;

/** The fleet config baked into this Lambda bundle: JSON.parse and a version check, no YAML, no schema. */
export function bundledConfig(): FleetConfig {
  const json = typeof __ACGS_FLEET_CONFIG_JSON__ === 'string' ? __ACGS_FLEET_CONFIG_JSON__ : undefined;
  if (json === undefined)
    throw new ControlPlaneError(
      'CONFIG_MISSING',
      'this bundle carries no fleet config (__ACGS_FLEET_CONFIG_JSON__ not defined)',
    );
  return readBakedConfig(json);
}
