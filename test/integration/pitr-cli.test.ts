import { describe, expect, it } from 'vitest';
import { runAcgsOps } from '../support/run-cli.ts';

/**
 * `acgs-ops backup archiving|base-backup|restore --to`: bad input is refused with exit 64 and a message naming the
 * option, before any config, state or document is touched (the shipped config has no backups.archiving).
 */
describe('acgs-ops backup archiving and point-in-time restore: usage errors', () => {
  it.concurrent.each([
    [
      ['backup', 'restore', '--to', 'yesterday', '--scratch', '/tmp/x', '--port', '55432'],
      '--to must be latest or a time',
    ],
    [['backup', 'restore', '--to', 'latest', '--port', '55432'], 'restore --to needs --scratch DIR'],
    [
      ['backup', 'restore', '--to', 'latest', '--scratch', 'rel/dir', '--port', '55432'],
      '--scratch must be an absolute',
    ],
    [['backup', 'archiving'], 'acgs-ops backup archiving needs enable or status'],
    [['backup', 'base-backup', '--yes'], '--yes applies to restore ID and archiving enable only'],
    [['backup', 'drill', '--scratch', '/tmp/x'], '--scratch applies to restore --to and drill --pitr only'],
    [['backup', 'status', '--pitr'], '--pitr applies to drill only'],
    [['backup', 'drill', '--pitr', '--to', 'soon'], '--to must be latest or a time'],
    [['backup', 'canary', '--port', '55432'], '--port applies to restore --to and drill --pitr only'],
    [['backup', 'archiving', 'status'], 'the config has no backups.archiving section'],
    [
      ['backup', 'restore', '--to', 'latest', '--production', '--scratch', '/tmp/x'],
      '--production and --scratch are mutually exclusive',
    ],
    [['backup', 'restore', '--to', 'latest', '--production', '--port', '55432'], '--port applies to --scratch only'],
    [['backup', 'status', '--production'], '--production applies to restore --to TIME|latest only'],
    [['backup', 'restore', '--to', 'latest', '--production'], 'the config has no backups.archiving section'],
  ])('acgs-ops %j', async (args, message) => {
    // Act
    const run = await runAcgsOps(args, { killAfterMs: 60_000 });
    // Assess
    expect(run.stderr).toContain(message);
    expect(run.code).toBe(64);
  });
});
