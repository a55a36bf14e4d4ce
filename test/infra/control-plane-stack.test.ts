import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DRILL_REPORT_SUFFIX } from '../../lambdas/core/backup-records.ts';
import { LAMBDA_ASYNC_RETRY_DELAYS_MS, UNKNOWN_COMMAND_RETRY_WINDOW_MS } from '../../lambdas/core/command-status.ts';
import { CONTROL_TABLE_SCHEMA } from '../../lambdas/core/control-table.ts';
import { BACKUP_DOCUMENT, CONFIG_ARCHIVE_DOCUMENT, DRILL_DOCUMENT } from '../../lambdas/core/document-names.ts';
import { drillCommandParameters } from '../../lambdas/core/document-parameters.ts';
import { DETAIL_TYPE, EVENT_SOURCE } from '../../lambdas/core/events.ts';
import { handlerEnvironmentSchema } from '../../lambdas/core/handler-environment.ts';
import { REPORT_PREFIX } from '../../lambdas/core/incident-report.ts';
import { CONTROL_PLANE_METRICS, controlPlaneServiceName, PROBE_RESULT_LOG } from '../../lambdas/core/metrics.ts';
import { type ScheduleName, toScheduler } from '../../lambdas/core/schedules.ts';
import { OPERATOR_BACKUP_WAIT_MS } from '../../lambdas/handlers/aws-runtime.ts';
import type { ControlPlaneFunction } from '../../lib/constructs/control-plane-function.ts';
import { contactEmails } from '../../lib/constructs/notifications.ts';
import { operatorApiTimeoutSeconds } from '../../lib/control-plane-stack.ts';
import { logRetention } from '../../lib/retention.ts';
import { clamp, schedulePeriodSeconds } from '../../lib/schedule-period.ts';
import { maskedTemplateSerializer, maskTemplate } from '../support/mask-template.ts';
import { describeStackChecks } from '../support/stack-checks.ts';
import {
  ACGS_CONFIG,
  type Json,
  logicalId,
  REPOSITORY_ROOT,
  resourcesOfType,
  useSynthesizedStack,
} from '../support/synth-stack.ts';

// One synth for the whole file: every describe below reads the same template.
const fleet = useSynthesizedStack(ACGS_CONFIG);
const props = fleet.props;

/**
 * EventBridge's matching for the patterns this stack writes: every key of the pattern must be in the event, an array
 * of values matches a value equal to one of them, an object matches field by field.
 */
function matchesPattern(pattern: unknown, event: unknown): boolean {
  if (Array.isArray(pattern)) return pattern.some((value) => value === event);
  if (typeof pattern !== 'object' || pattern === null)
    throw new Error(`unsupported pattern ${JSON.stringify(pattern)}`);
  if (typeof event !== 'object' || event === null) return false;
  return Object.entries(pattern).every(([key, inner]) =>
    matchesPattern(inner, (event as Record<string, unknown>)[key]),
  );
}

const ref = (construct: Parameters<typeof logicalId>[0]) => ({ Ref: logicalId(construct) });
const arnOf = (construct: Parameters<typeof logicalId>[0]) => ({ 'Fn::GetAtt': [logicalId(construct), 'Arn'] });

