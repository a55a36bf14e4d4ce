import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { backupCommand } from '../../lambdas/cli/backup-command.ts';
import { UsageError } from '../../lambdas/core/errors.ts';
import { ManualClock } from '../support/harness.ts';
import { runAcgsOps } from '../support/run-cli.ts';
import { SHIPPED_CONFIG, shippedConfigWith } from '../support/shipped-config.ts';

/*
 * `acgs-ops backup config archive | list | restore`: the real CLI, the real document, a config pointing at a
 * temporary tree. Bad input is refused with exit 64 before anything runs.
 */

let root: string;
let configFile: string;
const MARKER = 'CLIPLANTEDSECRET';

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'acgs-config-cli-'));
  mkdirSync(join(root, 'etc/acgs-ops'), { recursive: true });
  mkdirSync(join(root, 'units'), { recursive: true });
  writeFileSync(join(root, 'etc/acgs-ops/acgs-1.yaml'), 'fleet:\n  name: acgs-1\n');
  writeFileSync(join(root, 'etc/acgs-ops/pgpass'), `127.0.0.1:5432:*:acgs_user:${MARKER}\n`);
  writeFileSync(join(root, 'units/acgs-auth.service'), '[Service]\nExecStart=/usr/bin/uvicorn\n');
  configFile = join(root, 'fleet.yaml');
  writeFileSync(
    configFile,
    shippedConfigWith('backups.configArchive', {
      paths: [join(root, 'etc/acgs-ops')],
      serviceDirectories: false,
      unitDirectory: join(root, 'units'),
      directory: join(root, 'archives'),
      keep: 3,
    }),
  );
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const cli = (...args: string[]) =>
  runAcgsOps(['backup', 'config', ...args, '--config', configFile, '--state', join(root, 'state')], {
    killAfterMs: 120_000,
  });

describe('acgs-ops backup config', () => {
  it('archives, lists and restores, refusing to overwrite without --yes', async () => {
    // Act
    const archived = await cli('archive', '--json');
    // Assess
    expect(archived.code, archived.stderr).toBe(0);
    const { report } = JSON.parse(archived.stdout) as {
      report: { id: string; fileCount: number; excludedCount: number };
    };
    expect(report).toMatchObject({ fileCount: 2, excludedCount: 1 });
    expect(readFileSync(join(root, 'archives', `${report.id}.manifest.json`), 'utf8')).toContain(
      'secret by name: pgpass',
    );

    // Act
    const listed = await cli('list');
    // Assess
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`^${report.id} +\\S+ +2 +1 +0 `, 'm'));

    // Act
    const target = join(root, 'restored');
    const restored = await cli('restore', report.id, '--to', target);
    // Assess
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toContain(
      `restored 2 files of ${report.id} under ${target} (SHA-256 verified, 0 replaced)`,
    );
    expect(readFileSync(join(target, root, 'units/acgs-auth.service'), 'utf8')).toContain('ExecStart');

    // Act: the same restore again, files now there
    const refused = await cli('restore', report.id, '--to', target);
    // Assess
    expect(refused.code).toBe(64);
    expect(refused.stderr).toMatch(/refusing to overwrite 2 existing files .*confirm with --yes/);

    // Act
    const confirmed = await cli('restore', report.id, '--to', target, '--yes');
    // Assess
    expect(confirmed.code, confirmed.stderr).toBe(0);
    expect(confirmed.stdout).toContain('2 replaced');
  }, 240_000);

  it.each([
    [['backup', 'config'], 'acgs-ops backup config needs archive, list or restore'],
    [['backup', 'config', 'restore', '--to', '/tmp/x'], 'needs an archive id'],
    [['backup', 'config', 'restore', 'config-1'], 'needs --to DIR'],
    [['backup', 'config', 'restore', '../x', '--to', '/tmp/x'], 'archive id must be an archive id'],
    [['backup', 'config', 'restore', 'config-1', '--to', 'relative'], '--to must be an absolute directory'],
    [['backup', 'config', 'archive', '--yes'], '--yes applies to backup config restore only'],
    [['backup', 'config', 'list', 'extra'], 'unexpected argument "extra"'],
    [['backup', 'config', 'archive', '--target', 'aws'], 'backup config works on this host only'],
    [['backup', 'config', 'archive', '--timeout', '0'], '--timeout must be a whole number'],
  ])('refuses acgs-ops %j as a usage error (exit 64) before anything runs', async (args, message) => {
    // Act: in-process (the CLI's mapping of a usage error to exit 64 is the last test's, through the real process)
    const run = backupCommand.run(args.slice(1), {
      stdout: () => {},
      stderr: () => {},
      clock: new ManualClock(),
    });
    // Assess
    await expect(run).rejects.toThrow(UsageError);
    await expect(run).rejects.toThrow(message);
  });

  it('refuses a config without backups.configArchive with exit 64, naming the section', async () => {
    // Prepare
    const bare = join(root, 'bare.yaml');
    const config = parse(SHIPPED_CONFIG) as { backups: Record<string, unknown>; schedules: Record<string, unknown> };
    delete config.backups.configArchive;
    delete config.schedules.configArchive;
    writeFileSync(bare, stringify(config));
    // Act
    const run = await runAcgsOps(['backup', 'config', 'list', '--config', bare], { killAfterMs: 60_000 });
    // Assess
    expect(run.stderr).toContain('the config has no backups.configArchive section');
    expect(run.code).toBe(64);
  }, 60_000);
});
