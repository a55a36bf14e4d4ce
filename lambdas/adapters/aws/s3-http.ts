import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import {
  AwsHttpClient,
  type AwsHttpOptions,
  type AwsHttpResponse,
  AwsServiceError,
  partitionDomain,
  retryableAnswer,
} from './aws-http.ts';
import { rfc3986 } from './sigv4.ts';

/*
 * The five S3 calls the control plane makes (PutObject, GetObject, HeadObject, ListObjectsV2, DeleteObject) over
 * AwsHttpClient, for the small objects the Lambdas read and write (manifests, reports, incident reports; the dumps
 * themselves go from the database host with the AWS CLI). Buckets are addressed as virtual hosts
 * (`<bucket>.s3.<region>.amazonaws.com`) on AWS and in the path on a custom endpoint (moto, a VPC endpoint URL), as
 * the SDK does with `forcePathStyle` there. A GetObject whose answer carries a whole-object SHA-256 is checked
 * against the bytes received, as the SDK does with `ChecksumMode: ENABLED`. Why not the SDK's client: see aws-http.ts.
 */

export type S3HttpOptions = AwsHttpOptions & {
  /** Buckets in the path rather than the host name. @default true on a custom endpoint, else false */
  readonly forcePathStyle?: boolean;
};

export interface S3ObjectHead {
  readonly contentLength: number;
  readonly lastModified?: number;
  readonly etag?: string;
  readonly contentType?: string;
  /** Base64, as S3 gives it (`…-N` for a multipart object's checksum of checksums). */
  readonly checksumSha256?: string;
  readonly metadata: Record<string, string>;
}

export interface S3PutRequest {
  readonly bucket: string;
  readonly key: string;
  readonly body: Uint8Array;
  readonly contentType: string;
  /** Base64 SHA-256 of the body, which S3 verifies on arrival. */
  readonly checksumSha256: string;
  /** SSE-KMS with this key; SSE-S3 without. */
  readonly kmsKeyId?: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

export interface S3ListPage {
  readonly objects: readonly {
    readonly key: string;
    readonly size: number;
    readonly lastModified?: number;
    readonly etag?: string;
  }[];
  readonly nextToken?: string;
}

export function s3Endpoint(region: string): string {
  return `https://s3.${region}.${partitionDomain(region)}`;
}

/** Percent-encoding of an object key for the path: RFC 3986 per segment, slashes kept. */
function encodeKey(key: string): string {
  return key.split('/').map(rfc3986).join('/');
}

const XML_ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function xmlText(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_, entity: string) =>
    entity.startsWith('#x')
      ? String.fromCodePoint(Number.parseInt(entity.slice(2), 16))
      : entity.startsWith('#')
        ? String.fromCodePoint(Number(entity.slice(1)))
        : (XML_ENTITIES[entity] ?? ''),
  );
}

/** The text of the first `<tag>` in `xml` (S3's answers are flat enough for this), decoded. */
function xmlValue(xml: string, tag: string): string | undefined {
  const found = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(xml);
  return found?.[1] === undefined ? undefined : xmlText(found[1]);
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function timeOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : at;
}

export class S3HttpClient {
  private readonly http: AwsHttpClient;
  private readonly pathStyle: boolean;

  constructor(options: S3HttpOptions = {}) {
    this.http = new AwsHttpClient('s3', s3Endpoint, options);
    this.pathStyle = options.forcePathStyle ?? this.http.customEndpoint;
  }

  async putObject(request: S3PutRequest): Promise<{ readonly etag?: string }> {
    const metadata = Object.entries(request.metadata ?? {}).map(([k, v]) => [`x-amz-meta-${k.toLowerCase()}`, v]);
    const response = await this.send(request.bucket, request.key, {
      method: 'PUT',
      headers: {
        'content-type': request.contentType,
        'x-amz-sdk-checksum-algorithm': 'SHA256',
        'x-amz-checksum-sha256': request.checksumSha256,
        ...(request.kmsKeyId === undefined
          ? { 'x-amz-server-side-encryption': 'AES256' }
          : {
              'x-amz-server-side-encryption': 'aws:kms',
              'x-amz-server-side-encryption-aws-kms-key-id': request.kmsKeyId,
            }),
        ...Object.fromEntries(metadata),
      },
      body: request.body,
    });
    const etag = header(response.headers, 'etag');
    return etag === undefined ? {} : { etag };
  }

  /** The object, or undefined when there is none under the key (NoSuchKey). Its checksum, when S3 has one, is verified. */
  async getObject(bucket: string, key: string): Promise<(S3ObjectHead & { readonly body: Uint8Array }) | undefined> {
    const response = await this.sendOrMissing(bucket, key, 'GET');
    return response && { ...headOf(response.headers, response.body.byteLength), body: new Uint8Array(response.body) };
  }

  async headObject(bucket: string, key: string): Promise<S3ObjectHead | undefined> {
    const response = await this.sendOrMissing(bucket, key, 'HEAD');
    return response && headOf(response.headers, Number(header(response.headers, 'content-length') ?? 0));
  }

