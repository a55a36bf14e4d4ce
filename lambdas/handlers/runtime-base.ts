import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SNSClient } from '@aws-sdk/client-sns';
import { type DynamoDbApi, DynamoDbHttpClient } from '../adapters/aws/dynamodb-http.ts';
import { DynamoDbStateStore } from '../adapters/aws/dynamodb-state-store.ts';
import {
  DEFAULT_DELIVERY_TIMEOUT_MS,
  parseSnsTopics,
  parseUpdatesTopic,
  snsNoticeRouting,
} from '../adapters/aws/sns-topics.ts';
import { awsChannelTimeoutMs, awsHttpChannels, awsNoticeRouting } from '../core/aws-channels.ts';
import type { FleetConfig } from '../core/config-schema.ts';
import { ControlPlaneError, errorMessage } from '../core/errors.ts';
import { type HandlerEnvironment, handlerEnvironmentSchema } from '../core/handler-environment.ts';
import { type Clock, type CommandRunner, type Notifier, systemClock } from '../ports.ts';
import { type ControlPlaneContext, createContext } from '../use-cases/context.ts';
import { bundledConfig } from './bundled-config.ts';
import { type ClientSource, clientOf, lazyEventPublisher, lazyNotifier, once } from './lazy-adapters.ts';

/*
 * The runtime every control-plane Lambda is built from, without the SSM client: the escalation sweep and the
 * command-status Lambda never send a command, so their bundles do not carry @aws-sdk/client-ssm (aws-runtime.ts adds
 * it for the Lambdas that do).
 */

/** What every control-plane Lambda is built from: the wired use-case context and the Powertools utilities. */
export interface AwsRuntime {
  readonly ctx: ControlPlaneContext;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly tracer: Tracer;
  /** The environment parsed at cold start (handlers read their own variables from it, never process.env). */
  readonly env: HandlerEnvironment;
}

/** The AWS SDK clients every Lambda uses, injectable so tests point them at moto. */
export interface BaseClients {
  /** DynamoDB's JSON API (DynamoDbHttpClient: the SDK client costs a cold start its whole budget). */
  readonly dynamodb: DynamoDbApi;
  readonly sns: SNSClient;
  readonly events: EventBridgeClient;
}

/**
 * BaseClients, SNS and EventBridge possibly as factories: a Lambda makes them (and loads their SDK) on its first page
 * or event only (lazy-adapters.ts).
 */
export interface BaseClientSources {
  readonly dynamodb: DynamoDbApi;
  readonly sns: ClientSource<SNSClient>;
  readonly events: ClientSource<EventBridgeClient>;
  /**
   * Secrets Manager, for the secrets of the config's HTTP channels (PagerDuty, Slack, Teams), made on the first page
   * or notice through one of them. @default a client of the Lambda's own region and credentials
   */
  readonly secrets?: ClientSource<SecretsManagerClient>;
}

/**
 * Whether this bundle carries the HTTP channels (PagerDuty, Slack, Teams, webhook: the channel router, the payloads,
 * the Secrets Manager client), replaced at bundle time by a literal (esbuild `define`, set by ControlPlaneFunction
 * from the baked config): `false` when the config names none, and esbuild then drops every branch that tests it
 * and the chunk those branches import. Undefined outside a bundle (tests, the CLI), where the channels are there.
 */
declare const __ACGS_HTTP_CHANNELS__: boolean | undefined;

/**
 * The cold start of a bundle built without HTTP channels whose baked config names some anyway (a bundle and config
 * out of step): it fails, naming the channels and why, rather than dropping their pages.
 */
export function httpChannelsNotBundled(names: readonly string[]): ControlPlaneError {
  return new ControlPlaneError(
    'CONFIG_INVALID',
    `the baked fleet config names the HTTP channels ${names.join(', ')}, but this bundle was built without HTTP ` +
      'channel code (__ACGS_HTTP_CHANNELS__ false: the config it was bundled for named none); synthesize the stack ' +
      'again from the config so that the bundle and the config agree',
  );
}

