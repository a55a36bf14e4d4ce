import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import {
  EventBridgeClient,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  type PutEventsCommandInput,
  PutTargetsCommand,
  RemoveTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetTopicAttributesCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DescribeDocumentCommand, ListCommandsCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { DynamoDbHttpClient } from '../../../lambdas/adapters/aws/dynamodb-http.ts';
import { DynamoDbStateStore } from '../../../lambdas/adapters/aws/dynamodb-state-store.ts';
import { parseFleetConfig } from '../../../lambdas/core/config.ts';
import type { FleetConfig } from '../../../lambdas/core/config-schema.ts';
import { RESTART_DOCUMENT } from '../../../lambdas/core/document-names.ts';
import type { HandlerEnvironment, HandlerName } from '../../../lambdas/core/handler-environment.ts';
import {
  type AwsClients,
  type AwsRuntime,
  createAwsRuntime,
  parseHandlerEnvironment,
  withBackupInstance,
} from '../../../lambdas/handlers/aws-runtime.ts';
import { createCommandStatusHandler } from '../../../lambdas/handlers/command-status.ts';
import { createEscalationSweepHandler } from '../../../lambdas/handlers/escalation-sweep.ts';
import { withIncidentReports } from '../../../lambdas/handlers/incident-report-store.ts';
import { createProbeHandler } from '../../../lambdas/handlers/probe.ts';
import { SSM_COMMAND_STATUS_DETAIL_TYPE } from '../../../lib/constructs/event-routing.ts';
import { ManualClock, SECOND } from '../../support/harness.ts';
import { lambdaContext } from '../../support/lambda-context.ts';
import { type LocalServer, startHttpHandler } from '../../support/local-servers.ts';
import { awsClientConfig, useMotoServer } from '../../support/moto.ts';
import {
  deployToMoto,
  functionConfiguration,
  logMessages,
  MOTO_ACCOUNT,
  MOTO_SKIPPED_TYPES,
  MOTO_TRANSFORMS,
  type MotoStack,
  rolePolicies,
  runInstances,
} from '../../support/moto-cloudformation.ts';
import {
  evaluate,
  type RecordedCall,
  recordApiCalls,
  recordCalls,
  recordingS3Client,
  requiredPermissions,
} from '../../support/role-permissions.ts';
import { logicalId, type Synthesized, synthesize } from '../../support/synth-stack.ts';
import { configDir } from '../../support/test-fleet.ts';

/**
 * Deploy rehearsal: the stack synthesized from test/fixtures/rehearsal-fleet.yaml is deployed to moto's CloudFormation
 * (rewritten only where moto falls short: test/support/moto-cloudformation.ts), and the real handlers run in-process
 * against what CloudFormation created. Every name the handlers use comes from the functions' environment as
 * CloudFormation resolved it (moto's GetFunctionConfiguration), and the test checks what they did through the
 * stack's outputs: this proves the wiring between the template and the code, which a template assertion cannot.
 *
 * What moto cannot do: run the Lambdas (the handlers are called here, with the environment of their function), run
 * the schedules (the test invokes the probe), deliver an event to a Lambda target (the test puts the SSM status event
 * on the default bus, takes it from the deployed rule through a queue, and hands it to the handler), run a command
 * (SendCommand is recorded, nothing runs on the instance: the test brings the service back itself), or enforce IAM
 * (every call the handlers made is checked against their deployed roles' policies instead).
 */
const moto = useMotoServer();
const FIXTURE = new URL('../../fixtures/rehearsal-fleet.yaml', import.meta.url);
const context = lambdaContext('rehearsal');
const clock = new ManualClock(Date.UTC(2026, 11, 1, 2, 0, 0));

/** A simulated service: answers /health healthy, or 503 while `down`. */
interface SimulatedService {
  readonly server: LocalServer;
  down: boolean;
}

let dir: Awaited<ReturnType<typeof configDir>> | undefined;
let synth: Synthesized | undefined;
let deployed: MotoStack;
let config: FleetConfig;
let instances: Record<string, string>;
const services = new Map<string, SimulatedService>();
let clients: AwsClients;
let sqs: SQSClient;
let pagesQueue: string;
/** Every AWS call each handler made, as sent (its clients record them: see handlerClients). */
const calls = new Map<HandlerName, RecordedCall[]>();

beforeAll(async () => {
  const aws = awsClientConfig(moto.endpoint);
  const fixture = parse(readFileSync(FIXTURE, 'utf8')) as {
    services: { name: string; port: number; instanceId: string }[];
    aws: { fleetTag: { key: string; value: string } };
  };
  // The simulated fleet: one HTTP service per configured service, and one tagged EC2 instance each.
  for (const { name } of fixture.services) {
    const service: { server?: LocalServer; down: boolean } = { down: false };
    service.server = await startHttpHandler((_request, response) => answerHealth(response, service.down));
    services.set(name, service as SimulatedService);
  }
  const { key, value } = fixture.aws.fleetTag;
  const ids = await runInstances(moto.endpoint, fixture.services.length, { [key]: value });
  instances = Object.fromEntries(fixture.services.map((s, i) => [s.name, ids[i] ?? '']));
  for (const s of fixture.services) {
    s.port = services.get(s.name)?.server.port ?? 0;
    s.instanceId = instances[s.name] ?? '';
  }
  const configText = stringify(fixture);
  const parsed = parseFleetConfig(configText);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  config = parsed.config;
  dir = await configDir();
  const configPath = await dir.write('rehearsal-fleet.yaml', configText);

  // The probe targets are this machine's loopback servers, which a synth for a real account refuses.
  synth = synthesize(configPath, { emulatedFleet: true });
  deployed = await deployToMoto(moto.endpoint, synth.stack.stackName, synth.template.toJSON());

  clients = {
    dynamodb: new DynamoDbHttpClient(aws),
    sns: new SNSClient(aws),
    ssm: new SSMClient(aws),
    events: new EventBridgeClient(aws),
  };
  // The pages' observer: a queue subscribed to the level-1 topic the stack outputs (moto skips the e-mail ones).
  sqs = new SQSClient(aws);
  const queue = await sqs.send(new CreateQueueCommand({ QueueName: 'rehearsal-level-1-pages' }));
  pagesQueue = queue.QueueUrl ?? '';
  const attributes = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: pagesQueue, AttributeNames: ['QueueArn'] }),
  );
  await clients.sns.send(
    new SubscribeCommand({
      TopicArn: output('EscalationTopicLevel1'),
      Protocol: 'sqs',
      Endpoint: attributes.Attributes?.QueueArn,
    }),
  );
}, 120_000);

