import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { RESTART_DOCUMENT } from '../../lambdas/core/document-names.ts';
import { ESCALATION_TEST_TASK } from '../../lambdas/core/escalation-test.ts';
import { controlPlaneServiceName } from '../../lambdas/core/metrics.ts';
import { toScheduler } from '../../lambdas/core/schedules.ts';
import { contactEmails } from '../../lib/constructs/notifications.ts';
import { logRetention } from '../../lib/retention.ts';
import { describeStackChecks } from '../support/stack-checks.ts';
import {
  type Json,
  logicalId,
  OTHER_FLEET_CONFIG,
  resourcesOfType,
  useSynthesizedStack,
} from '../support/synth-stack.ts';

/** Another fleet is another file: the stack must follow test/fixtures/other-fleet.yaml, not ACGS-1. */
const fleet = useSynthesizedStack(OTHER_FLEET_CONFIG);
const props = fleet.props;

describe('a stack synthesized from another fleet config', () => {
  it('is named after that fleet', () => {
    expect(fleet.stack.stackName).toBe('ledger-ops-control-plane');
    expect(props(fleet.stack.events.bus).Name).toBe('ledger-control-plane');
  });

  it('schedules the cron probe and the sweep in its time zone, giving up on an event after one period', () => {
    const probe = props(mustGet(fleet.stack.schedules.schedules, 'probe'));
    expect(probe?.ScheduleExpression).toBe(toScheduler(fleet.config.schedules.probe, 'America/New_York').expression);
    expect(probe?.ScheduleExpression).toBe('cron(*/5 * * * ? *)');
    expect(probe?.ScheduleExpressionTimezone).toBe('America/New_York');
    expect(probe?.Target.RetryPolicy.MaximumEventAgeInSeconds).toBe(300);
    const sweep = props(mustGet(fleet.stack.schedules.schedules, 'escalationSweep'));
    expect(sweep?.ScheduleExpression).toBe('rate(2 minutes)');
    expect(sweep?.ScheduleExpressionTimezone).toBe('America/New_York');
    expect(sweep?.Target.RetryPolicy.MaximumEventAgeInSeconds).toBe(120);
    fleet.template.resourceCountIs('AWS::Scheduler::Schedule', 3);
  });

  it('runs the configured escalation test weekly in its time zone, sending the sweep Lambda its task, with retries and a DLQ', () => {
    const declared = fleet.config.schedules.escalationTest;
    if (!declared) throw new Error('test/fixtures/other-fleet.yaml has no escalationTest schedule');
    const test = props(mustGet(fleet.stack.schedules.schedules, 'escalationTest'));
    expect(test?.ScheduleExpression).toBe(toScheduler(declared, 'America/New_York').expression);
    expect(test?.ScheduleExpression).toBe('cron(0 9 ? * 3 *)');
    expect(test?.ScheduleExpressionTimezone).toBe('America/New_York');
    expect(JSON.parse(test?.Target.Input)).toEqual({ task: ESCALATION_TEST_TASK });
    expect(test?.Target.Arn).toEqual({ 'Fn::GetAtt': [logicalId(fleet.stack.functions.escalationSweep.fn), 'Arn'] });
    expect(test?.Target.RetryPolicy.MaximumRetryAttempts).toBeGreaterThan(0);
    // A weekly schedule gives up on an event after Scheduler's longest age, a day.
    expect(test?.Target.RetryPolicy.MaximumEventAgeInSeconds).toBe(86_400);
    expect(test?.Target.DeadLetterConfig.Arn).toBeDefined();
  });

  it('lets the probe read the secret given by its full ARN as is, and decrypt it with the named key through Secrets Manager only', () => {
    const policy = Object.values(fleet.resources).find(
      (r: Json) =>
        r.Type === 'AWS::IAM::Policy' &&
        JSON.stringify(r.Properties.Roles) === JSON.stringify([{ Ref: logicalId(fleet.stack.functions.probe.role) }]),
    ) as Json;
    const statements = policy.Properties.PolicyDocument.Statement as Json[];
    const secret = fleet.config.checks.find((c) => c.kind === 'postgres')?.passwordSecret;
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

  it('has no backups section, so it gets no backups Lambda, backup schedules, backup host policy or host parameter', () => {
    expect(fleet.config.backups).toBeUndefined();
    // The config declares backup schedules; without a backups section they have nothing to run.
    expect(fleet.config.schedules.backup).toBeDefined();
    expect(fleet.stack.functions.backups).toBeUndefined();
    expect(Object.keys(fleet.stack.functions).sort()).toEqual(
      ['commandStatus', 'escalationSweep', 'operatorApi', 'probe'].sort(),
    );
    expect([...fleet.stack.schedules.schedules.keys()].sort()).toEqual(['escalationSweep', 'escalationTest', 'probe']);
    fleet.template.resourceCountIs('AWS::Lambda::Function', 4);
    fleet.template.resourceCountIs('AWS::IAM::ManagedPolicy', 2); // OperatorAccess and FleetHostAccess only
    expect(Object.keys(fleet.template.toJSON().Outputs)).toContain('FleetHostAccessPolicyArn');
    expect(fleet.stack.backupHostAccess).toBeUndefined();
    const template = fleet.template.toJSON();
    expect(Object.keys(template.Parameters ?? {})).not.toContain('BackupInstanceId');
    expect(Object.keys(template.Outputs)).not.toContain('BackupHostAccessPolicyArn');
    for (const f of Object.values(resourcesOfType(fleet.template, 'AWS::Lambda::Function')))
      expect(Object.keys(f.Properties.Environment.Variables)).not.toContain('ACGS_BACKUP_BUCKET');
  });

  it('routes only the restart document to the command-status Lambda, which pages nobody (no backups to fail)', () => {
    const rule = fleet.stack.events.commandStatusRule;
    if (!rule) throw new Error('no command status rule');
    expect(props(rule).EventPattern.detail['document-name']).toEqual([
      fleet.stack.runbooks.documentNames[RESTART_DOCUMENT],
    ]);
    const statements = props(fleet.stack.functions.commandStatus.role.node.findChild('DefaultPolicy')).PolicyDocument
      .Statement as Json[];
    expect(statements.filter((s) => [s.Action].flat().includes('sns:Publish'))).toEqual([]);
  });

  it('has one topic per escalation level (two) and the Updates topic, with only the contacts that have an e-mail subscribed', () => {
    // The two level topics, and the stakeholders' Updates topic (no subscriptions: subscribed outside the stack)
    fleet.template.resourceCountIs('AWS::SNS::Topic', 3);
    const subscriptions = Object.values(resourcesOfType(fleet.template, 'AWS::SNS::Subscription'));
    expect(subscriptions.map((s) => s.Properties?.Endpoint).sort()).toEqual(
      fleet.config.escalation.levels.flatMap(contactEmails).sort(),
    );
    expect(subscriptions).toHaveLength(3); // the pager bridge contact has no e-mail
  });

  it("conditions ssm:SendCommand on the fleet's own tag", () => {
    fleet.template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'ssm:SendCommand',
            Condition: { StringEquals: { 'ssm:resourceTag/ledger:ssm-target': 'ledger-staging' } },
          }),
        ]),
      },
    });
    expect(JSON.stringify(fleet.template.toJSON())).not.toContain('acgs:fleet');
  });

  it('places the probe Lambda, and only it, in the fleet VPC', () => {
    const probe = props(fleet.stack.functions.probe.fn);
    expect(probe?.VpcConfig).toEqual({
      SubnetIds: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'],
      SecurityGroupIds: ['sg-0aa11bb22cc33dd44'],
    });
    for (const name of ['escalationSweep', 'commandStatus', 'operatorApi'] as const)
      expect(fleet.resources[logicalId(fleet.stack.functions[name].fn)]?.Properties?.VpcConfig).toBeUndefined();
    expect(JSON.stringify(props(fleet.stack.functions.probe.role).ManagedPolicyArns)).toContain(
      'AWSLambdaVPCAccessExecutionRole',
    );
  });

  it('uses its retention, service name and its own dashboard', () => {
    expect(props(fleet.stack.functions.probe.logGroup).RetentionInDays).toBe(logRetention(45));
    expect(logRetention(45)).toBe(60);
    const env = props(fleet.stack.functions.probe.fn).Environment.Variables;
    expect(env.POWERTOOLS_SERVICE_NAME).toBe(controlPlaneServiceName('ledger'));
    const dashboard = JSON.stringify(props(fleet.stack.monitoring.dashboard).DashboardBody);
    // Its metrics (the per-target widgets group its own probe log by target, whatever the targets are called).
    expect(dashboard).toContain(`\\"service\\",\\"${controlPlaneServiceName('ledger')}\\"`);
    expect(dashboard).not.toContain(controlPlaneServiceName('acgs-1'));
  });

  it('sizes the heartbeat alarm to three probe periods (15 minutes for a 5-minute cron)', () => {
    fleet.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ProbeCycles',
      Period: 900,
      TreatMissingData: 'breaching',
    });
  });
});

describeStackChecks(() => fleet.synth, { cfnLint: true });

function mustGet<K, V>(map: ReadonlyMap<K, V>, key: K): V {
  const value = map.get(key);
  if (value === undefined) throw new Error(`missing ${String(key)}`);
  return value;
}
