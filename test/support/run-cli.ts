import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { bundlePath } from './test-bundles.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The command line that starts the CLI in tests: node and `bin/acgs-ops.ts` bundled into one module by vitest's
 * globalSetup (test/support/cli-bundle.ts says why).
 */
export const CLI_COMMAND: readonly string[] = [process.execPath, bundlePath('acgs-ops')];

/** The entry point itself under tsx, as `npm run acgs-ops` starts it (test/integration/cli-entry.test.ts). */
const SOURCE_COMMAND: readonly string[] = [process.execPath, '--import', 'tsx', 'bin/acgs-ops.ts'];

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `acgs-ops` as a real child process (`node .test-results/acgs-ops.mjs ...`), asynchronously so that
 * servers in the test process keep answering. Killed after `killAfterMs` so a hang fails the test instead of
 * stalling it.
 *
 * `fromSource`: start bin/acgs-ops.ts under tsx instead of the bundle.
 *
 * `readOnlyDir`: the child runs in a private mount namespace (`unshare --mount`) where that directory is
 * bind-mounted read-only, so writes there fail with EROFS even for root (tests run as root, where chmod stops
 * nothing). The mount disappears with the child. Needs root and util-linux `unshare`; fails loudly otherwise.
 */
export function runAcgsOps(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; killAfterMs?: number; readOnlyDir?: string; fromSource?: boolean } = {},
): Promise<CliRun> {
  const node = [...(options.fromSource ? SOURCE_COMMAND : CLI_COMMAND), ...args];
  const [command, ...commandArgs] =
    options.readOnlyDir === undefined
      ? node
      : [
          'unshare',
          '--mount',
          '--propagation',
          'private',
          'sh',
          '-ec',
          'mount --bind -o ro "$0" "$0"; exec "$@"',
          options.readOnlyDir,
          ...node,
        ];
  return new Promise((resolve, reject) => {
    const child = spawn(command ?? process.execPath, commandArgs, {
      cwd: REPO_ROOT,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs ?? 15_000);
    child.once('error', (error) => {
      clearTimeout(killer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(killer);
      if (signal) reject(new Error(`acgs-ops ${args.join(' ')} was killed by ${signal}; stderr: ${stderr}`));
      else resolve({ code, stdout, stderr });
    });
  });
}
