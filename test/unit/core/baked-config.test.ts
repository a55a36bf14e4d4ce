import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bakeFleetConfig, readBakedConfig } from '../../../lambdas/core/baked-config.ts';
import { parseFleetConfig } from '../../../lambdas/core/config.ts';
import type { FleetConfig } from '../../../lambdas/core/config-schema.ts';

const CONFIGS = ['config/acgs-1.yaml', 'test/fixtures/three-service-fleet.yaml', 'test/fixtures/other-fleet.yaml'];

function parsed(path: string): FleetConfig {
  const result = parseFleetConfig(readFileSync(path, 'utf8'));
  if (!result.ok) throw new Error(`${path}: ${JSON.stringify(result.problems)}`);
  return result.config;
}

describe('the fleet config baked into the Lambda bundles', () => {
  it.each(CONFIGS)('%s: the baked JSON reads back equal to the parsed config', (path) => {
    const config = parsed(path);
    const baked = bakeFleetConfig(config);
    // toStrictEqual: same keys, same types, no value turned into a string or dropped on the way through JSON.
    expect(readBakedConfig(baked)).toStrictEqual(config);
    expect(typeof readBakedConfig(baked).thresholds.probeTimeout).toBe('number');
  });

  it('refuses a config JSON would change, naming the field', () => {
    const config = parsed('config/acgs-1.yaml');
    const withDate = { ...config, recovery: { ...config.recovery, rto: new Date(0) } } as unknown as FleetConfig;
    expect(() => bakeFleetConfig(withDate)).toThrow('config.recovery.rto is a Date');
    const withNaN = { ...config, thresholds: { ...config.thresholds, cpuPercent: Number.NaN } };
    expect(() => bakeFleetConfig(withNaN)).toThrow('config.thresholds.cpuPercent is NaN');
    const withMap = { ...config, fleet: new Map() } as unknown as FleetConfig;
    expect(() => bakeFleetConfig(withMap)).toThrow('config.fleet is a Map');
  });

  it('reads only a config of the version this code knows, naming what is wrong', () => {
    const config = parsed('config/acgs-1.yaml');
    expect(() => readBakedConfig(JSON.stringify({ ...config, version: 2 }))).toThrow('version must be 1, got 2');
    expect(() => readBakedConfig('{"version":1,"services":[]}')).toThrow('fleet.name must be a string');
    expect(() => readBakedConfig('[1]')).toThrow('not an object');
    expect(() => readBakedConfig('version: 1')).toThrow('not JSON');
  });
});
