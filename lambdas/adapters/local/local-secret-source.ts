import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { errorCode, errorMessage, SecretError } from '../../core/errors.ts';
import { parsePgpass, pgpassPassword } from '../../core/pgpass.ts';
import type { SecretReadOptions, SecretRequest, SecretSource } from '../../ports.ts';

export interface LocalSecretSourceOptions {
  /** Where `~/.pgpass` is when PGPASSFILE is not set. @default os.homedir() */
  readonly homeDirectory?: string;
}

/**
 * Secrets on one host: the environment variable the config names, else (for PostgreSQL) the pgpass file PGPASSFILE
 * names or `~/.pgpass`, read on every request (a file is cheap to read, and an edited file counts at once). Like
 * libpq, a pgpass file that is not a regular file is ignored; unlike libpq, which only warns on stderr, a file that
 * its group or others may read is an error that says so, since the probe's detail is where an operator looks.
 */
export class LocalSecretSource implements SecretSource {
  readonly #env: Readonly<Record<string, string | undefined>>;
  readonly #home: string | undefined;

  constructor(env: Readonly<Record<string, string | undefined>> = process.env, options: LocalSecretSourceOptions = {}) {
    this.#env = env;
    this.#home = options.homeDirectory;
  }

  /** Every read is fresh: the variable and the file are read each time, so `options.fresh` changes nothing. */
  async get(request: SecretRequest, _options?: SecretReadOptions): Promise<string | undefined> {
    if (request.env !== undefined) {
      const value = this.#env[request.env];
      if (value !== undefined && value !== '') return value;
    }
    if (request.pgpass === undefined) return undefined;
    const file = this.pgpassFile();
    const entries = await readPgpass(file, request.purpose);
    return entries === undefined ? undefined : pgpassPassword(entries, request.pgpass);
  }

  /** PGPASSFILE when set and not empty, else `.pgpass` in the home directory: libpq's choice. */
  pgpassFile(): string {
    const named = this.#env.PGPASSFILE;
    if (named !== undefined && named !== '') return named;
    return join(this.#home ?? homedir(), '.pgpass');
  }
}

async function readPgpass(file: string, purpose: string) {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(file);
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return undefined;
    throw new SecretError(`cannot read the pgpass file ${file} for ${purpose}: ${errorMessage(error)}`, {
      cause: error,
    });
  }
  if (!info.isFile()) return undefined;
  if ((info.mode & 0o077) !== 0)
    throw new SecretError(
      `the pgpass file ${file} (for ${purpose}) has mode ${(info.mode & 0o777).toString(8).padStart(4, '0')}: ` +
        'its group or others may read it, so libpq ignores it and so does acgs-ops; chmod 0600 it',
    );
  try {
    return parsePgpass(await readFile(file, 'utf8'));
  } catch (error) {
    throw new SecretError(`cannot read the pgpass file ${file} for ${purpose}: ${errorMessage(error)}`, {
      cause: error,
    });
  }
}
