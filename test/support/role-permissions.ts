/**
 * Does a deployed role allow the AWS calls a handler made? moto does not enforce IAM, so the rehearsal records every
 * call its handlers make (`recordCalls`, `recordApiCalls`), turns each into the IAM actions and resources AWS authorises
 * (`requiredPermissions`), and evaluates them against the role's policies as moto's IAM holds them
 * (`evaluate`): identity-based statements only, Allow and Deny, `*`/`?` wildcards in actions and resources, and the
 * condition operators the stack uses (StringEquals, StringLike, ArnEquals, ArnLike, Bool). A condition key the call
 * does not provide makes the statement not apply, as in AWS.
 */
import type { DynamoDbApi } from '../../lambdas/adapters/aws/dynamodb-http.ts';
import { S3HttpClient, type S3HttpOptions, type S3PutRequest } from '../../lambdas/adapters/aws/s3-http.ts';

export interface RecordedCall {
  /** The SDK command's name without `Command`, or the API operation (`GetItem`, `TransactWriteItems`...). */
  readonly operation: string;
  // biome-ignore lint/suspicious/noExplicitAny: inputs of many SDK commands; requiredPermissions reads what it needs.
  readonly input: any;
}

export interface Permission {
  readonly action: string;
  readonly resource: string;
  /** Condition keys AWS would provide for this request. */
  readonly context?: Readonly<Record<string, string>>;
}

/** Adds a middleware to `client` that appends every command it sends to `calls`. */
export function recordCalls<
  C extends { middlewareStack: { add: (middleware: never, options: { step: 'initialize'; name: string }) => void } },
>(client: C, calls: RecordedCall[]): C {
  const middleware =
    (next: (args: { input: unknown }) => Promise<unknown>, context: { commandName?: string }) =>
    async (args: { input: unknown }) => {
      calls.push({
        operation: (context.commandName ?? '').replace(/Command$/, ''),
        input: structuredClone(args.input),
      });
      return next(args);
    };
  client.middlewareStack.add(middleware as never, { step: 'initialize', name: 'recordCalls' });
  return client;
}

/** `api` with every call appended to `calls` (the control plane's own DynamoDB client, which has no middleware). */
export function recordApiCalls(api: DynamoDbApi, calls: RecordedCall[]): DynamoDbApi {
  return {
    call: (operation, input) => {
      calls.push({ operation, input: structuredClone(input) as RecordedCall['input'] });
      return api.call(operation, input);
    },
  };
}

/** An S3 client of the control plane's own kind whose writes are appended to `calls` as the SDK's inputs would be. */
export function recordingS3Client(options: S3HttpOptions, calls: RecordedCall[]): S3HttpClient {
  return new (class extends S3HttpClient {
    override putObject(request: S3PutRequest) {
      calls.push({
        operation: 'PutObject',
        input: { Bucket: request.bucket, Key: request.key, SSEKMSKeyId: request.kmsKeyId },
      });
      return super.putObject(request);
    }
  })(options);
}

