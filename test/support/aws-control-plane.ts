import { readFileSync } from 'node:fs';
import { CreateTableCommand, DynamoDBClient, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { CreateEventBusCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { CreateDocumentCommand, SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDbHttpClient } from '../../lambdas/adapters/aws/dynamodb-http.ts';
import {
  controlTableCreateInput,
  controlTableTimeToLiveInput,
} from '../../lambdas/adapters/aws/dynamodb-state-store.ts';
import { S3HttpClient } from '../../lambdas/adapters/aws/s3-http.ts';
import type { HandlerEnvironment } from '../../lambdas/core/handler-environment.ts';
import { awsCli, awsClientConfig } from './moto.ts';

/**
 * The AWS resources a control-plane Lambda works against, made on moto_server as the stack makes them in an account:
 * the control table (with its time-to-live), the event bus, one SNS topic per escalation level (each optionally
 * subscribed by an SQS queue, so that a test can read what was paged), the SSM documents under the stack's names,
 * the backup bucket; and the functions' environment naming them, as the stack writes it. One place for what eight
 * handler test files used to build by hand.
 */
export interface AwsControlPlaneOptions {
  /** The escalation levels that get a topic (`config.escalation.levels`). */
  readonly levels: readonly number[];
  /** Levels whose topic an SQS queue subscribes to (read with `pages`). @default none */
  readonly subscribe?: readonly number[];
  /** Command documents created from `ssm-documents/<name>.yaml` under `<stack>-<name>`. @default none */
  readonly documents?: readonly string[];
  /** An Updates topic (ACGS_UPDATES_TOPIC_ARN) for lifecycle notices, subscribed by a queue. @default none */
  readonly updates?: boolean;
  /** A bucket to create (path-style, as moto wants it); name it in `env` as the function uses it. @default none */
  readonly bucket?: string;
  /** Topic, queue and resource names begin with it, so that files sharing nothing still read apart. */
  readonly prefix?: string;
  readonly table?: string;
  readonly bus?: string;
  readonly stack?: string;
  /** Extra variables of the functions' environment (ACGS_BACKUP_BUCKET, ACGS_UPDATES_TOPIC_ARN, ...). */
  readonly env?: Partial<HandlerEnvironment>;
}

export interface AwsControlPlane {
  readonly clients: {
    /** The control plane's own DynamoDB client, as the Lambdas make it. */
    readonly dynamodb: DynamoDbHttpClient;
    readonly sns: SNSClient;
    readonly events: EventBridgeClient;
    readonly ssm: SSMClient;
    readonly sqs: SQSClient;
    /** The SDK's S3 client, for what a test sets up or reads on its own. */
    readonly s3: S3Client;
    /** The control plane's own S3 client, as the Lambdas make it. */
    readonly s3Objects: S3HttpClient;
  };
  /** Topic ARN by level, as ACGS_TOPIC_ARNS holds them. */
  readonly topics: Readonly<Record<string, string>>;
  /** The stack's name of each document created. */
  readonly documentNames: Readonly<Record<string, string>>;
  readonly env: HandlerEnvironment;
  /** The queue subscribed to the Updates topic (options.updates), else undefined. */
  readonly updatesQueue: string | undefined;
  /** The queue subscribed to a level's topic (a level not in `subscribe` throws). */
  queue(level: number): string;
  /** What a subscribed level's topic delivered since the last call (up to 10 messages). */
  pages(level: number, waitSeconds?: number): Promise<Message[]>;
}

/** The control table on moto, made with the SDK as the stack's CloudFormation makes it (keys, indexes, TTL). */
export async function createControlTable(endpoint: string, table: string): Promise<void> {
  const admin = new DynamoDBClient(awsClientConfig(endpoint));
  try {
    await admin.send(new CreateTableCommand(controlTableCreateInput(table)));
    await admin.send(new UpdateTimeToLiveCommand(controlTableTimeToLiveInput(table)));
  } finally {
    admin.destroy();
  }
}

export async function createAwsControlPlane(
  endpoint: string,
  options: AwsControlPlaneOptions,
): Promise<AwsControlPlane> {
  const aws = awsClientConfig(endpoint);
  const clients = {
    dynamodb: new DynamoDbHttpClient(aws),
    sns: new SNSClient(aws),
    events: new EventBridgeClient(aws),
    ssm: new SSMClient(aws),
    sqs: new SQSClient(aws),
    s3: new S3Client({ ...aws, forcePathStyle: true }),
    s3Objects: new S3HttpClient(aws),
  };
  const prefix = options.prefix ?? 'acgs';
  const table = options.table ?? `${prefix}-control`;
  const bus = options.bus ?? `${prefix}-events`;
  const stack = options.stack ?? 'acgs-1-ops-control-plane';
  await createControlTable(endpoint, table);
  await clients.events.send(new CreateEventBusCommand({ Name: bus }));
  if (options.bucket) await clients.s3.send(new CreateBucketCommand({ Bucket: options.bucket }));

  const topics: Record<string, string> = {};
  const queues = new Map<number, string>();
  for (const level of options.levels) {
    const topicArn = await createTopic(clients.sns, `${prefix}-level-${level}`);
    topics[String(level)] = topicArn;
    if (options.subscribe?.includes(level))
      queues.set(level, await subscribedQueue(clients, topicArn, `${prefix}-level-${level}`));
  }
  const updatesTopic = options.updates ? await createTopic(clients.sns, `${prefix}-updates`) : undefined;
  const updatesQueue = updatesTopic ? await subscribedQueue(clients, updatesTopic, `${prefix}-updates`) : undefined;
  const documentNames: Record<string, string> = {};
  for (const document of options.documents ?? []) {
    documentNames[document] = `${stack}-${document}`;
    await clients.ssm.send(
      new CreateDocumentCommand({
        Name: documentNames[document],
        DocumentType: 'Command',
        DocumentFormat: 'YAML',
        Content: readFileSync(new URL(`../../ssm-documents/${document}.yaml`, import.meta.url), 'utf8'),
      }),
    );
  }
  const env: HandlerEnvironment = {
    ACGS_TABLE_NAME: table,
    ACGS_EVENT_BUS_NAME: bus,
    ACGS_TOPIC_ARNS: JSON.stringify(topics),
    ACGS_DOCUMENT_NAMES: JSON.stringify(documentNames),
    ACGS_COMMAND_LOG_GROUP: '/acgs/commands',
    ...(updatesTopic ? { ACGS_UPDATES_TOPIC_ARN: updatesTopic } : {}),
    POWERTOOLS_SERVICE_NAME: 'acgs-1-control-plane',
    POWERTOOLS_METRICS_NAMESPACE: 'ACGS/OpsControlPlane',
    ...options.env,
  };
  const queue = (level: number): string => {
    const url = queues.get(level);
    if (url === undefined) throw new Error(`no queue subscribes to level ${level}: name it in options.subscribe`);
    return url;
  };
  return {
    clients,
    topics,
    documentNames,
    env,
    updatesQueue,
    queue,
    pages: (level, waitSeconds = 0) => receive(clients.sqs, queue(level), waitSeconds),
  };
}

export async function createTopic(sns: SNSClient, name: string): Promise<string> {
  const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: name }));
  if (!TopicArn) throw new Error(`moto created topic ${name} without an ARN`);
  return TopicArn;
}