/** Every statement of every IAM policy (inline and managed) in the template, with the policy's logical id. */
function statements(): { policy: string; statement: Record<string, unknown> }[] {
  return Object.entries(fleet.resources)
    .filter(([, r]) => r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy')
    .flatMap(([policy, r]) =>
      ((r.Properties as Json).PolicyDocument.Statement as Record<string, unknown>[]).map((statement) => ({
        policy,
        statement,
      })),
    );
}
const actionsOf = (s: Record<string, unknown>) => [s.Action].flat() as string[];

/** The backups Lambda (config/acgs-1-aws.yaml has a backups section, so it must exist). */
function backupsFunction(): ControlPlaneFunction {
  const f = fleet.stack.functions.backups;
  if (!f) throw new Error('no backups Lambda');
  return f;
}

/** The Lambda a schedule runs: the backup schedules all run the backups Lambda. */
function functionOf(name: ScheduleName): ControlPlaneFunction {
  return name === 'probe' || name === 'escalationSweep' ? fleet.stack.functions[name] : backupsFunction();
}

const defaultPolicyOf = (f: ControlPlaneFunction) => logicalId(f.role.node.findChild('DefaultPolicy'));

/** Environment variables only the backups Lambda and the operator API (its backup routes) get. */
const BACKUP_ONLY_ENV = ['ACGS_BACKUP_BUCKET', 'ACGS_BACKUP_KMS_KEY', 'ACGS_BACKUP_INSTANCE_ID'];
/** Only the Lambdas that resolve incidents write incident reports. */
const REPORT_ENV = ['ACGS_REPORT_BUCKET', 'ACGS_REPORT_KMS_KEY'];
const REPORTING: readonly string[] = ['probe', 'operatorApi', 'backups'];
const OPERATOR_ONLY_ENV = ['ACGS_RUNBOOK_NAMES'];

describe('schedules', () => {
  it('deploys every schedule of the config: probe, sweep, and the five backup schedules (drill: backups.drill is set; configArchive: backups.configArchive is)', () => {
    expect([...fleet.stack.schedules.schedules.keys()].sort()).toEqual(
      ['backup', 'backupMonitor', 'cleanup', 'drill', 'configArchive', 'escalationSweep', 'probe'].sort(),
    );
    fleet.template.resourceCountIs('AWS::Scheduler::Schedule', 7);
  });

  it.each([
    ['backup', 'backup'],
    ['backupMonitor', 'monitor'],
    ['cleanup', 'retention'],
    ['drill', 'drill'],
    ['configArchive', 'config-archive'],
  ] as const)(
    'runs %s on its config expression and time zone, sending the backups Lambda {"task": "%s"}, with retries and a DLQ',
    (name, task) => {
      const declared = fleet.config.schedules[name];
      if (!declared) throw new Error(`config/acgs-1-aws.yaml has no ${name} schedule`);
      const expected = toScheduler(declared, fleet.config.schedules.timeZone);
      const schedule = fleet.stack.schedules.schedules.get(name);
      if (!schedule) throw new Error(`no ${name} schedule`);
      const p = props(schedule);
      expect(p.ScheduleExpression).toBe(expected.expression);
      expect(p.ScheduleExpressionTimezone).toBe(expected.timezone);
      expect(p.FlexibleTimeWindow).toEqual({ Mode: 'OFF' });
      expect(JSON.parse(p.Target.Input)).toEqual({ task });
      expect(p.Target.Arn).toEqual(arnOf(backupsFunction().fn));
      expect(p.Target.RetryPolicy.MaximumRetryAttempts).toBeGreaterThan(0);
      expect(p.Target.RetryPolicy.MaximumEventAgeInSeconds).toBe(
        clamp(schedulePeriodSeconds(declared, fleet.config.schedules.timeZone), 60, 86_400),
      );
      const dlq = p.Target.DeadLetterConfig.Arn['Fn::GetAtt'][0];
      expect(fleet.resources[dlq]?.Type).toBe('AWS::SQS::Queue');
    },
  );

  it('spells the expressions of the shipped backup schedules as EventBridge wants them', () => {
    const expressionOf = (name: ScheduleName) => props(fleet.stack.schedules.schedules.get(name) as never);
    expect(expressionOf('backup').ScheduleExpression).toBe('cron(0 2 * * ? *)');
    expect(expressionOf('backupMonitor').ScheduleExpression).toBe('cron(0 * * * ? *)');
    expect(expressionOf('cleanup').ScheduleExpression).toBe('cron(0 3 ? * 1 *)');
    expect(expressionOf('drill').ScheduleExpression).toBe('cron(0 4 ? * 2 *)');
  });

  it.each(['probe', 'escalationSweep'] as const)(
    'runs %s on the expression and time zone toScheduler derives from the config, on time, with retries and a DLQ',
    (name) => {
      const expected = toScheduler(fleet.config.schedules[name], fleet.config.schedules.timeZone);
      const schedule = fleet.stack.schedules.schedules.get(name);
      if (!schedule) throw new Error(`no ${name} schedule`);
      const schedulePropsOf = props(schedule);
      expect(schedulePropsOf.ScheduleExpression).toBe(expected.expression);
      expect(schedulePropsOf.ScheduleExpressionTimezone).toBe(expected.timezone);
      expect(schedulePropsOf.FlexibleTimeWindow).toEqual({ Mode: 'OFF' });
      expect(schedulePropsOf.Target.RetryPolicy.MaximumRetryAttempts).toBeGreaterThan(0);
      expect(schedulePropsOf.Target.RetryPolicy.MaximumEventAgeInSeconds).toBe(60); // every 1m: one period
      const dlq = schedulePropsOf.Target.DeadLetterConfig.Arn['Fn::GetAtt'][0];
      expect(fleet.resources[dlq]?.Type).toBe('AWS::SQS::Queue');
      expect(schedulePropsOf.Target.Arn).toEqual(arnOf(fleet.stack.functions[name].fn));
    },
  );

  it('gives each schedule a role that may only invoke its own Lambda and write to its own DLQ', () => {
    for (const [name, schedule] of fleet.stack.schedules.schedules) {
      const target = props(schedule).Target;
      const role = target.RoleArn['Fn::GetAtt'][0];
      const granted = statements().filter(({ policy }) =>
        JSON.stringify(fleet.resources[policy]?.Properties?.Roles ?? []).includes(role),
      );
      expect(granted.map(({ statement }) => ({ actions: actionsOf(statement), resource: statement.Resource }))).toEqual(
        [
          { actions: ['lambda:InvokeFunction'], resource: arnOf(functionOf(name).fn) },
          { actions: ['sqs:SendMessage'], resource: target.DeadLetterConfig.Arn },
        ],
      );
      expect(fleet.resources[role]?.Properties?.AssumeRolePolicyDocument).toMatchObject({
        Statement: [
          {
            Principal: { Service: 'scheduler.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          },
        ],
      });
    }
  });
});

describe('control table', () => {
  it('is on-demand, encrypted, point-in-time recoverable, expires by TTL and is retained', () => {
    const table = fleet.resources[logicalId(fleet.stack.state.table)];
    expect(table?.DeletionPolicy).toBe('Retain');
    expect(table?.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: CONTROL_TABLE_SCHEMA.timeToLiveAttribute, Enabled: true },
      DeletionProtectionEnabled: true,
      KeySchema: [
        { AttributeName: CONTROL_TABLE_SCHEMA.partitionKey.name, KeyType: 'HASH' },
        { AttributeName: CONTROL_TABLE_SCHEMA.sortKey.name, KeyType: 'RANGE' },
      ],
    });
  });

  it('has exactly the global secondary indexes of CONTROL_TABLE_SCHEMA', () => {
    expect(
      props(fleet.stack.state.table).GlobalSecondaryIndexes.map((g: Json) => ({
        name: g.IndexName,
        keys: g.KeySchema,
        projection: g.Projection,
      })),
    ).toEqual(
      CONTROL_TABLE_SCHEMA.globalSecondaryIndexes.map((g) => ({
        name: g.indexName,
        keys: [
          { AttributeName: g.partitionKey.name, KeyType: 'HASH' },
          { AttributeName: g.sortKey.name, KeyType: 'RANGE' },
        ],
        projection: { ProjectionType: g.projection },
      })),
    );
  });
});

describe('artifact bucket', () => {
  it('blocks public access, is KMS-encrypted, versioned, logged to its own log bucket and TLS-only', () => {
    const { bucket, accessLogs, key } = fleet.stack.artifacts;
    expect(props(bucket)).toMatchObject({
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: arnOf(key) },
            BucketKeyEnabled: true,
          },
        ],
      },
      VersioningConfiguration: { Status: 'Enabled' },
      LoggingConfiguration: { DestinationBucketName: ref(accessLogs) },
    });
    for (const b of [bucket, accessLogs]) {
      fleet.template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: ref(b),
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 's3:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    }
  });

  it('expires noncurrent versions, aborts incomplete uploads and tiers current versions down', () => {
    const rules = props(fleet.stack.artifacts.bucket).LifecycleConfiguration.Rules;
    expect(rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 30 }, Status: 'Enabled' }),
        expect.objectContaining({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' }),
        expect.objectContaining({
          Transitions: [
            { StorageClass: 'STANDARD_IA', TransitionInDays: 30 },
            { StorageClass: 'GLACIER_IR', TransitionInDays: 90 },
          ],
        }),
      ]),
    );
  });
});

describe('escalation topics', () => {
  it('creates one KMS-encrypted, TLS-only topic per escalation level (and the Updates topic)', () => {
    fleet.template.resourceCountIs('AWS::SNS::Topic', fleet.config.escalation.levels.length + 1);
    for (const level of fleet.config.escalation.levels) {
      const topic = fleet.stack.escalation.topic(level.level);
      expect(props(topic)).toMatchObject({
        KmsMasterKeyId: arnOf(fleet.stack.escalation.key),
      });
      fleet.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        Topics: [ref(topic)],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });

  it("subscribes exactly each level's contact e-mail addresses to that level's topic", () => {
    const subscriptions = Object.values(resourcesOfType(fleet.template, 'AWS::SNS::Subscription'));
    for (const level of fleet.config.escalation.levels) {
      const topic = ref(fleet.stack.escalation.topic(level.level));
      const endpoints = subscriptions
        .filter((s) => JSON.stringify(s.Properties?.TopicArn) === JSON.stringify(topic))
        .map((s) => {
          expect(s.Properties?.Protocol).toBe('email');
          return s.Properties?.Endpoint;
        });
      expect(endpoints.sort()).toEqual(contactEmails(level).sort());
      expect(endpoints.length).toBeGreaterThan(0);
    }
  });

  it('lets CloudWatch alarms of this account use the topic key', () => {
    const keyPolicy = props(fleet.stack.key).KeyPolicy;
    expect(keyPolicy.Statement).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          Condition: expect.objectContaining({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } }),
        }),
      ]),
    );
  });
});

