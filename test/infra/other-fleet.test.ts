import { readFileSync } from 'node:fs';
import { Match } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFleetConfig } from '../../lambdas/core/config.ts';
import type { FleetConfig } from '../../lambdas/core/config-schema.ts';
import { RESTART_DOCUMENT } from '../../lambdas/core/document-names.ts';
import { controlPlaneServiceName } from '../../lambdas/core/metrics.ts';
import { toScheduler } from '../../lambdas/core/schedules.ts';
import { contactEmails } from '../../lib/constructs/notifications.ts';
import { logRetention } from '../../lib/retention.ts';
import { cdkNagChecks, cfnLintCheck } from './support/shared-checks.ts';
import {
  type Json,
  logicalId,
  OTHER_FLEET_CONFIG,
  propsOf,
  type Resource,
  resourcesOfType,
  type Synthesized,
  synthesize,
} from './support/synth.ts';

/** Another fleet is another file: the stack must follow test/fixtures/other-fleet.yaml, not ACGS-1. */
let synth: Synthesized;
let config: FleetConfig;
let resources: Record<string, Resource>;

beforeAll(() => {
  const parsed = parseFleetConfig(readFileSync(OTHER_FLEET_CONFIG, 'utf8'));
  if (!parsed.ok) throw new Error('test/fixtures/other-fleet.yaml must be valid');
  config = parsed.config;
  synth = synthesize(OTHER_FLEET_CONFIG);
  resources = synth.template.toJSON().Resources;
}, 120_000);

afterAll(() => synth?.dispose());

const props = (construct: Parameters<typeof logicalId>[0]): Json => propsOf(synth.template, construct);

