import type { FleetConfig } from '../../lambdas/core/config-schema.ts';
import { loadShippedConfig } from './harness.ts';

/** The shipped fleet with its services spread over hosts (`host` per name, an `instanceId` for some). */
export function spreadFleet(hosts: Record<string, string>, instances: Record<string, string> = {}): FleetConfig {
  const config = loadShippedConfig();
  return {
    ...config,
    services: config.services.map((s) => ({
      ...s,
      host: hosts[s.name] ?? s.host,
      ...(instances[s.name] === undefined ? {} : { instanceId: instances[s.name] }),
    })),
  };
}