describe('updates topic', () => {
  const updates = () => fleet.stack.updates.topic;
  const writers = ['probe', 'escalationSweep', 'operatorApi', 'backups', 'commandStatus'] as const;
  const functionNamed = (name: (typeof writers)[number]) =>
    name === 'backups' ? backupsFunction() : fleet.stack.functions[name];

  it('is encrypted with the control plane key, refuses plain HTTP and lets no other service publish', () => {
    expect(props(updates())).toMatchObject({ KmsMasterKeyId: arnOf(fleet.stack.key) });
    const policies = Object.values(resourcesOfType(fleet.template, 'AWS::SNS::TopicPolicy')).filter(
      (p) => JSON.stringify(p.Properties.Topics) === JSON.stringify([ref(updates())]),
    );
    expect(policies).toHaveLength(1);
    const statements = policies[0]?.Properties.PolicyDocument.Statement as Json[];
    expect(statements).toEqual([
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    ]);
    const subscriptions = Object.values(resourcesOfType(fleet.template, 'AWS::SNS::Subscription')).filter(
      (s) => JSON.stringify(s.Properties?.TopicArn) === JSON.stringify(ref(updates())),
    );
    expect(subscriptions).toEqual([]);
  });

  it('is given (ARN in the environment, sns:Publish on it alone) to every Lambda that writes incidents', () => {
    // CDK merges the statement into the one publishing to the level topics: same action, one resource list.
    const topic = JSON.stringify(ref(updates()));
    const publishers = statements().filter(({ statement }) =>
      [statement.Resource].flat().some((r) => JSON.stringify(r) === topic),
    );
    expect(publishers.map(({ policy }) => policy).sort()).toEqual(
      writers.map((name) => defaultPolicyOf(functionNamed(name))).sort(),
    );
    for (const { statement } of publishers) expect(statement).toMatchObject({ Effect: 'Allow', Action: 'sns:Publish' });
    for (const name of writers)
      expect(props(functionNamed(name).fn).Environment.Variables.ACGS_UPDATES_TOPIC_ARN).toEqual(ref(updates()));
  });

  it('is an output, for subscribing stakeholders', () => {
    expect(fleet.template.toJSON().Outputs.UpdatesTopicArn).toMatchObject({ Value: ref(updates()) });
  });
});

describe('runbooks', () => {
  const files = readdirSync(join(REPOSITORY_ROOT, 'ssm-documents')).filter((f) => f.endsWith('.yaml'));

  it('deploys every file of ssm-documents/ as a Command document named <stack>-<file>, updated by new versions', () => {
    // Besides the Automation runbooks of ssm-documents/automation/ (automation-runbooks.test.ts).
    expect(
      Object.values(resourcesOfType(fleet.template, 'AWS::SSM::Document')).filter(
        (r) => r.Properties?.DocumentType === 'Command',
      ),
    ).toHaveLength(files.length);
    for (const file of files) {
      const key = basename(file, '.yaml');
      fleet.template.hasResourceProperties('AWS::SSM::Document', {
        Name: `${fleet.stack.stackName}-${key}`,
        DocumentType: 'Command',
        UpdateMethod: 'NewVersion',
        Content: parse(readFileSync(join(REPOSITORY_ROOT, 'ssm-documents', file), 'utf8')),
      });
    }
  });
});

