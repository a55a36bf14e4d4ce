/**
 * The services as the SSM documents take them: one service's fields with absolute paths, and the `Services` list
 * of the *-all documents. The config schema checks that the fleet's list fits (so a config that loads can run) and
 * the document parameters are built from it, so this module takes the config's shape without importing the schema.
 */

/** The fields of a configured service the documents need (`ServiceConfig` has them). */
export interface ServiceListEntry {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly scheme: string;
  readonly healthPath: string;
  readonly directory: string;
  readonly start: string;
  readonly logFile: string;
}

/** The fields of the fleet config the documents need (`FleetConfig` has them). */
export interface ServiceListFleet {
  readonly fleet: { readonly root: string };
}

/** What the documents need to know about one service, with paths made absolute against `fleet.root`. */
export interface ServiceCommandSpec {
  readonly name: string;
  readonly port: number;
  readonly directory: string;
  readonly startCommand: string;
  readonly logFile: string;
  readonly healthUrl: string;
}

export function serviceCommandSpec(config: ServiceListFleet, service: ServiceListEntry): ServiceCommandSpec {
  const host = service.host.includes(':') && !service.host.startsWith('[') ? `[${service.host}]` : service.host;
  return {
    name: service.name,
    port: service.port,
    directory: underRoot(config.fleet.root, service.directory),
    startCommand: service.start,
    logFile: underRoot(config.fleet.root, service.logFile),
    healthUrl: `${service.scheme}://${host}:${service.port}${service.healthPath}`,
  };
}

/** The maxChars of the `Services` parameter of acgs-start-all, acgs-stop-all and acgs-rolling-update. */
export const SERVICE_LIST_MAX_CHARS = 8192;

/** The `Services` value of the *-all documents: entries `name port directory logFile healthUrl startCommand...`. */
export function encodeServiceList(services: readonly ServiceCommandSpec[]): string {
  return services
    .map((s) => [s.name, String(s.port), s.directory, s.logFile, s.healthUrl, s.startCommand].join(' '))
    .join(',');
}

/** The service names of a `Services` value, in its order (the first field of each entry). */
export function serviceNamesOfList(list: string): string[] {
  return list
    .split(',')
    .map((entry) => entry.split(' ')[0] ?? '')
    .filter((name) => name !== '');
}

/** `path` made absolute against `root`, without a trailing slash. */
function underRoot(root: string, path: string): string {
  const absolute = path.startsWith('/') ? path : `${root.replace(/\/+$/, '')}/${path.replace(/^(\.\/)+/, '')}`;
  return absolute.replace(/(.)\/+$/, '$1');
}
