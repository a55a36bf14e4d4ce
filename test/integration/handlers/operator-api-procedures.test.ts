import {
  type Command,
  type CommandInvocation,
  type ListCommandInvocationsCommandInput,
  ListCommandsCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FleetConfig } from '../../../lambdas/core/config-schema.ts';
import { type AwsRuntime, createOperatorApiRuntime } from '../../../lambdas/handlers/aws-runtime.ts';
import { createOperatorApiHandler } from '../../../lambdas/handlers/operator-api.ts';
import { systemClock } from '../../../lambdas/ports.ts';
import { applyProbeResults } from '../../../lambdas/use-cases/run-probe-cycle.ts';
import { type AwsControlPlane, createAwsControlPlane, launchTaggedInstances } from '../../support/aws-control-plane.ts';
import { ManualClock, MINUTE, results, T0 } from '../../support/harness.ts';
import { lambdaContext } from '../../support/lambda-context.ts';
import { useMotoServer } from '../../support/moto.ts';
import { spreadFleet } from '../../support/spread-fleet.ts';

/**
 * The operator API's procedures end to end with the AWS adapters against moto_server: the control table in DynamoDB
 * (windows, isolation, audit trail, timelines), SNS, EventBridge, and SSM SendCommand / ListCommands in wait mode,
 * targeted per request at the service's host tag. moto records a command as Success at once and never runs it; it has
 * no ListCommandInvocations, so that one call is answered here from moto's own record of the command (its instances),
 * Success unless the test fails the command on purpose.
 */
const moto = useMotoServer();
const TABLE = 'acgs-control-operator';
const BUS = 'acgs-1-operator-events';
const STACK = 'acgs-1-ops-control-plane';
const DOCUMENTS = [
  'acgs-restart-service',
  'acgs-start-service',
  'acgs-stop-service',
  'acgs-isolate-service',
  'acgs-release-service',
  'acgs-start-all',
  'acgs-stop-all',
];
const CALLER = 'arn:aws:iam::123456789012:user/alice';
const HOSTS = {
  auth: '10.0.0.1',
  ac: '10.0.0.1',
  integrity: '10.0.0.1',
  fv: '10.0.0.2',
  gs: '10.0.0.2',
  pgc: '10.0.0.2',
  ec: '10.0.0.2',
};
const context = lambdaContext('acgs-operator-api', 900_000);

let config: FleetConfig;
let plane: AwsControlPlane;
const instancesByHost = new Map<string, string[]>();
/** Which commands the stand-in answers as failed, by the command (its parameters). */
let failWhen: (command: Command) => boolean = () => false;

/** ListCommandInvocations, which moto lacks, answered from moto's record of the command. */
function answerInvocationsFromMoto(client: SSMClient): void {
  client.middlewareStack.add(
    (next, ctx) => async (args) => {
      if (ctx.commandName !== 'ListCommandInvocationsCommand') return next(args);
      const { CommandId } = args.input as ListCommandInvocationsCommandInput;
      const listed = await client.send(new ListCommandsCommand({ CommandId }));
      const command = listed.Commands?.[0];
      const failed = command !== undefined && failWhen(command);
      const invocations: CommandInvocation[] = (command?.InstanceIds ?? []).map((InstanceId) => ({
        CommandId,
        InstanceId,
        Status: failed ? 'Failed' : 'Success',
        StatusDetails: failed ? 'Failed' : 'Success',
        CommandPlugins: [
          {
            Name: 'run',
            ResponseCode: failed ? 1 : 0,
            Output: failed ? `${command?.Parameters?.ServiceName?.[0] ?? 'service'}: not healthy after 60 s` : 'ok',
          },
        ],
      }));
      return { output: { CommandInvocations: invocations, $metadata: {} }, response: {} } as never;
    },
    { step: 'initialize', name: 'motoCommandInvocations' },
  );
}

beforeAll(async () => {
  config = spreadFleet(HOSTS);
  plane = await createAwsControlPlane(moto.endpoint, {
    levels: config.escalation.levels.map((l) => l.level),
    documents: DOCUMENTS,
    prefix: 'acgs-op',
    table: TABLE,
    bus: BUS,
    stack: STACK,
  });
  answerInvocationsFromMoto(plane.clients.ssm);
  const { key, value } = config.aws.fleetTag;
  for (const host of new Set(Object.values(HOSTS)))
    instancesByHost.set(
      host,
      await launchTaggedInstances(moto.endpoint, { [key]: value, [config.aws.hostTagKey]: host }),
    );
}, 60_000);

