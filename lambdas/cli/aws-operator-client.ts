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
  /**
   * How long to wait for the answer: a procedure waits for its commands on the hosts (up to the Lambda's 15 minutes).
   * @default 30000
   */
  readonly timeoutMs?: number;
}

/** The operator API's answer, whatever its status. */
export interface OperatorApiAnswer {
  readonly statusCode: number;
  readonly body: unknown;
}

/**
 * Calls the deployed operator API (a Lambda Function URL with IAM auth), signing with the operator's own AWS
 * credentials (the default provider chain: environment, profile, SSO, instance role).
 */
export async function callOperatorApi(url: string, region: string, call: OperatorApiCall): Promise<unknown> {
  const answer = await sendOperatorApi(url, region, call);
  if (answer.statusCode < 200 || answer.statusCode > 299) {
    const { body } = answer;
    const message =
      typeof body === 'object' && body !== null && 'error' in body ? String(body.error) : String(body).slice(0, 300);
    const code = answer.statusCode === 403 ? 'FORBIDDEN' : answer.statusCode === 404 ? 'NOT_FOUND' : 'API_ERROR';
    throw new ControlPlaneError(code, `operator API answered HTTP ${answer.statusCode}: ${message}`);
  }
  return answer.body;
}

/**
 * Like `callOperatorApi`, but answers every status with its body (a procedure's 502 carries the output saying why);
 * only a failure to reach the API throws. The Function URL front end's own 403 is answered too.
 */
export async function sendOperatorApi(url: string, region: string, call: OperatorApiCall): Promise<OperatorApiAnswer> {
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
    signal: AbortSignal.timeout(call.timeoutMs ?? 30_000),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Keep the text: an error page from the Function URL front end is not JSON.
  }
  return { statusCode: response.status, body: parsed };
}
