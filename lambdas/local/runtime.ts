import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { FileObjectStore } from '../adapters/local/file-object-store.ts';
import { JsonLinesEventPublisher } from '../adapters/local/json-lines-event-publisher.ts';
import { LocalSecretSource } from '../adapters/local/local-secret-source.ts';
import { channelsFromConfig, RoutingNotifier } from '../adapters/local/notifiers.ts';
import { ShellCommandRunner } from '../adapters/local/shell-command-runner.ts';
import { SqliteStateStore } from '../adapters/local/sqlite-state-store.ts';
import type { FleetConfig } from '../core/config-schema.ts';
import { errorCode, errorMessage, StateUnavailableError } from '../core/errors.ts';
import { type Clock, type CommandRunner, type Notifier, systemClock } from '../ports.ts';
import { NetworkProber } from '../probes/network-prober.ts';
import type { BackupDestination } from '../use-cases/backups.ts';
import { type ControlPlaneContext, createContext } from '../use-cases/context.ts';

/**
 * How a runtime opens the state: `write` creates the directory and the store when missing (the daemon, ack,
 * declare, ...); `read` opens an existing store read-only and creates nothing (list, show, status); `none` keeps
 * an in-memory store and touches no directory (a command that needs no state, e.g. backup list).
 */
export type StateAccess = 'write' | 'read' | 'none';

export interface LocalRuntimeOptions {
  readonly config: FleetConfig;
  /** Where the SQLite state, the page log and the heartbeat live. */
  readonly stateDir: string;
  /** @default 'write' */
  readonly access?: StateAccess;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Where console pages and the daemon's one-line reports go. */
  readonly write: (text: string) => void;
  readonly clock?: Clock;
  /** PostgreSQL client tools for the backup documents; absent: found on PATH. */
  readonly pgBinDir?: string;
  /** Overrides for tests; the defaults are the real adapters. */
  readonly notifier?: Notifier;
  readonly commands?: CommandRunner;
}

export interface LocalRuntime {
  readonly ctx: ControlPlaneContext;
  /** Where this host's backups are published and read (the config's `backups.localDirectory`), if configured. */
  readonly backups?: BackupDestination;
  readonly store: SqliteStateStore;
  readonly stateDir: string;
  close(): void;
}

/** The default state directory: `.acgs-ops` under the current directory. */
export const DEFAULT_STATE_DIR = '.acgs-ops';

/**
 * Wires the local adapters (SQLite state, routed notifications, SSM documents run by the shell runner) to the
 * use-cases. The daemon and the operator commands share this, so `acgs-ops incident ack` and the running daemon
 * see the same state.
 */
export function openLocalRuntime(options: LocalRuntimeOptions): LocalRuntime {
  const stateDir = resolve(options.stateDir);
  const access = options.access ?? 'write';
  if (access === 'write') createStateDir(stateDir);
  const store =
    access === 'none'
      ? new SqliteStateStore(':memory:')
      : new SqliteStateStore(resolve(stateDir, 'state.db'), { readOnly: access === 'read' });
  const log = (event: string, fields: Record<string, unknown>) => {
    options.write(
      `${new Date((options.clock ?? systemClock).now()).toISOString()} ${event} ${JSON.stringify(fields)}\n`,
    );
  };
  const notifier =
    options.notifier ??
    new RoutingNotifier(
      channelsFromConfig(options.config.notifications.channels, stateDir, options.env, options.write),
      { fleet: options.config.fleet.name, acknowledgeHint: options.config.notifications.acknowledgeHint },
      (channel, error) => log('channel-failed', { channel, error: errorMessage(error) }),
    );
  const backups: BackupDestination | undefined = options.config.backups
    ? {
        objects: new FileObjectStore(options.config.backups.localDirectory),
        ...(options.pgBinDir === undefined ? {} : { pgBinDir: options.pgBinDir }),
      }
    : undefined;
  const ctx = createContext(options.config, {
    states: store,
    incidents: store,
    control: store,
    notifier,
    commands: options.commands ?? new ShellCommandRunner(),
    events: new JsonLinesEventPublisher(resolve(stateDir, 'events.jsonl')),
    clock: options.clock ?? systemClock,
    // This host reaches the fleet: procedures that wait for health checks probe them here.
    prober: new NetworkProber(options.clock ?? systemClock, new LocalSecretSource(options.env)),
    ...(backups ? { backups } : {}),
    log,
  });
  return { ctx, store, stateDir, ...(backups ? { backups } : {}), close: () => store.close() };
}

function createStateDir(stateDir: string): void {
  try {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  } catch (error) {
    const code = errorCode(error);
    const why =
      code === 'EROFS'
        ? 'the file system is read-only'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : code === 'ENOTDIR' || code === 'EEXIST'
            ? 'a file is in the way'
            : error instanceof Error
              ? error.message
              : String(error);
    throw new StateUnavailableError(`cannot create state directory ${stateDir}: ${why}`, { cause: error });
  }
}
