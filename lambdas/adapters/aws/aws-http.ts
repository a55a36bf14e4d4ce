import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { canonicalQuery, signRequest } from './sigv4.ts';

/*
 * One AWS service's HTTP API, signed with Signature Version 4: what the control-plane Lambdas use for DynamoDB
 * (dynamodb-http.ts) and S3 (s3-http.ts) instead of the SDK's clients. Measured on the bench, the SDK's DynamoDB
 * client alone costs ~65 ms to import and ~33 ms for its first request on Node.js 20 (343 KB bundled), the whole
 * cold-start budget; this and a service's few calls are ~15 KB and a few milliseconds. What the SDK does that the
 * control plane needs is kept here and tested: the signature (held to the SDK's signer), region, endpoint and
 * credentials from the environment as the SDK reads them, retries of throttling, 5xx and network errors with
 * full-jitter backoff, a bound on every attempt, and errors named as the SDK names them. Credentials come only from
 * the environment (AWS_ACCESS_KEY_ID...), where Lambda puts its role's: nothing else in the project calls these.
 */

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface AwsHttpOptions {
  /** @default AWS_REGION, else AWS_DEFAULT_REGION */
  readonly region?: string;
  /** @default AWS_ENDPOINT_URL_<SERVICE>, else AWS_ENDPOINT_URL, else the service's regional endpoint */
  readonly endpoint?: string;
  /** @default AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, as Lambda sets them */
  readonly credentials?: AwsCredentials;
  /** Attempts of one call, the first included. @default AWS_MAX_ATTEMPTS, else 3 (the SDK's default) */
  readonly maxAttempts?: number;
  /** Bound on one attempt, from sending to the whole answer. @default 10 000 ms */
  readonly attemptTimeoutMs?: number;
  /** The sockets' agent. @default one keep-alive agent per client */
  readonly agent?: HttpAgent;
  /** The backoff before retry `attempt` (1, 2, …). @default full jitter on 100 ms × 2^(attempt-1), capped at 20 s */
  readonly backoffMs?: (attempt: number) => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** The time requests are signed at. @default Date.now */
  readonly now?: () => number;
  /** Where the defaults above are read from. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** An error the service answered, named as the SDK names it; `retryable` when trying again may succeed. */
export class AwsServiceError extends Error {
  constructor(
    /** The error's code, e.g. `ConditionalCheckFailedException`, `NoSuchBucket`. */
    override readonly name: string,
    message: string,
    readonly statusCode: number | undefined,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

export interface AwsHttpRequest {
  readonly method: 'GET' | 'PUT' | 'POST' | 'HEAD' | 'DELETE';
  /** Percent-encoded, from the root of the endpoint's host. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string>>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Uint8Array | string;
}

export interface AwsHttpResponse {
  readonly statusCode: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** Error codes the SDK treats as throttling or transient, whatever the service. */
const RETRYABLE_CODES = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'TooManyRequestsException',
  'LimitExceededException',
  'InternalServerError',
  'InternalError',
  'InternalFailure',
  'ServiceUnavailable',
  'RequestTimeout',
  'RequestTimeoutException',
]);

/** Whether an answer with this status and error code may succeed when tried again. */
export function retryableAnswer(statusCode: number, code: string): boolean {
  return statusCode >= 500 || statusCode === 429 || RETRYABLE_CODES.has(code);
}

export class AwsHttpClient {
  readonly region: string;
  /** The endpoint, and whether it is the user's own (moto, a VPC endpoint URL) rather than AWS's regional one. */
  readonly url: URL;
  readonly customEndpoint: boolean;
  private readonly credentials: AwsCredentials;
  private readonly maxAttempts: number;
  private readonly attemptTimeoutMs: number;
  private readonly agent: HttpAgent;
  private readonly ownsAgent: boolean;
  private readonly backoffMs: (attempt: number) => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;

  constructor(
    /** The signing name and the environment's name of the service: `dynamodb`, `s3`. */
    readonly service: string,
    regionalEndpoint: (region: string) => string,
    options: AwsHttpOptions = {},
  ) {
    const env = options.env ?? process.env;
    const label = `${service} client`;
    const region = options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
    if (!region) throw new Error(`${label}: no region (set AWS_REGION or pass region)`);
    this.region = region;
    const own = options.endpoint ?? env[`AWS_ENDPOINT_URL_${service.toUpperCase()}`] ?? env.AWS_ENDPOINT_URL;
    this.customEndpoint = own !== undefined && own !== '';
    const endpoint = this.customEndpoint ? (own as string) : regionalEndpoint(region);
    try {
      this.url = new URL(endpoint);
    } catch {
      throw new Error(`${label}: endpoint ${JSON.stringify(endpoint)} is not a URL`);
    }
    if (this.url.protocol !== 'https:' && this.url.protocol !== 'http:')
      throw new Error(`${label}: endpoint ${endpoint} is neither http nor https`);
    this.credentials = options.credentials ?? credentialsFromEnv(label, env);
    const attempts = options.maxAttempts ?? (env.AWS_MAX_ATTEMPTS ? Number(env.AWS_MAX_ATTEMPTS) : 3);
    if (!Number.isInteger(attempts) || attempts < 1)
      throw new Error(`${label}: maxAttempts (AWS_MAX_ATTEMPTS) must be a whole number >= 1, got ${attempts}`);
    this.maxAttempts = attempts;
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? 10_000;
    this.ownsAgent = options.agent === undefined;
    this.agent =
      options.agent ??
      (this.url.protocol === 'https:' ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true }));
    this.backoffMs = options.backoffMs ?? ((attempt) => Math.random() * Math.min(20_000, 100 * 2 ** (attempt - 1)));
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.now = options.now ?? Date.now;
  }

  /**
   * Sends the request, trying again after a network error, a timed-out attempt, or an answer that `failure` turns
   * into a retryable error; gives the first answer `failure` accepts (returns undefined for). The last error is thrown.
   */
  async send(
    request: AwsHttpRequest,
    failure: (response: AwsHttpResponse) => AwsServiceError | undefined,
    host: string = this.url.host,
  ): Promise<AwsHttpResponse> {
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await this.attempt(request, host);
        const error = failure(response);
        if (error) throw error;
        return response;
      } catch (error) {
        const retryable = error instanceof AwsServiceError ? error.retryable : true;
        if (!retryable || attempt >= this.maxAttempts) throw error;
        await this.sleep(this.backoffMs(attempt));
      }
    }
  }

  /** Closes the kept-alive sockets of the client's own agent. */
  destroy(): void {
    if (this.ownsAgent) this.agent.destroy();
  }

  private async attempt(request: AwsHttpRequest, host: string): Promise<AwsHttpResponse> {
    const body = request.body ?? '';
    const query = request.query ?? {};
    const headers = signRequest(
      {
        method: request.method,
        host,
        path: request.path,
        query,
        headers: { ...request.headers, 'content-length': String(Buffer.byteLength(body)) },
        body,
      },
      this.credentials,
      { region: this.region, service: this.service },
      new Date(this.now()),
    );
    const search = canonicalQuery(query);
    const path = search ? `${request.path}?${search}` : request.path;
    const send = this.url.protocol === 'https:' ? httpsRequest : httpRequest;
    return await new Promise((resolve, reject) => {
      const req = send(
        {
          protocol: this.url.protocol,
          // The signed host (a bucket's virtual host) resolves as itself; a custom endpoint's is its own host.
          hostname: host === this.url.host ? this.url.hostname : host.replace(/:\d+$/, ''),
          port: this.url.port || undefined,
          path,
          method: request.method,
          headers,
          agent: this.agent,
        },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (part: Buffer) => parts.push(part));
          res.on('end', () =>
            resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }),
          );
          res.on('error', reject);
        },
      );
      const timer = setTimeout(
        () => req.destroy(new Error(`${this.service} attempt timed out after ${this.attemptTimeoutMs} ms`)),
        this.attemptTimeoutMs,
      );
      req.on('close', () => clearTimeout(timer));
      req.on('error', reject);
      req.end(body);
    });
  }
}

function credentialsFromEnv(label: string, env: Readonly<Record<string, string | undefined>>): AwsCredentials {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey)
    throw new Error(
      `${label}: no credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set (Lambda sets them ` +
        "from the function's role; elsewhere pass credentials)",
    );
  return { accessKeyId, secretAccessKey, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) };
}

/** The standard and China partitions' DNS suffix for a region. */
export function partitionDomain(region: string): string {
  return region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
}
