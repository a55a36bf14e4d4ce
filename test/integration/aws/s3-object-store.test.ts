import { createHash } from 'node:crypto';
import { CreateBucketCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3HttpClient } from '../../../lambdas/adapters/aws/s3-http.ts';
import { S3ObjectStore } from '../../../lambdas/adapters/aws/s3-object-store.ts';
import { awsClientConfig, useMotoServer } from '../../support/moto.ts';
import { describeObjectStoreContract } from '../../support/object-store-contract.ts';

const moto = useMotoServer();
const BUCKET = 'acgs-ops-artifacts';
/** The SDK's client: creates the bucket and reads what the store wrote, independently of the store's own client. */
let s3: S3Client;
/** The store's own client, as the Lambdas make it (a custom endpoint: buckets in the path, as moto needs). */
let lean: S3HttpClient;

beforeAll(async () => {
  s3 = new S3Client({ ...awsClientConfig(moto.endpoint), forcePathStyle: true });
  lean = new S3HttpClient(awsClientConfig(moto.endpoint));
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
});
afterAll(() => {
  s3.destroy();
  lean.destroy();
});

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('S3ObjectStore against moto', () => {
  it('puts an object encrypted, with its content type, metadata and SHA-256, and gets it back', async () => {
    const store = new S3ObjectStore(lean, { bucket: BUCKET });
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
    const store = new S3ObjectStore(lean, { bucket: BUCKET });
    const bytes = new Uint8Array(70_000).map((_, i) => (i * 31) % 256);
    await store.put('dumps/db.dump', bytes);
    const got = await store.get('dumps/db.dump');
    expect(got?.body).toEqual(bytes);
    expect(got?.contentType).toBe('application/octet-stream');
  });

  it('encrypts with the KMS key when given one', async () => {
    const store = new S3ObjectStore(lean, { bucket: BUCKET, kmsKeyId: 'alias/acgs-backups' });
    await store.put('reports/kms.txt', 'secret-ish');
    const raw = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'reports/kms.txt' }));
    expect(raw).toMatchObject({
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: expect.stringContaining('acgs-backups'),
    });
  });

  it('refuses content whose SHA-256 is not the expected one, and stores nothing', async () => {
    const store = new S3ObjectStore(lean, { bucket: BUCKET });
    await expect(
      store.put('manifests/truncated.json', '{"trunc', { sha256: sha256('{"truncated": false}') }),
    ).rejects.toThrow(/manifests\/truncated\.json: content has SHA-256 .* expected .*; not stored/);
    expect(await store.head('manifests/truncated.json')).toBeUndefined();
  });

  it('lists by prefix in key order, with keys relative to the store prefix', async () => {
    const store = new S3ObjectStore(lean, { bucket: BUCKET, prefix: 'drills/' });
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
    const store = new S3ObjectStore(lean, { bucket: BUCKET });
    await store.put('tmp/x', 'x');
    await store.delete('tmp/x');
    expect(await store.head('tmp/x')).toBeUndefined();
    expect(await store.get('tmp/x')).toBeUndefined();
    await expect(store.delete('tmp/x')).resolves.toBeUndefined();
  });

  it('refuses an empty key or one starting with a slash', async () => {
    const store = new S3ObjectStore(lean, { bucket: BUCKET });
    await expect(store.put('', 'x')).rejects.toThrow(/object key/);
    await expect(store.get('/etc/passwd')).rejects.toThrow(/must be non-empty, not start with "\/"/);
  });

  it('fails rather than answering "missing" when the bucket does not exist', async () => {
    const store = new S3ObjectStore(lean, { bucket: 'no-such-bucket' });
    await expect(store.get('anything')).rejects.toThrow(/bucket/i);
  });
});

describe('S3ObjectStore paging and request shape, against moto', () => {
  it('follows continuation tokens until the listing is complete', async () => {
    const store = new S3ObjectStore(lean, { bucket: BUCKET, prefix: 'paged/', pageSize: 2 });
    const keys = ['a', 'b', 'c', 'd', 'e'].map((k) => `k-${k}`);
    for (const key of keys) await store.put(key, key);
    expect((await store.list('k-')).map((o) => o.key)).toEqual(keys);
  });

  it('sends the SHA-256 for S3 to verify, and SSE-S3 by default', async () => {
    await new S3ObjectStore(lean, { bucket: BUCKET }).put('shape/k', 'abc');
    const raw = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'shape/k', ChecksumMode: 'ENABLED' }));
    expect(raw).toMatchObject({
      ChecksumSHA256: createHash('sha256').update('abc').digest('base64'),
      ServerSideEncryption: 'AES256',
      ContentType: 'application/octet-stream',
    });
  });

  it('keeps keys with spaces, plus signs, unicode and XML specials exact, in the path and in listings', async () => {
    const store = new S3ObjectStore(lean, { bucket: BUCKET, prefix: 'odd/' });
    const key = 'a b+c/ä&<x>"\'=1.json';
    await store.put(key, 'odd');
    expect(new TextDecoder().decode((await store.get(key))?.body)).toBe('odd');
    expect((await store.list('')).map((o) => o.key)).toEqual([key]);
  });
});

// Each contract test gets its own key prefix in the shared bucket: an empty store, as the contract asks.
describeObjectStoreContract(
  'S3ObjectStore against moto',
  async () => new S3ObjectStore(lean, { bucket: BUCKET, prefix: `contract-${crypto.randomUUID()}/` }),
);