describe('least privilege', () => {
  const documentArn = (key: string) => {
    const stack = Stack.of(fleet.stack);
    const name = fleet.stack.runbooks.documentNames[key];
    if (!name) throw new Error(`no document ${key}`);
    return stack.resolve(stack.formatArn({ service: 'ssm', resource: 'document', resourceName: name }));
  };
  const sendCommandOf = (f: ControlPlaneFunction) =>
    statements()
      .filter(
        ({ policy, statement }) => policy === defaultPolicyOf(f) && actionsOf(statement).includes('ssm:SendCommand'),
      )
      .map(({ statement }) => statement);
  const fleetTagCondition = () => ({
    StringEquals: { [`ssm:resourceTag/${fleet.config.aws.fleetTag.key}`]: fleet.config.aws.fleetTag.value },
  });
  /** With schedules.configArchive, the daily configuration archive too (config/acgs-1-aws.yaml has it). */
  const backupKeys = [BACKUP_DOCUMENT, CONFIG_ARCHIVE_DOCUMENT, DRILL_DOCUMENT];

  it('lets only the probe, the operator API and the backups Lambda send commands', () => {
    const senders = statements()
      .filter(({ statement }) => actionsOf(statement).some((a) => a.startsWith('ssm:Send')))
      .map((s) => s.policy);
    expect(new Set(senders)).toEqual(
      new Set([
        defaultPolicyOf(fleet.stack.functions.probe),
        defaultPolicyOf(fleet.stack.functions.operatorApi),
        defaultPolicyOf(backupsFunction()),
      ]),
    );
  });

  it('lets the operator API send only the service and fleet documents, only to fleet-tagged instances, and follow them', () => {
    const stack = Stack.of(fleet.stack);
    const operatorDocuments = [
      'acgs-restart-service',
      'acgs-start-service',
      'acgs-stop-service',
      'acgs-isolate-service',
      'acgs-release-service',
      'acgs-start-all',
      'acgs-stop-all',
      'acgs-rolling-update',
    ];
    const host = fleet.stack.backupInstanceParameter;
    if (!host) throw new Error('no BackupInstanceId parameter');
    expect(sendCommandOf(fleet.stack.functions.operatorApi)).toEqual([
      expect.objectContaining({ Action: 'ssm:SendCommand', Resource: [...operatorDocuments].sort().map(documentArn) }),
      expect.objectContaining({
        Action: 'ssm:SendCommand',
        Resource: stack.resolve(stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' })),
        Condition: fleetTagCondition(),
      }),
      // The backup routes: a backup now, a drill, the Recovery Procedure's database steps, on the database host only.
      expect.objectContaining({
        Sid: 'BackupRunOwnDocuments',
        Action: 'ssm:SendCommand',
        Resource: ['acgs-backup-database', 'acgs-restore-database', 'acgs-restore-drill'].map(documentArn),
      }),
      expect.objectContaining({
        Sid: 'BackupOnFleetInstancesOnly',
        Action: 'ssm:SendCommand',
        Resource: [
          stack.resolve(stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: host.valueAsString })),
          stack.resolve(
            stack.formatArn({ service: 'ssm', resource: 'managed-instance', resourceName: host.valueAsString }),
          ),
        ],
        Condition: fleetTagCondition(),
      }),
    ]);
    expect(props(fleet.stack.functions.operatorApi.fn).Environment.Variables).toMatchObject({
      ACGS_BACKUP_BUCKET: expect.anything(),
      ACGS_BACKUP_KMS_KEY: expect.anything(),
      ACGS_BACKUP_INSTANCE_ID: { Ref: Stack.of(fleet.stack).getLogicalId(host) },
    });
    const follow = statements().filter(
      ({ policy, statement }) =>
        policy === defaultPolicyOf(fleet.stack.functions.operatorApi) &&
        actionsOf(statement).some((a) => a.startsWith('ssm:') && a !== 'ssm:SendCommand'),
    );
    expect(follow.map(({ statement }) => statement)).toEqual([
      expect.objectContaining({
        Action: ['ssm:CancelCommand', 'ssm:ListCommandInvocations', 'ssm:ListCommands'],
        Resource: '*',
      }),
      // Who started the runbook execution that invokes it (automation-runbooks.test.ts).
      expect.objectContaining({ Action: 'ssm:GetAutomationExecution' }),
    ]);
  });

  it('gives the operator API the time of its longest procedure, at most 15 minutes', () => {
    expect(props(fleet.stack.functions.operatorApi.fn).Timeout).toBe(900);
    expect(
      operatorApiTimeoutSeconds({
        ...fleet.config,
        remediation: { ...fleet.config.remediation, restartTimeout: 10_000 },
      }),
    ).toBe(870);
    // What it waits for a drill or a restore's database step leaves a minute for the rest, whatever the fleet.
    expect(OPERATOR_BACKUP_WAIT_MS + 60_000).toBeLessThanOrEqual(870_000);
  });

  it('lets the probe send only the restart document, and only to fleet-tagged instances', () => {
    const stack = Stack.of(fleet.stack);
    expect(files().map((f) => basename(f, '.yaml'))).toContain('acgs-restart-service');
    expect(sendCommandOf(fleet.stack.functions.probe)).toEqual([
      expect.objectContaining({ Action: 'ssm:SendCommand', Resource: documentArn('acgs-restart-service') }),
      expect.objectContaining({
        Action: 'ssm:SendCommand',
        Resource: stack.resolve(stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' })),
        Condition: fleetTagCondition(),
      }),
    ]);
  });

  it('lets the backups Lambda send only the backup, drill and configuration-archive documents, only to the fleet-tagged database host', () => {
    const stack = Stack.of(fleet.stack);
    // config/acgs-1-aws.yaml names no backups.instanceId: the host is the deploy-time parameter, an instance or a node.
    const host = fleet.stack.backupInstanceParameter;
    if (!host) throw new Error('no BackupInstanceId parameter');
    expect(sendCommandOf(backupsFunction())).toEqual([
      expect.objectContaining({ Action: 'ssm:SendCommand', Resource: backupKeys.map(documentArn) }),
      expect.objectContaining({
        Action: 'ssm:SendCommand',
        Resource: [
          stack.resolve(stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: host.valueAsString })),
          stack.resolve(
            stack.formatArn({ service: 'ssm', resource: 'managed-instance', resourceName: host.valueAsString }),
          ),
        ],
        Condition: fleetTagCondition(),
      }),
    ]);
  });

  it('lets the backups Lambda follow and cancel its drill command (no resource scoping exists), and nothing else of SSM', () => {
    const ssm = statements().filter(
      ({ policy, statement }) =>
        policy === defaultPolicyOf(backupsFunction()) &&
        actionsOf(statement).some((a) => a.startsWith('ssm:') && a !== 'ssm:SendCommand'),
    );
    expect(ssm.map(({ statement }) => statement)).toEqual([
      expect.objectContaining({
        Action: ['ssm:CancelCommand', 'ssm:ListCommandInvocations', 'ssm:ListCommands'],
        Resource: '*',
      }),
    ]);
  });

  it('gives the backups Lambda the backup prefix of the bucket and the backup key through S3, nothing wider', () => {
    const { bucket, key } = fleet.stack.artifacts;
    const prefix = fleet.config.backups?.s3Prefix;
    const granted = statements()
      .filter(({ policy }) => policy === defaultPolicyOf(backupsFunction()))
      .map(({ statement }) => statement);
    const s3 = granted.filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')) && s.Sid !== 'IncidentReports');
    expect(s3).toEqual([
      expect.objectContaining({
        Action: 's3:ListBucket',
        Resource: arnOf(bucket),
        Condition: { StringLike: { 's3:prefix': [`${prefix}*`] } },
      }),
      expect.objectContaining({
        Action: ['s3:DeleteObject', 's3:GetObject', 's3:PutObject'],
        Resource: { 'Fn::Join': ['', [arnOf(bucket), `/${prefix}*`]] },
      }),
    ]);
    // The key also encrypts the escalation topics: the backups Lambda pages too, so it may use the key through SNS.
    const kms = granted.filter(
      (s) => JSON.stringify(s.Resource) === JSON.stringify(arnOf(key)) && s.Sid !== 'IncidentReportKeyViaS3',
    );
    const via = (service: string) => ({
      StringEquals: {
        'kms:ViaService': { 'Fn::Join': ['', [`${service}.`, { Ref: 'AWS::Region' }, '.amazonaws.com']] },
      },
    });
    expect(kms).toEqual([
      expect.objectContaining({ Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Condition: via('s3') }),
      expect.objectContaining({ Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Condition: via('sns') }),
    ]);
    // No other Lambda touches the backups but the operator API, whose backup routes read the catalogue and write a
    // drill's records, with the same prefix and key statements (the incident reports are another prefix, below).
    const bucketUsers = statements()
      .filter(({ statement }) => statement.Sid !== 'IncidentReports')
      .filter(({ statement }) => JSON.stringify(statement.Resource).includes(logicalId(bucket)))
      .map(({ policy }) => policy);
    expect(new Set(bucketUsers)).toEqual(
      new Set([
        defaultPolicyOf(backupsFunction()),
        defaultPolicyOf(fleet.stack.functions.operatorApi),
        logicalId(fleet.stack.backupHostAccess as never),
      ]),
    );
  });

  it('lets the probe, the operator API and the backups Lambda put incident reports under their prefix, and only put', () => {
    const { bucket, key } = fleet.stack.artifacts;
    const reporting = statements().filter(({ statement }) => statement.Sid === 'IncidentReports');
    const viaKey = statements().filter(({ statement }) => statement.Sid === 'IncidentReportKeyViaS3');
    const policies = [fleet.stack.functions.probe, fleet.stack.functions.operatorApi, backupsFunction()].map((f) =>
      defaultPolicyOf(f),
    );
    expect(reporting.map(({ policy }) => policy).sort()).toEqual([...policies].sort());
    for (const { statement } of reporting)
      expect(statement).toMatchObject({
        Action: 's3:PutObject',
        Resource: { 'Fn::Join': ['', [arnOf(bucket), `/${REPORT_PREFIX}*`]] },
      });
    expect(viaKey.map(({ policy }) => policy).sort()).toEqual([...policies].sort());
    for (const { statement } of viaKey)
      expect(statement).toMatchObject({ Action: 'kms:GenerateDataKey', Resource: arnOf(key) });
  });

  it('grants table access on the table and its named indexes only, with no wildcard actions anywhere', () => {
    for (const { statement } of statements()) {
      for (const action of actionsOf(statement)) expect(action).not.toMatch(/\*/);
      if (actionsOf(statement).some((a) => a.startsWith('dynamodb:'))) {
        expect(JSON.stringify(statement.Resource)).not.toMatch(/index\/\*/);
      }
    }
  });

  it('lets only the probe, the sweep, the operator API, the backups and the command-status Lambda page; only the probe and backups send SSM commands', () => {
    const holders = (matches: (action: string) => boolean) =>
      new Set(
        statements()
          .filter(({ statement }) => actionsOf(statement).some(matches))
          .map(({ policy }) => policy),
      );
    const policyOf = (name: keyof typeof fleet.stack.functions) =>
      defaultPolicyOf(name === 'backups' ? backupsFunction() : fleet.stack.functions[name]);
    // The command-status Lambda opens the backup incident when a backup command fails on the host.
    expect(holders((a) => a === 'sns:Publish')).toEqual(
      new Set([
        policyOf('probe'),
        policyOf('escalationSweep'),
        policyOf('operatorApi'),
        policyOf('backups'),
        policyOf('commandStatus'),
      ]),
    );
    // Besides the hosts' own policy, for their SSM Agent (which sends no command); the operator API reads the
    // Automation execution that invokes it, and operators start the runbooks (automation-runbooks.test.ts).
    expect(holders((a) => a.startsWith('ssm:'))).toEqual(
      new Set([
        policyOf('probe'),
        policyOf('operatorApi'),
        policyOf('backups'),
        logicalId(fleet.stack.fleetHostAccess),
        logicalId(fleet.stack.operatorAccess),
      ]),
    );
    expect(holders((a) => a === 'ssm:SendCommand')).toEqual(
      new Set([policyOf('probe'), policyOf('operatorApi'), policyOf('backups')]),
    );
    expect(holders((a) => a === 'events:PutEvents').size).toBe(5);
    expect(holders((a) => a.startsWith('dynamodb:')).size).toBe(5);
  });
});