afterAll(async () => {
  // moto's state goes with its server (this file's own, stopped by useMotoServer).
  for (const { server } of services.values()) await server.close();
  synth?.dispose();
  await dir?.remove();
});

function answerHealth(response: ServerResponse, down: boolean): void {
  response.writeHead(down ? 503 : 200, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ status: down ? 'unhealthy' : 'healthy' }));
}

function output(key: string): string {
  const value = deployed.outputs[key];
  if (value === undefined) throw new Error(`the stack has no output ${key}`);
  return value;
}

function physicalId(construct: Parameters<typeof logicalId>[0]): string {
  const id = deployed.physicalIds[logicalId(construct)];
  if (id === undefined) throw new Error(`${construct.node.path} was not created`);
  return id;
}

const environments = new Map<HandlerName, Record<string, string>>();

/** The environment of a deployed function, as CloudFormation resolved it (Lambda's GetFunctionConfiguration). */
async function deployedEnvironment(handler: HandlerName): Promise<Record<string, string>> {
  const known = environments.get(handler);
  if (known) return known;
  const fn = synth?.stack.functions[handler] ?? fail(`the stack has no ${handler} function`);
  const configuration = await functionConfiguration(moto.endpoint, physicalId(fn.fn));
  const variables = configuration.Environment?.Variables ?? {};
  environments.set(handler, variables);
  return variables;
}

