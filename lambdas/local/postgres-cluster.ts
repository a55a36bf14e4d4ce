import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { errorMessage } from '../core/errors.ts';

const run = promisify(execFile);

/** Debian's PostgreSQL 15 server binaries (preinstalled on these machines; not installable from a registry). */
export const POSTGRES_BIN_DIR = '/usr/lib/postgresql/15/bin';
const REQUIRED = ['initdb', 'pg_ctl', 'postgres'] as const;

/**
 * A throwaway PostgreSQL cluster on 127.0.0.1 and a free port, in a temporary directory: for the demo, the tests
 * and restore drills. Not for production data (fsync is off).
 */
export interface PostgresCluster {
  readonly host: string;
  readonly port: number;
  /** The superuser, authenticated by password (scram-sha-256) over TCP. */
  readonly user: string;
  readonly password: string;
  readonly database: string;
  /** Holds `data/`, the server log and the Unix socket. */
  readonly dir: string;
  readonly binDir: string;
  /** Runs a binary from `binDir` (psql, pg_dump, pg_restore...) as the cluster's OS user. */
  runBinary(
    name: string,
    args: readonly string[],
    env?: NodeJS.ProcessEnv,
  ): Promise<{ stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

/**
 * What is missing to start a cluster here, in words; empty when everything is in place. Tests call
 * `startPostgresCluster`, which throws with this list, so a machine without PostgreSQL fails loudly.
 */
export async function missingPostgresPrerequisites(binDir = POSTGRES_BIN_DIR): Promise<string[]> {
  const missing: string[] = [];
  for (const name of REQUIRED) {
    const path = join(binDir, name);
    if (!(await exists(path))) missing.push(`${path} (PostgreSQL 15 server binaries, Debian package postgresql-15)`);
  }
  if (isRoot()) {
    if ((await osUser('postgres')) === undefined) missing.push('an OS user "postgres" (initdb refuses to run as root)');
    if (!(await commandExists('runuser'))) missing.push('runuser (util-linux), to run the server as "postgres"');
  }
  return missing;
}

export interface PostgresClusterOptions {
  readonly binDir?: string;
  /** WAL segment size in MB (initdb --wal-segsize, a power of 2 from 1 to 1024); default 16. Small segments keep
   * tests that archive WAL small and fast. */
  readonly walSegmentMb?: number;
}

export async function startPostgresCluster(options: PostgresClusterOptions = {}): Promise<PostgresCluster> {
  const binDir = options.binDir ?? POSTGRES_BIN_DIR;
  const missing = await missingPostgresPrerequisites(binDir);
  if (missing.length > 0) {
    throw new Error(`cannot start a throwaway PostgreSQL cluster; missing:\n  ${missing.join('\n  ')}`);
  }
  const owner = isRoot() ? await osUser('postgres') : undefined;
  const dir = await mkdtemp(join(tmpdir(), 'acgs-pg-'));
  const user = 'probe_admin';
  const password = randomBytes(18).toString('base64url');
  const runBinary = async (name: string, args: readonly string[], env?: NodeJS.ProcessEnv) => {
    const binary = join(binDir, name);
    const [file, argv] = owner ? ['runuser', ['-u', 'postgres', '--', binary, ...args]] : [binary, [...args]];
    return run(file, argv, { cwd: dir, env: { ...process.env, ...env }, timeout: 60_000 });
  };
  try {
    const pwfile = join(dir, 'pwfile');
    await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
    if (owner) {
      await chown(dir, owner.uid, owner.gid);
      await chown(pwfile, owner.uid, owner.gid);
    }
    await runBinary('initdb', [
      '-D',
      join(dir, 'data'),
      `--username=${user}`,
      `--pwfile=${pwfile}`,
      '--auth=scram-sha-256',
      '--encoding=UTF8',
      '--locale=C',
      '--no-sync',
      '--no-instructions',
      ...(options.walSegmentMb === undefined ? [] : [`--wal-segsize=${options.walSegmentMb}`]),
    ]);
    const port = await startServer(runBinary, dir);
    return {
      host: '127.0.0.1',
      port,
      user,
      password,
      database: 'postgres',
      dir,
      binDir,
      runBinary,
      stop: async () => {
        await runBinary('pg_ctl', ['-D', join(dir, 'data'), '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    const log = await readFile(join(dir, 'postgres.log'), 'utf8').catch(() => '');
    await rm(dir, { recursive: true, force: true });
    const message = errorMessage(error);
    throw new Error(`throwaway PostgreSQL cluster failed to start: ${message}${log ? `\nserver log:\n${log}` : ''}`, {
      cause: error,
    });
  }
}

/** A free port can be taken between the check and the bind; try a few. */
async function startServer(
  runBinary: (name: string, args: readonly string[]) => Promise<unknown>,
  dir: string,
): Promise<number> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const settings = [
      `-c listen_addresses=127.0.0.1`,
      `-c port=${port}`,
      `-c unix_socket_directories=${dir}`,
      '-c fsync=off',
      '-c full_page_writes=off',
    ].join(' ');
    try {
      await runBinary('pg_ctl', [
        '-D',
        join(dir, 'data'),
        '-l',
        join(dir, 'postgres.log'),
        '-w',
        '-t',
        '30',
        '-o',
        settings,
        'start',
      ]);
      return port;
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function osUser(name: string): Promise<{ uid: number; gid: number } | undefined> {
  const passwd = await readFile('/etc/passwd', 'utf8').catch(() => '');
  const fields = passwd
    .split('\n')
    .find((line) => line.startsWith(`${name}:`))
    ?.split(':');
  if (!fields || fields[2] === undefined || fields[3] === undefined) return undefined;
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

async function commandExists(name: string): Promise<boolean> {
  const dirs = (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':');
  for (const dir of dirs) if (await exists(join(dir, name))) return true;
  return false;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