describe('Lambdas', () => {
  const names = ['probe', 'escalationSweep', 'commandStatus', 'operatorApi', 'backups'] as const;

  it.each(names)(
    '%s runs Node 22 on ARM64 with active tracing, its own log group and the handler environment',
    (name) => {
      const f = name === 'backups' ? backupsFunction() : fleet.stack.functions[name];
      const fnProps = props(f.fn);
      expect(fnProps).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: { LogGroup: ref(f.logGroup) },
      });
      expect(props(f.logGroup).RetentionInDays).toBe(logRetention(fleet.config.aws.retentionDays));
      expect(Object.keys(fnProps.Environment.Variables).sort()).toEqual(
        [
          ...Object.keys(handlerEnvironmentSchema.shape).filter(
            (k) =>
              (name === 'backups' || name === 'operatorApi' || !BACKUP_ONLY_ENV.includes(k)) &&
              (REPORTING.includes(name) || !REPORT_ENV.includes(k)) &&
              (name === 'operatorApi' || !OPERATOR_ONLY_ENV.includes(k)),
          ),
        ].sort(),
      );
      expect(fnProps.Environment.Variables).toMatchObject({
        POWERTOOLS_SERVICE_NAME: controlPlaneServiceName(fleet.config.fleet.name),
        POWERTOOLS_METRICS_NAMESPACE: CONTROL_PLANE_METRICS.namespace,
        ACGS_DOCUMENT_NAMES: JSON.stringify(fleet.stack.runbooks.documentNames),
      });
    },
  );

  it('reserves no concurrency by default (cycles are kept apart by a lease; see deploy-anywhere.test.ts)', () => {
    for (const name of ['probe', 'escalationSweep'] as const)
      expect(props(fleet.stack.functions[name].fn).ReservedConcurrentExecutions).toBeUndefined();
  });

  it('runs the backups Lambda for up to 15 minutes, with the backup bucket, key and host', () => {
    const f = backupsFunction();
    const p = props(f.fn);
    expect(p.Timeout).toBe(900);
    expect(p.ReservedConcurrentExecutions).toBeUndefined();
    expect(p.Environment.Variables).toMatchObject({
      ACGS_BACKUP_BUCKET: ref(fleet.stack.artifacts.bucket),
      ACGS_BACKUP_KMS_KEY: arnOf(fleet.stack.artifacts.key),
      ACGS_BACKUP_INSTANCE_ID: { Ref: 'BackupInstanceId' },
    });
    fleet.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: ref(f.fn),
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 3600,
    });
  });

  it('asks for the database host at deploy time when the config names none (required, instance or node id)', () => {
    const parameters = fleet.template.toJSON().Parameters;
    expect(parameters.BackupInstanceId).toEqual({
      Type: 'String',
      AllowedPattern: '^(i-[0-9a-f]{8}|i-[0-9a-f]{17}|mi-[0-9a-f]{17})$',
      ConstraintDescription: expect.any(String),
      Description: expect.stringContaining('backups.instanceId'),
    });
    expect(parameters.BackupInstanceId.Default).toBeUndefined();
  });

  it('sends failed asynchronous invocations of every asynchronously invoked Lambda to a dead-letter queue', () => {
    for (const name of ['probe', 'escalationSweep', 'commandStatus', 'backups'] as const) {
      const f = name === 'backups' ? backupsFunction() : fleet.stack.functions[name];
      if (!f.deadLetterQueue) throw new Error(`${name} has no dead-letter queue`);
      fleet.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: ref(f.fn),
        DestinationConfig: { OnFailure: { Destination: arnOf(f.deadLetterQueue.queue) } },
      });
    }
  });

  it("puts the probe, and only the probe, in the config's VPC, where the private hosts are", () => {
    const vpc = fleet.config.aws.vpc;
    if (!vpc) throw new Error('config/acgs-1-aws.yaml has aws.vpc');
    expect(props(fleet.stack.functions.probe.fn).VpcConfig).toEqual({
      SubnetIds: vpc.subnetIds,
      SecurityGroupIds: vpc.securityGroupIds,
    });
    for (const name of ['escalationSweep', 'commandStatus', 'operatorApi'] as const)
      expect(props(fleet.stack.functions[name].fn).VpcConfig).toBeUndefined();
  });
});