  async listObjects(bucket: string, prefix: string, continuationToken?: string, maxKeys?: number): Promise<S3ListPage> {
    const response = await this.send(bucket, '', {
      method: 'GET',
      query: {
        'list-type': '2',
        prefix,
        ...(continuationToken === undefined ? {} : { 'continuation-token': continuationToken }),
        ...(maxKeys === undefined ? {} : { 'max-keys': String(maxKeys) }),
      },
    });
    const xml = response.body.toString('utf8');
    const objects = [...xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)].flatMap((match) => {
      const entry = match[1] ?? '';
      const key = xmlValue(entry, 'Key');
      if (key === undefined) return [];
      const lastModified = timeOf(xmlValue(entry, 'LastModified'));
      const etag = xmlValue(entry, 'ETag');
      return [
        {
          key,
          size: Number(xmlValue(entry, 'Size') ?? 0),
          ...(lastModified === undefined ? {} : { lastModified }),
          ...(etag === undefined ? {} : { etag }),
        },
      ];
    });
    const nextToken = xmlValue(xml, 'IsTruncated') === 'true' ? xmlValue(xml, 'NextContinuationToken') : undefined;
    return { objects, ...(nextToken ? { nextToken } : {}) };
  }

  async deleteObject(bucket: string, key: string): Promise<void> {
    await this.send(bucket, key, { method: 'DELETE' });
  }

  /** Closes the kept-alive sockets of the client's own agent. */
  destroy(): void {
    this.http.destroy();
  }

  private async sendOrMissing(
    bucket: string,
    key: string,
    method: 'GET' | 'HEAD',
  ): Promise<AwsHttpResponse | undefined> {
    try {
      return await this.send(bucket, key, {
        method,
        headers: { 'x-amz-checksum-mode': 'ENABLED' },
      });
    } catch (error) {
      // A missing object: NoSuchKey (GET), or a bare 404 (HEAD has no body). A missing bucket stays an error.
      if (error instanceof AwsServiceError && (error.name === 'NoSuchKey' || error.name === 'NotFound'))
        return undefined;
      throw error;
    }
  }

  private send(
    bucket: string,
    key: string,
    request: {
      method: 'GET' | 'PUT' | 'HEAD' | 'DELETE';
      query?: Record<string, string>;
      headers?: Record<string, string>;
      body?: Uint8Array;
    },
  ): Promise<AwsHttpResponse> {
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
      throw new AwsServiceError('InvalidBucketName', `"${bucket}" is not an S3 bucket name`, undefined, false);
    const pathStyle = this.pathStyle || bucket.includes('.');
    const base = this.http.url.pathname.replace(/\/$/, '');
    const path = `${base}${pathStyle ? `/${bucket}` : ''}/${encodeKey(key)}`;
    const host = pathStyle ? this.http.url.host : `${bucket}.${this.http.url.host}`;
    const operation = `${request.method} ${bucket}/${key}`;
    return this.http.send(
      { ...request, path },
      (answer) =>
        failureOf(operation, answer) ?? (request.method === 'GET' ? corruption(operation, answer) : undefined),
      host,
    );
  }
}

function headOf(headers: IncomingHttpHeaders, contentLength: number): S3ObjectHead {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers))
    if (name.startsWith('x-amz-meta-') && value !== undefined)
      metadata[name.slice('x-amz-meta-'.length)] = Array.isArray(value) ? value.join(',') : value;
  const lastModified = timeOf(header(headers, 'last-modified'));
  const etag = header(headers, 'etag');
  const contentType = header(headers, 'content-type');
  const checksumSha256 = header(headers, 'x-amz-checksum-sha256');
  return {
    contentLength,
    ...(lastModified === undefined ? {} : { lastModified }),
    ...(etag === undefined ? {} : { etag }),
    ...(contentType === undefined ? {} : { contentType }),
    ...(checksumSha256 === undefined ? {} : { checksumSha256 }),
    metadata,
  };
}

/** A body that does not match the whole-object SHA-256 S3 gives with it (not a multipart checksum of checksums). */
function corruption(operation: string, answer: AwsHttpResponse): AwsServiceError | undefined {
  const expected = header(answer.headers, 'x-amz-checksum-sha256');
  if (expected === undefined || expected.includes('-')) return undefined;
  const actual = createHash('sha256').update(answer.body).digest('base64');
  if (actual === expected) return undefined;
  // Tried again, as a transfer that went wrong may go right.
  return new AwsServiceError(
    'ChecksumMismatch',
    `${operation}: the body received has SHA-256 ${actual}, S3 says ${expected}`,
    answer.statusCode,
    true,
  );
}

/** S3's error answer (an XML `<Error>` with `<Code>`, none for HEAD) as an AwsServiceError; undefined for a success. */
function failureOf(operation: string, answer: AwsHttpResponse): AwsServiceError | undefined {
  const { statusCode } = answer;
  if (statusCode >= 200 && statusCode < 300) return undefined;
  const xml = answer.body.toString('utf8');
  const code =
    xmlValue(xml, 'Code') ??
    (statusCode === 404
      ? 'NotFound'
      : statusCode === 403
        ? 'Forbidden'
        : statusCode >= 500
          ? 'InternalError'
          : `HTTP${statusCode}`);
  const message = xmlValue(xml, 'Message') ?? `HTTP ${statusCode}`;
  const region = header(answer.headers, 'x-amz-bucket-region');
  const where = statusCode === 301 && region ? ` (the bucket is in ${region})` : '';
  return new AwsServiceError(
    code,
    `${operation}: ${code}: ${message}${where}`,
    statusCode,
    retryableAnswer(statusCode, code),
  );
}