export interface AccountFacts {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
  /** Topic ARN -> the ARN of the KMS key it is encrypted with. */
  readonly topicKeys: Readonly<Record<string, string>>;
  /** Instance id -> its tags (SendCommand's `ssm:resourceTag/<key>` condition keys). */
  readonly instanceTags: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

const DYNAMODB_ITEM_ACTIONS: Readonly<Record<string, string>> = {
  Get: 'GetItem',
  GetItem: 'GetItem',
  Put: 'PutItem',
  PutItem: 'PutItem',
  Update: 'UpdateItem',
  UpdateItem: 'UpdateItem',
  Delete: 'DeleteItem',
  DeleteItem: 'DeleteItem',
  Query: 'Query',
  Scan: 'Scan',
  ConditionCheck: 'ConditionCheckItem',
};

/** The IAM permissions AWS checks for one call (for SNS with a KMS-encrypted topic: the key use too). */
export function requiredPermissions(call: RecordedCall, facts: AccountFacts): Permission[] {
  const arn = (service: string, resource: string) =>
    `arn:${facts.partition}:${service}:${facts.region}:${facts.account}:${resource}`;
  const table = (name: string, index?: string) =>
    name.startsWith('arn:') ? name : arn('dynamodb', `table/${name}${index ? `/index/${index}` : ''}`);
  const { operation, input } = call;
  const itemAction = DYNAMODB_ITEM_ACTIONS[operation];
  if (itemAction && input.TableName)
    return [{ action: `dynamodb:${itemAction}`, resource: table(input.TableName, input.IndexName) }];
  switch (operation) {
    case 'BatchGet':
    case 'BatchGetItem':
      return Object.keys(input.RequestItems ?? {}).map((t) => ({
        action: 'dynamodb:BatchGetItem',
        resource: table(t),
      }));
    case 'BatchWrite':
    case 'BatchWriteItem':
      return Object.keys(input.RequestItems ?? {}).map((t) => ({
        action: 'dynamodb:BatchWriteItem',
        resource: table(t),
      }));
    case 'TransactWrite':
    case 'TransactWriteItems':
    case 'TransactGet':
    case 'TransactGetItems':
      // Each item is authorised by the action of its kind.
      return (input.TransactItems ?? []).flatMap((item: Record<string, { TableName: string }>) =>
        Object.entries(item).map(([kind, body]) => ({
          action: `dynamodb:${DYNAMODB_ITEM_ACTIONS[kind] ?? kind}`,
          resource: table(body.TableName),
        })),
      );
    case 'Publish': {
      const topic = input.TopicArn as string;
      const snsViaService = { 'kms:ViaService': `sns.${facts.region}.amazonaws.com` };
      const key = facts.topicKeys[topic];
      return [
        { action: 'sns:Publish', resource: topic },
        // SNS uses the publisher's permissions on the topic's key, calling KMS as the SNS service of the region.
        ...(key
          ? [
              { action: 'kms:GenerateDataKey', resource: key, context: snsViaService },
              { action: 'kms:Decrypt', resource: key, context: snsViaService },
            ]
          : []),
      ];
    }
    case 'SendCommand': {
      const document = input.DocumentName as string;
      const instances = (input.InstanceIds ?? []) as string[];
      return [
        {
          action: 'ssm:SendCommand',
          resource: document.startsWith('arn:') ? document : arn('ssm', `document/${document}`),
        },
        ...instances.map((id) => ({
          action: 'ssm:SendCommand',
          resource: arn('ec2', `instance/${id}`),
          context: Object.fromEntries(
            Object.entries(facts.instanceTags[id] ?? {}).map(([k, v]) => [`ssm:resourceTag/${k}`, v]),
          ),
        })),
      ];
    }
    case 'PutEvents':
      return [
        ...new Set(
          (input.Entries ?? []).map((e: { EventBusName?: string }) => {
            const bus = e.EventBusName ?? 'default';
            return bus.startsWith('arn:') ? bus : arn('events', `event-bus/${bus}`);
          }),
        ),
      ].map((resource) => ({ action: 'events:PutEvents', resource: resource as string }));
    case 'PutObject': {
      // With SSE-KMS, S3 asks KMS for a data key as the caller, calling it as the S3 service of the region.
      const key = input.SSEKMSKeyId as string | undefined;
      return [
        { action: 's3:PutObject', resource: `arn:${facts.partition}:s3:::${input.Bucket}/${input.Key}` },
        ...(key
          ? [
              {
                action: 'kms:GenerateDataKey',
                resource: key,
                context: { 'kms:ViaService': `s3.${facts.region}.amazonaws.com` },
              },
            ]
          : []),
      ];
    }
    default:
      throw new Error(`requiredPermissions does not know ${operation}: teach it the IAM action and resource`);
  }
}

export interface PolicyStatement {
  readonly Effect: 'Allow' | 'Deny';
  readonly Action?: string | string[];
  readonly Resource?: string | string[];
  readonly Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocument {
  readonly Statement: PolicyStatement | PolicyStatement[];
}

/** Whether `documents` allow `permission`: some Allow statement matches and no Deny does. */
export function evaluate(documents: readonly PolicyDocument[], permission: Permission): boolean {
  const statements = documents.flatMap((d) => (Array.isArray(d.Statement) ? d.Statement : [d.Statement]));
  const matching = statements.filter((s) => applies(s, permission));
  return matching.some((s) => s.Effect === 'Allow') && !matching.some((s) => s.Effect === 'Deny');
}

function applies(statement: PolicyStatement, permission: Permission): boolean {
  const list = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
  if (!list(statement.Action).some((a) => wildcard(a, true).test(permission.action))) return false;
  if (!list(statement.Resource).some((r) => wildcard(r, false).test(permission.resource))) return false;
  return Object.entries(statement.Condition ?? {}).every(([operator, keys]) =>
    Object.entries(keys).every(([key, expected]) => {
      const actual = permission.context?.[key];
      if (actual === undefined) return false;
      const values = list(expected);
      switch (operator) {
        case 'StringEquals':
        case 'ArnEquals':
        case 'Bool':
          return values.includes(actual);
        case 'StringLike':
        case 'ArnLike':
          return values.some((v) => wildcard(v, false).test(actual));
        default:
          throw new Error(`evaluate does not know the condition operator ${operator}`);
      }
    }),
  );
}

function wildcard(pattern: string, caseInsensitive: boolean): RegExp {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`, caseInsensitive ? 'i' : '');
}