/** SDK clients pointed at moto for one handler, recording every call it makes. */
function handlerClients(handler: HandlerName): AwsClients {
  const aws = awsClientConfig(moto.endpoint);
  const recorded = calls.get(handler) ?? [];
  calls.set(handler, recorded);
  return {
    dynamodb: recordApiCalls(new DynamoDbHttpClient(aws), recorded),
    sns: recordCalls(new SNSClient(aws), recorded),
    ssm: recordCalls(new SSMClient(aws), recorded),
    events: recordCalls(new EventBridgeClient(aws), recorded),
  };
}

function callsOf(operation: string): RecordedCall[] {
  return [...calls.values()].flat().filter((c) => c.operation === operation);
}

/** The runtime a function builds at cold start from its deployed environment, with SDK clients pointed at moto. */
async function coldStart(handler: HandlerName): Promise<AwsRuntime> {
  const env: HandlerEnvironment = parseHandlerEnvironment(await deployedEnvironment(handler));
  const runtime = createAwsRuntime(
    withBackupInstance(config, env.ACGS_BACKUP_INSTANCE_ID),
    env,
    handlerClients(handler),
    clock,
  );
  // As awsRuntime() wires it: incident reports go to the bucket the function's environment names.
  const s3 = recordingS3Client(awsClientConfig(moto.endpoint), calls.get(handler) ?? []);
  return withIncidentReports(runtime, s3);
}

/** The store on the table the stack outputs: what the handlers wrote is read back from there. */
function outputTable(): DynamoDbStateStore {
  return new DynamoDbStateStore(clients.dynamodb, {
    tableName: output('ControlTableName'),
    retentionDays: config.aws.retentionDays,
    clock,
  });
}

async function pages(): Promise<{ Subject?: string; MessageAttributes?: Record<string, { Value: string }> }[]> {
  return received(pagesQueue);
}

// biome-ignore lint/suspicious/noExplicitAny: message bodies are JSON the assertions look into.
async function received(queueUrl: string): Promise<any[]> {
  const out = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
  );
  return (out.Messages ?? []).map((m) => JSON.parse(m.Body ?? '{}'));
}

