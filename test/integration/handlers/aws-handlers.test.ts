import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Message } from '@aws-sdk/client-sqs';
import { ListCommandsCommand } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFleetConfig } from '../../../lambdas/core/config.ts';
import type { FleetConfig } from '../../../lambdas/core/config-schema.ts';
import { fleetConfigYaml } from '../../../lambdas/demo/fleet-sim/config-text.ts';
import { planSimulatedFleet, type SimulatedFleetSpec } from '../../../lambdas/demo/fleet-sim/plan.ts';
import { crash, startFleet, stopFleet } from '../../../lambdas/demo/fleet-sim/processes.ts';
import { type AwsRuntime, createAwsRuntime } from '../../../lambdas/handlers/aws-runtime.ts';
import { createCommandStatusHandler } from '../../../lambdas/handlers/command-status.ts';
import { createEscalationSweepHandler } from '../../../lambdas/handlers/escalation-sweep.ts';
import { createOperatorApiHandler } from '../../../lambdas/handlers/operator-api.ts';
import { createProbeHandler } from '../../../lambdas/handlers/probe.ts';
import { type AwsControlPlane, createAwsControlPlane, launchTaggedInstances } from '../../support/aws-control-plane.ts';
import { ManualClock, SECOND } from '../../support/harness.ts';
import { lambdaContext } from '../../support/lambda-context.ts';
import { useMotoServer } from '../../support/moto.ts';

/**
 * Every handler end to end with its real adapters against moto_server: DynamoDB, SNS (delivered to SQS), SSM
 * SendCommand and EventBridge. The probe hits a simulated fleet of real processes. Only the Lambda invocation
 * itself is simulated (the handler is called with a hand-made context): nothing here can run Lambda.
 */
const moto = useMotoServer();
const TABLE = 'acgs-control';
const BUS = 'acgs-1-demo-events';
const RESTART_DOC = 'acgs-stack-acgs-restart-service';
const context = lambdaContext('acgs-test');

let dir: string;
let spec: SimulatedFleetSpec;
let config: FleetConfig;
let runtime: AwsRuntime;
let plane: AwsControlPlane;
const clock = new ManualClock(Date.UTC(2026, 11, 1, 2, 0, 0));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'acgs-aws-handlers-'));
  spec = await planSimulatedFleet({
    dir,
    watchPid: process.pid,
    services: [
      { name: 'auth', displayName: 'Auth Service', shape: 'raw', critical: true },
      { name: 'ac', displayName: 'Constitutional AI Service', shape: 'envelope', critical: true },
      { name: 'pgc', displayName: 'Policy Governance Service', shape: 'pgc', critical: true },
    ],
  });
  const parsed = parseFleetConfig(fleetConfigYaml(spec, { probeTimeout: '1s', failuresToDown: 2 }));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  config = parsed.config;
  await startFleet(spec);

  const levels = config.escalation.levels.map((l) => l.level);
  plane = await createAwsControlPlane(moto.endpoint, {
    levels,
    subscribe: levels,
    documents: ['acgs-restart-service'],
    table: TABLE,
    bus: BUS,
    stack: 'acgs-stack',
    env: { POWERTOOLS_SERVICE_NAME: 'acgs-1-demo-control-plane' },
  });
  const { key, value } = config.aws.fleetTag;
  await launchTaggedInstances(moto.endpoint, { [key]: value });
  runtime = createAwsRuntime(config, plane.env, plane.clients, clock);
}, 60_000);

afterAll(async () => {
  if (spec) await stopFleet(spec);
  if (dir) await rm(dir, { recursive: true, force: true });
});

const pages = (level: number): Promise<Message[]> => plane.pages(level);

