import { escapeControlCharacters } from '../core/control-characters.ts';
import { ControlPlaneError, StateUnavailableError, UsageError } from '../core/errors.ts';
import { type CliCommand, type CliContext, EXIT_IOERR, EXIT_SOFTWARE, EXIT_USAGE } from './command.ts';

/**
 * Dispatches `acgs-ops <command> [options]` to one of `commands` and returns the process exit code.
 * Handles help for every command, so a command only parses its own options.
 */
export async function runCli(
  argv: readonly string[],
  commands: readonly CliCommand[],
  context: CliContext,
): Promise<number> {
  const [first, ...rest] = argv;
  try {
    if (first === undefined) {
      context.stderr(mainUsage(commands));
      return EXIT_USAGE;
    }
    if (first === '--help' || first === '-h' || first === 'help') {
      const topic = first === 'help' && rest[0] !== undefined ? findCommand(commands, rest[0]) : undefined;
      context.stdout(topic ? topic.usage : mainUsage(commands));
      return 0;
    }
    if (first.startsWith('-')) {
      throw new UsageError(`unknown option ${first}: options go after the command (see acgs-ops --help)`);
    }
    const command = findCommand(commands, first);
    if (wantsHelp(rest)) {
      context.stdout(command.usage);
      return 0;
    }
    return await command.run(rest, context);
  } catch (error) {
    if (error instanceof UsageError) {
      context.stderr(`acgs-ops: ${printable(error.message)}\n`);
      return EXIT_USAGE;
    }
    if (error instanceof StateUnavailableError) {
      context.stderr(`acgs-ops: ${printable(error.message)}\n`);
      return EXIT_IOERR;
    }
    // Not the operator's fault: a known failure says what went wrong; anything else is a bug and keeps its stack.
    context.stderr(
      error instanceof ControlPlaneError
        ? `acgs-ops: ${error.message} (${error.code})\n`
        : `acgs-ops: unexpected failure: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return EXIT_SOFTWARE;
  }
}

/** Messages may quote what the operator typed: its control characters are shown escaped (config problems keep their lines). */
function printable(message: string): string {
  return message.split('\n').map(escapeControlCharacters).join('\n');
}

function findCommand(commands: readonly CliCommand[], name: string): CliCommand {
  const command = commands.find((c) => c.name === name);
  if (command) return command;
  throw new UsageError(`unknown command "${name}" (commands: ${commands.map((c) => c.name).join(', ')})`);
}

/** `--help` or `-h` before any `--` terminator. */
function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

function mainUsage(commands: readonly CliCommand[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'Usage: acgs-ops <command> [options]',
    '',
    'Operator tools for the fleet described by a config file (default: config/acgs-1.yaml in this repository).',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run "acgs-ops <command> --help" for the options of a command.',
    '',
  ].join('\n');
}
