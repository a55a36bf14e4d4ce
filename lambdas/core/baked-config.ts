import type { FleetConfig } from './config-schema.ts';
import { ControlPlaneError } from './errors.ts';

/**
 * The fleet config as the Lambdas carry it: parsed and validated once, at synth time, and baked into each bundle as
 * JSON (esbuild `define`), so a cold start runs neither the YAML parser nor the zod schema. This module imports
 * neither: it is on every handler's import graph.
 */

/**
 * The JSON of a parsed config, refusing one that JSON would change: every value must be a string, a finite number,
 * a boolean, null, a plain array or a plain object (durations are already milliseconds; a Date, Map, Set, RegExp,
 * class instance, function or non-finite number names its field).
 */
export function bakeFleetConfig(config: FleetConfig): string {
  const problem = notJson(config, 'config');
  if (problem)
    throw new ControlPlaneError('CONFIG_NOT_JSON', `the parsed fleet config cannot be baked as JSON: ${problem}`);
  return JSON.stringify(config);
}

/**
 * The config baked by bakeFleetConfig. It was validated in full at synth time; this checks only that the text is a
 * config of the version this code reads (a bundle built by another version of the stack fails here, by name).
 */
export function readBakedConfig(json: string): FleetConfig {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new ControlPlaneError('CONFIG_INVALID', 'baked fleet config: not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ControlPlaneError('CONFIG_INVALID', 'baked fleet config: not an object');
  const record = value as Record<string, unknown>;
  if (record.version !== 1)
    throw new ControlPlaneError(
      'CONFIG_INVALID',
      `baked fleet config: version must be 1, got ${JSON.stringify(record.version) ?? 'nothing'}`,
    );
  const fleet = record.fleet as Record<string, unknown> | undefined;
  if (typeof fleet?.name !== 'string')
    throw new ControlPlaneError('CONFIG_INVALID', 'baked fleet config: fleet.name must be a string');
  if (!Array.isArray(record.services))
    throw new ControlPlaneError('CONFIG_INVALID', 'baked fleet config: services must be a list');
  return value as FleetConfig;
}

/** The first value under `path` that JSON.stringify would drop or change, described; undefined when there is none. */
function notJson(value: unknown, path: string): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : `${path} is ${value}`;
    case 'object': {
      if (value === null) return undefined;
      if (Array.isArray(value)) {
        for (const [i, item] of value.entries()) {
          const problem = item === undefined ? `${path}[${i}] is undefined` : notJson(item, `${path}[${i}]`);
          if (problem) return problem;
        }
        return undefined;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null)
        return `${path} is a ${(value as object).constructor?.name ?? 'non-plain object'}`;
      for (const [key, item] of Object.entries(value)) {
        // An absent optional field: JSON leaves the key out, and reading it gives undefined all the same.
        if (item === undefined) continue;
        const problem = notJson(item, `${path}.${key}`);
        if (problem) return problem;
      }
      return undefined;
    }
    default:
      return `${path} is a ${typeof value}`;
  }
}