function runtimeAt(clock = new ManualClock(T0)): AwsRuntime {
  return createOperatorApiRuntime(config, plane.env, plane.clients, clock, { sleep: async () => {} });
}

async function call(
  runtime: AwsRuntime,
  method: string,
  path: string,
  body?: unknown,
  query: Record<string, string> = {},
) {
  const api = createOperatorApiHandler(runtime);
  const response = (await api(
    {
      version: '2.0',
      routeKey: '$default',
      rawPath: path,
      rawQueryString: new URLSearchParams(query).toString(),
      queryStringParameters: query,
      headers: {},
      isBase64Encoded: false,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      requestContext: {
        http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 't' },
        authorizer: { iam: { userArn: CALLER } },
      },
    } as never,
    context,
  )) as { statusCode: number; body: string };
  return { statusCode: response.statusCode, body: JSON.parse(response.body) };
}

/** The commands moto recorded since `before` (oldest first), with the host tag each was sent to. */
async function commandsSince(before: number) {
  const all = (await plane.clients.ssm.send(new ListCommandsCommand({}))).Commands ?? [];
  return all
    .slice()
    .sort((a, b) => (a.RequestedDateTime?.getTime() ?? 0) - (b.RequestedDateTime?.getTime() ?? 0))
    .slice(before)
    .map((c) => ({
      document: (c.DocumentName ?? '').replace(`${STACK}-`, ''),
      services: c.Parameters?.ServiceName ?? (c.Parameters?.Services?.[0] ?? '').split(',').map((e) => e.split(' ')[0]),
      host: c.Targets?.find((t) => t.Key === `tag:${config.aws.hostTagKey}`)?.Values?.[0],
      instances: c.InstanceIds ?? [],
    }));
}

async function commandCount(): Promise<number> {
  return ((await plane.clients.ssm.send(new ListCommandsCommand({}))).Commands ?? []).length;
}

