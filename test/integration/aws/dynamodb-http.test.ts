import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  DynamoDbError,
  DynamoDbHttpClient,
  type DynamoDbHttpOptions,
  dynamoDbEndpoint,
  isDynamoDbError,
} from '../../../lambdas/adapters/aws/dynamodb-http.ts';
import { signRequest } from '../../../lambdas/adapters/aws/sigv4.ts';
import { type ScriptedAwsServer, scriptedAwsServer } from '../../support/scripted-aws-server.ts';

/**
 * DynamoDbHttpClient against a local HTTP server that answers as DynamoDB does (JSON bodies, `__type` errors), one
 * scripted answer per request (test/support/scripted-aws-server.ts): what moto never answers (throttling, 5xx, a hung
 * request) and what the request must carry. The operations themselves run against moto in
 * dynamodb-state-store.test.ts.
 */
let server: ScriptedAwsServer;
let endpoint: string;

const CREDENTIALS = { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret', sessionToken: 'session' };
const NOW = Date.UTC(2026, 11, 5, 9, 0, 0);

beforeEach(async () => {
  server = await scriptedAwsServer();
  endpoint = server.endpoint;
});

afterEach(async () => {
  vi.useRealTimers();
  await server.close();
});

const sleeps: number[] = [];
function client(options: Partial<DynamoDbHttpOptions> = {}): DynamoDbHttpClient {
  sleeps.length = 0;
  return new DynamoDbHttpClient({
    region: 'us-east-1',
    endpoint,
    credentials: CREDENTIALS,
    now: () => NOW,
    backoffMs: (attempt) => attempt * 100,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    env: {},
    ...options,
  });
}
const dynamoError = (type: string, message: string, extra: object = {}) => ({
  __type: `com.amazonaws.dynamodb.v20120810#${type}`,
  message,
  ...extra,
});

describe('DynamoDbHttpClient', () => {
  it('POSTs the JSON body with the operation as X-Amz-Target, signed, and returns the parsed answer', async () => {
    server.answers.push({ status: 200, body: { Item: { pk: { S: 'a' } } } });
    const db = client();
    // Act
    const out = await db.call('GetItem', { TableName: 't', Key: { pk: { S: 'a' } } });
    db.destroy();
    // Assess
    expect(out).toEqual({ Item: { pk: { S: 'a' } } });
    const [request] = server.received;
    expect(request?.body).toBe('{"TableName":"t","Key":{"pk":{"S":"a"}}}');
    expect(request?.headers['x-amz-target']).toBe('DynamoDB_20120810.GetItem');
    expect(request?.headers['content-type']).toBe('application/x-amz-json-1.0');
    expect(request?.headers['x-amz-security-token']).toBe('session');
    const expected = signRequest(
      {
        method: 'POST',
        host: new URL(endpoint).host,
        path: '/',
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'content-length': String(Buffer.byteLength(request?.body ?? '')),
          'x-amz-target': 'DynamoDB_20120810.GetItem',
        },
        body: request?.body ?? '',
      },
      CREDENTIALS,
      { region: 'us-east-1', service: 'dynamodb' },
      new Date(NOW),
    );
    expect(request?.headers.authorization).toBe(expected.authorization);
  });

  it('retries throttling and 5xx answers with backoff, then returns the answer that succeeded', async () => {
    server.answers.push(
      { status: 400, body: dynamoError('ProvisionedThroughputExceededException', 'slow down') },
      { status: 500, body: dynamoError('InternalServerError', 'oops') },
      { status: 200, body: { Items: [] } },
    );
    const out = await client({ maxAttempts: 3 }).call('Query', { TableName: 't' });
    expect(out).toEqual({ Items: [] });
    expect(server.received).toHaveLength(3);
    expect(sleeps).toEqual([100, 200]);
    // Every attempt carries the same body (a transaction's client request token makes a retry idempotent).
    expect(new Set(server.received.map((r) => r.body)).size).toBe(1);
  });

  it('gives up after maxAttempts with the last error, named as the SDK names it', async () => {
    server.answers.push(
      { status: 400, body: dynamoError('ThrottlingException', 'rate exceeded') },
      { status: 400, body: dynamoError('ThrottlingException', 'rate exceeded') },
    );
    const error = await client({ maxAttempts: 2 })
      .call('PutItem', { TableName: 't' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DynamoDbError);
    expect(error).toMatchObject({ name: 'ThrottlingException', statusCode: 400, retryable: true });
    expect((error as Error).message).toBe('PutItem: ThrottlingException: rate exceeded');
    expect(server.received).toHaveLength(2);
  });

  it('does not retry a failed condition, and hands over the item it failed on', async () => {
    server.answers.push({
      status: 400,
      body: dynamoError('ConditionalCheckFailedException', 'The conditional request failed', {
        Item: { holder: { S: 'other' }, until: { N: '5' } },
      }),
    });
    const error = await client()
      .call('PutItem', { TableName: 't' })
      .catch((e: unknown) => e);
    expect(isDynamoDbError(error, 'ConditionalCheckFailedException')).toBe(true);
    expect((error as DynamoDbError).item).toEqual({ holder: { S: 'other' }, until: { N: '5' } });
    expect((error as DynamoDbError).retryable).toBe(false);
    expect(server.received).toHaveLength(1);
  });

  it("gives a cancelled transaction's reasons, one per item", async () => {
    server.answers.push({
      status: 400,
      body: dynamoError('TransactionCanceledException', 'Transaction cancelled', {
        CancellationReasons: [{ Code: 'None' }, { Code: 'ConditionalCheckFailed', Message: 'no' }],
      }),
    });
    const error = await client()
      .call('TransactWriteItems', { TransactItems: [] })
      .catch((e: unknown) => e);
    expect(isDynamoDbError(error, 'TransactionCanceledException')).toBe(true);
    expect((error as DynamoDbError).cancellationReasons?.map((r) => r.Code)).toEqual([
      'None',
      'ConditionalCheckFailed',
    ]);
  });

  it('retries a connection reset by the server', async () => {
    server.answers.push('reset', { status: 200, body: {} });
    await expect(client().call('DeleteItem', { TableName: 't' })).resolves.toEqual({});
    expect(server.received).toHaveLength(2);
  });

  it('cuts an attempt that hangs at its timeout and tries again', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    server.answers.push('hang', { status: 200, body: { Attributes: {} } });
    const pending = client({ attemptTimeoutMs: 5_000 }).call('UpdateItem', { TableName: 't' });
    await vi.waitFor(() => expect(server.hung).toHaveLength(1), { interval: 5 });
    // Act: the attempt's time runs out
    vi.advanceTimersByTime(5_000);
    // Assess
    await expect(pending).resolves.toEqual({ Attributes: {} });
    expect(server.received).toHaveLength(2);
  });

  it('reads region, endpoint, credentials and attempts from the environment as the SDK does', async () => {
    server.answers.push({ status: 500, body: {} }, { status: 500, body: {} }, { status: 500, body: {} });
    const db = new DynamoDbHttpClient({
      env: {
        AWS_REGION: 'eu-west-1',
        AWS_ENDPOINT_URL_DYNAMODB: endpoint,
        AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
        AWS_ACCESS_KEY_ID: 'AKIDENV',
        AWS_SECRET_ACCESS_KEY: 's',
        AWS_MAX_ATTEMPTS: '2',
      },
      sleep: async () => {},
    });
    await expect(db.call('GetItem', {})).rejects.toMatchObject({ name: 'InternalServerError', statusCode: 500 });
    expect(server.received).toHaveLength(2);
    expect(server.received[0]?.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDENV\/\d{8}\/eu-west-1\/dynamodb\//,
    );
    expect(server.received[0]?.headers['x-amz-security-token']).toBeUndefined();
    expect(dynamoDbEndpoint('eu-west-1')).toBe('https://dynamodb.eu-west-1.amazonaws.com');
    expect(dynamoDbEndpoint('cn-north-1')).toBe('https://dynamodb.cn-north-1.amazonaws.com.cn');
  });

  it('refuses to start without a region, credentials, a usable endpoint or a sane attempt count, naming it', () => {
    const creds = { AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b' };
    expect(() => new DynamoDbHttpClient({ env: creds })).toThrow('no region (set AWS_REGION or pass region)');
    expect(() => new DynamoDbHttpClient({ env: { AWS_REGION: 'us-east-1' } })).toThrow(
      'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set',
    );
    expect(() => new DynamoDbHttpClient({ env: { ...creds, AWS_REGION: 'x', AWS_ENDPOINT_URL: 'nope' } })).toThrow(
      'endpoint "nope" is not a URL',
    );
    expect(() => new DynamoDbHttpClient({ env: { ...creds, AWS_REGION: 'x', AWS_ENDPOINT_URL: 'ftp://h' } })).toThrow(
      'neither http nor https',
    );
    expect(() => new DynamoDbHttpClient({ env: { ...creds, AWS_REGION: 'x', AWS_MAX_ATTEMPTS: '0' } })).toThrow(
      'must be a whole number >= 1, got 0',
    );
  });
});