/** The command runner of a Lambda that sends no command: any request is refused, naming why. */
export const NO_COMMANDS: CommandRunner = {
  run: async (request) => ({
    status: 'rejected',
    output: `rejected, nothing was run: this Lambda sends no commands (${request.document})`,
  }),
};

export function parseHandlerEnvironment(env: Readonly<Record<string, string | undefined>>): HandlerEnvironment {
  const parsed = handlerEnvironmentSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ControlPlaneError('ENVIRONMENT', `invalid Lambda environment: ${problems}`);
  }
  return parsed.data;
}

export function jsonRecord(name: string, text: string): Record<string, string> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ControlPlaneError('ENVIRONMENT', `${name} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ControlPlaneError('ENVIRONMENT', `${name} must be a JSON object`);
  const entries = Object.entries(value);
  if (entries.some(([, v]) => typeof v !== 'string'))
    throw new ControlPlaneError('ENVIRONMENT', `${name} must map names to strings`);
  return Object.fromEntries(entries) as Record<string, string>;
}

/** The runtime with `commands` as its command runner (`NO_COMMANDS` for a Lambda that sends none). */
export function createRuntime(
  config: FleetConfig,
  env: HandlerEnvironment,
  clients: BaseClientSources,
  commands: CommandRunner,
  clock: Clock = systemClock,
  tracer: Tracer = new Tracer({ serviceName: env.POWERTOOLS_SERVICE_NAME }),
): AwsRuntime {
  const logger = new Logger({ serviceName: env.POWERTOOLS_SERVICE_NAME });
  const metrics = new Metrics({
    namespace: env.POWERTOOLS_METRICS_NAMESPACE,
    serviceName: env.POWERTOOLS_SERVICE_NAME,
  });
  // Checked now, as the notifier would check them: a bad topic map fails the cold start, not the first page.
  const topics = jsonRecord('ACGS_TOPIC_ARNS', env.ACGS_TOPIC_ARNS);
  parseSnsTopics(topics);
  const updatesTopic = env.ACGS_UPDATES_TOPIC_ARN && parseUpdatesTopic(env.ACGS_UPDATES_TOPIC_ARN);
  const { snsEvents } = config.notifications;
  const store = new DynamoDbStateStore(clients.dynamodb, {
    tableName: env.ACGS_TABLE_NAME,
    retentionDays: config.aws.retentionDays,
    clock,
  });
  const loadSns = once(async () => {
    const [{ SnsNotifier }, sns] = await Promise.all([import('./on-demand/sns.ts'), clientOf(clients.sns)]);
    return new SnsNotifier(sns, topics, {
      fleet: config.fleet.name,
      acknowledgeHint: config.notifications.acknowledgeHint,
      deliveryTimeoutMs: DEFAULT_DELIVERY_TIMEOUT_MS,
      ...(updatesTopic ? { updates: { topicArn: updatesTopic, events: snsEvents } } : {}),
    });
  });
  // Routing needs no SNS client: a Lambda that stores a notice does not load SNS until it delivers one.
  const snsRouting = snsNoticeRouting(snsEvents, updatesTopic || undefined);
  // The config's PagerDuty, Slack, Teams and webhook channels, beside SNS (console and jsonl are the daemon's).
  const httpChannels = awsHttpChannels(config.notifications.channels);
  let notifier: Notifier;
  if (httpChannels.length === 0) notifier = lazyNotifier(DEFAULT_DELIVERY_TIMEOUT_MS, snsRouting, loadSns);
  // The literal test (not a helper) is what lets esbuild drop this branch and its chunk (see __ACGS_HTTP_CHANNELS__).
  else if (typeof __ACGS_HTTP_CHANNELS__ === 'undefined' || __ACGS_HTTP_CHANNELS__)
    notifier = lazyNotifier(
      Math.max(DEFAULT_DELIVERY_TIMEOUT_MS, ...httpChannels.map(awsChannelTimeoutMs)),
      awsNoticeRouting(snsRouting, httpChannels),
      async () => {
        const channels = await import('./on-demand/channels.ts');
        return channels.awsChannelNotifier({
          sns: loadSns,
          snsTimeoutMs: DEFAULT_DELIVERY_TIMEOUT_MS,
          updatesEvents: updatesTopic ? snsEvents : [],
          channels: httpChannels,
          secrets: async () =>
            new channels.SecretsManagerSecretSource(
              await clientOf(clients.secrets ?? (async () => new channels.SecretsManagerClient({}))),
            ),
          message: { fleet: config.fleet.name, acknowledgeHint: config.notifications.acknowledgeHint },
          onChannelError: (channel, error) => logger.warn('channel-failed', { channel, error: errorMessage(error) }),
        });
      },
    );
  else throw httpChannelsNotBundled(httpChannels.map((c) => c.name));
  const ctx = createContext(config, {
    states: store,
    incidents: store,
    control: store,
    notifier,
    commands,
    events: lazyEventPublisher(async () => {
      const [{ EventBridgePublisher }, events] = await Promise.all([
        import('./on-demand/eventbridge.ts'),
        clientOf(clients.events),
      ]);
      return new EventBridgePublisher(events, env.ACGS_EVENT_BUS_NAME);
    }),
    clock,
    log: (event, fields) => logger.info(event, withoutReservedKeys(fields)),
  });
  return { ctx, logger, metrics, tracer, env };
}

/** Keys Powertools' Logger writes itself and drops from an entry's fields (with a warning). */
const POWERTOOLS_RESERVED_KEYS = new Set(['level', 'message', 'sampling_rate', 'service', 'timestamp']);

/**
 * A use-case's log fields with those named like a Powertools reserved key prefixed `acgs_`: the fleet service a
 * restart is for (`service`) and the escalation level a page failed on (`level`) would otherwise be dropped.
 */
export function withoutReservedKeys(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(fields).map(([key, value]) => [POWERTOOLS_RESERVED_KEYS.has(key) ? `acgs_${key}` : key, value]),
  );
}

/**
 * The config with `backups.instanceId` taken from the environment when the config names no database host (the
 * stack then asks for it as a deploy-time parameter). The config's own value wins.
 */
export function withBackupInstance(config: FleetConfig, instanceId: string | undefined): FleetConfig {
  if (!config.backups || config.backups.instanceId !== undefined || instanceId === undefined) return config;
  return { ...config, backups: { ...config.backups, instanceId } };
}

let cold: AwsRuntime | undefined;

/**
 * The runtime of this Lambda instance: environment and config parsed, clients created, once per cold start. `commands`
 * builds the command runner of a Lambda that sends commands (aws-runtime.ts), from the parsed config and environment.
 */
export function coldRuntime(
  commands?: (config: FleetConfig, env: HandlerEnvironment, tracer: Tracer) => CommandRunner,
): AwsRuntime {
  if (cold) return cold;
  const env = parseHandlerEnvironment(process.env);
  const config = withBackupInstance(bundledConfig(), env.ACGS_BACKUP_INSTANCE_ID);
  const tracer = new Tracer({ serviceName: env.POWERTOOLS_SERVICE_NAME });
  let secrets: ClientSource<SecretsManagerClient> | undefined;
  if (typeof __ACGS_HTTP_CHANNELS__ === 'undefined' || __ACGS_HTTP_CHANNELS__)
    secrets = async () =>
      tracer.captureAWSv3Client(new (await import('./on-demand/channels.ts')).SecretsManagerClient({}));
  const clients: BaseClientSources = {
    // Not an SDK client, so X-Ray (with -c xraySdk=true) records no DynamoDB subsegments; the rest is traced as before.
    dynamodb: new DynamoDbHttpClient(),
    ...(secrets ? { secrets } : {}),
    sns: async () => tracer.captureAWSv3Client(new (await import('./on-demand/sns.ts')).SNSClient({})),
    events: async () =>
      tracer.captureAWSv3Client(new (await import('./on-demand/eventbridge.ts')).EventBridgeClient({})),
  };
  cold = createRuntime(
    config,
    env,
    clients,
    commands ? commands(config, env, tracer) : NO_COMMANDS,
    systemClock,
    tracer,
  );
  return cold;
}

/** The runtime of a Lambda that sends no command (the escalation sweep, the command-status Lambda). */
export function awsRuntimeWithoutCommands(): AwsRuntime {
  return coldRuntime();
}
