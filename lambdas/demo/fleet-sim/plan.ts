import { mkdir } from 'node:fs/promises';
import type net from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DOCUMENT_PATTERNS } from '../../core/document-patterns.ts';
import { listenOn } from './loopback.ts';

/**
 * A simulated ACGS-1 fleet made of real processes (`sim-service.mjs`, one per service) on 127.0.0.1, for the demo,
 * the end-to-end tests and benchmarks. Every process is started with `--watch-pid`, so none outlives the process
 * that planned the fleet, even when that one is killed with SIGKILL.
 */

export type SimShape = 'raw' | 'envelope' | 'pgc';
export const SIM_FAULT_MODES = ['healthy', 'slow', 'hang', 'error', 'degraded', 'unhealthy', 'crash'] as const;
export type SimFaultMode = (typeof SIM_FAULT_MODES)[number];
/** Modes a service can be started in (from `<faultsDir>/<name>.mode`); crash is not one. */
export type SimStartMode = Exclude<SimFaultMode, 'crash'>;

/** Absolute path of the service script. */
export const SIM_SERVICE_SCRIPT: string = fileURLToPath(new URL('./sim-service.mjs', import.meta.url));

export interface SimulatedServiceInput {
  readonly name: string;
  readonly displayName: string;
  readonly shape: SimShape;
  readonly critical: boolean;
}

/** The seven ACGS-1 services, with the /health shapes the real ones answer with. */
export const ACGS_SIMULATED_SERVICES: readonly SimulatedServiceInput[] = [
  { name: 'auth', displayName: 'Auth Service', shape: 'raw', critical: true },
  { name: 'ac', displayName: 'Constitutional AI Service', shape: 'envelope', critical: true },
  { name: 'integrity', displayName: 'Integrity Service', shape: 'raw', critical: true },
  { name: 'fv', displayName: 'Formal Verification Service', shape: 'raw', critical: true },
  { name: 'gs', displayName: 'Governance Synthesis Service', shape: 'envelope', critical: true },
  { name: 'pgc', displayName: 'Policy Governance Service', shape: 'pgc', critical: true },
  { name: 'ec', displayName: 'Evolutionary Computation Service', shape: 'raw', critical: true },
];

export interface SimulatedService extends SimulatedServiceInput {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly healthPath: '/health';
  /** Absolute; the process runs from here. */
  readonly directory: string;
  /** Absolute: `<dir>/logs/<name>_service.log`. */
  readonly logFile: string;
  /** The exact command line: split on single spaces, run without a shell. */
  readonly start: string;
}

export interface SimulatedFleetSpec {
  /** Absolute base directory; also the fleet config's `fleet.root`. */
  readonly dir: string;
  readonly faultsDir: string;
  readonly logsDir: string;
  /** The config's `fleet.hostStateDirectory` (isolation markers of the service documents): `dir/host-state`. */
  readonly hostStateDir: string;
  readonly watchPid: number;
  readonly services: readonly SimulatedService[];
}

export interface PlanOptions {
  readonly dir: string;
  /** Every simulated process exits when this process is gone (usually `process.pid`). */
  readonly watchPid: number;
  readonly services?: readonly SimulatedServiceInput[];
  /** Use the first free ports from here up (e.g. 18000); ephemeral ports when absent. */
  readonly basePort?: number;
  /** The program that runs the script. @default 'node' (found on PATH, as the start documents do) */
  readonly node?: string;
}

/** Characters a start command may contain (it must pass the SSM documents' StartCommand allowedPattern). */
export const START_COMMAND_CHARS = /^[A-Za-z0-9 ._/:=-]+$/;
/** The SSM documents' StartCommand pattern. */
export const SSM_START_COMMAND_PATTERN = new RegExp(DOCUMENT_PATTERNS.startCommand);
/** The SSM documents' pattern for absolute paths (Directory, LogFile). */
export const SSM_PATH_PATTERN = new RegExp(DOCUMENT_PATTERNS.path);
/** The SSM documents' ServiceName pattern, which the config's service names follow too. */
const NAME = new RegExp(DOCUMENT_PATTERNS.serviceName);

/**
 * Picks free ports on 127.0.0.1 (all held at once while picking, so the services never share one), creates
 * `dir/services/<name>`, `dir/logs` and `dir/faults`, and returns the spec with each service's start command.
 * @throws Error when a path or command would not pass the SSM documents' patterns.
 */
export async function planSimulatedFleet(options: PlanOptions): Promise<SimulatedFleetSpec> {
  const dir = resolve(options.dir);
  const inputs = options.services ?? ACGS_SIMULATED_SERVICES;
  if (inputs.length === 0) throw new Error('a simulated fleet needs at least one service');
  const names = new Set<string>();
  for (const s of inputs) {
    if (!NAME.test(s.name))
      throw new Error(`service name "${s.name}" must be 2-40 lower-case letters, digits and dashes`);
    if (names.has(s.name)) throw new Error(`service name "${s.name}" is used twice`);
    names.add(s.name);
  }
  if (!Number.isInteger(options.watchPid) || options.watchPid < 1) throw new Error('watchPid must be a process id');
  const node = options.node ?? 'node';
  const faultsDir = join(dir, 'faults');
  const logsDir = join(dir, 'logs');
  const hostStateDir = join(dir, 'host-state');
  for (const path of [dir, faultsDir, logsDir, hostStateDir, SIM_SERVICE_SCRIPT]) {
    if (!SSM_PATH_PATTERN.test(path)) throw new Error(`path ${path} has characters the SSM documents refuse`);
  }
  const ports = await pickPorts(inputs.length, options.basePort);
  await mkdir(faultsDir, { recursive: true });
  await mkdir(logsDir, { recursive: true });
  await mkdir(hostStateDir, { recursive: true });
  const services: SimulatedService[] = [];
  for (const [i, input] of inputs.entries()) {
    const port = ports[i] as number;
    const directory = join(dir, 'services', input.name);
    await mkdir(directory, { recursive: true });
    const start = [
      node,
      SIM_SERVICE_SCRIPT,
      `--name ${input.name}`,
      `--port ${port}`,
      `--shape ${input.shape}`,
      `--faults-dir ${faultsDir}`,
      `--watch-pid ${options.watchPid}`,
    ].join(' ');
    if (!START_COMMAND_CHARS.test(start) || !SSM_START_COMMAND_PATTERN.test(start))
      throw new Error(`start command for ${input.name} has characters the SSM documents refuse: ${start}`);
    services.push({
      name: input.name,
      displayName: input.displayName,
      shape: input.shape,
      critical: input.critical,
      host: '127.0.0.1',
      port,
      healthPath: '/health',
      directory,
      logFile: join(logsDir, `${input.name}_service.log`),
      start,
    });
  }
  return { dir, faultsDir, logsDir, hostStateDir, watchPid: options.watchPid, services };
}

async function pickPorts(count: number, basePort: number | undefined): Promise<number[]> {
  const held: net.Server[] = [];
  try {
    if (basePort === undefined) {
      for (let i = 0; i < count; i++) held.push(await listenOn(0));
    } else {
      for (let port = basePort; held.length < count; port++) {
        if (port > 65_535) throw new Error(`not enough free ports from ${basePort} up`);
        try {
          held.push(await listenOn(port));
        } catch {
          // taken: try the next one
        }
      }
    }
    return held.map((server) => (server.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(held.map((server) => new Promise<void>((done) => server.close(() => done()))));
  }
}
