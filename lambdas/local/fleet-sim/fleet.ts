import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { parseFleetConfig } from '../../core/config.ts';
import type { Severity } from '../../core/config-schema.ts';
import { DOCUMENT_PATTERNS } from '../../core/document-patterns.ts';

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

function listenOn(port: number): Promise<net.Server> {
  return new Promise((resolvePromise, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => resolvePromise(server));
  });
}

// ---- fleet config -----------------------------------------------------------------------------------------------

/** A duration as the config writes it (`500ms`, `2s`, `1m`) or a number of milliseconds. */
export type DurationInput = string | number;

export interface DemoTimings {
  readonly probeEvery: DurationInput;
  readonly escalationSweepEvery: DurationInput;
  readonly probeTimeout: DurationInput;
  readonly probeLatency: DurationInput;
  readonly failuresToDown: number;
  readonly successesToUp: number;
  readonly flappingWindow: DurationInput;
  readonly breaker: { readonly maxRestarts: number; readonly window: DurationInput };
  readonly restartTimeout: DurationInput;
  readonly severities: Readonly<
    Record<Severity, { readonly responseTime: DurationInput; readonly ackTimeout: DurationInput }>
  >;
  /** Response times of the four escalation levels (Operations, Engineering, Architecture, Executive). */
  readonly levelResponseTimes: readonly [LevelTimes, LevelTimes, LevelTimes, LevelTimes];
  /** The schema's minimum is 1m. */
  readonly repeatEvery: DurationInput;
}
export type LevelTimes = Partial<Readonly<Record<Severity, DurationInput>>>;

/** Fast timings: a down service pages within seconds and escalates within a minute. */
export const DEMO_TIMINGS: DemoTimings = {
  probeEvery: '2s',
  escalationSweepEvery: '2s',
  probeTimeout: '1s',
  probeLatency: '500ms',
  failuresToDown: 2,
  successesToUp: 2,
  flappingWindow: '1m',
  breaker: { maxRestarts: 2, window: '5m' },
  restartTimeout: '10s',
  severities: {
    P1: { responseTime: '20s', ackTimeout: '1m' },
    P2: { responseTime: '30s', ackTimeout: '2m' },
    P3: { responseTime: '45s', ackTimeout: '3m' },
  },
  levelResponseTimes: [
    { P1: '15s', P2: '20s', P3: '30s' },
    { P1: '15s', P2: '20s', P3: '30s' },
    { P1: '15s', P2: '20s' },
    { P1: '15s' },
  ],
  repeatEvery: '1m',
};

export interface SimulatedPostgres {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly passwordEnv?: string;
  /** Check name, also what the services depend on. @default 'postgresql' */
  readonly name?: string;
}

export interface FleetConfigOptions extends Partial<DemoTimings> {
  /** @default 'acgs-1-demo' */
  readonly fleetName?: string;
  /** @default 'demo' */
  readonly environment?: string;
  /** A postgres check every service depends on. */
  readonly postgres?: SimulatedPostgres;
  /** `fleet.hostStateDirectory`. @default spec.hostStateDir */
  readonly hostStateDirectory?: string;
  /** @default true */
  readonly remediationEnabled?: boolean;
  /** The jsonl channel's file (relative: inside the daemon's state directory). @default 'pages.jsonl' */
  readonly pagesFile?: string;
}

const LEVELS = [
  {
    name: 'Operations',
    scope: 'Routine issues, service restarts, monitoring',
    contacts: [
      { name: 'Primary on-call (demo)', role: 'primary', email: 'ops-primary@acgs-demo.example' },
      { name: 'Secondary on-call (demo)', role: 'secondary', email: 'infra-oncall@acgs-demo.example' },
    ],
  },
  {
    name: 'Engineering',
    scope: 'Code issues, complex troubleshooting',
    contacts: [{ name: 'Engineering Team (demo)', email: 'engineering@acgs-demo.example' }],
  },
  {
    name: 'Architecture',
    scope: 'System design issues, major outages',
    contacts: [{ name: 'System Architecture Team (demo)', email: 'architecture@acgs-demo.example' }],
  },
  {
    name: 'Executive',
    scope: 'Business impact, security incidents',
    contacts: [{ name: 'Executive Team (demo)', email: 'executive@acgs-demo.example' }],
  },
] as const;

