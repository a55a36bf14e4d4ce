import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEventV2WithIAMAuthorizer } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { type AwsRuntime, createAwsRuntime } from '../../../lambdas/handlers/aws-runtime.ts';
import { withIncidentReports } from '../../../lambdas/handlers/incident-report-store.ts';
import { createOperatorApiHandler } from '../../../lambdas/handlers/operator-api.ts';
import { createAwsControlPlane } from '../../support/aws-control-plane.ts';
import { loadShippedConfig, ManualClock, MINUTE } from '../../support/harness.ts';
import { lambdaContext } from '../../support/lambda-context.ts';
import { useMotoServer } from '../../support/moto.ts';

/**
 * The operator API Lambda as deployed (withIncidentReports on ACGS_REPORT_BUCKET), against moto: DynamoDB, SNS,
 * EventBridge and the artifact bucket in S3. Resolving an incident writes its report to the bucket.
 */
const moto = useMotoServer();
const TABLE = 'acgs-control';
const BUS = 'acgs-events';
const BUCKET = 'acgs-artifacts';
const CALLER = 'arn:aws:sts::123456789012:assumed-role/oncall/alice';
const clock = new ManualClock();

let runtime: AwsRuntime;
let s3: S3Client;

beforeAll(async () => {
  const config = loadShippedConfig();
  const plane = await createAwsControlPlane(moto.endpoint, {
    levels: config.escalation.levels.map((l) => l.level),
    bucket: BUCKET,
    table: TABLE,
    bus: BUS,
    env: { ACGS_REPORT_BUCKET: BUCKET },
  });
  s3 = plane.clients.s3;
  runtime = withIncidentReports(createAwsRuntime(config, plane.env, plane.clients, clock), plane.clients.s3Objects);
}, 60_000);

function event(method: string, path: string, body?: unknown): APIGatewayProxyEventV2WithIAMAuthorizer {
  return {
    rawPath: path,
    body: body === undefined ? undefined : JSON.stringify(body),
    isBase64Encoded: false,
    queryStringParameters: {},
    requestContext: { http: { method }, authorizer: { iam: { userArn: CALLER } } },
  } as unknown as APIGatewayProxyEventV2WithIAMAuthorizer;
}

describe('incident reports in AWS', () => {
  it('are written to the artifact bucket when an operator resolves through the operator API', async () => {
    // Prepare
    const handler = createOperatorApiHandler(runtime);
    const context = lambdaContext('acgs-operator-api');
    const declared = await handler(
      event('POST', '/incidents', { type: 'manual', severity: 'P2', title: 'Slow PGC', services: ['pgc'] }),
      context,
    );
    const { id } = JSON.parse(String(declared.body)) as { id: string };
    clock.advance(20 * MINUTE);
    // Act
    const resolved = await handler(event('POST', `/incidents/${id}/resolve`, { reason: 'cache flushed' }), context);
    // Assess
    expect(resolved.statusCode).toBe(200);
    const md = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `incident-reports/${id}.md` }));
    expect(await md.Body?.transformToString()).toContain(`# Incident report ${id}: Slow PGC`);
    const json = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `incident-reports/${id}.json` }));
    expect(JSON.parse((await json.Body?.transformToString()) ?? '{}')).toMatchObject({
      id,
      status: 'resolved',
      resolvedBy: CALLER,
      times: { recovery: { ms: 20 * MINUTE, targetMs: 60 * MINUTE, met: true } },
    });
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `incident-reports/${id}.md` }));
    expect(head.ContentType).toBe('text/markdown; charset=utf-8');
  });

  it('serves the report and ticks the checklist through the operator API', async () => {
    // Prepare
    const handler = createOperatorApiHandler(runtime);
    const context = lambdaContext('acgs-operator-api');
    const declared = await handler(
      event('POST', '/incidents', { type: 'security', title: 'Token leak', services: ['pgc'], isolate: false }),
      context,
    );
    const { id } = JSON.parse(String(declared.body)) as { id: string };
    // Act
    const ticked = await handler(event('POST', `/incidents/${id}/checklist/assess`, { note: 'pgc only' }), context);
    const unknown = await handler(event('POST', `/incidents/${id}/checklist/cleanup`, {}), context);
    const report = await handler(
      { ...event('GET', `/incidents/${id}/report`), queryStringParameters: { format: 'md' } },
      context,
    );
    // Assess
    expect(ticked.statusCode).toBe(200);
    expect(unknown.statusCode).toBe(400);
    expect(JSON.parse(String(report.body)).markdown).toContain('- [x] assess: Assess: determine scope and impact');
  });
});
