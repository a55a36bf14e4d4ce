import { type ParseArgsConfig, parseArgs } from 'node:util';
import { type DurationBounds, parseBoundedDuration } from '../core/duration.ts';
import { errorCode, errorMessage, UsageError } from '../core/errors.ts';

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

/**
 * Parses a command's options strictly (unknown options and stray positionals are usage errors, exit 64) and
 * rewrites node's messages into one line that names the command.
 */
export function parseCommandArgs<const T extends OptionsConfig>(command: string, args: readonly string[], options: T) {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError(describeArgsError(command, error), { cause: error });
  }
}

/** Like `parseCommandArgs`, with positional arguments (e.g. an incident id). */
export function parseCommandLine<const T extends OptionsConfig>(command: string, args: readonly string[], options: T) {
  try {
    const { values, positionals } = parseArgs({ args: [...args], options, strict: true, allowPositionals: true });
    return { values, positionals };
  } catch (error) {
    throw new UsageError(describeArgsError(command, error), { cause: error });
  }
}

/**
 * The milliseconds of a duration option (`--for 30m`) within `bounds`.
 * @throws UsageError naming the option and the range (exit 64).
 */
export function durationOption(option: string, text: string, bounds: DurationBounds): number {
  const parsed = parseBoundedDuration(text, bounds);
  if (!parsed.ok) throw new UsageError(`${option} ${parsed.message}`);
  return parsed.ms;
}

function describeArgsError(command: string, error: unknown): string {
  const message = errorMessage(error);
  const code = errorCode(error);
  const quoted = /'([^']+)'/.exec(message)?.[1];
  const help = `(see acgs-ops ${command} --help)`;
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${quoted ?? ''} for "acgs-ops ${command}" ${help}`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${quoted ?? ''} for "acgs-ops ${command}" ${help}`;
    default:
      // ERR_PARSE_ARGS_INVALID_OPTION_VALUE: node's message already names the option and what it wants.
      return `${message.split('\n')[0] ?? message} ${help}`;
  }
}
