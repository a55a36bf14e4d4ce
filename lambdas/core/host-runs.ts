import { hostTagValue } from './command-target.ts';
import type { FleetConfig } from './config-schema.ts';

/** Services of a list that run on one host, as one fleet document can carry them (`commandTargetFor`). */
export interface HostRun {
  /** `instance i-...` or `host <host tag value>`: where the run's document goes. */
  readonly where: string;
  readonly services: readonly string[];
}

/**
 * `services` cut into consecutive runs on one host each, in the order given: a fleet document runs its whole list
 * on every instance it reaches, so it may carry only services of one host (the same `instanceId`, or the same
 * `host` without one). A list on one host is one run; [a@h1, b@h2, c@h1] is three, so the order asked for holds.
 * Names the fleet does not have are the caller's to refuse first; here they make a run of their own.
 */
export function hostRuns(config: FleetConfig, services: readonly string[]): HostRun[] {
  const runs: { where: string; services: string[] }[] = [];
  for (const name of services) {
    const service = config.services.find((s) => s.name === name);
    const where =
      service === undefined
        ? `unknown ${name}`
        : service.instanceId
          ? `instance ${service.instanceId}`
          : `host ${hostTagValue(service.host)}`;
    const last = runs.at(-1);
    if (last?.where === where) last.services.push(name);
    else runs.push({ where, services: [name] });
  }
  return runs;
}
