import type { Clock } from '../ports.ts';

/** Exit codes shared by every command (sysexits.h): health verdicts use 0/1/2 (core EXIT_CODE). */
export const EXIT_USAGE = 64;
export const EXIT_SOFTWARE = 70;
/** The state cannot be opened: read-only, empty, corrupt or foreign (EX_IOERR). */
export const EXIT_IOERR = 74;

/** What a command may touch: its output streams and the clock. Tests pass their own. */
export interface CliContext {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly clock: Clock;
}

/**
 * One `acgs-ops <name>` subcommand. `run` receives the arguments after the name (help is handled for it) and
 * returns the exit code; it throws `UsageError` for bad input (exit 64, message on stderr, no stack trace) and
 * `StateUnavailableError` for state it cannot open (exit 74, likewise).
 */
export interface CliCommand {
  readonly name: string;
  /** One line for `acgs-ops --help`. */
  readonly summary: string;
  /** The full text for `acgs-ops <name> --help`. */
  readonly usage: string;
  run(args: readonly string[], context: CliContext): Promise<number>;
}
