import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../../lambdas/adapters/aws/s3-object-store.ts';
import { createAwsRuntime } from '../../../lambdas/handlers/aws-runtime.ts';
import { withIncidentReports } from '../../../lambdas/handlers/incident-report-store.ts';
import { loadShippedConfig, ManualClock } from '../../support/harness.ts';

const ENV = {
  ACGS_TABLE_NAME: 'table',
  ACGS_EVENT_BUS_NAME: 'bus',
  ACGS_TOPIC_ARNS: '{"1":"arn:aws:sns:us-east-1:123456789012:level-1"}',
  ACGS_DOCUMENT_NAMES: '{}',
  ACGS_COMMAND_LOG_GROUP: 'commands',
  POWERTOOLS_SERVICE_NAME: 'acgs-1-control-plane',
  POWERTOOLS_METRICS_NAMESPACE: 'ACGS/OpsControlPlane',
};

function runtime(env: Record<string, string>) {
  const region = { region: 'us-east-1' };
  return createAwsRuntime(
    loadShippedConfig(),
    { ...ENV, ...env },
    {
      dynamodb: new DynamoDBClient(region),
      sns: new SNSClient(region),
      ssm: new SSMClient(region),
      events: new EventBridgeClient(region),
    },
    new ManualClock(),
  );
}

describe('withIncidentReports', () => {
  it('gives the context a store on the bucket the stack names', () => {
    // Act
    const wired = withIncidentReports(
      runtime({ ACGS_REPORT_BUCKET: 'artifacts' }),
      new S3Client({ region: 'us-east-1' }),
    );
    // Assess
    expect(wired.ctx.reports).toBeInstanceOf(S3ObjectStore);
  });

  it('leaves the runtime as it is when no bucket is named', () => {
    // Prepare
    const plain = runtime({});
    // Act + Assess
    expect(withIncidentReports(plain)).toBe(plain);
    expect(plain.ctx.reports).toBeUndefined();
  });
});
