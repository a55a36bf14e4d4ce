import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { signRequest } from './sigv4.ts';

/*
 * DynamoDB's JSON protocol over node:https, signed with Signature Version 4 (sigv4.ts): what the control-plane Lambdas use instead of @aws-sdk/client-dynamodb. Measured on the bench, the SDK
 * client alone costs ~65 ms to import and ~33 ms for its first request on Node.js 20 (343 KB bundled), the whole cold
 * start budget; this is ~10 KB and a few milliseconds. The store needs seven operations, each one POST of a JSON
 * body, so little of the SDK's generality is lost; what the SDK does that matters is kept here and tested against
 * moto: the signature, the endpoint and credentials from the environment as the SDK reads them, retries of
 * throttling, 5xx and network errors with full-jitter backoff, a bound on every attempt, and errors named as the SDK
 * names them (`ConditionalCheckFailedException`, with the item; `TransactionCanceledException`, with its reasons).
 */

/** The DynamoDB operations the control plane calls. */
export type DynamoDbOperation =
  | 'GetItem'
  | 'PutItem'
  | 'UpdateItem'
  | 'DeleteItem'
  | 'Query'
  | 'BatchGetItem'
  | 'TransactWriteItems';

/** One DynamoDB call: the operation's request and response in DynamoDB's JSON (attribute values typed: {"S": …}). */
export interface DynamoDbApi {
  call(operation: DynamoDbOperation, input: Readonly<Record<string, unknown>>): Promise<Record<string, unknown>>;
}

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface DynamoDbHttpOptions {
  /** @default AWS_REGION, else AWS_DEFAULT_REGION */
  readonly region?: string;
  /** @default AWS_ENDPOINT_URL_DYNAMODB, else AWS_ENDPOINT_URL, else https://dynamodb.<region>.<partition domain> */
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

/** An error DynamoDB answered, named as the SDK names it; `retryable` when trying again may succeed. */
export class DynamoDbError extends Error {
  constructor(
    /** The exception's short name, e.g. `ConditionalCheckFailedException`. */
    override readonly name: string,
    message: string,
    readonly statusCode: number | undefined,
    readonly retryable: boolean,
    /** TransactionCanceledException: one reason per item, in order. */
    readonly cancellationReasons?: readonly { readonly Code?: string; readonly Message?: string }[],
    /** ConditionalCheckFailedException with ReturnValuesOnConditionCheckFailure: the item as it was (typed values). */
    readonly item?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
  }
}

/** Whether `error` is DynamoDB's exception `name` (e.g. `ConditionalCheckFailedException`). */
export function isDynamoDbError(error: unknown, name: string): error is DynamoDbError {
  return error instanceof DynamoDbError && error.name === name;
}

const API_VERSION = 'DynamoDB_20120810';
const THROTTLING = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'LimitExceededException',
  'TooManyRequestsException',
]);
const TRANSIENT = new Set(['InternalServerError', 'ServiceUnavailable', 'InternalFailure', 'RequestTimeout']);

/** The regional endpoint as the SDK's rules give it for the standard, China and GovCloud partitions. */
export function dynamoDbEndpoint(region: string): string {
  const domain = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://dynamodb.${region}.${domain}`;
}

