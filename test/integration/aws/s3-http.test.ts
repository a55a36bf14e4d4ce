import { createHash } from 'node:crypto';
import { Agent, type ClientRequestArgs } from 'node:http';
import { createConnection } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AwsServiceError } from '../../../lambdas/adapters/aws/aws-http.ts';
import { S3HttpClient, type S3HttpOptions, s3Endpoint } from '../../../lambdas/adapters/aws/s3-http.ts';
import { type ScriptedAwsServer, scriptedAwsServer } from '../../support/scripted-aws-server.ts';

/**
 * S3HttpClient against a local HTTP server answering as S3 does (XML errors, checksum headers), one scripted answer
 * per request: what moto never answers (a body that does not match its checksum, SlowDown, a bucket in another
 * region) and how buckets are addressed. The calls themselves run against moto in s3-object-store.test.ts.
 */
let server: ScriptedAwsServer;

beforeEach(async () => {
  server = await scriptedAwsServer();
});
afterEach(async () => {
  await server.close();
});

function client(options: Partial<S3HttpOptions> = {}): S3HttpClient {
  return new S3HttpClient({
    region: 'us-east-1',
    endpoint: server.endpoint,
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' },
    backoffMs: () => 0,
    sleep: async () => {},
    env: {},
    ...options,
  });
}
const xmlError = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`;
const base64Sha256 = (text: string) => createHash('sha256').update(text).digest('base64');

describe('S3HttpClient', () => {
  it('refuses a body that does not match the SHA-256 S3 gives for it, after trying again', async () => {
    const answer = {
      status: 200,
      body: 'tampered',
      headers: { 'x-amz-checksum-sha256': base64Sha256('original'), 'content-type': 'application/json' },
    };
    server.answers.push(answer, answer);
    const error = await client({ maxAttempts: 2 })
      .getObject('bucket-1', 'manifests/a.json')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AwsServiceError);
    expect(error).toMatchObject({ name: 'ChecksumMismatch' });
    expect((error as Error).message).toContain(`S3 says ${base64Sha256('original')}`);
    expect(server.received).toHaveLength(2);
    expect(server.received[0]?.headers['x-amz-checksum-mode']).toBe('ENABLED');
  });

  it("accepts a multipart object's checksum of checksums without checking the body against it", async () => {
    server.answers.push({ status: 200, body: 'whole', headers: { 'x-amz-checksum-sha256': 'abc=-3' } });
    const got = await client().getObject('bucket-1', 'big');
    expect(Buffer.from(got?.body ?? []).toString()).toBe('whole');
  });

  it('retries SlowDown, and names the error S3 gave when it persists', async () => {
    const slow = { status: 503, body: xmlError('SlowDown', 'Please reduce your request rate.') };
    server.answers.push(slow, { status: 200, body: '', headers: { etag: '"e1"' } });
    await expect(
      client().putObject({
        bucket: 'bucket-1',
        key: 'k',
        body: new TextEncoder().encode('x'),
        contentType: 'text/plain',
        checksumSha256: base64Sha256('x'),
      }),
    ).resolves.toEqual({ etag: '"e1"' });
    server.answers.push(slow, slow);
    await expect(client({ maxAttempts: 2 }).deleteObject('bucket-1', 'k')).rejects.toThrow(
      'DELETE bucket-1/k: SlowDown: Please reduce your request rate.',
    );
  });

  it('treats a missing key as absent, but a missing bucket or a refusal as the error it is', async () => {
    server.answers.push({ status: 404, body: xmlError('NoSuchKey', 'The specified key does not exist.') });
    expect(await client().getObject('bucket-1', 'gone')).toBeUndefined();
    server.answers.push({ status: 404 });
    expect(await client().headObject('bucket-1', 'gone')).toBeUndefined();
    server.answers.push({ status: 404, body: xmlError('NoSuchBucket', 'The specified bucket does not exist') });
    await expect(client().getObject('bucket-1', 'k')).rejects.toMatchObject({ name: 'NoSuchBucket' });
    server.answers.push({ status: 403, body: xmlError('AccessDenied', 'Access Denied') });
    await expect(client().getObject('bucket-1', 'k')).rejects.toMatchObject({ name: 'AccessDenied' });
    // HEAD answers carry no body: the status names the error, as the SDK names it.
    server.answers.push({ status: 403 });
    await expect(client().headObject('bucket-1', 'k')).rejects.toMatchObject({ name: 'Forbidden' });
    server.answers.push({
      status: 301,
      body: xmlError('PermanentRedirect', 'The bucket is in this region'),
      headers: { 'x-amz-bucket-region': 'eu-west-1' },
    });
    await expect(client().listObjects('bucket-1', '')).rejects.toThrow('(the bucket is in eu-west-1)');
  });

  it('puts the bucket in the path on a custom endpoint and in the host name on AWS', async () => {
    await client().deleteObject('bucket-1', 'a b/c');
    expect(server.received[0]?.url).toBe('/bucket-1/a%20b/c');
    expect(server.received[0]?.headers.host).toBe(new URL(server.endpoint).host);
    // Virtual-hosted: the request goes to the bucket's host name (which this agent connects to the local server).
    const loopback = new (class extends Agent {
      override createConnection(options: ClientRequestArgs) {
        return createConnection({ port: Number(options.port), host: '127.0.0.1' });
      }
    })();
    await client({ forcePathStyle: false, agent: loopback }).deleteObject('bucket-1', 'k');
    loopback.destroy();
    expect(server.received[1]?.url).toBe('/k');
    expect(server.received[1]?.headers.host).toBe(`bucket-1.${new URL(server.endpoint).host}`);
    expect(s3Endpoint('us-east-1')).toBe('https://s3.us-east-1.amazonaws.com');
    expect(() => client().deleteObject('Bad_Bucket', 'k')).rejects.toThrow('"Bad_Bucket" is not an S3 bucket name');
  });
});
