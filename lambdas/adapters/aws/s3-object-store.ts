import { createHash } from 'node:crypto';
import { ControlPlaneError } from '../../core/errors.ts';
import type {
  ObjectInfo,
  ObjectStore,
  ObjectSummary,
  PutObjectOptions,
  PutObjectResult,
  StoredObject,
} from '../../ports.ts';
import type { S3HttpClient, S3ObjectHead } from './s3-http.ts';

export type { ObjectInfo, ObjectStore, ObjectSummary, PutObjectOptions, PutObjectResult, StoredObject };

export interface S3ObjectStoreOptions {
  readonly bucket: string;
  /** Keys are stored under this prefix (e.g. `backups/`), and given back without it. @default '' */
  readonly prefix?: string;
  /** Encrypt with this KMS key (SSE-KMS); otherwise with S3-managed keys (SSE-S3). */
  readonly kmsKeyId?: string;
  /** Keys per ListObjectsV2 page. @default S3's (1,000) */
  readonly pageSize?: number;
}

const HEX_SHA256 = /^[0-9a-f]{64}$/;
const MAX_KEY_BYTES = 1024;

/**
 * ObjectStore on one S3 bucket. Every object is encrypted at rest (SSE-KMS with the given key, else SSE-S3) and
 * carries a SHA-256 checksum, computed here and verified by S3 when it receives the object, so a truncated upload
 * is refused rather than stored; reads ask S3 for the checksum, and the client verifies the body against it.
 */
export class S3ObjectStore implements ObjectStore {
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly kmsKeyId: string | undefined;
  private readonly pageSize: number | undefined;

  constructor(
    private readonly client: S3HttpClient,
    options: S3ObjectStoreOptions,
  ) {
    if (!options.bucket) throw new ControlPlaneError('CONFIG', 'S3ObjectStore: bucket is empty');
    this.bucket = options.bucket;
    this.prefix = options.prefix ?? '';
    this.kmsKeyId = options.kmsKeyId;
    this.pageSize = options.pageSize;
  }

  async put(key: string, body: Uint8Array | string, options: PutObjectOptions = {}): Promise<PutObjectResult> {
    const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
    const digest = createHash('sha256').update(bytes).digest();
    const sha256 = digest.toString('hex');
    if (options.sha256 !== undefined) {
      if (!HEX_SHA256.test(options.sha256))
        throw new ControlPlaneError('INVALID_CHECKSUM', `sha256 for ${key} must be 64 lower-case hex digits`);
      if (options.sha256 !== sha256)
        throw new ControlPlaneError(
          'CHECKSUM_MISMATCH',
          `${key}: content has SHA-256 ${sha256}, expected ${options.sha256}; not stored`,
        );
    }
    const out = await this.client.putObject({
      bucket: this.bucket,
      key: this.fullKey(key),
      body: bytes,
      contentType: options.contentType ?? 'application/octet-stream',
      checksumSha256: digest.toString('base64'),
      ...(this.kmsKeyId === undefined ? {} : { kmsKeyId: this.kmsKeyId }),
      ...(options.metadata === undefined ? {} : { metadata: options.metadata }),
    });
    return { key, size: bytes.byteLength, sha256, ...(out.etag === undefined ? {} : { etag: out.etag }) };
  }

  async get(key: string): Promise<StoredObject | undefined> {
    const out = await this.client.getObject(this.bucket, this.fullKey(key));
    return out && { ...info(key, out), body: out.body };
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const out = await this.client.headObject(this.bucket, this.fullKey(key));
    return out && info(key, out);
  }

  /**
   * The checksum S3 verified on arrival (HeadObject, no download); none for an object put without a SHA-256. Always
   * asked of S3, so `fresh` changes nothing: nothing is cached here.
   */
  async contentSha256(key: string): Promise<string | undefined> {
    return (await this.head(key))?.sha256;
  }

  async list(prefix: string): Promise<ObjectSummary[]> {
    const found: ObjectSummary[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.listObjects(this.bucket, this.prefix + prefix, token, this.pageSize);
      for (const o of page.objects)
        found.push({
          key: o.key.slice(this.prefix.length),
          size: o.size,
          lastModified: o.lastModified ?? 0,
          ...(o.etag === undefined ? {} : { etag: o.etag }),
        });
      token = page.nextToken;
    } while (token);
    return found;
  }

  async delete(key: string): Promise<void> {
    await this.client.deleteObject(this.bucket, this.fullKey(key));
  }

  private fullKey(key: string): string {
    const full = this.prefix + key;
    if (key === '' || key.startsWith('/') || Buffer.byteLength(full) > MAX_KEY_BYTES)
      throw new ControlPlaneError(
        'INVALID_KEY',
        `object key "${key}" must be non-empty, not start with "/", and fit ${MAX_KEY_BYTES} bytes with its prefix`,
      );
    return full;
  }
}

function info(key: string, head: S3ObjectHead): ObjectInfo {
  // A multipart object's checksum is a checksum of checksums ("...-N"), not the content's SHA-256.
  const sha256 =
    head.checksumSha256 && !head.checksumSha256.includes('-')
      ? Buffer.from(head.checksumSha256, 'base64').toString('hex')
      : undefined;
  return {
    key,
    size: head.contentLength,
    lastModified: head.lastModified ?? 0,
    ...(head.etag === undefined ? {} : { etag: head.etag }),
    ...(head.contentType === undefined ? {} : { contentType: head.contentType }),
    ...(sha256 === undefined ? {} : { sha256 }),
    metadata: { ...head.metadata },
  };
}
