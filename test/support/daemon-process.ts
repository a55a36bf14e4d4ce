import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SqliteStateStore } from '../../lambdas/adapters/local/sqlite-state-store.ts';
import type { PageBody } from '../../lambdas/core/page-message.ts';
import type { Heartbeat } from '../../lambdas/local/daemon.ts';
import { CLI_COMMAND, REPO_ROOT } from './run-cli.ts';

/**
 * `acgs-ops run` as a real child process (the CLI bundle of run-cli.ts), for end-to-end tests: the same program an operator starts, with its own
 * process, schedules and SQLite connection. The test process reads what the daemon leaves behind (the state DB, the
 * page log, the heartbeat) instead of reaching into it.
 */

export interface DaemonExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface DaemonProcess {
  readonly pid: number;
  readonly configFile: string;
  readonly stateDir: string;
  /** Everything the daemon wrote so far, stdout and stderr interleaved as they arrived. */
  output(): string;
  /** True until the process has exited. */
  running(): boolean;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<DaemonExit>;
  /** SIGTERM, then waits for the exit; SIGKILL if it is still running after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<DaemonExit>;
  /** SIGKILL, as a crash or `kill -9` would; resolves when the process is gone. */
  kill9(): Promise<DaemonExit>;
}

export interface StartDaemonOptions {
  readonly configFile: string;
  readonly stateDir: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** Keep the last this many characters of output: enough for a failure message, bounded for long runs. */
const MAX_OUTPUT_CHARS = 256 * 1024;

export function startDaemon(options: StartDaemonOptions): DaemonProcess {
  const [node = process.execPath, ...cli] = CLI_COMMAND;
  const child: ChildProcess = spawn(
    node,
    [...cli, 'run', '--config', options.configFile, '--state', options.stateDir],
    { cwd: REPO_ROOT, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error('acgs-ops run did not start (no pid)');
  let output = '';
  const append = (chunk: string) => {
    output = (output + chunk).slice(-MAX_OUTPUT_CHARS);
  };
  child.stdout?.setEncoding('utf8').on('data', append);
  child.stderr?.setEncoding('utf8').on('data', append);
  let alive = true;
  const exited = new Promise<DaemonExit>((resolve) => {
    child.once('error', (error) => {
      append(`\n[spawn error: ${error.message}]\n`);
      alive = false;
      resolve({ code: null, signal: null });
    });
    // 'close' waits for the pipes too, so output() is complete once this resolves.
    child.once('close', (code, signal) => {
      alive = false;
      resolve({ code, signal });
    });
  });

  const signalAndWait = async (signal: NodeJS.Signals): Promise<DaemonExit> => {
    if (alive) child.kill(signal);
    return exited;
  };

  return {
    pid,
    configFile: options.configFile,
    stateDir: options.stateDir,
    output: () => output,
    running: () => alive,
    exited,
    async stop(timeoutMs = 30_000) {
      if (!alive) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
    kill9: () => signalAndWait('SIGKILL'),
  };
}

/**
 * Polls `probe` until it returns something truthy and returns that; every `intervalMs` (real state changes on its
 * own schedule in an end-to-end test, so polling is the honest way to wait). On timeout it throws, naming `what`
 * and adding `explain()` (e.g. the daemon's output) to the message.
 */
export async function waitUntil<T>(
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs: number,
  what: string,
  options: { readonly intervalMs?: number; readonly explain?: () => Promise<string> | string } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const found = await probe();
      if (found) return found;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const explanation = options.explain ? await options.explain() : '';
      const cause = lastError === undefined ? '' : ` (last error: ${String(lastError)})`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}${cause}\n${explanation}`);
    }
    await sleep(options.intervalMs ?? 200);
  }
}

/** Waits `ms` of real time: only for letting the daemon run cycles in which something must NOT happen. */
export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

/** The daemon's heartbeat (`<state>/heartbeat.json`), or undefined before its first cycle. */
export async function readHeartbeat(stateDir: string): Promise<Heartbeat | undefined> {
  try {
    return JSON.parse(await readFile(join(stateDir, 'heartbeat.json'), 'utf8')) as Heartbeat;
  } catch {
    return undefined;
  }
}

/**
 * Every page the jsonl channel wrote (`<state>/pages.jsonl`, or `file`), oldest first. A last line still being
 * written (no newline yet) is left for the next read.
 */
export async function readPages(stateDir: string, file = 'pages.jsonl'): Promise<PageBody[]> {
  let text: string;
  try {
    text = await readFile(join(stateDir, file), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  return complete
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as PageBody);
}

/**
 * The daemon's state database, opened from the test process: SQLite in WAL mode lets the test read (and, like an
 * operator command, write) while the daemon runs. Close it before removing the directory.
 */
export function openStateStore(stateDir: string): SqliteStateStore {
  return new SqliteStateStore(join(stateDir, 'state.db'));
}
