import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseFleetConfig } from '../../lambdas/core/config.ts';
import type { FleetConfig } from '../../lambdas/core/config-schema.ts';
import { CONTROL_TABLE_SCHEMA } from '../../lambdas/core/control-table.ts';
import { BACKUP_DOCUMENT, DRILL_DOCUMENT } from '../../lambdas/core/document-names.ts';
import { DETAIL_TYPE, EVENT_SOURCE } from '../../lambdas/core/events.ts';
import { handlerEnvironmentSchema } from '../../lambdas/core/handler-environment.ts';
import { CONTROL_PLANE_METRICS, controlPlaneServiceName } from '../../lambdas/core/metrics.ts';
import { type ScheduleName, toScheduler } from '../../lambdas/core/schedules.ts';
import type { ControlPlaneFunction } from '../../lib/constructs/control-plane-function.ts';
import { contactEmails } from '../../lib/constructs/notifications.ts';
import { logRetention } from '../../lib/retention.ts';
import { clamp, schedulePeriodSeconds } from '../../lib/schedule-period.ts';
import { maskedTemplateSerializer, maskTemplate } from './support/mask-template.ts';
import { cdkNagChecks, cfnLintCheck } from './support/shared-checks.ts';
import {
  ACGS_CONFIG,
  type Json,
  logicalId,
  propsOf,
  REPOSITORY_ROOT,
  type Resource,
  resourcesOfType,
  type Synthesized,
  synthesize,
} from './support/synth.ts';

let synth: Synthesized;
let config: FleetConfig;
let resources: Record<string, Resource>;

// One synth for the whole file: every describe below reads the same template.
beforeAll(() => {
  const parsed = parseFleetConfig(readFileSync(ACGS_CONFIG, 'utf8'));
  if (!parsed.ok) throw new Error('config/acgs-1.yaml must be valid');
  config = parsed.config;
  synth = synthesize(ACGS_CONFIG);
  resources = synth.template.toJSON().Resources;
}, 120_000);

afterAll(() => synth?.dispose());

const props = (construct: Parameters<typeof logicalId>[0]): Json => propsOf(synth.template, construct);

const ref = (construct: Parameters<typeof logicalId>[0]) => ({ Ref: logicalId(construct) });
const arnOf = (construct: Parameters<typeof logicalId>[0]) => ({ 'Fn::GetAtt': [logicalId(construct), 'Arn'] });