describe('deploy rehearsal on moto', () => {
  it('creates the stack to CREATE_COMPLETE with only the documented rewrites, skipping only the documented types', () => {
    // Assess: every rewrite applied (templateForMoto refuses one that changes nothing)...
    expect(Object.keys(deployed.applied)).toEqual(MOTO_TRANSFORMS.map((t) => t.name));
    // ...and what moto did not create is exactly the resources of the types it is known to skip.
    const resources = synth?.template.toJSON().Resources as Record<string, { Type: string }>;
    const missing = Object.entries(resources)
      .filter(([id]) => deployed.physicalIds[id] === undefined)
      .map(([, r]) => r.Type);
    const expected = Object.values(resources)
      .map((r) => r.Type)
      .filter((type) => type in MOTO_SKIPPED_TYPES);
    expect(missing.sort()).toEqual(expected.sort());
  });

  it("gives every function an environment naming the stack's own resources", async () => {
    const handlers = Object.keys(synth?.stack.functions ?? {}) as HandlerName[];
    expect(handlers.sort()).toEqual(['commandStatus', 'escalationSweep', 'operatorApi', 'probe']);
    for (const handler of handlers) {
      // Act: the cold start's own parsing
      const env = parseHandlerEnvironment(await deployedEnvironment(handler));
      // Assess
      expect(env.ACGS_TABLE_NAME).toBe(output('ControlTableName'));
      expect(env.ACGS_EVENT_BUS_NAME).toBe(output('EventBusName'));
      expect(env.ACGS_COMMAND_LOG_GROUP).toBe(output('CommandOutputLogGroup'));
      expect(JSON.parse(env.ACGS_TOPIC_ARNS)).toEqual({
        '1': output('EscalationTopicLevel1'),
        '2': output('EscalationTopicLevel2'),
      });
      // The Lambdas that write incidents deliver their notices (without backups, the command-status one writes none).
      expect(env.ACGS_UPDATES_TOPIC_ARN).toBe(handler === 'commandStatus' ? undefined : output('UpdatesTopicArn'));
      const documents = JSON.parse(env.ACGS_DOCUMENT_NAMES) as Record<string, string>;
      for (const name of Object.values(documents)) {
        const described = await clients.ssm.send(new DescribeDocumentCommand({ Name: name }));
        expect(described.Document?.Name).toBe(name);
      }
    }
  }, 30_000);

  it('opens an incident in the stack table, pages its topic and sends the restart with its document to the service instance', async () => {
    // Prepare: the probe Lambda as it starts cold, and a healthy first cycle.
    const probe = createProbeHandler(await coldStart('probe'));
    await probe({}, context);
    const ledger = services.get('ledger');
    if (!ledger) throw new Error('no ledger service');
    ledger.down = true;
    // Act
    clock.advance(60 * SECOND);
    const cycle = await probe({}, context);
    // Assess: the incident, in the table the stack outputs
    const open = await outputTable().listOpenIncidents();
    expect(open.map((i) => [i.dedupKey, i.services])).toEqual([[`ledger:health@127.0.0.1`, ['ledger']]]);
    expect(cycle.opened).toEqual([open[0]?.id]);
    // ...paged on the level-1 topic the stack outputs
    const [page, ...more] = await pages();
    expect(more).toEqual([]);
    expect(page?.MessageAttributes?.incidentId?.Value).toBe(open[0]?.id);
    // ...and the restart, with the stack's restart document, to the ledger's instance only, its output to the stack's
    // command log group
    const restartDocument = synth?.stack.runbooks.documents.find((d) => d.name?.endsWith(RESTART_DOCUMENT));
    if (!restartDocument) throw new Error('the stack has no restart document');
    expect(
      callsOf('SendCommand').map(({ input: c }) => [
        c.DocumentName,
        c.Parameters?.ServiceName,
        c.InstanceIds,
        c.Targets,
        c.CloudWatchOutputConfig,
      ]),
    ).toEqual([
      [
        physicalId(restartDocument),
        ['ledger'],
        [instances.ledger],
        undefined,
        { CloudWatchLogGroupName: output('CommandOutputLogGroup'), CloudWatchOutputEnabled: true },
      ],
    ]);
    const commands = (await clients.ssm.send(new ListCommandsCommand({}))).Commands ?? [];
    expect(commands.map((c) => c.DocumentName)).toEqual([physicalId(restartDocument)]);
  }, 30_000);

  it('records the restart from the status event the deployed rule routes, and resolves the incident once the probe sees the service back', async () => {
    // Prepare: the deployed rule targets the command-status function. moto's PutEvents fails (HTTP 500,
    // NotImplementedError) when a matching rule targets a Lambda, so that target is swapped for a queue, whose
    // message is handed to the function's handler as Lambda would. The status change goes on the default bus as SSM
    // puts it there (moto runs nothing, so the test says how the command ended).
    const [command] = (await clients.ssm.send(new ListCommandsCommand({}))).Commands ?? [];
    const rule = physicalId(synth?.stack.events.commandStatusRule ?? fail('no command-status rule'));
    const commandStatusFunction = physicalId(synth?.stack.functions.commandStatus.fn ?? fail('no function'));
    const deployedTargets = (await clients.events.send(new ListTargetsByRuleCommand({ Rule: rule }))).Targets ?? [];
    expect(deployedTargets.map((t) => t.Arn)).toEqual([
      `arn:aws:lambda:us-east-1:${MOTO_ACCOUNT}:function:${commandStatusFunction}`,
    ]);
    const observer = await sqs.send(new CreateQueueCommand({ QueueName: 'rehearsal-command-status-events' }));
    const observerArn = (
      await sqs.send(new GetQueueAttributesCommand({ QueueUrl: observer.QueueUrl, AttributeNames: ['QueueArn'] }))
    ).Attributes?.QueueArn;
    await clients.events.send(new RemoveTargetsCommand({ Rule: rule, Ids: deployedTargets.map((t) => t.Id ?? '') }));
    await clients.events.send(new PutTargetsCommand({ Rule: rule, Targets: [{ Id: 'observer', Arn: observerArn }] }));
    const put = await clients.events.send(
      new PutEventsCommand({
        Entries: [
          {
            Source: 'aws.ssm',
            DetailType: SSM_COMMAND_STATUS_DETAIL_TYPE,
            Resources: [`arn:aws:ec2:us-east-1:${MOTO_ACCOUNT}:instance/${instances.ledger}`],
            Detail: JSON.stringify({
              'command-id': command?.CommandId,
              'document-name': command?.DocumentName,
              'expire-after': new Date(clock.now() + 3_600_000).toISOString(),
              parameters: { ServiceName: 'ledger' },
              'requested-date-time': new Date(clock.now()).toISOString(),
              status: 'Success',
            }),
          },
        ],
      }),
    );
    expect(put.FailedEntryCount).toBe(0);
    const [event, ...others] = await received(observer.QueueUrl ?? '');
    expect(others).toEqual([]);
    expect(event).toMatchObject({ source: 'aws.ssm', detail: { 'command-id': command?.CommandId } });
    const commandStatus = createCommandStatusHandler(await coldStart('commandStatus'));
    // Act
    const result = await commandStatus(event, context);
    // Assess: the attempt is finished in the stack's table; recovery itself is for the probes to prove.
    expect(result).toMatchObject({ commandId: command?.CommandId, recorded: true, outcome: 'succeeded' });
    const attempt = await outputTable().findAttemptByCommand(command?.CommandId ?? '');
    expect(attempt).toMatchObject({ service: 'ledger', outcome: 'succeeded' });
    const [incident] = await outputTable().listOpenIncidents();
    expect(incident?.status).not.toBe('resolved');

    // Act: the restart worked (nothing ran it in moto: the test brings the service back), the next cycle sees it.
    const ledger = services.get('ledger');
    if (ledger) ledger.down = false;
    clock.advance(60 * SECOND);
    const probe = createProbeHandler(await coldStart('probe'));
    const cycle = await probe({}, context);
    // Assess
    expect(cycle.resolved).toEqual([incident?.id]);
    expect(await outputTable().listOpenIncidents()).toEqual([]);
    // The report of the resolution is in the stack's artifact bucket.
    const report = await new S3Client({ ...awsClientConfig(moto.endpoint), forcePathStyle: true }).send(
      new GetObjectCommand({ Bucket: output('ArtifactBucketName'), Key: `incident-reports/${incident?.id}.json` }),
    );
    expect(JSON.parse((await report.Body?.transformToString()) ?? '{}')).toMatchObject({
      id: incident?.id,
      status: 'resolved',
    });
    const timeline = await outputTable().getTimeline(incident?.id ?? '');
    expect(
      timeline.filter((e) => e.type === 'remediation').map((e) => (e.type === 'remediation' ? e.outcome : '')),
    ).toEqual(['requested', 'succeeded']);
  }, 30_000);

  it("keeps every event the handlers published in the audit trail, through the deployed bus's audit rule", async () => {
    // Prepare: what the probe and command-status handlers put on the bus named in their environment, above
    const publishedDetailTypes = callsOf('PutEvents').flatMap(
      ({ input }) => (input as PutEventsCommandInput).Entries?.map((e) => e.DetailType) ?? [],
    );
    expect(publishedDetailTypes.length).toBeGreaterThan(0);
    const auditLog = physicalId(synth?.stack.events.auditLog ?? fail('no audit trail'));
    // Act
    const kept = (await logMessages(moto.endpoint, auditLog)).map((m) => JSON.parse(m)['detail-type']);
    // Assess
    expect(kept.sort()).toEqual([...publishedDetailTypes].sort());
  });

  it("delivers the incident's lifecycle notices to the Updates topic the stack outputs, from the escalation sweep", async () => {
    // Prepare: a stakeholder's queue on the Updates topic; the resolved incident still owes its notices
    const queue = await sqs.send(new CreateQueueCommand({ QueueName: 'rehearsal-updates' }));
    const queueArn = (
      await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl, AttributeNames: ['QueueArn'] }))
    ).Attributes?.QueueArn;
    await clients.sns.send(
      new SubscribeCommand({ TopicArn: output('UpdatesTopicArn'), Protocol: 'sqs', Endpoint: queueArn }),
    );
    const [incident] = await outputTable().listIncidents({ limit: 1 });
    expect(incident?.notices?.map((n) => n.kind)).toEqual(['opened', 'resolved']);
    // Act
    clock.advance(60 * SECOND);
    const sweep = createEscalationSweepHandler(await coldStart('escalationSweep'));
    await sweep({}, context);
    // Assess: each notice once, keyed by the incident
    const delivered = (await received(queue.QueueUrl ?? '')).map((m) => JSON.parse(m.Message));
    expect(delivered.map((n) => [n.event, n.key.startsWith(`${incident?.id}/`)])).toEqual([
      ['opened', true],
      ['resolved', true],
    ]);
    expect((await outputTable().getIncident(incident?.id ?? ''))?.notices ?? []).toEqual([]);
  }, 30_000);

  it('allows every call each handler made under the policies of its deployed role', async () => {
    // Prepare: what AWS would check each call against (moto enforces no IAM)
    const sns = clients.sns;
    const topicKeys: Record<string, string> = {};
    for (const level of ['EscalationTopicLevel1', 'EscalationTopicLevel2', 'UpdatesTopicArn']) {
      const topic = output(level);
      const { Attributes } = await sns.send(new GetTopicAttributesCommand({ TopicArn: topic }));
      topicKeys[topic] = keyArn(Attributes?.KmsMasterKeyId ?? fail(`${level} is not encrypted`));
    }
    const { key, value } = config.aws.fleetTag;
    const facts = {
      partition: 'aws',
      region: 'us-east-1',
      account: MOTO_ACCOUNT,
      topicKeys,
      instanceTags: Object.fromEntries(Object.values(instances).map((id) => [id, { [key]: value }])),
    };
    const denied: string[] = [];
    const checked = new Set<string>();
    for (const [handler, made] of calls) {
      const role = physicalId(synth?.stack.functions[handler]?.role ?? fail(`no ${handler} role`));
      const policies = await rolePolicies(moto.endpoint, role);
      for (const call of made)
        for (const permission of requiredPermissions(call, facts)) {
          checked.add(permission.action);
          if (!evaluate(policies, permission))
            denied.push(`${handler}: ${permission.action} on ${permission.resource} (${call.operation})`);
        }
    }
    // Assess
    expect([...checked]).toEqual(
      expect.arrayContaining([
        'dynamodb:Query',
        'dynamodb:PutItem',
        'sns:Publish',
        'kms:GenerateDataKey',
        'ssm:SendCommand',
        'events:PutEvents',
        's3:PutObject',
      ]),
    );
    expect(denied).toEqual([]);
    expect([...calls.keys()].sort()).toEqual(['commandStatus', 'escalationSweep', 'probe']);
  });
});

/** A KMS key id as moto reports it on a topic (an id or an ARN), as an ARN. */
function keyArn(id: string): string {
  return id.startsWith('arn:') ? id : `arn:aws:kms:us-east-1:${MOTO_ACCOUNT}:key/${id}`;
}

function fail(message: string): never {
  throw new Error(message);
}
