import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BACKUP_DOCUMENT,
  CONFIG_ARCHIVE_DOCUMENT,
  DRILL_DOCUMENT,
  PITR_RESTORE_DOCUMENT,
  RESTORE_DOCUMENT,
  WAL_ARCHIVING_DOCUMENT,
} from '../../lambdas/core/document-names.ts';
import { CONTROL_PLANE_METRICS } from '../../lambdas/core/metrics.ts';
import type { ControlPlaneFunction } from '../../lib/constructs/control-plane-function.ts';
import { describeStackChecks } from '../support/stack-checks.ts';
import { ACGS_CONFIG, type Json, logicalId, useSynthesizedStack } from '../support/synth-stack.ts';

/**
 * WAL archiving in the stack: with `backups.archiving`, the weekly base backup and the canary are EventBridge
 * Scheduler schedules of the backups Lambda (tasks base-backup, canary), which may send acgs-wal-archiving to the
 * database host; with `schedules.pitrDrill`, the point-in-time restore drill (task pitr-drill, acgs-pitr-restore); with `schedules.configArchive`, the daily configuration archive (task config-archive, acgs-config-
 * archive) too, and nothing else new. The operator API may send acgs-wal-archiving and acgs-pitr-restore there too.
 * The archive lag is on the dashboard beside recovery.rpo, and alarmed above it. The shipped config (no archiving,
 * no configArchive schedule) gets none of it (control-plane-stack.test.ts and its snapshot).
 */
const HOST = 'i-0123456789abcdef0';
const WAL_PREFIX = 'wal-archive/';
const dir = mkdtempSync(join(tmpdir(), 'acgs-archiving-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const fleet = useSynthesizedStack(() => {
  const original = readFileSync(ACGS_CONFIG, 'utf8');
  const text = original.replace(
    '  database: postgresql\n',
    `  database: postgresql\n  instanceId: ${HOST}\n  archiving: { directory: /var/backups/acgs-ops-archive, s3Prefix: ${WAL_PREFIX} }\n`,
  );
  const withSchedules = text
    .replace(
      '  drill: { cron: "0 4 * * 1" }\n',
      '  drill: { cron: "0 4 * * 1" }\n  canary: { every: 1m }\n  pitrDrill: { cron: "0 5 * * 0" }\n',
    )
    .replace('  rpo: 15m\n', '  rpo: 2m\n');
  if (
    text === original ||
    withSchedules.split('\n').length !== text.split('\n').length + 2 ||
    !withSchedules.includes('  configArchive: { cron: "30 2 * * *" }\n') ||
    !withSchedules.includes('rpo: 2m')
  )
    throw new Error('the variant did not change what it should');
  const path = join(dir, 'archiving.yaml');
  writeFileSync(path, withSchedules);
  return path;
});

/** The two SendCommand statements of a Lambda's policy: the documents, then the instances. */
function sendCommandStatements(f: ControlPlaneFunction | undefined, sidPrefix = ''): Json[] {
  if (!f) throw new Error('no such Lambda');
  const statements = fleet.props(f.role.node.findChild('DefaultPolicy')).PolicyDocument.Statement as Json[];
  return ['RunOwnDocuments', 'OnFleetInstancesOnly'].map((sid) =>
    statements.find((s) => s.Sid === `${sidPrefix}${sid}`),
  );
}

/** The documents a RunOwnDocuments statement names (the end of each ARN), sorted. */
function documentsOf(statement: Json | undefined): string[] {
  return ([statement?.Resource].flat() as Json[])
    .map((arn) => String(arn['Fn::Join'][1].at(-1)).split('/').pop() ?? '')
    .sort();
}

function backupsLambda(): ControlPlaneFunction {
  const backups = fleet.stack.functions.backups;
  if (!backups) throw new Error('no backups Lambda');
  return backups;
}

const named = (...keys: string[]) => keys.map((k) => `acgs-1-ops-control-plane-${k}`).sort();

