import { describe, expect, it } from 'vitest';
import { runAcgsOps } from '../support/run-cli.ts';

/**
 * The other CLI tests start the bundle that vitest's globalSetup builds from bin/acgs-ops.ts (support/cli-bundle.ts).
 * This one starts the entry point itself, under tsx as `npm run acgs-ops` does, and holds both to the same answers:
 * commands that read files beside the source (the runbooks, the shipped config, the procedures) prove that the
 * bundle resolves paths as the source does.
 */
const SAME_ANSWERS: readonly (readonly string[])[] = [
  ['--help'],
  ['runbook', 'list'],
  ['procedures', '--alert', 'database', '--json'],
  ['backup', 'restore', '--to'],
];

describe('bin/acgs-ops.ts under tsx and the tests’ CLI bundle', () => {
  it.each(SAME_ANSWERS.map((args) => [args.join(' '), args] as const))(
    'give the same answer to: acgs-ops %s',
    { timeout: 120_000 },
    async (_name, args) => {
      const [entry, bundle] = await Promise.all([
        runAcgsOps(args, { fromSource: true, killAfterMs: 60_000 }),
        runAcgsOps(args, { killAfterMs: 60_000 }),
      ]);
      expect(entry.stdout.length + entry.stderr.length).toBeGreaterThan(0);
      expect(bundle).toEqual(entry);
    },
  );
});
