import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandResult, CommandRunner } from '../../lambdas/ports.ts';

/** The characters of a command's output SSM Run Command returns inline (its plugin Output); the rest is cut. */
export const SSM_INLINE_OUTPUT_CHARS = 2_400;

/** A runner as the Lambda sees SSM's: the output cut after its first SSM_INLINE_OUTPUT_CHARS characters. */
export function inlineLikeSsm(runner: CommandRunner, seen: CommandResult[] = []): CommandRunner {
  return {
    run: async (request) => {
      const result = await runner.run(request);
      seen.push(result);
      if (result.output.length <= SSM_INLINE_OUTPUT_CHARS) return result;
      return { ...result, output: `${result.output.slice(0, SSM_INLINE_OUTPUT_CHARS)}\n---Output truncated---\n` };
    },
  };
}

/**
 * A PgBinDir in `dir` whose pg_restore prints `lines` warnings on stderr (the documents show a tool's stderr in
 * their output) before running the real one from `binDir`; the other tools are the real ones.
 */
export function noisyPgBinDir(dir: string, binDir: string, lines = 40): string {
  mkdirSync(dir, { recursive: true });
  const script = [
    '#!/bin/bash',
    `for i in $(seq 1 ${lines}); do`,
    '  echo "pg_restore: warning: a long and harmless notice number $i, printed to make the output longer" >&2',
    'done',
    `exec ${JSON.stringify(join(binDir, 'pg_restore'))} "$@"`,
    '',
  ].join('\n');
  writeFileSync(join(dir, 'pg_restore'), script, { mode: 0o755 });
  for (const tool of ['pg_dump', 'psql', 'createdb', 'dropdb']) symlinkSync(join(binDir, tool), join(dir, tool));
  return dir;
}