describe('events', () => {
  it('routes SSM command status changes of the restart and backup documents (not the drill) on the default bus to the command-status Lambda', () => {
    const rule = fleet.stack.events.commandStatusRule;
    if (!rule) throw new Error('no command status rule');
    const ruleProps = props(rule);
    const { documentNames } = fleet.stack.runbooks;
    expect(ruleProps.EventBusName).toBeUndefined();
    expect(ruleProps.EventPattern).toEqual({
      source: ['aws.ssm'],
      'detail-type': ['EC2 Command Status-change Notification', 'EC2 Command Invocation Status-change Notification'],
      detail: {
        'document-name': [documentNames['acgs-restart-service'], documentNames[BACKUP_DOCUMENT]],
      },
    });
    expect(documentNames[BACKUP_DOCUMENT]).toBe(`${fleet.stack.stackName}-${BACKUP_DOCUMENT}`);
    expect(ruleProps.EventPattern.detail['document-name']).not.toContain(documentNames[DRILL_DOCUMENT]);
    expect(ruleProps.Targets).toEqual([
      expect.objectContaining({
        Arn: arnOf(fleet.stack.functions.commandStatus.fn),
        DeadLetterConfig: { Arn: expect.anything() },
        RetryPolicy: { MaximumRetryAttempts: expect.any(Number), MaximumEventAgeInSeconds: expect.any(Number) },
      }),
    ]);
  });

  it("matches the command and invocation status changes of this stack's restart and backup documents, and nothing else", () => {
    const rule = fleet.stack.events.commandStatusRule;
    if (!rule) throw new Error('no command status rule');
    const pattern = props(rule).EventPattern as Record<string, unknown>;
    const { documentNames } = fleet.stack.runbooks;
    const fixture = (name: string) =>
      JSON.parse(
        readFileSync(join(REPOSITORY_ROOT, 'test/integration/aws/fixtures', `${name}.json`), 'utf8'),
      ) as Record<string, unknown> & { detail: Record<string, unknown> };
    const command = fixture('ssm-command-status-change');
    const invocation = fixture('ssm-command-invocation-status-change');
    const of = (event: typeof command, documentName: string | undefined) => ({
      ...event,
      detail: { ...event.detail, 'document-name': documentName },
    });
    for (const key of ['acgs-restart-service', BACKUP_DOCUMENT]) {
      expect(matchesPattern(pattern, of(command, documentNames[key])), `command event of ${key}`).toBe(true);
      expect(matchesPattern(pattern, of(invocation, documentNames[key])), `invocation event of ${key}`).toBe(true);
    }
    // Another stack's restart document, the drill (the backups Lambda waits for it), and SSM's own documents.
    for (const other of ['other-stack-acgs-restart-service', documentNames[DRILL_DOCUMENT], 'AWS-RunShellScript']) {
      expect(matchesPattern(pattern, of(command, other)), other).toBe(false);
      expect(matchesPattern(pattern, of(invocation, other)), other).toBe(false);
    }
    // Other detail types of aws.ssm (an automation step) are not routed.
    const automation = {
      ...of(command, documentNames['acgs-restart-service']),
      'detail-type': 'EC2 Automation Step Status-change Notification',
    };
    expect(matchesPattern(pattern, automation)).toBe(false);
  });

  it("retries the command-status Lambda's failed invocations twice, within the window an unknown command id is retried for", () => {
    fleet.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: ref(fleet.stack.functions.commandStatus.fn),
      MaximumRetryAttempts: LAMBDA_ASYNC_RETRY_DELAYS_MS.length,
      MaximumEventAgeInSeconds: 3600,
    });
    // The last retry (a minute, then two more, after the first delivery) still falls inside the window, which
    // itself is inside the event's maximum age.
    const lastRetryMs = LAMBDA_ASYNC_RETRY_DELAYS_MS.reduce((a, b) => a + b, 0);
    expect(lastRetryMs).toBeLessThan(UNKNOWN_COMMAND_RETRY_WINDOW_MS);
    expect(UNKNOWN_COMMAND_RETRY_WINDOW_MS).toBeLessThan(3600 * 1000);
  });

  it('keeps every control-plane event in the audit trail log group', () => {
    const ruleProps = props(fleet.stack.events.auditRule);
    expect(ruleProps.EventBusName).toEqual(ref(fleet.stack.events.bus));
    expect(ruleProps.EventPattern).toEqual({ source: [EVENT_SOURCE], 'detail-type': Object.values(DETAIL_TYPE) });
    expect(JSON.stringify(ruleProps.Targets[0].Arn)).toContain(logicalId(fleet.stack.events.auditLog));
    expect(ruleProps.Targets[0].DeadLetterConfig).toBeDefined();
    // The policy document is a Fn::Join (it names the log group's ARN), so look at it as text.
    const policies = Object.values(resourcesOfType(fleet.template, 'AWS::Logs::ResourcePolicy')).map((p) =>
      JSON.stringify(p.Properties?.PolicyDocument),
    );
    expect(policies).toHaveLength(1);
    expect(policies[0]).toContain('events.amazonaws.com');
    expect(policies[0]).toContain('logs:PutLogEvents');
    expect(policies[0]).toContain(logicalId(fleet.stack.events.auditLog));
  });

  it('names the bus after the fleet', () => {
    expect(props(fleet.stack.events.bus).Name).toBe(`${fleet.config.fleet.name}-control-plane`);
  });
});

describe('watching the watcher', () => {
  const alarms = () => Object.entries(resourcesOfType(fleet.template, 'AWS::CloudWatch::Alarm'));
  const levelOne = () => ref(fleet.stack.escalation.topic(1));

  it('alarms when the probe heartbeat goes silent, treating missing data as breaching', () => {
    fleet.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: CONTROL_PLANE_METRICS.namespace,
      MetricName: CONTROL_PLANE_METRICS.probeCycles,
      Dimensions: [{ Name: 'service', Value: controlPlaneServiceName(fleet.config.fleet.name) }],
      Statistic: 'Sum',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      TreatMissingData: 'breaching',
      AlarmActions: [levelOne()],
    });
  });

  it('has a messages-visible alarm to level 1 for every SQS queue in the stack', () => {
    const queues = Object.keys(resourcesOfType(fleet.template, 'AWS::SQS::Queue'));
    // One for all schedules, one per asynchronously invoked Lambda (probe, sweep, command status, backups), the
    // command-status rule's and the audit trail's.
    expect(queues.length).toBe(7);
    for (const queue of queues) {
      const watching = alarms().filter(
        ([, a]) =>
          a.Properties?.MetricName === 'ApproximateNumberOfMessagesVisible' &&
          JSON.stringify(a.Properties?.Dimensions) ===
            JSON.stringify([{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queue, 'QueueName'] } }]),
      );
      expect(watching, `alarm for ${queue}`).toHaveLength(1);
      expect(watching[0]?.[1].Properties).toMatchObject({
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        AlarmActions: [levelOne()],
      });
    }
  });

  it('has an Errors alarm to level 1 for every Lambda but command status, which fails on purpose to be retried', () => {
    const errorAlarms = (f: ControlPlaneFunction) =>
      alarms().filter(
        ([, a]) =>
          a.Properties?.MetricName === 'Errors' &&
          JSON.stringify(a.Properties?.Dimensions) === JSON.stringify([{ Name: 'FunctionName', Value: ref(f.fn) }]),
      );
    for (const f of Object.values(fleet.stack.functions)) {
      if (f === fleet.stack.functions.commandStatus) continue;
      expect(errorAlarms(f), f.handlerName).toHaveLength(1);
      expect(errorAlarms(f)[0]?.[1].Properties).toMatchObject({ Namespace: 'AWS/Lambda', AlarmActions: [levelOne()] });
    }
    // A status event that comes before its command id is recorded is retried by failing (core/command-status.ts):
    // no page for that; what still fails after Lambda's retries reaches the function's queue, which is alarmed.
    const commandStatus = fleet.stack.functions.commandStatus;
    expect(errorAlarms(commandStatus)).toEqual([]);
    expect(commandStatus.deadLetterQueue).toBeDefined();
    expect(fleet.stack.monitoring.deadLetterAlarms.map((a) => a.node.scope)).toContain(commandStatus.deadLetterQueue);
  });

  it('draws the headline from metrics and per-target availability, latency and failures from the probe log', () => {
    const body = JSON.stringify(props(fleet.stack.monitoring.dashboard).DashboardBody);
    expect(body).toContain(`\\"${CONTROL_PLANE_METRICS.unhealthyTargets}\\",\\"service\\"`);
    for (const severity of ['P1', 'P2', 'P3']) expect(body).toContain(`\\"severity\\",\\"${severity}\\"`);
    // Logs Insights over the probe's own log group, filtered on the line the probe handler writes per target.
    expect(body).toContain(`"target-probed`.replace('target-probed', PROBE_RESULT_LOG.message));
    expect(body).toContain('filter message = ');
    expect(body).toContain(`pct(${PROBE_RESULT_LOG.fields.latencyMs}, 95)`);
    expect(body).toContain(logicalId(fleet.stack.functions.probe.logGroup));
  });

  it('uses one customer-managed key, every grant of it limited to the service it is for', () => {
    fleet.template.resourceCountIs('AWS::KMS::Key', 1);
    const key = logicalId(fleet.stack.key);
    const grants = Object.values(resourcesOfType(fleet.template, 'AWS::IAM::Policy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as Json[],
    );
    const ofKey = grants.filter((g) => JSON.stringify(g.Resource).includes(key));
    expect(ofKey.length).toBeGreaterThan(0);
    for (const grant of ofKey) expect(Object.keys(grant.Condition?.StringEquals ?? {})).toEqual(['kms:ViaService']);
  });

  it('draws the age of the newest good backup against backups.maxAge', () => {
    const body = JSON.stringify(props(fleet.stack.monitoring.dashboard).DashboardBody);
    expect(body).toContain(CONTROL_PLANE_METRICS.backupAgeHours);
    expect(body).toContain('\\"label\\":\\"maxAge\\"');
    expect(body).toContain(`\\"value\\":${(fleet.config.backups?.maxAge ?? 0) / 3_600_000}`);
  });
});

