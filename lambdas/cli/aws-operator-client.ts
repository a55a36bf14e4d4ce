import { createHash, createHmac } from 'node:crypto';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { ControlPlaneError, UsageError } from '../core/errors.ts';

/** SHA-256 for SigV4 from node:crypto (HMAC when given a secret). */
type Source = string | ArrayBuffer | ArrayBufferView;

function bytes(data: Source): string | Uint8Array {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

class Sha256 {
  private hash: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  private readonly secret: string | Uint8Array | undefined;
  constructor(secret?: Source) {
    this.secret = secret === undefined ? undefined : bytes(secret);
    this.hash = this.secret === undefined ? createHash('sha256') : createHmac('sha256', this.secret);
  }
  update(data: Source): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = this.secret === undefined ? createHash('sha256') : createHmac('sha256', this.secret);
  }
}

export interface OperatorApiCall {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly body?: unknown;
  readonly query?: Readonly<Record<string, string>>;
}

/**
 * Calls the deployed operator API (a Lambda Function URL with IAM auth), signing with the operator's own AWS
 * credentials (the default provider chain: environment, profile, SSO, instance role).
 */
export async function callOperatorApi(url: string, region: string, call: OperatorApiCall): Promise<unknown> {
  let base: URL;
  try {
    base = new URL(url);
  } catch {
    throw new UsageError(`--url "${url}" is not a URL (the OperatorApiUrl output of the stack)`);
  }
  if (base.protocol !== 'https:') throw new UsageError('--url must be an https:// Function URL');
  const body = call.body === undefined ? undefined : JSON.stringify(call.body);
  const signer = new SignatureV4({ service: 'lambda', region, credentials: defaultProvider(), sha256: Sha256 });
  const signed = await signer.sign({
    method: call.method,
    protocol: 'https:',
    hostname: base.hostname,
    path: call.path,
    query: { ...(call.query ?? {}) },
    headers: {
      host: base.hostname,
      'content-type': 'application/json',
      ...(body ? { 'content-length': String(Buffer.byteLength(body)) } : {}),
    },
    ...(body === undefined ? {} : { body }),
  });
  const target = new URL(call.path, base);
  for (const [k, v] of Object.entries(call.query ?? {})) target.searchParams.set(k, v);
  const response = await fetch(target, {
    method: call.method,
    headers: signed.headers as Record<string, string>,
    ...(body === undefined ? {} : { body }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Keep the text: an error page from the Function URL front end is not JSON.
  }
  if (!response.ok) {
    const message =
      typeof parsed === 'object' && parsed !== null && 'error' in parsed ? String(parsed.error) : text.slice(0, 300);
    const code = response.status === 403 ? 'FORBIDDEN' : response.status === 404 ? 'NOT_FOUND' : 'API_ERROR';
    throw new ControlPlaneError(code, `operator API answered HTTP ${response.status}: ${message}`);
  }
  return parsed;
}
