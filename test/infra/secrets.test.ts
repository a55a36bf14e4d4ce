import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { afterAll, describe, expect, it } from 'vitest';
import { parseFleetConfig } from '../../lambdas/core/config.ts';
import type { FleetConfig } from '../../lambdas/core/config-schema.ts';
import { addControlPlane, FleetConfigError } from '../../lib/app.ts';
import { awsSecretProblems, backupHostSecrets, probeSecrets } from '../../lib/secrets.ts';
import { SHIPPED_CONFIG } from '../support/shipped-config.ts';
import { ACGS_CONFIG } from '../support/synth-stack.ts';

const dir = mkdtempSync(join(tmpdir(), 'acgs-secrets-infra-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function configOf(text: string): FleetConfig {
  const parsed = parseFleetConfig(text);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
}

const ENV_ONLY = SHIPPED_CONFIG.replace(/\n *passwordSecret: \{ id: acgs-1\/postgres \}/, '');

describe('secrets in AWS', () => {
  it('names the secrets of the shipped config for the probe and the database host', () => {
    const config = configOf(SHIPPED_CONFIG);
    expect(awsSecretProblems(config)).toEqual([]);
    expect(probeSecrets(config)).toEqual([
      { field: 'checks[0].passwordSecret', check: 'postgresql', ref: { id: 'acgs-1/postgres' } },
    ]);
    expect(backupHostSecrets(config)).toEqual(probeSecrets(config));
  });

  it('finds a postgres check whose password only an environment variable holds, naming the field to set', () => {
    expect(ENV_ONLY).not.toContain('passwordSecret');
    expect(awsSecretProblems(configOf(ENV_ONLY))).toEqual([
      'checks[0] (postgresql): passwordEnv ACGS_DB_PASSWORD names an environment variable, but the probe Lambda has ' +
        'no way to get it (no secret is ever put in its environment): name the Secrets Manager secret holding the ' +
        'password in checks[0].passwordSecret, e.g. passwordSecret: { id: acgs-1/postgresql }',
    ]);
  });

  it('finds backups whose host has neither the secret nor a pgpass file', () => {
    const text = ENV_ONLY.replace(/\n *passwordEnv: ACGS_DB_PASSWORD/, '').replace(/\n *pgpassFile: .*/, '');
    expect(awsSecretProblems(configOf(text))).toEqual([
      'backups: the database host has no way to the password of postgresql: name its secret in ' +
        'checks[0].passwordSecret (or a pgpass file on the host in backups.pgpassFile)',
    ]);
  });

  it('refuses to synthesize such a config, with the message naming the field', () => {
    // The AWS fleet config (reachable hosts), with an environment variable instead of the secret.
    const awsEnvOnly = readFileSync(ACGS_CONFIG, 'utf8').replace(
      /passwordSecret: \{ id: acgs-1\/postgres \}/,
      'passwordEnv: ACGS_DB_PASSWORD',
    );
    expect(awsEnvOnly).toContain('passwordEnv: ACGS_DB_PASSWORD');
    const path = join(dir, 'env-only.yaml');
    writeFileSync(path, awsEnvOnly);
    expect(() => addControlPlane(new App(), { configPath: path })).toThrow(
      /cannot run in AWS as it is:\n {2}- checks\[0\] \(postgresql\): passwordEnv ACGS_DB_PASSWORD .* checks\[0\]\.passwordSecret/,
    );
    // A FleetConfigError: bin/app.ts prints the message and exits 1, without a stack trace.
    expect(() => addControlPlane(new App(), { configPath: path })).toThrow(FleetConfigError);
  });
});
