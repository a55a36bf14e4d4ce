import type { FleetConfig, ServiceConfig } from './config-schema.ts';
import { DOCUMENT_HOSTS } from './document-names.ts';
import { ControlPlaneError } from './errors.ts';
import { serviceNamesOfList } from './service-list.ts';

/** An EC2 tag a command's instances must carry. */
export interface TagFilter {
  readonly key: string;
  readonly value: string;
}

/**
 * Where SSM Run Command sends a command: these instances, or the instances carrying every one of these tags (SSM
 * ANDs the keys of a command's Targets).
 */
export type CommandTarget = { readonly instanceIds: readonly string[] } | { readonly tags: readonly TagFilter[] };

/** What a command is, as far as choosing its host goes (a `CommandRequest` is one). */
export interface TargetedCommand {
  readonly document: string;
  readonly parameters: Readonly<Record<string, string>>;
}

/**
 * The instance a command must run on, and no other.
 *
 * - The backup documents (DOCUMENT_HOSTS `database-host`) run on `backups.instanceId`.
 * - A service document (`ServiceName`) runs where its service runs: the service's `instanceId`, else the instances
 *   carrying the fleet tag AND the host tag (`aws.hostTagKey`, default `acgs:host`) with the service's `host` as its
 *   value. Never every instance of the fleet: a restart sent there fails on hosts without the service (and counts
 *   against the breaker) or starts a second copy where the checkout also exists.
 * - A fleet document (`Services`: start-all, stop-all, rolling-update) runs the whole list on every instance it
 *   reaches, so it goes to one host only: every service it names must run on the same host (the same `instanceId`,
 *   or the same `host` without one). A list spanning several hosts is refused, naming the hosts and their services:
 *   the operator sends each host its own services (`service start-all auth ac`), in the order wanted.
 *
 * @throws ControlPlaneError naming what is missing or ambiguous; nothing may be sent then.
 */
export function commandTargetFor(config: FleetConfig, command: TargetedCommand): CommandTarget {
  const host = DOCUMENT_HOSTS[command.document];
  if (host === undefined)
    throw new ControlPlaneError('UNKNOWN_DOCUMENT', `${command.document} declares no host in DOCUMENT_HOSTS`);
  if (host === 'database-host') {
    const instanceId = config.backups?.instanceId;
    if (!instanceId) throw new ControlPlaneError('BACKUPS_NOT_CONFIGURED', 'backups.instanceId is not set');
    return { instanceIds: [instanceId] };
  }
  const services = servicesOf(config, command);
  const byHost = new Map<string, { target: CommandTarget; names: string[]; where: string }>();
  for (const service of services) {
    const key = service.instanceId ? `instance ${service.instanceId}` : `host ${hostTagValue(service.host)}`;
    const entry = byHost.get(key) ?? { target: serviceTarget(config, service), names: [], where: key };
    entry.names.push(service.name);
    byHost.set(key, entry);
  }
  const hosts = [...byHost.values()];
  const [only] = hosts;
  if (only === undefined || hosts.length > 1)
    throw new ControlPlaneError(
      'SEVERAL_HOSTS',
      `${command.document} names services on ${hosts.length} hosts (` +
        `${hosts.map((h) => `${h.names.join(', ')} on ${h.where}`).join('; ')}): it would run every one of them ` +
        'on each host, so send each host its own services',
    );
  return only.target;
}

/** Where one service's commands run: its instance, else the fleet tag AND its host tag. */
export function serviceTarget(config: FleetConfig, service: ServiceConfig): CommandTarget {
  if (service.instanceId) return { instanceIds: [service.instanceId] };
  return { tags: [config.aws.fleetTag, { key: config.aws.hostTagKey, value: hostTagValue(service.host) }] };
}

/** The host tag's value for a host: the host as the config writes it, an IPv6 address without brackets. */
export function hostTagValue(host: string): string {
  return host.replace(/^\[(.*)\]$/, '$1');
}

function servicesOf(config: FleetConfig, command: TargetedCommand): ServiceConfig[] {
  const { ServiceName: single, Services: list } = command.parameters;
  const names = single !== undefined ? [single] : list !== undefined ? serviceNamesOfList(list) : [];
  if (names.length === 0)
    throw new ControlPlaneError(
      'NO_SERVICE',
      `${command.document} names no service (no ServiceName or Services parameter): its host cannot be chosen`,
    );
  return names.map((name) => {
    const service = config.services.find((s) => s.name === name);
    if (!service)
      throw new ControlPlaneError(
        'UNKNOWN_SERVICE',
        `${command.document} names ${name}, which is not a service of the fleet`,
      );
    return service;
  });
}
