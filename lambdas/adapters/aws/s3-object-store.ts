import { createHash } from 'node:crypto';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ControlPlaneError } from '../../core/errors.ts';
import type {
  ObjectInfo,
  ObjectStore,
  ObjectSummary,
  PutObjectOptions,
  PutObjectResult,
  StoredObject,
} from '../../ports.ts';

export type { ObjectInfo, ObjectStore, ObjectSummary, PutObjectOptions, PutObjectResult, StoredObject };

export interface S3ObjectStoreOptions {
  readonly bucket: string;
  /** Keys are stored under this prefix (e.g. `backups/`), and given back without it. @default '' */
  readonly prefix?: string;
  /** Encrypt with this KMS key (SSE-KMS); otherwise with S3-managed keys (SSE-S3). */
  readonly kmsKeyId?: string;
}

const HEX_SHA256 = /^[0-9a-f]{64}$/;
const MAX_KEY_BYTES = 1024;

/**
 * ObjectStore on one S3 bucket. Every object is encrypted at rest (SSE-KMS with the given key, else SSE-S3) and
 * carries a SHA-256 checksum, computed here and verified by S3 when it receives the object, so a truncated upload
 * is refused rather than stored; reads ask S3 for the checksum, and the SDK verifies the body against it.
 */
export class S3ObjectStore implements ObjectStore {
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly kmsKeyId: string | undefined;

  constructor(
    private readonly client: S3Client,
    options: S3ObjectStoreOptions,
  ) {
    if (!options.bucket) throw new ControlPlaneError('CONFIG', 'S3ObjectStore: bucket is empty');
    this.bucket = options.bucket;
    this.prefix = options.prefix ?? '';
    this.kmsKeyId = options.kmsKeyId;
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
    const out = await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.fullKey(key),
        Body: bytes,
        ContentLength: bytes.byteLength,
        ContentType: options.contentType ?? 'application/octet-stream',
        ChecksumAlgorithm: 'SHA256',
        ChecksumSHA256: digest.toString('base64'),
        ...(this.kmsKeyId === undefined
          ? { ServerSideEncryption: 'AES256' as const }
          : { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: this.kmsKeyId }),
        ...(options.metadata === undefined ? {} : { Metadata: { ...options.metadata } }),
      }),
    );
    return { key, size: bytes.byteLength, sha256, ...(out.ETag === undefined ? {} : { etag: out.ETag }) };
  }

  async get(key: string): Promise<StoredObject | undefined> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key), ChecksumMode: 'ENABLED' }),
      );
      const body = out.Body ? await out.Body.transformToByteArray() : new Uint8Array();
      return { ...info(key, { ...out, ContentLength: out.ContentLength ?? body.byteLength }), body };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const out = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key), ChecksumMode: 'ENABLED' }),
      );
      return info(key, out);
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
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
      const out = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.prefix + prefix,
          ...(token === undefined ? {} : { ContinuationToken: token }),
        }),
      );
      for (const o of out.Contents ?? []) {
        if (o.Key === undefined) continue;
        found.push({
          key: o.Key.slice(this.prefix.length),
          size: o.Size ?? 0,
          lastModified: o.LastModified?.getTime() ?? 0,
          ...(o.ETag === undefined ? {} : { etag: o.ETag }),
        });
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    return found;
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
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

interface ObjectHead {
  readonly ContentLength?: number | undefined;
  readonly LastModified?: Date | undefined;
  readonly ETag?: string | undefined;
  readonly ContentType?: string | undefined;
  readonly ChecksumSHA256?: string | undefined;
  readonly Metadata?: Record<string, string> | undefined;
}

function info(key: string, head: ObjectHead): ObjectInfo {
  // A multipart object's checksum is a checksum of checksums ("...-N"), not the content's SHA-256.
  const sha256 =
    head.ChecksumSHA256 && !head.ChecksumSHA256.includes('-')
      ? Buffer.from(head.ChecksumSHA256, 'base64').toString('hex')
      : undefined;
  return {
    key,
    size: head.ContentLength ?? 0,
    lastModified: head.LastModified?.getTime() ?? 0,
    ...(head.ETag === undefined ? {} : { etag: head.ETag }),
    ...(head.ContentType === undefined ? {} : { contentType: head.ContentType }),
    ...(sha256 === undefined ? {} : { sha256 }),
    metadata: { ...(head.Metadata ?? {}) },
  };
}

function isMissing(error: unknown): boolean {
  const name = error instanceof Error ? error.name : '';
  return name === 'NoSuchKey' || name === 'NotFound';
}
