import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { formatConfigProblems, parseFleetConfig } from '../core/config.ts';
import type { FleetConfig } from '../core/config-schema.ts';
import { errorCode, errorMessage, UsageError } from '../core/errors.ts';

/** The ACGS-1 fleet, found next to the code rather than in the current directory. */
export const DEFAULT_CONFIG_PATH = fileURLToPath(new URL('../../config/acgs-1.yaml', import.meta.url));

/**
 * Reads and validates a fleet config file. A missing or invalid file is a `UsageError` whose message lists every
 * problem with its field path and line, ready for the operator.
 */
export async function loadFleetConfig(path: string = DEFAULT_CONFIG_PATH): Promise<FleetConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read config ${path}: ${describeReadError(error)}`, { cause: error });
  }
  const parsed = parseFleetConfig(text);
  if (!parsed.ok) throw new UsageError(formatConfigProblems(path, parsed.problems));
  return parsed.config;
}

function describeReadError(error: unknown): string {
  const code = errorCode(error);
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'it is a directory';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return errorMessage(error);
}
