import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createAwsRuntime,
  OPERATOR_BACKUP_WAIT_MS,
  withOperatorBackups,
} from '../../../lambdas/handlers/aws-runtime.ts';
import { loadShippedConfig, ManualClock } from '../../support/harness.ts';
import { UNUSED_DYNAMODB } from '../../support/unused-dynamodb.ts';

const ENV = {
  ACGS_TABLE_NAME: 'table',
  ACGS_EVENT_BUS_NAME: 'bus',
  ACGS_TOPIC_ARNS: '{"1":"arn:aws:sns:us-east-1:123456789012:level-1"}',
  ACGS_DOCUMENT_NAMES: '{}',
  ACGS_COMMAND_LOG_GROUP: 'commands',
  POWERTOOLS_SERVICE_NAME: 'acgs-1-control-plane',
  POWERTOOLS_METRICS_NAMESPACE: 'ACGS/OpsControlPlane',
};

afterEach(() => {
  vi.restoreAllMocks();
});

describe('AWS runtime log', () => {
  it("keeps a use-case's fields named like a Powertools reserved key (service, level), renamed, where Powertools drops them", () => {
    // Prepare: what Powertools writes, line by line
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    const region = { region: 'us-east-1' };
    const runtime = createAwsRuntime(
      loadShippedConfig(),
      ENV,
      {
        dynamodb: UNUSED_DYNAMODB,
        sns: new SNSClient(region),
        ssm: new SSMClient(region),
        events: new EventBridgeClient(region),
      },
      new ManualClock(),
    );
    // Act
    runtime.ctx.log('restart-requested', { incidentId: 'INC-1', service: 'auth' });
    runtime.ctx.log('page-failed', { incidentId: 'INC-1', level: 2, error: 'throttled' });
    // Assess
    const entries = lines
      .flatMap((l) => l.split('\n'))
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    expect(entries.map((e) => e.message)).toEqual(['restart-requested', 'page-failed']);
    expect(entries[0]).toMatchObject({ service: 'acgs-1-control-plane', incidentId: 'INC-1', acgs_service: 'auth' });
    expect(entries[1]).toMatchObject({ level: 'INFO', incidentId: 'INC-1', acgs_level: 2, error: 'throttled' });
  });
});

describe('withOperatorBackups', () => {
  const region = { region: 'us-east-1' };
  const runtimeWith = (env: Record<string, string>, config = loadShippedConfig()) =>
    createAwsRuntime(
      config,
      { ...ENV, ...env },
      {
        dynamodb: UNUSED_DYNAMODB,
        sns: new SNSClient(region),
        ssm: new SSMClient(region),
        events: new EventBridgeClient(region),
      },
      new ManualClock(),
    );

  it('gives the operator context the backup bucket, its key, a dispatching runner and the wait bound', () => {
    // Prepare
    const runtime = runtimeWith({ ACGS_BACKUP_BUCKET: 'artifacts', ACGS_BACKUP_KMS_KEY: 'arn:aws:kms:key' });
    // Act
    const wired = withOperatorBackups(runtime);
    // Assess
    expect(wired.ctx.backups).toMatchObject({
      bucket: 'artifacts',
      kmsKeyId: 'arn:aws:kms:key',
      waitBudgetMs: OPERATOR_BACKUP_WAIT_MS,
    });
    expect(wired.ctx.backups?.dispatch).toBeDefined();
    expect(wired.ctx.backups?.objects).toBeDefined();
    expect(runtime.ctx.backups).toBeUndefined();
  });

  it('leaves a runtime without a backup bucket, or a fleet without backups, as it is', () => {
    // Prepare
    const noBucket = runtimeWith({});
    const { backups: _none, ...withoutBackups } = loadShippedConfig();
    const noBackups = runtimeWith({ ACGS_BACKUP_BUCKET: 'artifacts' }, withoutBackups);
    // Act / Assess
    expect(withOperatorBackups(noBucket)).toBe(noBucket);
    expect(withOperatorBackups(noBackups)).toBe(noBackups);
  });
});
