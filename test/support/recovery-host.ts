import type { FleetConfig } from '../../lambdas/core/config-schema.ts';
import type { CommandRequest, CommandResult, CommandRunner } from '../../lambdas/ports.ts';
import type { ControlPlaneContext } from '../../lambdas/use-cases/context.ts';
import { createHarness, type Harness } from './harness.ts';
import { MemoryObjectStore } from './memory-object-store.ts';

/**
 * The world of the database recovery procedures' tests (the dump restore and the production PITR, which share one
 * skeleton): a host whose documents answer by key, and a context on it with an in-memory backup store.
 */

/** The steps of a dump restore that went through, in order. */
export const DUMP_RESTORE_STEPS = ['window', 'stop', 'safety-dump', 'restore', 'start', 'health', 'end-window'];
/** The steps of a production point-in-time restore that went through, in order. */
export const PITR_PRODUCTION_STEPS = ['window', 'stop', 'pitr-restore', 'start', 'health', 'base-backup', 'end-window'];

/** A command's key: its document, and its Mode or Action when it has one (`acgs-pitr-restore:plan`). */
export function commandKey(request: CommandRequest): string {
  const { Mode, Action } = request.parameters;
  const variant = Mode || Action;
  return variant ? `${request.document}:${variant}` : request.document;
}

export const succeeded = (output: string): CommandResult => ({ status: 'succeeded', exitCode: 0, output });

export interface ScriptedHost extends CommandRunner {
  /** Every request, in order. */
  readonly requests: CommandRequest[];
  /** The key of every request, in order. */
  keys(): string[];
}

/** A host on which each command answers `answers[its key]`, or succeeds saying `<key> done`. */
export function scriptedHost(answers: Readonly<Record<string, CommandResult>> = {}): ScriptedHost {
  const requests: CommandRequest[] = [];
  return {
    requests,
    keys: () => requests.map(commandKey),
    run: async (request) => {
      requests.push(request);
      const key = commandKey(request);
      return answers[key] ?? succeeded(`${key} done\n`);
    },
  };
}

export interface RecoveryWorld {
  readonly h: Harness;
  readonly ctx: ControlPlaneContext;
  readonly host: ScriptedHost;
  readonly objects: MemoryObjectStore;
}

/** A harness on `config` whose commands run on a scripted host and whose backups are in memory. */
export function recoveryWorld(
  answers: Readonly<Record<string, CommandResult>> = {},
  config?: FleetConfig,
): RecoveryWorld {
  const h = createHarness(config);
  const host = scriptedHost(answers);
  const objects = new MemoryObjectStore();
  return { h, ctx: { ...h.ctx, commands: host, backups: { objects } }, host, objects };
}
