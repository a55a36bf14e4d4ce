import { userInfo } from 'node:os';
import type { FleetConfig } from '../core/config-schema.ts';
import { DEFAULT_STATE_DIR, type LocalRuntime, openLocalRuntime } from '../local/runtime.ts';
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

export async function openRuntimeFor(
  values: { config?: string | undefined; state?: string | undefined },
  context: CliContext,
  pgBinDir?: string,
): Promise<{ config: FleetConfig; runtime: LocalRuntime }> {
  const config = await loadFleetConfig(values.config);
  const runtime = openLocalRuntime({
    config,
    stateDir: values.state ?? DEFAULT_STATE_DIR,
    env: process.env,
    write: context.stderr,
    clock: context.clock,
    ...(pgBinDir === undefined ? {} : { pgBinDir }),
  });
  return { config, runtime };
}

/** Who is acting: `--by`, else the login name. Recorded on the timeline. */
export function operatorName(by: string | undefined): string {
  if (by !== undefined && by.trim() !== '') return by.trim();
  try {
    return userInfo().username;
  } catch {
    return 'operator';
  }
}
