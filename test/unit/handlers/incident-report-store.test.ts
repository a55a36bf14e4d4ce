import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import { S3HttpClient, type S3PutRequest } from '../../../lambdas/adapters/aws/s3-http.ts';
import { createAwsRuntime } from '../../../lambdas/handlers/aws-runtime.ts';
import { withIncidentReports } from '../../../lambdas/handlers/incident-report-store.ts';
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

function runtime(env: Record<string, string>) {
  const region = { region: 'us-east-1' };
  return createAwsRuntime(
    loadShippedConfig(),
    { ...ENV, ...env },
    {
      dynamodb: UNUSED_DYNAMODB,
      sns: new SNSClient(region),
      ssm: new SSMClient(region),
      events: new EventBridgeClient(region),
    },
    new ManualClock(),
  );
}

describe('withIncidentReports', () => {
  it('gives the context a store on the bucket the stack names, encrypting with its key', async () => {
    // Prepare: a client that answers PutObject without any network, recording what it was sent
    const sent: S3PutRequest[] = [];
    const s3 = new (class extends S3HttpClient {
      override async putObject(request: S3PutRequest) {
        sent.push(request);
        return {};
      }
    })({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    const wired = withIncidentReports(
      runtime({ ACGS_REPORT_BUCKET: 'artifacts', ACGS_REPORT_KMS_KEY: 'arn:aws:kms:us-east-1:123456789012:key/k' }),
      s3,
    );
    // Act
    await wired.ctx.reports?.put('incident-reports/INC-1.md', '# report', { contentType: 'text/markdown' });
    // Assess
    expect(sent).toEqual([
      expect.objectContaining({
        bucket: 'artifacts',
        key: 'incident-reports/INC-1.md',
        kmsKeyId: 'arn:aws:kms:us-east-1:123456789012:key/k',
      }),
    ]);
  });

  it('leaves the runtime as it is when no bucket is named', () => {
    // Prepare
    const plain = runtime({});
    // Act + Assess
    expect(withIncidentReports(plain)).toBe(plain);
    expect(plain.ctx.reports).toBeUndefined();
  });
});