function duration(value: DurationInput): string {
  return typeof value === 'number' ? `${Math.round(value)}ms` : value;
}

function levelTimes(times: LevelTimes): Record<string, string> {
  const out: Record<string, string> = {};
  for (const sev of ['P1', 'P2', 'P3'] as const) {
    const value = times[sev];
    if (value !== undefined) out[sev] = duration(value);
  }
  return out;
}

/**
 * A complete fleet config (the schema of config/acgs-1.yaml) for this simulated fleet, with fast demo timings.
 * @throws Error listing the problems when the result would not pass `parseFleetConfig` (e.g. a bad duration).
 */
export function fleetConfigYaml(spec: SimulatedFleetSpec, options: FleetConfigOptions = {}): string {
  const t: DemoTimings = { ...DEMO_TIMINGS, ...stripUndefined(options) };
  const pg = options.postgres;
  const pgName = pg?.name ?? 'postgresql';
  const config = {
    version: 1,
    fleet: {
      name: options.fleetName ?? 'acgs-1-demo',
      environment: options.environment ?? 'demo',
      root: spec.dir,
      hostStateDirectory: options.hostStateDirectory ?? spec.hostStateDir,
    },
    services: spec.services.map((s) => ({
      name: s.name,
      displayName: s.displayName,
      host: s.host,
      port: s.port,
      healthPath: s.healthPath,
      critical: s.critical,
      directory: relativeTo(spec.dir, s.directory),
      start: s.start,
      logFile: relativeTo(spec.dir, s.logFile),
      ...(pg ? { dependsOn: [pgName] } : {}),
    })),
    checks: pg
      ? [
          {
            name: pgName,
            kind: 'postgres',
            critical: true,
            host: pg.host,
            port: pg.port,
            database: pg.database,
            user: pg.user,
            ...(pg.passwordEnv === undefined ? {} : { passwordEnv: pg.passwordEnv }),
          },
        ]
      : [],
    thresholds: {
      latencyP95Ms: 500,
      errorRatePercent: 1,
      cpuPercent: 80,
      memoryPercent: 85,
      probeLatency: duration(t.probeLatency),
      probeTimeout: duration(t.probeTimeout),
      probeConcurrency: 64,
      failuresToDown: t.failuresToDown,
      successesToUp: t.successesToUp,
      flapping: { window: duration(t.flappingWindow), enterRatio: 0.5, exitRatio: 0.25 },
    },
    grouping: { outageQuorumPercent: 50, hostMinServices: 2 },
    schedules: {
      timeZone: 'UTC',
      probe: { every: duration(t.probeEvery) },
      escalationSweep: { every: duration(t.escalationSweepEvery) },
      backup: { cron: '0 2 * * *' },
      backupMonitor: { cron: '0 * * * *' },
      cleanup: { cron: '0 3 * * 0' },
    },
    severities: {
      P1: {
        label: 'critical',
        responseTime: duration(t.severities.P1.responseTime),
        ackTimeout: duration(t.severities.P1.ackTimeout),
      },
      P2: {
        label: 'high',
        responseTime: duration(t.severities.P2.responseTime),
        ackTimeout: duration(t.severities.P2.ackTimeout),
      },
      P3: {
        label: 'medium',
        responseTime: duration(t.severities.P3.responseTime),
        ackTimeout: duration(t.severities.P3.ackTimeout),
      },
    },
    escalation: {
      levels: LEVELS.map((level, i) => ({
        level: i + 1,
        name: level.name,
        scope: level.scope,
        responseTime: levelTimes(t.levelResponseTimes[i] ?? {}),
        contacts: level.contacts,
      })),
      firstPage: {
        P1: { throughLevel: 3, roles: ['primary', 'secondary', 'member'] },
        P2: { throughLevel: 1, roles: ['primary', 'secondary'] },
        P3: { throughLevel: 1, roles: ['primary'] },
      },
      repeatEvery: duration(t.repeatEvery),
    },
    notifications: {
      acknowledgeHint: 'acgs-ops incident ack {id}',
      channels: [
        { name: 'console', kind: 'console' },
        { name: 'pages-file', kind: 'jsonl', path: options.pagesFile ?? 'pages.jsonl' },
      ],
    },
    remediation: {
      enabled: options.remediationEnabled ?? true,
      restartTimeout: duration(t.restartTimeout),
      breaker: { maxRestarts: t.breaker.maxRestarts, window: duration(t.breaker.window) },
    },
    recovery: { rto: '5m', rpo: '1m', serviceRestart: duration(t.restartTimeout), healthCheck: '5s' },
  };
  const text = `# Simulated ACGS-1 fleet (lambdas/local/fleet-sim): real processes on 127.0.0.1, demo timings.\n${stringify(config, { lineWidth: 0 })}`;
  const parsed = parseFleetConfig(text);
  if (!parsed.ok)
    throw new Error(
      `fleet config for the simulated fleet is invalid: ${parsed.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
    );
  return text;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function relativeTo(root: string, path: string): string {
  return path.startsWith(`${root}/`) ? path.slice(root.length + 1) : path;
}

// ---- processes --------------------------------------------------------------------------------------------------

/** What `GET /_sim/state` answers. */
export interface SimState {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  readonly shape: SimShape;
  readonly mode: SimFaultMode;
  readonly delayMs: number;
  readonly faultsDir: string | null;
  readonly watchPid: number | null;
  readonly startedAt: string;
}

export interface StartedService {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  /** The HTTP status /health answered with; undefined when started in `hang` mode (it never answers). */
  readonly httpStatus: number | undefined;
}

/** Processes this module started, per fleet directory (stopFleet also finds the others by asking each port). */
const started = new Map<string, Map<number, ChildProcess>>();

export function serviceOf(spec: SimulatedFleetSpec, name: string): SimulatedService {
  const service = spec.services.find((s) => s.name === name);
  if (!service) throw new Error(`no service "${name}" in the simulated fleet (${spec.services.map((s) => s.name)})`);
  return service;
}

/**
 * Runs the service's `start` command exactly (split on spaces, no shell) from its directory, detached, output
 * appended to its log file. Resolves when the new process answers: `/_sim/state` names its pid and `/health`
 * answers (any HTTP status; in `hang` mode the state answer is enough). Rejects with the log's last lines when the
 * process exits first or after `timeoutMs` (the process, if still running, is left for `stopFleet`).
 */
export async function startService(
  spec: SimulatedFleetSpec,
  name: string,
  options: { readonly timeoutMs?: number } = {},
): Promise<StartedService> {
  const service = serviceOf(spec, name);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  const [program, ...args] = service.start.split(' ');
  if (program === undefined) throw new Error(`empty start command for ${name}`);
  await mkdir(service.directory, { recursive: true });
  const fd = openSync(service.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(program, args, { cwd: service.directory, detached: true, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  let exited: string | undefined;
  let spawnError: Error | undefined;
  child.once('error', (error) => {
    spawnError = error;
  });
  child.once('exit', (code, signal) => {
    exited = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    started.get(spec.dir)?.delete(child.pid ?? -1);
  });
  child.unref();
  const pid = child.pid;
  if (pid === undefined) {
    await sleep(0);
    throw new Error(`cannot start ${name}: ${spawnError?.message ?? 'spawn failed'} (${service.start})`);
  }
  const pids = started.get(spec.dir) ?? new Map<number, ChildProcess>();
  started.set(spec.dir, pids);
  pids.set(pid, child);

  const fail = async (why: string) =>
    new Error(`${name} (pid ${pid}, port ${service.port}) ${why}\n${await logTail(service.logFile)}`);
  let up = false;
  while (Date.now() < deadline) {
    if (exited !== undefined) throw await fail(`${exited} before it answered`);
    if (!up) {
      const state = await simState(service.port, Math.min(500, deadline - Date.now())).catch(() => undefined);
      up = state?.pid === pid;
      if (up && state?.mode === 'hang') return { name, pid, port: service.port, httpStatus: undefined };
    }
    if (up) {
      const health = await request(service.port, 'GET', service.healthPath, undefined, deadline - Date.now()).catch(
        () => undefined,
      );
      if (health) return { name, pid, port: service.port, httpStatus: health.status };
    }
    await sleep(25);
  }
  if (exited !== undefined) throw await fail(`${exited} before it answered`);
  throw await fail(`did not answer ${service.healthPath} within ${timeoutMs} ms`);
}

/** Starts every service at once. @throws Error naming each service that failed (the others keep running). */
export async function startFleet(
  spec: SimulatedFleetSpec,
  options: { readonly timeoutMs?: number } = {},
): Promise<Record<string, StartedService>> {
  const results = await Promise.allSettled(spec.services.map((s) => startService(spec, s.name, options)));
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
  if (failures.length > 0) throw new Error(`simulated fleet did not start:\n${failures.join('\n')}`);
  return Object.fromEntries(
    results.flatMap((r) => (r.status === 'fulfilled' ? [[r.value.name, r.value] as const] : [])),
  );
}

/** Sets a running service's fault mode; `slow` answers after `delayMs` (default 800). Returns its new state. */
export async function setFault(
  spec: SimulatedFleetSpec,
  name: string,
  mode: SimFaultMode,
  delayMs?: number,
): Promise<SimState> {
  const service = serviceOf(spec, name);
  const body = JSON.stringify(delayMs === undefined ? { mode } : { mode, delayMs });
  const answer = await request(service.port, 'POST', '/_sim/fault', body, 2_000);
  if (answer.status !== 200 && answer.status !== 202)
    throw new Error(`${name} refused fault ${mode}: HTTP ${answer.status} ${answer.body}`);
  return JSON.parse(answer.body) as SimState;
}

/** Makes every later start of the service fail at once (exit 1), or stops doing so. */
export async function setStartFailure(spec: SimulatedFleetSpec, name: string, on: boolean): Promise<void> {
  serviceOf(spec, name);
  const path = join(spec.faultsDir, `${name}.fail-start`);
  if (on) await writeFile(path, 'fail-start\n');
  else await rm(path, { force: true });
}

/** The mode every later start of the service begins in (it survives restarts); undefined: healthy. */
export async function setStartMode(
  spec: SimulatedFleetSpec,
  name: string,
  mode: SimStartMode | undefined,
  delayMs?: number,
): Promise<void> {
  serviceOf(spec, name);
  const path = join(spec.faultsDir, `${name}.mode`);
  if (mode === undefined) await rm(path, { force: true });
  else await writeFile(path, delayMs === undefined ? `${mode}\n` : `${mode} ${delayMs}\n`);
}

/** The pid of the process answering on the service's port, or undefined when nothing answers there. */
export async function pidOf(spec: SimulatedFleetSpec, name: string): Promise<number | undefined> {
  const state = await simState(serviceOf(spec, name).port, 1_000).catch(() => undefined);
  return state?.pid;
}

/** The service's `/_sim/state`, or undefined when nothing answers on its port. */
export async function stateOf(spec: SimulatedFleetSpec, name: string): Promise<SimState | undefined> {
  return simState(serviceOf(spec, name).port, 1_000).catch(() => undefined);
}

/**
 * Crashes the service (it answers 202, then exits with code 1) and waits until the process is gone and its port
 * free. Returns the pid that crashed. @throws Error when nothing answers or it is still there after `timeoutMs`.
 */
export async function crash(
  spec: SimulatedFleetSpec,
  name: string,
  options: { readonly timeoutMs?: number } = {},
): Promise<number> {
  const service = serviceOf(spec, name);
  const state = await setFault(spec, name, 'crash');
  const deadline = Date.now() + (options.timeoutMs ?? 5_000);
  while (isAlive(state.pid) || !(await portIsFree(service.port))) {
    if (Date.now() >= deadline) throw new Error(`${name} (pid ${state.pid}) still running after the crash fault`);
    await sleep(20);
  }
  return state.pid;
}

/** Stops one service: SIGTERM, then SIGKILL after `graceMs`; resolves when its port is free. Returns the pids. */
export async function stopService(
  spec: SimulatedFleetSpec,
  name: string,
  options: { readonly graceMs?: number; readonly timeoutMs?: number } = {},
): Promise<number[]> {
  const service = serviceOf(spec, name);
  const pids = new Set<number>();
  const state = await simState(service.port, 1_000).catch(() => undefined);
  if (state && belongsTo(spec, state)) pids.add(state.pid);
  for (const [pid, child] of started.get(spec.dir) ?? []) {
    if (child.spawnargs.join(' ') === service.start) pids.add(pid);
  }
  await terminate([...pids], [service.port], options);
  return [...pids];
}

/**
 * Stops every simulated process of this fleet: those answering on its ports (`/_sim/state`, same faults dir) and
 * those this module started. SIGTERM, SIGKILL after `graceMs` (default 2 s); resolves when every process is gone
 * and every port free. Returns the pids it signalled. @throws Error when a port is still held after `timeoutMs`.
 */
export async function stopFleet(
  spec: SimulatedFleetSpec,
  options: { readonly graceMs?: number; readonly timeoutMs?: number } = {},
): Promise<number[]> {
  const pids = new Set<number>(started.get(spec.dir)?.keys() ?? []);
  const states = await Promise.all(spec.services.map((s) => simState(s.port, 1_000).catch(() => undefined)));
  for (const state of states) if (state && belongsTo(spec, state)) pids.add(state.pid);
  await terminate(
    [...pids],
    spec.services.map((s) => s.port),
    options,
  );
  started.delete(spec.dir);
  return [...pids];
}

function belongsTo(spec: SimulatedFleetSpec, state: SimState): boolean {
  return (
    state.faultsDir === spec.faultsDir && spec.services.some((s) => s.name === state.name && s.port === state.port)
  );
}

async function terminate(
  pids: readonly number[],
  ports: readonly number[],
  options: { readonly graceMs?: number; readonly timeoutMs?: number },
): Promise<void> {
  const graceMs = options.graceMs ?? 2_000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const begin = Date.now();
  for (const pid of pids) signal(pid, 'SIGTERM');
  while (pids.some(isAlive) && Date.now() - begin < graceMs) await sleep(20);
  for (const pid of pids.filter(isAlive)) signal(pid, 'SIGKILL');
  while (pids.some(isAlive)) {
    if (Date.now() - begin >= timeoutMs) throw new Error(`still running after SIGKILL: ${pids.filter(isAlive)}`);
    await sleep(20);
  }
  for (;;) {
    const held: number[] = [];
    for (const port of ports) if (!(await portIsFree(port))) held.push(port);
    if (held.length === 0) return;
    if (Date.now() - begin >= timeoutMs) throw new Error(`ports still held after stopping the fleet: ${held}`);
    await sleep(20);
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  if (pid <= 1 || pid === process.pid) return;
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

/** Alive unless gone or a zombie (a zombie holds no port and only awaits reaping). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !isZombie(pid);
}

function isZombie(pid: number): boolean {
  try {
    // A tiny procfs file (absent outside Linux); the state letter follows the parenthesised command name.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

/** True when nothing listens on 127.0.0.1:port (a listen there succeeds). */
export async function portIsFree(port: number): Promise<boolean> {
  try {
    const server = await listenOn(port);
    await new Promise<void>((done) => server.close(() => done()));
    return true;
  } catch {
    return false;
  }
}

async function logTail(path: string, lines = 20): Promise<string> {
  try {
    const text = await readFile(path, 'utf8');
    const tail = text.trimEnd().split('\n').slice(-lines).join('\n');
    return `---- last ${lines} lines of ${path} ----\n${tail}\n----`;
  } catch {
    return `(no log at ${path})`;
  }
}

async function simState(port: number, timeoutMs: number): Promise<SimState> {
  const answer = await request(port, 'GET', '/_sim/state', undefined, timeoutMs);
  if (answer.status !== 200) throw new Error(`/_sim/state answered HTTP ${answer.status}`);
  const state = JSON.parse(answer.body) as SimState;
  if (typeof state.pid !== 'number') throw new Error('/_sim/state has no pid');
  return state;
}

export interface SimAnswer {
  readonly status: number;
  readonly body: string;
  readonly contentType: string | undefined;
}

/**
 * One HTTP request to 127.0.0.1:port on its own connection (no keep-alive). Rejects on a network error or after
 * `timeoutMs` (the socket is destroyed).
 */
export function request(
  port: number,
  method: 'GET' | 'POST',
  path: string,
  body: string | undefined,
  timeoutMs: number,
): Promise<SimAnswer> {
  return new Promise((resolvePromise, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent: false,
        headers:
          body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          clearTimeout(timer);
          resolvePromise({
            status: response.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            contentType: response.headers['content-type'],
          });
        });
        response.on('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
      },
    );
    const timer = setTimeout(
      () => req.destroy(new Error(`no answer from 127.0.0.1:${port}${path} within ${timeoutMs} ms`)),
      Math.max(1, timeoutMs),
    );
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(body);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
