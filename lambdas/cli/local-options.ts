import { statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import type { FleetConfig } from '../core/config-schema.ts';
import { errorCode, StateUnavailableError, UsageError } from '../core/errors.ts';
import { callerName, checkInput } from '../core/operator-input.ts';
import { DEFAULT_STATE_DIR, type LocalRuntime, openLocalRuntime, type StateAccess } from '../local/runtime.ts';
import type { CliContext } from './command.ts';
import { loadFleetConfig } from './load-config.ts';

/** Options every command that works on the local runtime's state takes. */
export const LOCAL_OPTIONS = {
  config: { type: 'string', short: 'c' },
  state: { type: 'string', short: 's' },
  json: { type: 'boolean', default: false },
} as const;

export const LOCAL_OPTIONS_HELP = `  -c, --config FILE  fleet config (default: config/acgs-1.yaml in this repository)
  -s, --state DIR    state directory of the local control plane (default: ./${DEFAULT_STATE_DIR})
      --json         print JSON instead of text`;

/**
 * Loads the config and opens the local runtime. `access` says what the command does with the state: a command
 * that only looks (`read`) never creates it and says so when there is none (exit 64), unless `whenMissing` is
 * `empty`: then it gets an empty in-memory store and `stateMissing` says so; a command that writes may create the
 * directory and the store; `none` touches no state at all. A state that cannot be opened is one line naming the
 * file (exit 74). `check` sees the config before the state is opened: input it refuses creates nothing.
 */
export async function openRuntimeFor(
  values: { config?: string | undefined; state?: string | undefined },
  context: CliContext,
  options: {
    readonly access: StateAccess;
    readonly whenMissing?: 'refuse' | 'empty';
    readonly pgBinDir?: string | undefined;
    readonly check?: (config: FleetConfig) => void;
  },
): Promise<{ config: FleetConfig; runtime: LocalRuntime; stateMissing: boolean }> {
  const config = await loadFleetConfig(values.config);
  options.check?.(config);
  const stateDir = resolve(values.state ?? DEFAULT_STATE_DIR);
  const found = options.access === 'none' || hasState(stateDir);
  const stateMissing = options.access === 'read' && !found;
  if (stateMissing && options.whenMissing !== 'empty')
    throw new UsageError(
      `no control-plane state in ${stateDir} (run the daemon there first, or pass --state to name its state directory)`,
    );
  try {
    const runtime = openLocalRuntime({
      config,
      stateDir,
      access: stateMissing ? 'none' : options.access,
      env: process.env,
      write: context.stderr,
      clock: context.clock,
      ...(options.pgBinDir === undefined ? {} : { pgBinDir: options.pgBinDir }),
    });
    return { config, runtime, stateMissing };
  } catch (error) {
    if (error instanceof StateUnavailableError)
      throw new StateUnavailableError(`${error.message}, or pass another --state`, { cause: error });
    throw error;
  }
}

/**
 * Whether `stateDir` holds a state file (one that cannot be examined counts: opening describes it). `--state`
 * naming a file is the operator's mistake (exit 64).
 */
function hasState(stateDir: string): boolean {
  const kind = (path: string) => {
    try {
      return statSync(path).isDirectory() ? 'directory' : 'file';
    } catch (error) {
      const code = errorCode(error);
      // Anything but "not there" (e.g. permission denied) is left for opening to describe.
      return code === 'ENOENT' || code === 'ENOTDIR' ? 'missing' : 'unknown';
    }
  };
  const dir = kind(stateDir);
  if (dir === 'file')
    throw new UsageError(`state directory ${stateDir} is a file, not a directory (pass the directory with --state)`);
  return dir !== 'missing' && kind(join(stateDir, 'state.db')) !== 'missing';
}

/** Who is acting: `--by` (one line, bounded), else the login name. Recorded on the timeline. */
export function operatorName(by: string | undefined): string {
  if (by !== undefined && by.trim() !== '') return checkInput(callerName, by, '--by');
  try {
    return userInfo().username;
  } catch {
    return 'operator';
  }
}