/** Every statement of every IAM policy (inline and managed) in the template, with the policy's logical id. */
function statements(): { policy: string; statement: Record<string, unknown> }[] {
  return Object.entries(resources)
    .filter(([, r]) => r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy')
    .flatMap(([policy, r]) =>
      ((r.Properties as Json).PolicyDocument.Statement as Record<string, unknown>[]).map((statement) => ({
        policy,
        statement,
      })),
    );
}
const actionsOf = (s: Record<string, unknown>) => [s.Action].flat() as string[];

/** The backups Lambda (config/acgs-1.yaml has a backups section, so it must exist). */
function backupsFunction(): ControlPlaneFunction {
  const f = synth.stack.functions.backups;
  if (!f) throw new Error('no backups Lambda');
  return f;
}

/** The Lambda a schedule runs: the backup schedules all run the backups Lambda. */
function functionOf(name: ScheduleName): ControlPlaneFunction {
  return name === 'probe' || name === 'escalationSweep' ? synth.stack.functions[name] : backupsFunction();
}

const defaultPolicyOf = (f: ControlPlaneFunction) => logicalId(f.role.node.findChild('DefaultPolicy'));

/** Environment variables only the backups Lambda gets. */
const BACKUP_ONLY_ENV = ['ACGS_BACKUP_BUCKET', 'ACGS_BACKUP_KMS_KEY', 'ACGS_BACKUP_INSTANCE_ID'];

describe('schedules', () => {
  it('deploys every schedule of the config: probe, sweep, and the four backup schedules (drill: backups.drill is set)', () => {
    expect([...synth.stack.schedules.schedules.keys()].sort()).toEqual(
      ['backup', 'backupMonitor', 'cleanup', 'drill', 'escalationSweep', 'probe'].sort(),
    );
    synth.template.resourceCountIs('AWS::Scheduler::Schedule', 6);
  });

  it.each([
    ['backup', 'backup'],
    ['backupMonitor', 'monitor'],
    ['cleanup', 'retention'],
    ['drill', 'drill'],
  ] as const)(
    'runs %s on its config expression and time zone, sending the backups Lambda {"task": "%s"}, with retries and a DLQ',
    (name, task) => {
      const declared = config.schedules[name];
      if (!declared) throw new Error(`config/acgs-1.yaml has no ${name} schedule`);
      const expected = toScheduler(declared, config.schedules.timeZone);
      const schedule = synth.stack.schedules.schedules.get(name);
      if (!schedule) throw new Error(`no ${name} schedule`);
      const p = props(schedule);
      expect(p.ScheduleExpression).toBe(expected.expression);
      expect(p.ScheduleExpressionTimezone).toBe(expected.timezone);
      expect(p.FlexibleTimeWindow).toEqual({ Mode: 'OFF' });
      expect(JSON.parse(p.Target.Input)).toEqual({ task });
      expect(p.Target.Arn).toEqual(arnOf(backupsFunction().fn));
      expect(p.Target.RetryPolicy.MaximumRetryAttempts).toBeGreaterThan(0);
      expect(p.Target.RetryPolicy.MaximumEventAgeInSeconds).toBe(
        clamp(schedulePeriodSeconds(declared, config.schedules.timeZone), 60, 86_400),
      );
      const dlq = p.Target.DeadLetterConfig.Arn['Fn::GetAtt'][0];
      expect(resources[dlq]?.Type).toBe('AWS::SQS::Queue');
    },
  );

  it('spells the expressions of the shipped backup schedules as EventBridge wants them', () => {
    const expressionOf = (name: ScheduleName) => props(synth.stack.schedules.schedules.get(name) as never);
    expect(expressionOf('backup').ScheduleExpression).toBe('cron(0 2 * * ? *)');
    expect(expressionOf('backupMonitor').ScheduleExpression).toBe('cron(0 * * * ? *)');
    expect(expressionOf('cleanup').ScheduleExpression).toBe('cron(0 3 ? * 1 *)');
    expect(expressionOf('drill').ScheduleExpression).toBe('cron(0 4 ? * 2 *)');
  });

  it.each(['probe', 'escalationSweep'] as const)(
    'runs %s on the expression and time zone toScheduler derives from the config, on time, with retries and a DLQ',
    (name) => {
      const expected = toScheduler(config.schedules[name], config.schedules.timeZone);
      const schedule = synth.stack.schedules.schedules.get(name);
      if (!schedule) throw new Error(`no ${name} schedule`);
      const schedulePropsOf = props(schedule);
      expect(schedulePropsOf.ScheduleExpression).toBe(expected.expression);
      expect(schedulePropsOf.ScheduleExpressionTimezone).toBe(expected.timezone);
      expect(schedulePropsOf.FlexibleTimeWindow).toEqual({ Mode: 'OFF' });
      expect(schedulePropsOf.Target.RetryPolicy.MaximumRetryAttempts).toBeGreaterThan(0);
      expect(schedulePropsOf.Target.RetryPolicy.MaximumEventAgeInSeconds).toBe(60); // every 1m: one period
      const dlq = schedulePropsOf.Target.DeadLetterConfig.Arn['Fn::GetAtt'][0];
      expect(resources[dlq]?.Type).toBe('AWS::SQS::Queue');
      expect(schedulePropsOf.Target.Arn).toEqual(arnOf(synth.stack.functions[name].fn));
    },
  );

  it('gives each schedule a role that may only invoke its own Lambda and write to its own DLQ', () => {
    for (const [name, schedule] of synth.stack.schedules.schedules) {
      const target = props(schedule).Target;
      const role = target.RoleArn['Fn::GetAtt'][0];
      const granted = statements().filter(({ policy }) =>
        JSON.stringify(resources[policy]?.Properties?.Roles ?? []).includes(role),
      );
      expect(granted.map(({ statement }) => ({ actions: actionsOf(statement), resource: statement.Resource }))).toEqual(
        [
          { actions: ['lambda:InvokeFunction'], resource: arnOf(functionOf(name).fn) },
          { actions: ['sqs:SendMessage'], resource: target.DeadLetterConfig.Arn },
        ],
      );
      expect(resources[role]?.Properties?.AssumeRolePolicyDocument).toMatchObject({
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
    const table = resources[logicalId(synth.stack.state.table)];
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
      props(synth.stack.state.table).GlobalSecondaryIndexes.map((g: Json) => ({
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
    const { bucket, accessLogs, key } = synth.stack.artifacts;
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
      synth.template.hasResourceProperties('AWS::S3::BucketPolicy', {
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
    const rules = props(synth.stack.artifacts.bucket).LifecycleConfiguration.Rules;
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
  it('creates one KMS-encrypted, TLS-only topic per escalation level', () => {
    synth.template.resourceCountIs('AWS::SNS::Topic', config.escalation.levels.length);
    for (const level of config.escalation.levels) {
      const topic = synth.stack.escalation.topic(level.level);
      expect(props(topic)).toMatchObject({
        KmsMasterKeyId: arnOf(synth.stack.escalation.key),
      });
      synth.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
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
    const subscriptions = Object.values(resourcesOfType(synth.template, 'AWS::SNS::Subscription'));
    for (const level of config.escalation.levels) {
      const topic = ref(synth.stack.escalation.topic(level.level));
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
    const keyPolicy = props(synth.stack.escalation.key).KeyPolicy;
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

describe('runbooks', () => {
  const files = readdirSync(join(REPOSITORY_ROOT, 'ssm-documents')).filter((f) => f.endsWith('.yaml'));

  it('deploys every file of ssm-documents/ as a Command document named <stack>-<file>, updated by new versions', () => {
    synth.template.resourceCountIs('AWS::SSM::Document', files.length);
    for (const file of files) {
      const key = basename(file, '.yaml');
      synth.template.hasResourceProperties('AWS::SSM::Document', {
        Name: `${synth.stack.stackName}-${key}`,
        DocumentType: 'Command',
        UpdateMethod: 'NewVersion',
        Content: parse(readFileSync(join(REPOSITORY_ROOT, 'ssm-documents', file), 'utf8')),
      });
    }
  });
});

describe('least privilege', () => {
  const documentArn = (key: string) => {
    const stack = Stack.of(synth.stack);
    const name = synth.stack.runbooks.documentNames[key];
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
    StringEquals: { [`ssm:resourceTag/${config.aws.fleetTag.key}`]: config.aws.fleetTag.value },
  });
  const backupKeys = [BACKUP_DOCUMENT, DRILL_DOCUMENT];

  it('lets only the probe and the backups Lambda send commands', () => {
    const senders = statements()
      .filter(({ statement }) => actionsOf(statement).some((a) => a.startsWith('ssm:Send')))
      .map((s) => s.policy);
    expect(new Set(senders)).toEqual(
      new Set([defaultPolicyOf(synth.stack.functions.probe), defaultPolicyOf(backupsFunction())]),
    );
  });

  it('lets the probe send only the restart document, and only to fleet-tagged instances', () => {
    const stack = Stack.of(synth.stack);
    expect(files().map((f) => basename(f, '.yaml'))).toContain('acgs-restart-service');
    expect(sendCommandOf(synth.stack.functions.probe)).toEqual([
      expect.objectContaining({ Action: 'ssm:SendCommand', Resource: documentArn('acgs-restart-service') }),
      expect.objectContaining({
        Action: 'ssm:SendCommand',
        Resource: stack.resolve(stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' })),
        Condition: fleetTagCondition(),
      }),
    ]);
  });

  it('lets the backups Lambda send only the backup and drill documents, only to the fleet-tagged database host', () => {
    const stack = Stack.of(synth.stack);
    // config/acgs-1.yaml names no backups.instanceId: the host is the deploy-time parameter, an instance or a node.
    const host = synth.stack.backupInstanceParameter;
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
    const { bucket, key } = synth.stack.artifacts;
    const prefix = config.backups?.s3Prefix;
    const granted = statements()
      .filter(({ policy }) => policy === defaultPolicyOf(backupsFunction()))
      .map(({ statement }) => statement);
    const s3 = granted.filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')));
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
    const kms = granted.filter((s) => JSON.stringify(s.Resource) === JSON.stringify(arnOf(key)));
    expect(kms).toEqual([
      expect.objectContaining({
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Condition: {
          StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['s3.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
        },
      }),
    ]);
    // No other Lambda touches the backups.
    const bucketUsers = statements()
      .filter(({ statement }) => JSON.stringify(statement.Resource).includes(logicalId(bucket)))
      .map(({ policy }) => policy);
    expect(new Set(bucketUsers)).toEqual(
      new Set([defaultPolicyOf(backupsFunction()), logicalId(synth.stack.backupHostAccess as never)]),
    );
  });

  it('grants table access on the table and its named indexes only, with no wildcard actions anywhere', () => {
    for (const { statement } of statements()) {
      for (const action of actionsOf(statement)) expect(action).not.toMatch(/\*/);
      if (actionsOf(statement).some((a) => a.startsWith('dynamodb:'))) {
        expect(JSON.stringify(statement.Resource)).not.toMatch(/index\/\*/);
      }
    }
  });

  it('lets only the probe, the sweep, the operator API, the backups and the command-status Lambda page; only the probe and backups touch SSM', () => {
    const holders = (matches: (action: string) => boolean) =>
      new Set(
        statements()
          .filter(({ statement }) => actionsOf(statement).some(matches))
          .map(({ policy }) => policy),
      );
    const policyOf = (name: keyof typeof synth.stack.functions) =>
      defaultPolicyOf(name === 'backups' ? backupsFunction() : synth.stack.functions[name]);
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
    expect(holders((a) => a.startsWith('ssm:'))).toEqual(new Set([policyOf('probe'), policyOf('backups')]));
    expect(holders((a) => a === 'events:PutEvents').size).toBe(5);
    expect(holders((a) => a.startsWith('dynamodb:')).size).toBe(5);
  });
});

describe('Lambdas', () => {
  const names = ['probe', 'escalationSweep', 'commandStatus', 'operatorApi', 'backups'] as const;

  it.each(names)(
    '%s runs Node 22 on ARM64 with active tracing, its own log group and the handler environment',
    (name) => {
      const f = name === 'backups' ? backupsFunction() : synth.stack.functions[name];
      const fnProps = props(f.fn);
      expect(fnProps).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: { LogGroup: ref(f.logGroup) },
      });
      expect(props(f.logGroup).RetentionInDays).toBe(logRetention(config.aws.retentionDays));
      expect(Object.keys(fnProps.Environment.Variables).sort()).toEqual(
        [
          ...Object.keys(handlerEnvironmentSchema.shape).filter(
            (k) => name === 'backups' || !BACKUP_ONLY_ENV.includes(k),
          ),
          'NODE_OPTIONS',
        ].sort(),
      );
      expect(fnProps.Environment.Variables).toMatchObject({
        POWERTOOLS_SERVICE_NAME: controlPlaneServiceName(config.fleet.name),
        POWERTOOLS_METRICS_NAMESPACE: CONTROL_PLANE_METRICS.namespace,
        ACGS_DOCUMENT_NAMES: JSON.stringify(synth.stack.runbooks.documentNames),
      });
    },
  );

  it('reserves one concurrent run for the probe and the sweep, so cycles never overlap', () => {
    for (const name of ['probe', 'escalationSweep'] as const)
      expect(props(synth.stack.functions[name].fn).ReservedConcurrentExecutions).toBe(1);
  });

  it('runs the backups Lambda one task at a time for up to 15 minutes, with the backup bucket, key and host', () => {
    const f = backupsFunction();
    const p = props(f.fn);
    expect(p.Timeout).toBe(900);
    expect(p.ReservedConcurrentExecutions).toBe(1);
    expect(p.Environment.Variables).toMatchObject({
      ACGS_BACKUP_BUCKET: ref(synth.stack.artifacts.bucket),
      ACGS_BACKUP_KMS_KEY: arnOf(synth.stack.artifacts.key),
      ACGS_BACKUP_INSTANCE_ID: { Ref: 'BackupInstanceId' },
    });
    synth.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: ref(f.fn),
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 3600,
    });
  });

  it('asks for the database host at deploy time when the config names none (required, instance or node id)', () => {
    const parameters = synth.template.toJSON().Parameters;
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
      const f = name === 'backups' ? backupsFunction() : synth.stack.functions[name];
      if (!f.deadLetterQueue) throw new Error(`${name} has no dead-letter queue`);
      synth.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: ref(f.fn),
        DestinationConfig: { OnFailure: { Destination: arnOf(f.deadLetterQueue.queue) } },
      });
    }
  });

  it('puts the probe outside any VPC when the config has none', () => {
    expect(props(synth.stack.functions.probe.fn).VpcConfig).toBeUndefined();
  });
});

describe('events', () => {
  it('routes SSM command status changes of the restart and backup documents (not the drill) on the default bus to the command-status Lambda', () => {
    const rule = synth.stack.events.commandStatusRule;
    if (!rule) throw new Error('no command status rule');
    const ruleProps = props(rule);
    const { documentNames } = synth.stack.runbooks;
    expect(ruleProps.EventBusName).toBeUndefined();
    expect(ruleProps.EventPattern).toEqual({
      source: ['aws.ssm'],
      'detail-type': ['EC2 Command Status-change Notification'],
      detail: {
        'document-name': [documentNames['acgs-restart-service'], documentNames[BACKUP_DOCUMENT]],
      },
    });
    expect(documentNames[BACKUP_DOCUMENT]).toBe(`${synth.stack.stackName}-${BACKUP_DOCUMENT}`);
    expect(ruleProps.EventPattern.detail['document-name']).not.toContain(documentNames[DRILL_DOCUMENT]);
    expect(ruleProps.Targets).toEqual([
      expect.objectContaining({
        Arn: arnOf(synth.stack.functions.commandStatus.fn),
        DeadLetterConfig: { Arn: expect.anything() },
        RetryPolicy: { MaximumRetryAttempts: expect.any(Number), MaximumEventAgeInSeconds: expect.any(Number) },
      }),
    ]);
  });

  it('keeps every control-plane event in the audit trail log group', () => {
    const ruleProps = props(synth.stack.events.auditRule);
    expect(ruleProps.EventBusName).toEqual(ref(synth.stack.events.bus));
    expect(ruleProps.EventPattern).toEqual({ source: [EVENT_SOURCE], 'detail-type': Object.values(DETAIL_TYPE) });
    expect(JSON.stringify(ruleProps.Targets[0].Arn)).toContain(logicalId(synth.stack.events.auditLog));
    expect(ruleProps.Targets[0].DeadLetterConfig).toBeDefined();
    // The policy document is a Fn::Join (it names the log group's ARN), so look at it as text.
    const policies = Object.values(resourcesOfType(synth.template, 'AWS::Logs::ResourcePolicy')).map((p) =>
      JSON.stringify(p.Properties?.PolicyDocument),
    );
    expect(policies).toHaveLength(1);
    expect(policies[0]).toContain('events.amazonaws.com');
    expect(policies[0]).toContain('logs:PutLogEvents');
    expect(policies[0]).toContain(logicalId(synth.stack.events.auditLog));
  });

  it('names the bus after the fleet', () => {
    expect(props(synth.stack.events.bus).Name).toBe(`${config.fleet.name}-control-plane`);
  });
});

describe('watching the watcher', () => {
  const alarms = () => Object.entries(resourcesOfType(synth.template, 'AWS::CloudWatch::Alarm'));
  const levelOne = () => ref(synth.stack.escalation.topic(1));

  it('alarms when the probe heartbeat goes silent, treating missing data as breaching', () => {
    synth.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: CONTROL_PLANE_METRICS.namespace,
      MetricName: CONTROL_PLANE_METRICS.probeCycles,
      Dimensions: [{ Name: 'service', Value: controlPlaneServiceName(config.fleet.name) }],
      Statistic: 'Sum',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      TreatMissingData: 'breaching',
      AlarmActions: [levelOne()],
    });
  });

  it('has a messages-visible alarm to level 1 for every SQS queue in the stack', () => {
    const queues = Object.keys(resourcesOfType(synth.template, 'AWS::SQS::Queue'));
    // 7, plus the backups Lambda's and the four backup schedules' queues.
    expect(queues.length).toBe(12);
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

  it('has an Errors alarm to level 1 for every Lambda', () => {
    for (const f of Object.values(synth.stack.functions)) {
      synth.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: ref(f.fn) }],
        AlarmActions: [levelOne()],
      });
    }
  });

  it('draws availability and p95 latency of every service and open incidents by severity', () => {
    const body = JSON.stringify(props(synth.stack.monitoring.dashboard).DashboardBody);
    for (const service of config.services) {
      expect(body).toContain(`"${CONTROL_PLANE_METRICS.targetAvailability}\\",\\"service\\",\\"`);
      expect(body).toContain(`\\"target\\",\\"${service.name}\\"`);
    }
    expect(body).toContain(CONTROL_PLANE_METRICS.probeLatency);
    expect(body).toContain('\\"stat\\":\\"p95\\"');
    for (const severity of ['P1', 'P2', 'P3']) expect(body).toContain(`\\"severity\\",\\"${severity}\\"`);
  });

  it('draws the age of the newest good backup against backups.maxAge', () => {
    const body = JSON.stringify(props(synth.stack.monitoring.dashboard).DashboardBody);
    expect(body).toContain(CONTROL_PLANE_METRICS.backupAgeHours);
    expect(body).toContain('\\"label\\":\\"maxAge\\"');
    expect(body).toContain(`\\"value\\":${(config.backups?.maxAge ?? 0) / 3_600_000}`);
  });
});

describe('operator API', () => {
  it('is a Function URL with AWS_IAM auth', () => {
    synth.template.hasResourceProperties('AWS::Lambda::Url', {
      AuthType: 'AWS_IAM',
      TargetFunctionArn: arnOf(synth.stack.functions.operatorApi.fn),
    });
  });

  it('has an OperatorAccess managed policy that only invokes that function through its URL', () => {
    const fn = arnOf(synth.stack.functions.operatorApi.fn);
    expect(props(synth.stack.operatorAccess).PolicyDocument).toEqual({
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
      ],
    });
  });

  it('outputs the table, bus, topics, bucket, operator URL, access policy and backup host policy', () => {
    const outputs = Object.keys(synth.template.toJSON().Outputs);
    expect(outputs).toEqual(
      expect.arrayContaining([
        'ControlTableName',
        'EventBusName',
        ...config.escalation.levels.map((l) => `EscalationTopicLevel${l.level}`),
        'ArtifactBucketName',
        'OperatorApiUrl',
        'OperatorAccessPolicyArn',
        'BackupHostAccessPolicyArn',
      ]),
    );
  });
});

describe('backup host access', () => {
  it('is a managed policy for the database host: the backup prefix, the key through S3, and the command log group', () => {
    const policy = synth.stack.backupHostAccess;
    if (!policy) throw new Error('no BackupHostAccess policy');
    const { bucket, key } = synth.stack.artifacts;
    const prefix = config.backups?.s3Prefix;
    const p = props(policy);
    expect(p.ManagedPolicyName).toBe(`${synth.stack.stackName}-BackupHostAccess`);
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
    ]);
    expect(synth.template.toJSON().Outputs.BackupHostAccessPolicyArn.Value).toEqual(ref(policy));
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
    const hostPolicy = synth.stack.backupHostAccess;
    if (!hostPolicy) throw new Error('no BackupHostAccess policy');
    expect(readers.map(({ policy }) => policy).sort()).toEqual(
      [defaultPolicyOf(synth.stack.functions.probe), logicalId(hostPolicy)].sort(),
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
    const environments = Object.values(resourcesOfType(synth.template, 'AWS::Lambda::Function')).map(
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
    expect(synth.template.toJSON()).toMatchSnapshot();
  });

  it('masks asset hashes, so a code change alone does not change the snapshot', () => {
    const code = JSON.stringify(
      Object.values(resourcesOfType(synth.template, 'AWS::Lambda::Function')).map((f) => f.Properties.Code),
    );
    expect(code).toMatch(/[0-9a-f]{64}/);
    const masked = JSON.stringify(maskTemplate(synth.template.toJSON()));
    expect(masked).not.toMatch(/[0-9a-f]{64}/);
    expect(masked).toContain('[ASSET HASH]');
  });
});

describe('cdk-nag (AwsSolutions)', () => cdkNagChecks(() => synth));
describe('cfn-lint', () => cfnLintCheck(() => synth));

function files(): string[] {
  return readdirSync(join(REPOSITORY_ROOT, 'ssm-documents')).filter((f) => f.endsWith('.yaml'));
}
