/**
 * The one base error of the control plane. `code` is stable and machine-readable; callers branch on it,
 * never on the message. Subclasses exist only where a caller handles them differently.
 */
export class ControlPlaneError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A config file or an operator's input is invalid; the CLI maps it to exit code 64. */
export class UsageError extends ControlPlaneError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('USAGE', message, options);
  }
}

/** An optimistic-concurrency write lost the race: re-read and re-apply. */
export class VersionConflictError extends ControlPlaneError {
  constructor(what: string, expectedVersion: number) {
    super('VERSION_CONFLICT', `${what} changed since version ${expectedVersion} was read`);
  }
}

export class NotFoundError extends ControlPlaneError {
  constructor(what: string) {
    super('NOT_FOUND', `${what} not found`);
  }
}

/** A secret's place (a Secrets Manager secret, a pgpass file) exists but cannot be read; the message never holds the value. */
export class SecretError extends ControlPlaneError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SECRET', message, options);
  }
}

/**
 * The state cannot be opened: the directory is read-only, the file is empty, corrupt or not control-plane state.
 * The operator must fix the file or point elsewhere; the CLI maps it to exit code 74 (EX_IOERR).
 */
export class StateUnavailableError extends ControlPlaneError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STATE_UNAVAILABLE', message, options);
  }
}

/**
 * The `code` of a Node.js or SQLite error (`ENOENT`, `EROFS`, `SQLITE_CANTOPEN`, `ECONNREFUSED`...), looking inside an
 * AggregateError (happy eyeballs tries several addresses), or undefined: the one check every adapter and command uses
 * before it names what went wrong.
 */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  if ('code' in error && typeof error.code === 'string') return error.code;
  if (error instanceof AggregateError) {
    for (const inner of error.errors) {
      const code = errorCode(inner);
      if (code !== undefined) return code;
    }
  }
  return undefined;
}

/** The message of anything thrown: an Error's message, an AggregateError's inner messages when it has none, else the value as text. */
export function errorMessage(error: unknown): string {
  if (error instanceof AggregateError && error.message === '') return error.errors.map(errorMessage).join('; ');
  return error instanceof Error ? error.message : String(error);
}
