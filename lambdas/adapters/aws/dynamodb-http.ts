import { jsonObject } from '../../core/json-object.ts';
import {
  type AwsCredentials,
  AwsHttpClient,
  type AwsHttpOptions,
  type AwsHttpResponse,
  AwsServiceError,
  partitionDomain,
  retryableAnswer,
} from './aws-http.ts';

/*
 * DynamoDB's JSON protocol (POST / with X-Amz-Target) over AwsHttpClient: the seven operations the control table
 * needs, errors named as the SDK names them (`ConditionalCheckFailedException` with the item it failed on,
 * `TransactionCanceledException` with its reasons). Why not the SDK's client: see aws-http.ts.
 */

export type { AwsCredentials };
export type DynamoDbHttpOptions = AwsHttpOptions;

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

/** An error DynamoDB answered. */
export class DynamoDbError extends AwsServiceError {
  constructor(
    name: string,
    message: string,
    statusCode: number | undefined,
    retryable: boolean,
    /** TransactionCanceledException: one reason per item, in order. */
    readonly cancellationReasons?: readonly { readonly Code?: string; readonly Message?: string }[],
    /** ConditionalCheckFailedException with ReturnValuesOnConditionCheckFailure: the item as it was (typed values). */
    readonly item?: Readonly<Record<string, unknown>>,
  ) {
    super(name, message, statusCode, retryable);
  }
}

/** Whether `error` is DynamoDB's exception `name` (e.g. `ConditionalCheckFailedException`). */
export function isDynamoDbError(error: unknown, name: string): error is DynamoDbError {
  return error instanceof DynamoDbError && error.name === name;
}

const API_VERSION = 'DynamoDB_20120810';

/** The regional endpoint as the SDK's rules give it for the standard, China and GovCloud partitions. */
export function dynamoDbEndpoint(region: string): string {
  return `https://dynamodb.${region}.${partitionDomain(region)}`;
}

export class DynamoDbHttpClient implements DynamoDbApi {
  private readonly http: AwsHttpClient;

  constructor(options: DynamoDbHttpOptions = {}) {
    this.http = new AwsHttpClient('dynamodb', dynamoDbEndpoint, options);
  }

  async call(operation: DynamoDbOperation, input: Readonly<Record<string, unknown>>): Promise<Record<string, unknown>> {
    const response = await this.http.send(
      {
        method: 'POST',
        path: this.http.url.pathname || '/',
        headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `${API_VERSION}.${operation}` },
        body: JSON.stringify(input),
      },
      (answer) => failureOf(operation, answer),
    );
    return jsonObject(response.body.toString('utf8')) ?? {};
  }

  /** Closes the kept-alive sockets of the client's own agent. */
  destroy(): void {
    this.http.destroy();
  }
}

/** DynamoDB's error answer as a DynamoDbError (`__type` is `<namespace>#<name>`); undefined for a success. */
function failureOf(operation: DynamoDbOperation, answer: AwsHttpResponse): DynamoDbError | undefined {
  const { statusCode } = answer;
  const text = answer.body.toString('utf8');
  const parsed = jsonObject(text);
  if (statusCode >= 200 && statusCode < 300)
    return parsed === undefined
      ? new DynamoDbError('InvalidResponse', `${operation}: the answer is not a JSON object`, statusCode, true)
      : undefined;
  const type = typeof parsed?.__type === 'string' ? parsed.__type : '';
  const name = type.split('#').at(-1) || (statusCode >= 500 ? 'InternalServerError' : `HTTP${statusCode}`);
  const said = parsed?.message ?? parsed?.Message;
  const message = typeof said === 'string' ? said : text.slice(0, 200) || `HTTP ${statusCode}`;
  const reasons = Array.isArray(parsed?.CancellationReasons)
    ? (parsed.CancellationReasons as { Code?: string; Message?: string }[])
    : undefined;
  const item =
    typeof parsed?.Item === 'object' && parsed.Item !== null ? (parsed.Item as Record<string, unknown>) : undefined;
  return new DynamoDbError(
    name,
    `${operation}: ${name}: ${message}`,
    statusCode,
    retryableAnswer(statusCode, name),
    reasons,
    item,
  );
}
