/**
 * What a benchmarked Lambda bundle is started with: a fake event per function that takes the handler past parsing
 * into its first AWS call, and an environment whose AWS endpoint refuses connections at once.
 *
 * Why this is a sound first invocation: the handler runs its whole cold path as in Lambda (environment parsed,
 * config read, SDK clients and Powertools built, middy middleware, the use-case up to its first request, that
 * request serialized, signed with the fake credentials and sent), and only the network is missing: the endpoint is
 * a loopback port nobody listens on, so the connection is refused in well under a millisecond, and with one attempt
 * (AWS_MAX_ATTEMPTS=1) the SDK does not wait to retry. The invocation then ends with that error, which the bench
 * prints. No traffic leaves the machine.
 */
import { createServer } from 'node:net';

const ARN = 'arn:aws:sns:us-east-1:123456789012';

/** The environment of a bundle in the bench: the stack's variables (fakes for those that are CloudFormation refs). */
export function benchEnvironment(refusingPort: number): Record<string, string> {
  return {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDBENCHBENCHBENCH',
    AWS_SECRET_ACCESS_KEY: 'bench-secret',
    AWS_SESSION_TOKEN: 'bench-session',
    AWS_ENDPOINT_URL: `http://127.0.0.1:${refusingPort}`,
    AWS_MAX_ATTEMPTS: '1',
    AWS_LAMBDA_FUNCTION_NAME: 'bench',
    ACGS_TABLE_NAME: 'bench-table',
    ACGS_EVENT_BUS_NAME: 'bench-bus',
    ACGS_TOPIC_ARNS: JSON.stringify({ 1: `${ARN}:l1`, 2: `${ARN}:l2`, 3: `${ARN}:l3`, 4: `${ARN}:l4` }),
    ACGS_DOCUMENT_NAMES: JSON.stringify({
      'acgs-restart-service': 'bench-restart',
      'acgs-backup-database': 'bench-backup',
      'acgs-restore-drill': 'bench-drill',
    }),
    ACGS_COMMAND_LOG_GROUP: '/bench/commands',
    ACGS_BACKUP_BUCKET: 'bench-backups',
    ACGS_BACKUP_INSTANCE_ID: 'i-0123456789abcdef0',
    POWERTOOLS_SERVICE_NAME: 'bench',
    POWERTOOLS_METRICS_NAMESPACE: 'Bench',
  };
}

/** Per function (construct id), an event that reaches the handler's first AWS call. */
export const BENCH_EVENTS: Readonly<Record<string, unknown>> = {
  // Scheduled: the cycle loads the targets' states from DynamoDB first.
  Probe: { source: 'aws.scheduler', 'detail-type': 'Scheduled Event', detail: {} },
  EscalationSweep: { source: 'aws.scheduler', 'detail-type': 'Scheduled Event', detail: {} },
  // A finished restart: the handler looks up the attempt by its command id in DynamoDB.
  CommandStatus: {
    source: 'aws.ssm',
    'detail-type': 'EC2 Command Status-change Notification',
    resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0'],
    detail: {
      'command-id': '11111111-2222-3333-4444-555555555555',
      'document-name': 'bench-restart',
      status: 'Success',
      'requested-date-time': '2026-01-01T00:00:00.000Z',
    },
  },
  // An IAM-signed GET of the open incidents: a DynamoDB query.
  OperatorApi: {
    version: '2.0',
    rawPath: '/incidents',
    rawQueryString: '',
    headers: {},
    isBase64Encoded: false,
    requestContext: {
      http: { method: 'GET', path: '/incidents' },
      authorizer: { iam: { userArn: 'arn:aws:iam::123456789012:user/bench' } },
    },
  },
  // The hourly monitor: it lists the published backups in S3.
  Backups: { task: 'monitor' },
};

/** A loopback port with nothing listening on it (taken from the OS, then closed): connections to it are refused. */
export async function refusingPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP port for the refusing endpoint');
  return address.port;
}