describe('operator API', () => {
  it('is a Function URL with AWS_IAM auth', () => {
    fleet.template.hasResourceProperties('AWS::Lambda::Url', {
      AuthType: 'AWS_IAM',
      TargetFunctionArn: arnOf(fleet.stack.functions.operatorApi.fn),
    });
  });

  it('has an OperatorAccess managed policy that invokes that function only through its URL, and runs the runbooks', () => {
    const fn = arnOf(fleet.stack.functions.operatorApi.fn);
    expect(props(fleet.stack.operatorAccess).PolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: 'lambda:InvokeFunctionUrl',
          Resource: fn,
          Condition: { StringEquals: { 'lambda:FunctionUrlAuthType': 'AWS_IAM' } },
        },
        {
          Effect: 'Allow',
          Action: 'lambda:InvokeFunction',
          Resource: fn,
          Condition: { Bool: { 'lambda:InvokedViaFunctionUrl': 'true' } },
        },
        // The Automation runbooks: start them, follow their executions, pass their role to SSM (automation-runbooks.test.ts).
        ...fleet.stack.automationRunbooks.operatorStatements().map((s) => fleet.stack.resolve(s.toStatementJson())),
      ],
    });
  });

  it('outputs the table, bus, topics, bucket, operator URL, access policy and backup host policy', () => {
    const outputs = Object.keys(fleet.template.toJSON().Outputs);
    expect(outputs).toEqual(
      expect.arrayContaining([
        'ControlTableName',
        'EventBusName',
        ...fleet.config.escalation.levels.map((l) => `EscalationTopicLevel${l.level}`),
        'ArtifactBucketName',
        'OperatorApiUrl',
        'OperatorAccessPolicyArn',
        'FleetHostAccessPolicyArn',
        'BackupHostAccessPolicyArn',
      ]),
    );
  });
});