export class DynamoDbHttpClient implements DynamoDbApi {
  private readonly url: URL;
  private readonly region: string;
  private readonly credentials: AwsCredentials;
  private readonly now: () => number;
  private readonly maxAttempts: number;
  private readonly attemptTimeoutMs: number;
  private readonly agent: HttpAgent;
  private readonly ownsAgent: boolean;
  private readonly backoffMs: (attempt: number) => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(options: DynamoDbHttpOptions = {}) {
    const env = options.env ?? process.env;
    const region = options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
    if (!region) throw new Error('DynamoDB client: no region (set AWS_REGION or pass region)');
    const endpoint =
      options.endpoint ?? env.AWS_ENDPOINT_URL_DYNAMODB ?? env.AWS_ENDPOINT_URL ?? dynamoDbEndpoint(region);
    try {
      this.url = new URL(endpoint);
    } catch {
      throw new Error(`DynamoDB client: endpoint ${JSON.stringify(endpoint)} is not a URL`);
    }
    if (this.url.protocol !== 'https:' && this.url.protocol !== 'http:')
      throw new Error(`DynamoDB client: endpoint ${endpoint} is neither http nor https`);
    this.region = region;
    this.credentials = options.credentials ?? credentialsFromEnv(env);
    this.now = options.now ?? Date.now;
    const attempts = options.maxAttempts ?? (env.AWS_MAX_ATTEMPTS ? Number(env.AWS_MAX_ATTEMPTS) : 3);
    if (!Number.isInteger(attempts) || attempts < 1)
      throw new Error(`DynamoDB client: maxAttempts (AWS_MAX_ATTEMPTS) must be a whole number >= 1, got ${attempts}`);
    this.maxAttempts = attempts;
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? 10_000;
    this.ownsAgent = options.agent === undefined;
    this.agent =
      options.agent ??
      (this.url.protocol === 'https:' ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true }));
    this.backoffMs = options.backoffMs ?? ((attempt) => Math.random() * Math.min(20_000, 100 * 2 ** (attempt - 1)));
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  async call(operation: DynamoDbOperation, input: Readonly<Record<string, unknown>>): Promise<Record<string, unknown>> {
    const body = JSON.stringify(input);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.attempt(operation, body);
      } catch (error) {
        const retryable = error instanceof DynamoDbError ? error.retryable : true;
        if (!retryable || attempt >= this.maxAttempts) throw error;
        await this.sleep(this.backoffMs(attempt));
      }
    }
  }

  /** Closes the kept-alive sockets of the client's own agent. */
  destroy(): void {
    if (this.ownsAgent) this.agent.destroy();
  }

  private async attempt(operation: DynamoDbOperation, body: string): Promise<Record<string, unknown>> {
    const headers = signRequest(
      {
        method: 'POST',
        host: this.url.host,
        path: this.url.pathname || '/',
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'content-length': String(Buffer.byteLength(body)),
          'x-amz-target': `${API_VERSION}.${operation}`,
        },
        body,
      },
      this.credentials,
      { region: this.region, service: 'dynamodb' },
      new Date(this.now()),
    );
    const { statusCode, text } = await this.send(headers, body);
    const parsed = parseJson(text);
    if (statusCode >= 200 && statusCode < 300) {
      if (parsed === undefined)
        throw new DynamoDbError('InvalidResponse', `${operation}: answer is not JSON`, statusCode, true);
      return parsed;
    }
    throw errorOf(operation, statusCode, parsed, text);
  }

  private send(headers: Record<string, string>, body: string): Promise<{ statusCode: number; text: string }> {
    const request = this.url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = request(
        {
          protocol: this.url.protocol,
          hostname: this.url.hostname,
          port: this.url.port || undefined,
          path: this.url.pathname || '/',
          method: 'POST',
          headers,
          agent: this.agent,
        },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (part: Buffer) => parts.push(part));
          res.on('end', () =>
            resolve({ statusCode: res.statusCode ?? 0, text: Buffer.concat(parts).toString('utf8') }),
          );
          res.on('error', reject);
        },
      );
      const timer = setTimeout(
        () => req.destroy(new Error(`DynamoDB attempt timed out after ${this.attemptTimeoutMs} ms`)),
        this.attemptTimeoutMs,
      );
      req.on('close', () => clearTimeout(timer));
      req.on('error', reject);
      req.end(body);
    });
  }
}

function credentialsFromEnv(env: Readonly<Record<string, string | undefined>>): AwsCredentials {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey)
    throw new Error(
      'DynamoDB client: no credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set (Lambda sets them ' +
        "from the function's role; elsewhere pass credentials)",
    );
  return { accessKeyId, secretAccessKey, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) };
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** DynamoDB's error answer as a DynamoDbError: `__type` is `<namespace>#<name>`. */
function errorOf(
  operation: DynamoDbOperation,
  statusCode: number,
  parsed: Record<string, unknown> | undefined,
  text: string,
): DynamoDbError {
  const type = typeof parsed?.__type === 'string' ? parsed.__type : '';
  const name = type.split('#').at(-1) || (statusCode >= 500 ? 'InternalServerError' : `HTTP${statusCode}`);
  const said = parsed?.message ?? parsed?.Message;
  const message = typeof said === 'string' ? said : text.slice(0, 200) || `HTTP ${statusCode}`;
  const retryable = statusCode >= 500 || statusCode === 429 || THROTTLING.has(name) || TRANSIENT.has(name);
  const reasons = Array.isArray(parsed?.CancellationReasons)
    ? (parsed.CancellationReasons as { Code?: string; Message?: string }[])
    : undefined;
  const item =
    typeof parsed?.Item === 'object' && parsed.Item !== null ? (parsed.Item as Record<string, unknown>) : undefined;
  return new DynamoDbError(name, `${operation}: ${name}: ${message}`, statusCode, retryable, reasons, item);
}
