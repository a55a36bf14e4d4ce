import { createHash } from 'node:crypto';
import 'aws-sdk-client-mock-vitest/extend';
import {
  CreateBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../../lambdas/adapters/aws/s3-object-store.ts';
import { awsClientConfig, useMotoServer } from '../../support/moto.ts';
import { describeObjectStoreContract } from '../../support/object-store-contract.ts';

const moto = useMotoServer();
const BUCKET = 'acgs-ops-artifacts';
let s3: S3Client;

beforeAll(async () => {
  // moto answers on 127.0.0.1: buckets go in the path, not in the host name.
  s3 = new S3Client({ ...awsClientConfig(moto.endpoint), forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
});
afterAll(() => s3.destroy());

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('S3ObjectStore against moto', () => {
  it('puts an object encrypted, with its content type, metadata and SHA-256, and gets it back', async () => {
    const store = new S3ObjectStore(s3, { bucket: BUCKET });
    const manifest = JSON.stringify({ database: 'acgs_pgp_db', bytes: 123_456 });
    const put = await store.put('manifests/2026-12-01.json', manifest, {
      contentType: 'application/json',
      sha256: sha256(manifest),
      metadata: { 'backup-id': 'b-20261201' },
    });
    expect(put).toMatchObject({ key: 'manifests/2026-12-01.json', size: manifest.length, sha256: sha256(manifest) });

    const head = await store.head('manifests/2026-12-01.json');
    expect(head).toMatchObject({
      size: manifest.length,
      contentType: 'application/json',
      sha256: sha256(manifest),
      metadata: { 'backup-id': 'b-20261201' },
    });
    const raw = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'manifests/2026-12-01.json' }));
    expect(raw.ServerSideEncryption).toBe('AES256');

    const got = await store.get('manifests/2026-12-01.json');
    expect(new TextDecoder().decode(got?.body)).toBe(manifest);
    expect(got).toMatchObject({ sha256: sha256(manifest), contentType: 'application/json' });
  });

  it('stores binary content byte for byte', async () => {
    const store = new S3ObjectStore(s3, { bucket: BUCKET });
    const bytes = new Uint8Array(70_000).map((_, i) => (i * 31) % 256);
    await store.put('dumps/db.dump', bytes);
    const got = await store.get('dumps/db.dump');
    expect(got?.body).toEqual(bytes);
    expect(got?.contentType).toBe('application/octet-stream');
  });

  it('encrypts with the KMS key when given one', async () => {
    const store = new S3ObjectStore(s3, { bucket: BUCKET, kmsKeyId: 'alias/acgs-backups' });
    await store.put('reports/kms.txt', 'secret-ish');
    const raw = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'reports/kms.txt' }));
    expect(raw).toMatchObject({
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: expect.stringContaining('acgs-backups'),
    });
  });

  it('refuses content whose SHA-256 is not the expected one, and stores nothing', async () => {
    const store = new S3ObjectStore(s3, { bucket: BUCKET });
    await expect(
      store.put('manifests/truncated.json', '{"trunc', { sha256: sha256('{"truncated": false}') }),
    ).rejects.toThrow(/manifests\/truncated\.json: content has SHA-256 .* expected .*; not stored/);
    expect(await store.head('manifests/truncated.json')).toBeUndefined();
  });

  it('lists by prefix in key order, with keys relative to the store prefix', async () => {
    const store = new S3ObjectStore(s3, { bucket: BUCKET, prefix: 'drills/' });
    for (const day of ['03', '01', '02']) await store.put(`2026-12-${day}/report.json`, `{"day":"${day}"}`);
    await store.put('2026-11-30/report.json', '{}');
    const listed = await store.list('2026-12-');
    expect(listed.map((o) => o.key)).toEqual([
      '2026-12-01/report.json',
      '2026-12-02/report.json',
      '2026-12-03/report.json',
    ]);
    expect(listed[0]).toMatchObject({ size: 12, lastModified: expect.any(Number) });
    // Stored under the store's prefix in the bucket.
    const raw = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'drills/2026-12-01' }));
    expect(raw.Contents?.map((o) => o.Key)).toEqual(['drills/2026-12-01/report.json']);
  });

  it('deletes an object, after which head and get find nothing; deleting a missing key is fine', async () => {
    const store = new S3ObjectStore(s3, { bucket: BUCKET });
    await store.put('tmp/x', 'x');
    await store.delete('tmp/x');
    expect(await store.head('tmp/x')).toBeUndefined();
    expect(await store.get('tmp/x')).toBeUndefined();
    await expect(store.delete('tmp/x')).resolves.toBeUndefined();
  });

  it('refuses an empty key or one starting with a slash', async () => {
    const store = new S3ObjectStore(s3, { bucket: BUCKET });
    await expect(store.put('', 'x')).rejects.toThrow(/object key/);
    await expect(store.get('/etc/passwd')).rejects.toThrow(/must be non-empty, not start with "\/"/);
  });

  it('fails rather than answering "missing" when the bucket does not exist', async () => {
    const store = new S3ObjectStore(s3, { bucket: 'no-such-bucket' });
    await expect(store.get('anything')).rejects.toThrow(/bucket/i);
  });
});

/** Paging needs more than 1,000 objects in moto (seconds of uploads): scripted with aws-sdk-client-mock instead. */
describe('S3ObjectStore paging and request shape (aws-sdk-client-mock)', () => {
  const client = new S3Client(awsClientConfig('http://127.0.0.1:9'));
  const mock = mockClient(client);
  afterAll(() => mock.restore());

  it('follows continuation tokens until the listing is complete', async () => {
    mock
      .on(ListObjectsV2Command)
      .resolvesOnce({ IsTruncated: true, NextContinuationToken: 'page-2', Contents: [{ Key: 'r/a', Size: 1 }] })
      .resolvesOnce({ IsTruncated: false, Contents: [{ Key: 'r/b', Size: 2 }] });
    const listed = await new S3ObjectStore(client, { bucket: BUCKET, prefix: 'r/' }).list('');
    expect(listed.map((o) => o.key)).toEqual(['a', 'b']);
    expect(mock).toHaveReceivedNthCommandWith(ListObjectsV2Command, 2, { ContinuationToken: 'page-2', Prefix: 'r/' });
  });

  it('sends the SHA-256 for S3 to verify, and SSE-S3 by default', async () => {
    mock.on(PutObjectCommand).resolves({ ETag: '"e"' });
    await new S3ObjectStore(client, { bucket: BUCKET }).put('k', 'abc');
    expect(mock).toHaveReceivedCommandWith(PutObjectCommand, {
      Bucket: BUCKET,
      Key: 'k',
      ChecksumAlgorithm: 'SHA256',
      ChecksumSHA256: createHash('sha256').update('abc').digest('base64'),
      ServerSideEncryption: 'AES256',
      ContentType: 'application/octet-stream',
    });
  });
});

// Each contract test gets its own key prefix in the shared bucket: an empty store, as the contract asks.
describeObjectStoreContract(
  'S3ObjectStore against moto',
  async () => new S3ObjectStore(s3, { bucket: BUCKET, prefix: `contract-${crypto.randomUUID()}/` }),
);
