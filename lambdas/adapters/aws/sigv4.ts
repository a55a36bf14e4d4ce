import { createHash, createHmac } from 'node:crypto';

/*
 * AWS Signature Version 4 for one request with its whole body in hand (header auth, signed payload), as AWS documents
 * it ("Create a signed AWS API request"): canonical request, string to sign, signing key derived from the secret by
 * date, region and service. Written here, not taken from @smithy/signature-v4, because that package imports
 * @smithy/core's protocol barrel, and in a split bundle that drags ~50 KB of the SDK's serializers onto every cold
 * start; test/unit/adapters/sigv4.test.ts holds it to the SDK's signer on the same requests.
 */

export interface SigningCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface UnsignedRequest {
  readonly method: string;
  /** host[:port], as the Host header carries it. */
  readonly host: string;
  /** The request path, already percent-encoded as sent. */
  readonly path: string;
  /** Query parameters, not encoded (sent as `canonicalQuery` writes them). */
  readonly query?: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | Uint8Array;
}

/** RFC 3986 percent-encoding of everything but the unreserved characters, as SigV4 wants. */
export function rfc3986(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

const sha256Hex = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

/** The query string as signed and as sent: names and values RFC 3986-encoded, sorted by name (then value). */
export function canonicalQuery(query: Readonly<Record<string, string>>): string {
  return Object.entries(query)
    .map(([name, value]) => [rfc3986(name), rfc3986(value)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

/** `YYYYMMDDTHHMMSSZ` */
export function amzDate(at: Date): string {
  return at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/**
 * The request's headers with `host`, `x-amz-date`, `x-amz-content-sha256`, `x-amz-security-token` (with a session
 * token) and `authorization` added; every header given is signed.
 */
export function signRequest(
  request: UnsignedRequest,
  credentials: SigningCredentials,
  scope: { readonly region: string; readonly service: string },
  at: Date,
): Record<string, string> {
  const stamp = amzDate(at);
  const day = stamp.slice(0, 8);
  const payloadHash = sha256Hex(request.body);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
  headers.host = request.host;
  headers['x-amz-date'] = stamp;
  headers['x-amz-content-sha256'] = payloadHash;
  if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken;
  const names = Object.keys(headers).sort();
  const canonicalHeaders = names.map((n) => `${n}:${String(headers[n]).trim().replace(/\s+/g, ' ')}\n`).join('');
  const signedHeaders = names.join(';');
  // Every service but S3 signs the path encoded once more (the SDK's uriEscapePath); S3 signs it as sent.
  const path = request.path || '/';
  const canonicalPath = scope.service === 's3' ? path : path.split('/').map(rfc3986).join('/');
  const canonicalRequest = [
    request.method.toUpperCase(),
    canonicalPath,
    canonicalQuery(request.query ?? {}),
    canonicalHeaders,
    signedHeaders,
    payloadHash,
  ].join('\n');
  const credentialScope = `${day}/${scope.region}/${scope.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', stamp, credentialScope, sha256Hex(canonicalRequest)].join('\n');
  const key = hmac(
    hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day), scope.region), scope.service),
    'aws4_request',
  );
  const signature = createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
  headers.authorization =
    `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${credentialScope}, ` +
    `SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return headers;
}
