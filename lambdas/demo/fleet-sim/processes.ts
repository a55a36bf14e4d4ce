import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { portIsFree, request } from './loopback.ts';
import type { SimFaultMode, SimShape, SimStartMode, SimulatedFleetSpec, SimulatedService } from './plan.ts';

/**
 * The simulated fleet's processes: started from each service's start command, faulted, crashed and stopped. Every
 * process watches the pid the fleet was planned with, so none outlives it.
 */

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

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