describe('operator API procedures against moto', () => {
  it('restarts a fleet spanning two hosts: a stop per host, then each service started on its own host', async () => {
    // Prepare
    const runtime = runtimeAt();
    const before = await commandCount();
    // Act
    const answer = await call(runtime, 'POST', '/fleet/restart-all', {});
    // Assess
    expect(answer.statusCode).toBe(200);
    expect(answer.body).toMatchObject({
      procedure: 'fleet.restart-all',
      status: 'succeeded',
      window: { subjects: ['*'] },
    });
    const sent = await commandsSince(before);
    expect(sent.map((c) => [c.document, c.services, c.host])).toEqual([
      ['acgs-stop-all', ['ec', 'pgc', 'gs', 'fv'], '10.0.0.2'],
      ['acgs-stop-all', ['integrity', 'ac', 'auth'], '10.0.0.1'],
      ...Object.entries(HOSTS).map(([service, host]) => ['acgs-start-service', [service], host]),
    ]);
    // moto resolved each host tag to that host's instance only.
    for (const c of sent) expect(c.instances).toEqual(instancesByHost.get(c.host ?? ''));
    expect(await runtime.ctx.control.listMaintenanceWindows(T0)).toEqual([]);
    expect(await runtime.ctx.control.listAudit({ limit: 1 })).toMatchObject([
      {
        caller: CALLER,
        action: 'fleet.restart-all',
        statusCode: 200,
        outcome: 'succeeded',
        subjects: Object.keys(HOSTS),
      },
    ]);
  }, 60_000);

  it('answers 502 naming the service restart-all stopped at, and sends nothing after it', async () => {
    const runtime = runtimeAt();
    const before = await commandCount();
    failWhen = (c) => c.Parameters?.ServiceName?.[0] === 'fv';
    try {
      const answer = await call(runtime, 'POST', '/fleet/restart-all', { services: ['auth', 'fv', 'gs'] });
      expect(answer).toMatchObject({
        statusCode: 502,
        body: {
          status: 'failed',
          exitCode: 1,
          error: 'restart-all stopped at fv: it did not come back healthy (failed); not started: gs',
        },
      });
      expect((await commandsSince(before)).map((c) => c.document)).toEqual([
        'acgs-stop-all',
        'acgs-stop-all',
        'acgs-start-service',
        'acgs-start-service',
      ]);
    } finally {
      failWhen = () => false;
    }
  }, 60_000);

  it('isolates a service on its host, records the mark and the open incident hears of it', async () => {
    const runtime = runtimeAt();
    const before = await commandCount();
    const declared = await call(runtime, 'POST', '/incidents', {
      type: 'manual',
      severity: 'P3',
      title: 'gs leaking',
      services: ['gs'],
    });
    const answer = await call(runtime, 'POST', '/services/gs/isolate', {});
    expect(answer).toMatchObject({
      statusCode: 200,
      body: { procedure: 'service.isolate', services: ['gs'], status: 'succeeded' },
    });
    expect(await commandsSince(before)).toMatchObject([
      { document: 'acgs-isolate-service', services: ['gs'], host: '10.0.0.2' },
    ]);
    expect(await runtime.ctx.control.listIsolated()).toEqual(new Set(['gs']));
    const shown = await call(runtime, 'GET', `/incidents/${declared.body.id}`);
    expect(shown.body.timeline).toContainEqual(
      expect.objectContaining({ type: 'procedure', by: CALLER, action: 'service.isolate', outcome: 'succeeded' }),
    );
    const refused = await call(runtime, 'POST', '/services/gs/start', {});
    expect(refused).toMatchObject({ statusCode: 409, body: { status: 'rejected' } });
    expect(await call(runtime, 'POST', '/services/gs/release', {})).toMatchObject({ statusCode: 200 });
    expect(await runtime.ctx.control.listIsolated()).toEqual(new Set());
  }, 60_000);

  it('opens, lists and ends a maintenance window, and answers the audit trail newest first', async () => {
    const clock = new ManualClock(T0 + 60 * MINUTE);
    const runtime = runtimeAt(clock);
    const opened = await call(runtime, 'POST', '/maintenance', {
      subjects: ['postgresql'],
      minutes: 20,
      reason: 'vacuum',
    });
    expect(opened.statusCode).toBe(201);
    expect((await call(runtime, 'GET', '/maintenance')).body.windows).toContainEqual(
      expect.objectContaining({ id: opened.body.window.id, subjects: ['postgresql'] }),
    );
    clock.advance(MINUTE);
    expect((await call(runtime, 'POST', `/maintenance/${opened.body.window.id}/end`, {})).statusCode).toBe(200);
    const audit = await call(runtime, 'GET', '/audit', undefined, { limit: '2' });
    expect(audit.body.entries).toMatchObject([
      { action: 'maintenance.end', statusCode: 200, at: new Date(T0 + 61 * MINUTE).toISOString() },
      { action: 'maintenance.start', statusCode: 201, subjects: ['postgresql'] },
    ]);
  }, 60_000);

  it('refuses bad input with 400 before any command is sent, and audits the refusal', async () => {
    const runtime = runtimeAt(new ManualClock(T0 + 120 * MINUTE));
    const before = await commandCount();
    expect(await call(runtime, 'POST', '/fleet/stop-all', { services: ['auth; touch /tmp/x'] })).toMatchObject({
      statusCode: 400,
    });
    expect(await call(runtime, 'POST', '/services/auth$(id)/stop', {})).toMatchObject({
      statusCode: 400,
      body: { error: expect.stringMatching(/^name: /) },
    });
    expect(await call(runtime, 'POST', '/services/auth/stop', { windowMinutes: 0 })).toMatchObject({ statusCode: 400 });
    expect(await commandCount()).toBe(before);
    expect((await runtime.ctx.control.listAudit({ since: T0 + 120 * MINUTE })).map((e) => e.statusCode)).toEqual([
      400, 400, 400,
    ]);
  }, 60_000);

  it('waits for health on the states the scheduled probe recorded in DynamoDB', async () => {
    const runtime = createOperatorApiRuntime(config, plane.env, plane.clients, systemClock);
    for (let i = 0; i < 3; i++) await applyProbeResults(runtime.ctx, results(runtime.ctx, { fv: 'unhealthy' }));
    expect(await call(runtime, 'POST', '/health/wait', { services: ['auth', 'gs'], timeoutSeconds: 5 })).toMatchObject({
      statusCode: 200,
      body: { healthy: true, services: ['auth', 'gs'] },
    });
    const down = await call(runtime, 'POST', '/health/wait', { services: ['auth', 'fv'], timeoutSeconds: 1 });
    expect(down).toMatchObject({
      statusCode: 503,
      body: { healthy: false, unhealthy: [{ service: 'fv', state: 'down' }] },
    });
    const listed = await call(runtime, 'GET', '/services');
    expect(listed.body.services).toContainEqual(
      expect.objectContaining({ name: 'fv', host: '10.0.0.2', state: 'down' }),
    );
  }, 60_000);
});