describe('backup host access', () => {
  it('is a managed policy for the database host: the backup prefix, the key through S3, and the command log group', () => {
    const policy = fleet.stack.backupHostAccess;
    if (!policy) throw new Error('no BackupHostAccess policy');
    const { bucket, key } = fleet.stack.artifacts;
    const prefix = fleet.config.backups?.s3Prefix;
    const p = props(policy);
    // Named by CloudFormation (IAM names are account-wide); the stack output gives its ARN.
    expect(p.ManagedPolicyName).toBeUndefined();
    expect(p.Roles ?? []).toEqual([]);
    expect(p.PolicyDocument.Statement).toEqual([
      {
        Sid: 'ListBackupPrefix',
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: arnOf(bucket),
        Condition: { StringLike: { 's3:prefix': [`${prefix}*`] } },
      },
      {
        Sid: 'BackupObjects',
        Effect: 'Allow',
        Action: ['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:GetObject', 's3:PutObject'],
        Resource: { 'Fn::Join': ['', [arnOf(bucket), `/${prefix}*`]] },
      },
      {
        Sid: 'BackupKeyViaS3',
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: arnOf(key),
        Condition: {
          StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['s3.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
        },
      },
      {
        Sid: 'CommandOutput',
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents'],
        Resource: expect.objectContaining({ 'Fn::GetAtt': [expect.stringMatching(/^CommandOutput/), 'Arn'] }),
      },
      { Sid: 'ReadDatabaseSecrets', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: SECRET_ARN },
      {
        Sid: 'ConfigArchiveObjects',
        Effect: 'Allow',
        Action: 's3:PutObject',
        Resource: { 'Fn::Join': ['', [arnOf(bucket), `/${fleet.config.backups?.configArchive?.s3Prefix}*`]] },
      },
    ]);
    expect(fleet.config.backups?.configArchive?.s3Prefix).toBe('config-archives/');
    expect(fleet.template.toJSON().Outputs.BackupHostAccessPolicyArn.Value).toEqual(ref(policy));
  });
});

describe("the drill's report object", () => {
  /** The S3 object keys of the backup bucket a statement grants `action` on, as a pattern (`*` any characters). */
  function grants(statements: Json[], action: string, key: string): boolean {
    const bucket = logicalId(fleet.stack.artifacts.bucket);
    return statements.some((s) => {
      if (s.Effect !== 'Allow' || ![s.Action].flat().includes(action)) return false;
      return [s.Resource].flat().some((r: Json) => {
        const parts = r?.['Fn::Join']?.[1];
        if (!Array.isArray(parts) || parts[0]?.['Fn::GetAtt']?.[0] !== bucket || typeof parts[1] !== 'string')
          return false;
        const glob = parts[1]
          .replace(/^\//, '')
          .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
          .replace(/\*/g, '.*');
        return new RegExp(`^${glob}$`).test(key);
      });
    });
  }

  it('may be written by the database host and read and deleted by the backups Lambda, next to the backups', () => {
    const { backups } = fleet.config;
    if (!backups || !fleet.stack.backupHostAccess) throw new Error('no backups');
    // The key the drill document is given (drillCommandParameters), relative to the bucket.
    const location = drillCommandParameters(
      fleet.config,
      { dumpKey: 'acgs_pgp_db-20261201T020000Z.dump', sha256: 'c'.repeat(64), tableDataEntries: 1 },
      { bucket: 'bucket', reportKey: `acgs_pgp_db-20261201T020000Z-20261207T030000000Z${DRILL_REPORT_SUFFIX}` },
    ).ReportLocation;
    const key = location?.replace(/^s3:\/\/bucket\//, '') ?? '';
    expect(key.startsWith(backups.s3Prefix)).toBe(true);
    const host = props(fleet.stack.backupHostAccess).PolicyDocument.Statement as Json[];
    const lambda = props(backupsFunction().role.node.findChild('DefaultPolicy')).PolicyDocument.Statement as Json[];
    expect(grants(host, 's3:PutObject', key)).toBe(true);
    expect(grants(lambda, 's3:GetObject', key)).toBe(true);
    expect(grants(lambda, 's3:DeleteObject', key)).toBe(true);
    // and nothing outside the prefix
    expect(grants(host, 's3:PutObject', `elsewhere/${key}`)).toBe(false);
  });
});

describe('fleet host access', () => {
  it("is a managed policy for every fleet host, named by CloudFormation: the SSM Agent's core and the command log group", () => {
    const policy = fleet.stack.fleetHostAccess;
    const p = props(policy);
    expect(p.ManagedPolicyName).toBeUndefined();
    expect(p.Roles ?? []).toEqual([]);
    expect(p.PolicyDocument.Statement).toEqual([
      {
        Sid: 'SsmAgentCore',
        Effect: 'Allow',
        Action: [
          'ssm:DescribeAssociation',
          'ssm:DescribeDocument',
          'ssm:GetDocument',
          'ssm:ListAssociations',
          'ssm:ListInstanceAssociations',
          'ssm:UpdateAssociationStatus',
          'ssm:UpdateInstanceAssociationStatus',
          'ssm:UpdateInstanceInformation',
        ],
        Resource: '*',
      },
      {
        Sid: 'SsmAgentMessages',
        Effect: 'Allow',
        Action: [
          'ec2messages:AcknowledgeMessage',
          'ec2messages:DeleteMessage',
          'ec2messages:FailMessage',
          'ec2messages:GetEndpoint',
          'ec2messages:GetMessages',
          'ec2messages:SendReply',
          'ssmmessages:CreateControlChannel',
          'ssmmessages:CreateDataChannel',
          'ssmmessages:OpenControlChannel',
          'ssmmessages:OpenDataChannel',
        ],
        Resource: '*',
      },
      {
        Sid: 'CommandOutput',
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents'],
        Resource: expect.objectContaining({ 'Fn::GetAtt': [expect.stringMatching(/^CommandOutput/), 'Arn'] }),
      },
      {
        Sid: 'FindCommandOutputGroup',
        Effect: 'Allow',
        Action: 'logs:DescribeLogGroups',
        Resource: {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':logs:',
              { Ref: 'AWS::Region' },
              ':',
              { Ref: 'AWS::AccountId' },
              ':log-group:*',
            ],
          ],
        },
      },
    ]);
    expect(fleet.template.toJSON().Outputs.FleetHostAccessPolicyArn.Value).toEqual(ref(policy));
  });

  it('writes command output to the very log group the Lambdas name in SendCommand', () => {
    const group = props(fleet.stack.functions.probe.fn).Environment.Variables.ACGS_COMMAND_LOG_GROUP;
    const statement = props(fleet.stack.fleetHostAccess).PolicyDocument.Statement.find(
      (s: Json) => s.Sid === 'CommandOutput',
    );
    expect(statement.Resource['Fn::GetAtt'][0]).toBe(group.Ref);
  });

  it('grants no parameter read, no SendCommand and no secret until a secret is granted to the hosts', () => {
    const actions = props(fleet.stack.fleetHostAccess).PolicyDocument.Statement.flatMap((s: Json) => [s.Action].flat());
    expect(actions.filter((a: string) => /^ssm:(GetParameter|SendCommand)|^secretsmanager:|^kms:/.test(a))).toEqual([]);
  });
});

/** The secret config/acgs-1.yaml names for its postgres check, as the stack grants it: that name, any 6-char suffix. */
const SECRET_ARN = {
  'Fn::Join': [
    '',
    [
      'arn:',
      { Ref: 'AWS::Partition' },
      ':secretsmanager:',
      { Ref: 'AWS::Region' },
      ':',
      { Ref: 'AWS::AccountId' },
      ':secret:acgs-1/postgres-??????',
    ],
  ],
};

describe('database secrets', () => {
  it('lets the probe (and the database host, above) read exactly the secret the postgres check names; no other Lambda', () => {
    const readers = statements().filter(({ statement }) =>
      actionsOf(statement).includes('secretsmanager:GetSecretValue'),
    );
    const hostPolicy = fleet.stack.backupHostAccess;
    if (!hostPolicy) throw new Error('no BackupHostAccess policy');
    expect(readers.map(({ policy }) => policy).sort()).toEqual(
      [defaultPolicyOf(fleet.stack.functions.probe), logicalId(hostPolicy)].sort(),
    );
    for (const { statement } of readers)
      expect(statement).toEqual({
        Sid: 'ReadDatabaseSecrets',
        Effect: 'Allow',
        Action: 'secretsmanager:GetSecretValue',
        Resource: SECRET_ARN,
      });
  });

  it('puts no secret value and no password variable in any Lambda environment', () => {
    const environments = Object.values(resourcesOfType(fleet.template, 'AWS::Lambda::Function')).map(
      (f) => f.Properties?.Environment?.Variables ?? {},
    );
    for (const variables of environments) {
      expect(Object.keys(variables).filter((k) => /PASSWORD|SECRET|TOKEN/i.test(k))).toEqual([]);
    }
  });
});

describe('snapshot', () => {
  it('synthesizes the ACGS-1 control plane as reviewed (asset hashes and document bodies masked)', () => {
    expect.addSnapshotSerializer(maskedTemplateSerializer);
    expect(fleet.template.toJSON()).toMatchSnapshot();
  });

  it('masks asset hashes, so a code change alone does not change the snapshot', () => {
    const code = JSON.stringify(
      Object.values(resourcesOfType(fleet.template, 'AWS::Lambda::Function')).map((f) => f.Properties.Code),
    );
    expect(code).toMatch(/[0-9a-f]{64}/);
    const masked = JSON.stringify(maskTemplate(fleet.template.toJSON()));
    expect(masked).not.toMatch(/[0-9a-f]{64}/);
    expect(masked).toContain('[ASSET HASH]');
  });
});

describeStackChecks(() => fleet.synth, { cfnLint: true });

function files(): string[] {
  return readdirSync(join(REPOSITORY_ROOT, 'ssm-documents')).filter((f) => f.endsWith('.yaml'));
}
