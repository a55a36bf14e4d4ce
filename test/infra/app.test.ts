import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { afterAll, describe, expect, it } from 'vitest';
import { addControlPlane, FleetConfigError } from '../../lib/app.ts';
import { ACGS_CONFIG, REPOSITORY_ROOT } from '../support/synth-stack.ts';

const temporary: string[] = [];
afterAll(() => {
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});

function badConfig(): string {
  const text = readFileSync(ACGS_CONFIG, 'utf8')
    .replace('probeTimeout: 5s', 'probeTimeout: soon')
    .replace('retentionDays: 90', 'retentionDays: 90\n  colour: blue');
  const dir = mkdtempSync(join(tmpdir(), 'acgs-bad-config-'));
  temporary.push(dir);
  const path = join(dir, 'bad.yaml');
  writeFileSync(path, text);
  return path;
}

describe('the CDK app', () => {
  it('refuses an invalid config with every problem, its field and line', () => {
    const path = badConfig();
    expect(() => addControlPlane(new App(), { configPath: path })).toThrow(FleetConfigError);
    try {
      addControlPlane(new App(), { configPath: path });
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toContain(`invalid config ${path} (2 problems)`);
      expect(message).toMatch(/bad\.yaml:\d+ {2}thresholds\.probeTimeout: "soon" is not a duration/);
      expect(message).toMatch(/bad\.yaml:\d+ {2}aws\.colour: unknown key/);
    }
  });

  it('refuses a config file that does not exist', () => {
    expect(() => addControlPlane(new App(), { configPath: '/nonexistent/fleet.yaml' })).toThrow(
      /cannot read config \/nonexistent\/fleet\.yaml/,
    );
  });

  it('bin/app.ts exits 1 with the formatted problems, before building anything', () => {
    const path = badConfig();
    const run = spawnSync(join(REPOSITORY_ROOT, 'node_modules', '.bin', 'tsx'), ['bin/app.ts'], {
      cwd: REPOSITORY_ROOT,
      encoding: 'utf8',
      env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ config: path }) },
      timeout: 60_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`invalid config ${path} (2 problems)`);
    expect(run.stderr).toContain('thresholds.probeTimeout');
  });
});