describe('a stack synthesized from another fleet config', () => {
  it('is named after that fleet', () => {
    expect(synth.stack.stackName).toBe('ledger-ops-control-plane');
    expect(props(synth.stack.events.bus).Name).toBe('ledger-control-plane');
  });

  it('schedules the cron probe and the sweep in its time zone, giving up on an event after one period', () => {
    const probe = props(mustGet(synth.stack.schedules.schedules, 'probe'));
    expect(probe?.ScheduleExpression).toBe(toScheduler(config.schedules.probe, 'America/New_York').expression);
    expect(probe?.ScheduleExpression).toBe('cron(*/5 * * * ? *)');
    expect(probe?.ScheduleExpressionTimezone).toBe('America/New_York');
    expect(probe?.Target.RetryPolicy.MaximumEventAgeInSeconds).toBe(300);
    const sweep = props(mustGet(synth.stack.schedules.schedules, 'escalationSweep'));
    expect(sweep?.ScheduleExpression).toBe('rate(2 minutes)');
    expect(sweep?.ScheduleExpressionTimezone).toBe('America/New_York');
    expect(sweep?.Target.RetryPolicy.MaximumEventAgeInSeconds).toBe(120);
    synth.template.resourceCountIs('AWS::Scheduler::Schedule', 2);
  });

  it('lets the probe read the secret given by its full ARN as is, and decrypt it with the named key through Secrets Manager only', () => {
    const policy = Object.values(resources).find(
      (r: Json) =>
        r.Type === 'AWS::IAM::Policy' &&
        JSON.stringify(r.Properties.Roles) === JSON.stringify([{ Ref: logicalId(synth.stack.functions.probe.role) }]),
    ) as Json;
    const statements = policy.Properties.PolicyDocument.Statement as Json[];
    const secret = config.checks.find((c) => c.kind === 'postgres')?.passwordSecret;
    expect(statements.filter((s) => ['ReadDatabaseSecrets', 'DecryptDatabaseSecrets'].includes(s.Sid))).toEqual([
      { Sid: 'ReadDatabaseSecrets', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: secret?.id },
      {
        Sid: 'DecryptDatabaseSecrets',
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: secret?.kmsKeyArn,
        Condition: {
          StringEquals: {
            'kms:ViaService': { 'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
          },
        },
      },
    ]);
  });

  it('has no backups section, so it gets no backups Lambda, backup schedules, host policy or host parameter', () => {
    expect(config.backups).toBeUndefined();
    // The config declares backup schedules; without a backups section they have nothing to run.
    expect(config.schedules.backup).toBeDefined();
    expect(synth.stack.functions.backups).toBeUndefined();
    expect(Object.keys(synth.stack.functions).sort()).toEqual(
      ['commandStatus', 'escalationSweep', 'operatorApi', 'probe'].sort(),
    );
    expect([...synth.stack.schedules.schedules.keys()].sort()).toEqual(['escalationSweep', 'probe']);
    synth.template.resourceCountIs('AWS::Lambda::Function', 4);
    synth.template.resourceCountIs('AWS::IAM::ManagedPolicy', 1); // OperatorAccess only
    expect(synth.stack.backupHostAccess).toBeUndefined();
    const template = synth.template.toJSON();
    expect(Object.keys(template.Parameters ?? {})).not.toContain('BackupInstanceId');
    expect(Object.keys(template.Outputs)).not.toContain('BackupHostAccessPolicyArn');
    for (const f of Object.values(resourcesOfType(synth.template, 'AWS::Lambda::Function')))
      expect(Object.keys(f.Properties.Environment.Variables)).not.toContain('ACGS_BACKUP_BUCKET');
  });

  it('routes only the restart document to the command-status Lambda, which pages nobody (no backups to fail)', () => {
    const rule = synth.stack.events.commandStatusRule;
    if (!rule) throw new Error('no command status rule');
    expect(props(rule).EventPattern.detail['document-name']).toEqual([
      synth.stack.runbooks.documentNames[RESTART_DOCUMENT],
    ]);
    const statements = props(synth.stack.functions.commandStatus.role.node.findChild('DefaultPolicy')).PolicyDocument
      .Statement as Json[];
    expect(statements.filter((s) => [s.Action].flat().includes('sns:Publish'))).toEqual([]);
  });

  it('has one topic per escalation level (two), with only the contacts that have an e-mail subscribed', () => {
    synth.template.resourceCountIs('AWS::SNS::Topic', 2);
    const subscriptions = Object.values(resourcesOfType(synth.template, 'AWS::SNS::Subscription'));
    expect(subscriptions.map((s) => s.Properties?.Endpoint).sort()).toEqual(
      config.escalation.levels.flatMap(contactEmails).sort(),
    );
    expect(subscriptions).toHaveLength(3); // the pager bridge contact has no e-mail
  });

  it("conditions ssm:SendCommand on the fleet's own tag", () => {
    synth.template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'ssm:SendCommand',
            Condition: { StringEquals: { 'ssm:resourceTag/ledger:ssm-target': 'ledger-staging' } },
          }),
        ]),
      },
    });
    expect(JSON.stringify(synth.template.toJSON())).not.toContain('acgs:fleet');
  });

  it('places the probe Lambda, and only it, in the fleet VPC', () => {
    const probe = props(synth.stack.functions.probe.fn);
    expect(probe?.VpcConfig).toEqual({
      SubnetIds: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'],
      SecurityGroupIds: ['sg-0aa11bb22cc33dd44'],
    });
    for (const name of ['escalationSweep', 'commandStatus', 'operatorApi'] as const)
      expect(resources[logicalId(synth.stack.functions[name].fn)]?.Properties?.VpcConfig).toBeUndefined();
    expect(JSON.stringify(props(synth.stack.functions.probe.role).ManagedPolicyArns)).toContain(
      'AWSLambdaVPCAccessExecutionRole',
    );
  });

  it('uses its retention, service name and per-service dashboard', () => {
    expect(props(synth.stack.functions.probe.logGroup).RetentionInDays).toBe(logRetention(45));
    expect(logRetention(45)).toBe(60);
    const env = props(synth.stack.functions.probe.fn).Environment.Variables;
    expect(env.POWERTOOLS_SERVICE_NAME).toBe(controlPlaneServiceName('ledger'));
    const dashboard = JSON.stringify(props(synth.stack.monitoring.dashboard).DashboardBody);
    for (const service of ['accounts', 'postings', 'statements']) expect(dashboard).toContain(service);
    expect(dashboard).not.toContain('\\"auth\\"');
  });

  it('sizes the heartbeat alarm to three probe periods (15 minutes for a 5-minute cron)', () => {
    synth.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ProbeCycles',
      Period: 900,
      TreatMissingData: 'breaching',
    });
  });
});

describe('cdk-nag (AwsSolutions)', () => cdkNagChecks(() => synth));
describe('cfn-lint', () => cfnLintCheck(() => synth));

function mustGet<K, V>(map: ReadonlyMap<K, V>, key: K): V {
  const value = map.get(key);
  if (value === undefined) throw new Error(`missing ${String(key)}`);
  return value;
}
