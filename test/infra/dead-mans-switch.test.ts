import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { parseFleetConfig } from '../../lambdas/core/config.ts';
import type { FleetConfig } from '../../lambdas/core/config-schema.ts';
import { probeTimeoutSeconds } from '../../lib/control-plane-stack.ts';
import { awsSecretProblems, backupHostSecrets, probeSecrets } from '../../lib/secrets.ts';
import { describeStackChecks } from '../support/stack-checks.ts';
import { ACGS_CONFIG, type Json, logicalId, resourcesOfType, useSynthesizedStack } from '../support/synth-stack.ts';

/*
 * The dead man's switch in AWS: the probe Lambda pings after each cycle, its URL (a secret: it carries the check's
 * uuid) read from Secrets Manager by the probe role alone, and the ping's timeout within the probe's own.
 */

const dir = mkdtempSync(join(tmpdir(), 'acgs-dms-infra-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SECRET = { id: 'acgs-1/dead-mans-switch', field: 'url' };

function awsConfigWith(deadMansSwitch: unknown): string {
  const config = parse(readFileSync(ACGS_CONFIG, 'utf8')) as Record<string, unknown>;
  config.deadMansSwitch = deadMansSwitch;
  return stringify(config, { lineWidth: 0 });
}

function configOf(text: string): FleetConfig {
  const parsed = parseFleetConfig(text);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
}

const fleet = useSynthesizedStack(() => {
  const path = join(dir, 'with-dms.yaml');
  writeFileSync(path, awsConfigWith({ urlSecret: SECRET, timeout: '10s' }));
  return path;
});

describe("the dead man's switch in AWS", () => {
  it("names the ping URL's secret for the probe, not for the database host", () => {
    const config = configOf(awsConfigWith({ urlSecret: SECRET }));
    expect(probeSecrets(config)).toContainEqual({ field: 'deadMansSwitch.urlSecret', check: '', ref: SECRET });
    expect(backupHostSecrets(config).map((s) => s.field)).not.toContain('deadMansSwitch.urlSecret');
    expect(awsSecretProblems(config)).toEqual([]);
  });

  it('refuses a switch whose URL only an environment variable holds, naming the field to set', () => {
    expect(awsSecretProblems(configOf(awsConfigWith({ urlEnv: 'ACGS_PING_URL' })))).toEqual([
      'deadMansSwitch: urlEnv ACGS_PING_URL names an environment variable, but the probe Lambda has no way to get ' +
        'it: name the Secrets Manager secret holding the ping URL in deadMansSwitch.urlSecret',
    ]);
    expect(awsSecretProblems(configOf(awsConfigWith({ urlEnv: 'ACGS_PING_URL', urlSecret: SECRET })))).toEqual([]);
  });

  it('lets the probe role, and no other, read the secret', () => {
    const reads = Object.entries(resourcesOfType(fleet.template, 'AWS::IAM::Policy')).filter(([, policy]) =>
      (policy.Properties.PolicyDocument.Statement as Json[]).some(
        (s) => s.Action === 'secretsmanager:GetSecretValue' && JSON.stringify(s.Resource).includes(SECRET.id),
      ),
    );
    expect(reads.map(([id]) => id)).toEqual([
      logicalId(fleet.stack.functions.probe.role.node.findChild('DefaultPolicy')),
    ]);
  });

  it("gives the probe Lambda the ping's timeout on top of the cycle's", () => {
    const without = configOf(readFileSync(ACGS_CONFIG, 'utf8'));
    expect(probeTimeoutSeconds(fleet.config)).toBe(probeTimeoutSeconds(without) + 10);
    expect(fleet.props(fleet.stack.functions.probe.fn).Timeout).toBe(probeTimeoutSeconds(fleet.config));
  });
});

describeStackChecks(() => fleet.synth, { context: "dead man's switch" });