describe('control-plane Lambdas against moto', () => {
  it('opens exactly one incident in DynamoDB, pages level 1 over SNS and sends the restart when a service is down', async () => {
    // Prepare: a healthy first cycle, then auth crashes.
    const probe = createProbeHandler(runtime);
    await probe({}, context);
    await crash(spec, 'auth');
    // Act: two failing cycles reach failuresToDown = 2; a third repeats the problem.
    for (let i = 0; i < 3; i++) {
      clock.advance(2 * SECOND);
      await probe({}, context);
    }
    // Assess
    const open = await runtime.ctx.incidents.listOpenIncidents();
    expect(open.map((i) => [i.dedupKey, i.severity, i.count])).toEqual([['auth:health@127.0.0.1', 'P2', 2]]);
    const level1 = await pages(1);
    expect(level1).toHaveLength(1);
    const body = JSON.parse(level1[0]?.Body ?? '{}') as {
      Subject?: string;
      MessageAttributes?: Record<string, { Value: string }>;
    };
    expect(body.Subject).toContain('[P2]');
    expect(body.MessageAttributes?.incidentId?.Value).toBe(open[0]?.id);
    expect(await pages(2)).toEqual([]);
    const commands = (await plane.clients.ssm.send(new ListCommandsCommand({}))).Commands ?? [];
    expect(commands.map((c) => [c.DocumentName, c.Parameters?.ServiceName?.[0]])).toEqual([[RESTART_DOC, 'auth']]);
    const attempt = await runtime.ctx.control.findAttemptByCommand(commands[0]?.CommandId ?? '');
    expect(attempt).toMatchObject({ service: 'auth', outcome: 'pending' });
  }, 60_000);

  it('routes by the document the event names: a status change of a document it does not handle finishes no restart', async () => {
    // Prepare: the restart's own command id, under another document's name
    const [command] = (await plane.clients.ssm.send(new ListCommandsCommand({}))).Commands ?? [];
    const handler = createCommandStatusHandler(runtime);
    // Act
    const result = await handler(
      {
        source: 'aws.ssm',
        'detail-type': 'EC2 Command Status-change Notification',
        resources: [],
        detail: {
          'command-id': command?.CommandId,
          'document-name': 'acgs-stack-acgs-restore-drill',
          status: 'Failed',
        },
      },
      context,
    );
    // Assess
    expect(result).toEqual({ commandId: command?.CommandId, recorded: false, why: 'document not handled' });
    const attempt = await runtime.ctx.control.findAttemptByCommand(command?.CommandId ?? '');
    expect(attempt).toMatchObject({ service: 'auth', outcome: 'pending' });
  }, 30_000);

  it('records the restart outcome from the SSM status-change event on the incident timeline', async () => {
    const [command] = (await plane.clients.ssm.send(new ListCommandsCommand({}))).Commands ?? [];
    const handler = createCommandStatusHandler(runtime);
    const result = await handler(
      {
        version: '0',
        id: 'e-1',
        source: 'aws.ssm',
        'detail-type': 'EC2 Command Status-change Notification',
        account: '123456789012',
        time: new Date(clock.now()).toISOString(),
        region: 'us-east-1',
        resources: [],
        detail: {
          'command-id': command?.CommandId,
          'document-name': RESTART_DOC,
          'expire-after': new Date(clock.now() + 3_600_000).toISOString(),
          parameters: {},
          'requested-date-time': new Date(clock.now()).toISOString(),
          status: 'Failed',
        },
      },
      context,
    );
    expect(result).toMatchObject({ recorded: true, outcome: 'failed' });
    const [incident] = await runtime.ctx.incidents.listOpenIncidents();
    const timeline = await runtime.ctx.incidents.getTimeline(incident?.id ?? '');
    expect(
      timeline.filter((e) => e.type === 'remediation').map((e) => (e.type === 'remediation' ? e.outcome : '')),
    ).toEqual(['requested', 'failed']);
  }, 30_000);

  it('fails a restart status of a command id not recorded yet, so that Lambda retries it, and drops it once old', async () => {
    // Prepare: an event of this stack's restart document for a command id no attempt carries (yet)
    const handler = createCommandStatusHandler(runtime);
    const unknown = '0a1b2c3d-4e5f-4a6b-8c7d-9e8f7a6b5c4d';
    const invocation = (time: number) => ({
      ...JSON.parse(
        readFileSync(new URL('../aws/fixtures/ssm-command-invocation-status-change.json', import.meta.url), 'utf8'),
      ),
      time: new Date(time).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      detail: {
        'command-id': unknown,
        'document-name': RESTART_DOC,
        'instance-id': 'i-0123456789abcdef0',
        'requested-date-time': new Date(time - 2_000).toISOString(),
        status: 'Failed',
      },
    });
    // Act + Assess: a recent one makes the invocation fail (Lambda's asynchronous retry brings it again)
    await expect(handler(invocation(clock.now() - 30 * SECOND), context)).rejects.toMatchObject({
      code: 'COMMAND_NOT_YET_RECORDED',
    });
    // An old one is dropped: the invocation succeeds, nothing is recorded
    const old = await handler(invocation(clock.now() - 10 * 60 * SECOND), context);
    expect(old).toMatchObject({ commandId: unknown, recorded: false, why: expect.stringContaining('unknown command') });
    expect(await runtime.ctx.control.findAttemptByCommand(unknown)).toBeUndefined();
  }, 30_000);

  it('escalates to level 2 over SNS when level 1 does not acknowledge in time', async () => {
    const sweep = createEscalationSweepHandler(runtime);
    const [incident] = await runtime.ctx.incidents.listOpenIncidents();
    clock.set((incident?.escalation.nextAt ?? 0) + SECOND);
    await sweep({}, context);
    const level2 = await pages(2);
    expect(level2).toHaveLength(1);
    expect(JSON.parse(level2[0]?.Body ?? '{}').MessageAttributes?.why?.Value).toBe('escalated');
  }, 30_000);

  it('acknowledges through the operator API as the IAM caller and refuses an unsigned request', async () => {
    const api = createOperatorApiHandler(runtime);
    const [incident] = await runtime.ctx.incidents.listOpenIncidents();
    const event = (caller: string | undefined) =>
      ({
        version: '2.0',
        routeKey: '$default',
        rawPath: `/incidents/${incident?.id}/ack`,
        rawQueryString: '',
        headers: {},
        isBase64Encoded: false,
        body: JSON.stringify({ note: 'on it' }),
        requestContext: {
          http: {
            method: 'POST',
            path: `/incidents/${incident?.id}/ack`,
            protocol: 'HTTP/1.1',
            sourceIp: '127.0.0.1',
            userAgent: 't',
          },
          ...(caller ? { authorizer: { iam: { userArn: caller } } } : {}),
        },
      }) as never;
    expect(await api(event(undefined), context)).toMatchObject({ statusCode: 403 });
    const acked = await api(event('arn:aws:iam::123456789012:user/alice'), context);
    expect(acked).toMatchObject({ statusCode: 200 });
    expect(JSON.parse(String((acked as { body?: string }).body))).toMatchObject({
      status: 'acknowledged',
      acknowledgedBy: 'arn:aws:iam::123456789012:user/alice',
    });
  }, 30_000);

  it('answers 400 to a declaration of 250 services through the operator API and stores nothing', async () => {
    // Prepare
    const api = createOperatorApiHandler(runtime);
    const before = await runtime.ctx.incidents.listOpenIncidents();
    const event = {
      version: '2.0',
      routeKey: '$default',
      rawPath: '/incidents',
      rawQueryString: '',
      headers: {},
      isBase64Encoded: false,
      body: JSON.stringify({ type: 'manual', severity: 'P3', title: 'wide', services: Array(250).fill('auth') }),
      requestContext: {
        http: { method: 'POST', path: '/incidents', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 't' },
        authorizer: { iam: { userArn: 'arn:aws:iam::123456789012:user/alice' } },
      },
    } as never;
    // Act
    const response = await api(event, context);
    // Assess
    expect(response).toMatchObject({ statusCode: 400 });
    expect(JSON.parse(String((response as { body?: string }).body))).toEqual({
      error: 'services: at most 32 services per incident',
    });
    expect(await runtime.ctx.incidents.listOpenIncidents()).toEqual(before);
  }, 30_000);
});