/** A new SQS queue subscribed to the topic; returns its URL. */
export async function subscribedQueue(
  clients: { readonly sns: SNSClient; readonly sqs: SQSClient },
  topicArn: string,
  name: string,
): Promise<string> {
  const { QueueUrl } = await clients.sqs.send(new CreateQueueCommand({ QueueName: name }));
  if (!QueueUrl) throw new Error(`moto created queue ${name} without a URL`);
  const attrs = await clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  await clients.sns.send(
    new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: attrs.Attributes?.QueueArn }),
  );
  return QueueUrl;
}

/** Up to 10 messages of a queue (deleted by nobody: each is seen once per visibility timeout). */
export async function receive(sqs: SQSClient, queueUrl: string, waitSeconds = 0): Promise<Message[]> {
  const out = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: waitSeconds }),
  );
  return out.Messages ?? [];
}

/** Launches `count` EC2 instances on moto with these tags (the AWS CLI: no EC2 SDK client here); their ids. */
export async function launchTaggedInstances(
  endpoint: string,
  tags: Readonly<Record<string, string>>,
  count = 1,
): Promise<string[]> {
  const tagList = Object.entries(tags)
    .map(([key, value]) => `{Key=${key},Value=${value}}`)
    .join(',');
  return (await awsCli(endpoint, [
    'ec2',
    'run-instances',
    '--image-id',
    'ami-12c6146b',
    '--count',
    String(count),
    '--tag-specifications',
    `ResourceType=instance,Tags=[${tagList}]`,
    '--query',
    'Instances[].InstanceId',
  ])) as string[];
}