describe('a fleet with backups.archiving', () => {
  it('schedules the base backup weekly (Sundays 01:00 in the fleet zone) on the backups Lambda, task base-backup', () => {
    const schedule = fleet.stack.schedules.schedules.get('baseBackup');
    if (!schedule) throw new Error('no baseBackup schedule');
    const props = fleet.props(schedule);
    expect(props.ScheduleExpression).toBe('cron(0 1 ? * 1 *)');
    expect(props.ScheduleExpressionTimezone).toBe('UTC');
    const backups = fleet.stack.functions.backups;
    if (!backups) throw new Error('no backups Lambda');
    expect(props.Target.Arn).toEqual({ 'Fn::GetAtt': [logicalId(backups.fn), 'Arn'] });
    expect(JSON.parse(props.Target.Input)).toEqual({ task: 'base-backup' });
    expect(props.Target.RetryPolicy).toBeDefined();
    expect(props.Target.DeadLetterConfig).toBeDefined();
  });

  it('schedules the canary on the backups Lambda, task canary, at schedules.canary', () => {
    const schedule = fleet.stack.schedules.schedules.get('canary');
    if (!schedule) throw new Error('no canary schedule');
    const props = fleet.props(schedule);
    expect(props.ScheduleExpression).toBe('rate(1 minute)');
    expect(props.Target.Arn).toEqual({ 'Fn::GetAtt': [logicalId(backupsLambda().fn), 'Arn'] });
    expect(JSON.parse(props.Target.Input)).toEqual({ task: 'canary' });
    expect(props.Target.RetryPolicy).toBeDefined();
    expect(props.Target.DeadLetterConfig).toBeDefined();
  });

  it('schedules the configuration archive daily at 02:30 on the backups Lambda, task config-archive', () => {
    const schedule = fleet.stack.schedules.schedules.get('configArchive');
    if (!schedule) throw new Error('no configArchive schedule');
    const props = fleet.props(schedule);
    expect(props.ScheduleExpression).toBe('cron(30 2 * * ? *)');
    expect(props.ScheduleExpressionTimezone).toBe('UTC');
    expect(props.Target.Arn).toEqual({ 'Fn::GetAtt': [logicalId(backupsLambda().fn), 'Arn'] });
    expect(JSON.parse(props.Target.Input)).toEqual({ task: 'config-archive' });
    expect(props.Target.RetryPolicy).toBeDefined();
    expect(props.Target.DeadLetterConfig).toBeDefined();
  });

  it('schedules the point-in-time restore drill on the backups Lambda, task pitr-drill, at schedules.pitrDrill', () => {
    const schedule = fleet.stack.schedules.schedules.get('pitrDrill');
    if (!schedule) throw new Error('no pitrDrill schedule');
    const props = fleet.props(schedule);
    expect(props.ScheduleExpression).toBe('cron(0 5 ? * 1 *)');
    expect(props.Target.Arn).toEqual({ 'Fn::GetAtt': [logicalId(backupsLambda().fn), 'Arn'] });
    expect(JSON.parse(props.Target.Input)).toEqual({ task: 'pitr-drill' });
    expect(props.Target.RetryPolicy).toBeDefined();
    expect(props.Target.DeadLetterConfig).toBeDefined();
    // The drill waits for the restore: the Lambda's 15 minutes bound it (the handler cuts TimeoutSeconds to them).
    expect(fleet.props(backupsLambda().fn).Timeout).toBe(900);
  });

  it('lets the backups Lambda send acgs-wal-archiving, acgs-pitr-restore (schedules.pitrDrill) and acgs-config-archive, beside the backup and drill documents, to the database host only', () => {
    const stack = Stack.of(fleet.stack);
    const [documents, instances] = sendCommandStatements(fleet.stack.functions.backups);
    expect(documentsOf(documents)).toEqual(
      named(BACKUP_DOCUMENT, DRILL_DOCUMENT, WAL_ARCHIVING_DOCUMENT, PITR_RESTORE_DOCUMENT, CONFIG_ARCHIVE_DOCUMENT),
    );
    expect(instances?.Resource).toEqual(
      stack.resolve(stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: HOST })),
    );
  });

  it('lets the operator API send the archiving and point-in-time restore documents to the database host only', () => {
    const stack = Stack.of(fleet.stack);
    const [documents, instances] = sendCommandStatements(fleet.stack.functions.operatorApi, 'Backup');
    expect(documentsOf(documents)).toEqual(
      named(BACKUP_DOCUMENT, DRILL_DOCUMENT, RESTORE_DOCUMENT, WAL_ARCHIVING_DOCUMENT, PITR_RESTORE_DOCUMENT),
    );
    expect(instances?.Resource).toEqual(
      stack.resolve(stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: HOST })),
    );
  });

  it('lets the database host put and get objects under archiving.s3Prefix and list that prefix only, with the key through S3', () => {
    const policy = fleet.stack.backupHostAccess;
    if (!policy) throw new Error('no BackupHostAccess policy');
    const bucket = { 'Fn::GetAtt': [logicalId(fleet.stack.artifacts.bucket), 'Arn'] };
    const statements = fleet.props(policy).PolicyDocument.Statement as Json[];
    expect(statements.filter((s) => String(s.Sid).includes('WalArchive'))).toEqual([
      {
        Sid: 'ListWalArchivePrefix',
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: bucket,
        Condition: { StringLike: { 's3:prefix': [`${WAL_PREFIX}*`] } },
      },
      {
        Sid: 'WalArchiveObjects',
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:PutObject'],
        Resource: { 'Fn::Join': ['', [bucket, `/${WAL_PREFIX}*`]] },
      },
    ]);
    // The key the archive script names (SSE-KMS), usable only through S3: the backups' own statement.
    expect(statements.find((s) => s.Sid === 'BackupKeyViaS3')?.Action).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
  });
});

describe('the archive lag', () => {
  it('alarms level 1 when the lag exceeds recovery.rpo (120 s here), missing data (no monitor run) breaching', () => {
    const alarm = fleet.stack.monitoring.archiveLagAlarm;
    if (!alarm) throw new Error('no archive-lag alarm');
    const props = fleet.props(alarm);
    expect(props).toMatchObject({
      Namespace: CONTROL_PLANE_METRICS.namespace,
      MetricName: CONTROL_PLANE_METRICS.archiveLagSeconds,
      Dimensions: [{ Name: CONTROL_PLANE_METRICS.dimensions.service, Value: 'acgs-1-control-plane' }],
      Statistic: 'Maximum',
      Period: 7_200,
      EvaluationPeriods: 1,
      Threshold: 120,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'breaching',
    });
    const topic = { Ref: logicalId(fleet.stack.escalation.topic(1)) };
    expect(props.AlarmActions).toEqual([topic]);
    expect(props.OKActions).toEqual([topic]);
  });

  it('draws the lag beside recovery.rpo on the dashboard', () => {
    const body = JSON.stringify(fleet.props(fleet.stack.monitoring.dashboard).DashboardBody);
    expect(body).toContain('WAL archive lag, the current RPO (s)');
    expect(body).toContain(`\\"${CONTROL_PLANE_METRICS.archiveLagSeconds}\\",\\"service\\"`);
    expect(body).toContain('{\\"value\\":120,\\"label\\":\\"recovery.rpo\\"');
  });
});

describeStackChecks(() => fleet.synth, { context: 'archiving configured' });
