import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { parseFleetConfig } from '../../lambdas/core/config.ts';
import type { FleetConfig } from '../../lambdas/core/config-schema.ts';
import { addControlPlane, FleetConfigError } from '../../lib/app.ts';
import { awsSecretProblems, channelSecrets } from '../../lib/secrets.ts';
import { describeStackChecks } from '../support/stack-checks.ts';
import { ACGS_CONFIG, type Json, logicalId, resourcesOfType, useSynthesizedStack } from '../support/synth-stack.ts';

/*
 * PagerDuty, Slack, Teams and webhook channels in AWS: every Lambda that pages or delivers notices reads the
 * channels' secrets from Secrets Manager, and only those secrets; smtp and secrets in the environment are refused
 * at synth, naming the channel and the field.
 */

const dir = mkdtempSync(join(tmpdir(), 'acgs-channels-infra-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PD_SECRET = { id: 'acgs-1/pagerduty', field: 'routingKey' };
const SLACK_SECRET = {
  id: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:acgs-1/slack-AbCdEf',
  kmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
};

const CHANNELS = [
  { name: 'console', kind: 'console' },
  { name: 'pagerduty', kind: 'pagerduty', routingKeySecret: PD_SECRET, events: ['acknowledged', 'resolved'] },
  { name: 'ops-slack', kind: 'slack', urlSecret: SLACK_SECRET, pages: false, events: ['opened', 'resolved'] },
  { name: 'hook', kind: 'webhook', url: 'https://hooks.example.com/acgs', pages: false, events: ['resolved'] },
];

function awsConfigWith(channels: unknown[]): string {
  const config = parse(readFileSync(ACGS_CONFIG, 'utf8')) as Record<string, unknown>;
  config.notifications = { ...((config.notifications as object | undefined) ?? {}), channels };
  return stringify(config, { lineWidth: 0 });
}

function configOf(text: string): FleetConfig {
  const parsed = parseFleetConfig(text);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
}

const fleet = useSynthesizedStack(() => {
  const path = join(dir, 'with-channels.yaml');
  writeFileSync(path, awsConfigWith(CHANNELS));
  return path;
});

describe('HTTP notification channels in AWS', () => {
  it('names the PagerDuty and Slack secrets, and finds nothing to refuse', () => {
    const config = configOf(awsConfigWith(CHANNELS));
    expect(channelSecrets(config)).toEqual([
      { field: 'notifications.channels[1].routingKeySecret', check: '', ref: PD_SECRET },
      { field: 'notifications.channels[2].urlSecret', check: '', ref: SLACK_SECRET },
    ]);
    expect(awsSecretProblems(config)).toEqual([]);
  });

  it('refuses smtp, secrets in the environment and the SNS channel names, each naming the channel and the field', () => {
    const config = configOf(
      awsConfigWith([
        { name: 'mail', kind: 'smtp', host: 'smtp.example.com', from: 'ops@example.com' },
        { name: 'pd', kind: 'pagerduty', routingKeyEnv: 'PD_KEY' },
        { name: 'chat', kind: 'teams', urlEnv: 'TEAMS_URL' },
        { name: 'hook', kind: 'webhook', url: 'https://hooks.example.com/acgs', tokenEnv: 'HOOK_TOKEN' },
        { name: 'sns-pages', kind: 'console' },
      ]),
    );
    const problems = awsSecretProblems(config);
    expect(problems).toHaveLength(5);
    expect(problems[0]).toMatch(
      /^notifications\.channels\[0\] \(mail\): an smtp channel cannot deliver from the Lambdas/,
    );
    expect(problems[1]).toMatch(
      /^notifications\.channels\[1\]\.routingKeyEnv \(pd\): names the environment variable PD_KEY, but a Lambda's environment is not where secrets go: .*notifications\.channels\[1\]\.routingKeySecret/,
    );
    expect(problems[2]).toMatch(
      /^notifications\.channels\[2\]\.urlEnv \(chat\): .*notifications\.channels\[2\]\.urlSecret/,
    );
    expect(problems[3]).toMatch(
      /^notifications\.channels\[3\]\.tokenEnv \(hook\): names the environment variable HOOK_TOKEN/,
    );
    expect(problems[4]).toMatch(
      /^notifications\.channels\[4\]\.name: "sns-pages" is the name of the stack's own SNS channel/,
    );
  });

  it('refuses to synthesize a config with an smtp channel, with the message naming it', () => {
    const path = join(dir, 'smtp.yaml');
    writeFileSync(
      path,
      awsConfigWith([{ name: 'mail', kind: 'smtp', host: 'smtp.example.com', from: 'ops@example.com' }]),
    );
    expect(() => addControlPlane(new App(), { configPath: path })).toThrow(
      /cannot run in AWS as it is:\n {2}- notifications\.channels\[0\] \(mail\): an smtp channel/,
    );
    expect(() => addControlPlane(new App(), { configPath: path })).toThrow(FleetConfigError);
  });

  it('lets exactly the Lambdas that page read the channel secrets (a name with -??????, an ARN as given), and decrypt via Secrets Manager', () => {
    const { functions } = fleet.stack;
    const policies = resourcesOfType(fleet.template, 'AWS::IAM::Policy');
    const statementsOf = (sid: string) =>
      Object.entries(policies).flatMap(([id, policy]) =>
        (policy.Properties.PolicyDocument.Statement as Json[]).filter((s) => s.Sid === sid).map((s) => ({ id, s })),
      );
    const reads = statementsOf('ReadChannelSecrets');
    const delivering = [
      functions.probe,
      functions.escalationSweep,
      functions.operatorApi,
      functions.backups,
      functions.commandStatus,
    ];
    expect(reads.map((r) => r.id).sort()).toEqual(
      delivering.map((f) => logicalId(f?.role.node.findChild('DefaultPolicy') as never)).sort(),
    );
    for (const { s } of reads) {
      expect(s.Action).toBe('secretsmanager:GetSecretValue');
      const resources = JSON.stringify(s.Resource);
      expect(resources).toContain(':secret:acgs-1/pagerduty-??????');
      expect(resources).toContain(SLACK_SECRET.id);
      expect(s.Resource).toHaveLength(2);
    }
    const decrypts = statementsOf('DecryptChannelSecrets');
    expect(decrypts).toHaveLength(delivering.length);
    for (const { s } of decrypts) {
      expect(s.Resource).toBe(SLACK_SECRET.kmsKeyArn);
      expect(JSON.stringify(s.Condition)).toContain('kms:ViaService');
    }
  });
});

describeStackChecks(() => fleet.synth, { context: 'notification channels', cfnLint: true });
