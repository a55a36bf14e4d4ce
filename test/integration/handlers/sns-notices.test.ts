import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Message, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalSecretSource } from '../../../lambdas/adapters/local/local-secret-source.ts';
import { parseFleetConfig } from '../../../lambdas/core/config.ts';
import { fleetConfigYaml } from '../../../lambdas/demo/fleet-sim/config-text.ts';
import { planSimulatedFleet } from '../../../lambdas/demo/fleet-sim/plan.ts';
import { createEscalationSweepHandler } from '../../../lambdas/handlers/escalation-sweep.ts';
import { createProbeHandler } from '../../../lambdas/handlers/probe.ts';
import { type AwsRuntime, createRuntime, NO_COMMANDS } from '../../../lambdas/handlers/runtime-base.ts';
import { NetworkProber } from '../../../lambdas/probes/network-prober.ts';
import { acknowledgeIncident, noteIncident, resolveIncident } from '../../../lambdas/use-cases/operator-actions.ts';
import { type AwsControlPlane, createAwsControlPlane } from '../../support/aws-control-plane.ts';
import { ManualClock, SECOND } from '../../support/harness.ts';
import { lambdaContext } from '../../support/lambda-context.ts';
import { useMotoServer } from '../../support/moto.ts';

/**
 * Lifecycle notices in AWS, end to end on moto: the probe Lambda opens an incident (storing its notice in the same
 * DynamoDB write), the escalation sweep delivers the notices to the Updates topic (an SQS queue subscribes), with the
 * level topics carrying the pages as before. Nothing runs at the fleet's ports: its one service is down.
 */
const moto = useMotoServer();
const context = lambdaContext('acgs-test');
const clock = new ManualClock(Date.UTC(2026, 11, 1, 2, 0, 0));

let dir: string;
let runtime: AwsRuntime;
let plane: AwsControlPlane;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'acgs-sns-notices-'));
  const spec = await planSimulatedFleet({
    dir,
    watchPid: process.pid,
    services: [{ name: 'auth', displayName: 'Auth Service', shape: 'raw', critical: true }],
  });
  const parsed = parseFleetConfig(fleetConfigYaml(spec, { probeTimeout: '1s', failuresToDown: 2 }));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  const config = parsed.config;

  plane = await createAwsControlPlane(moto.endpoint, {
    levels: config.escalation.levels.map((l) => l.level),
    subscribe: [1],
    updates: true,
    env: { POWERTOOLS_SERVICE_NAME: 'acgs-1-demo-control-plane' },
  });
  runtime = createRuntime(
    { ...config, remediation: { ...config.remediation, enabled: false } },
    plane.env,
    plane.clients,
    NO_COMMANDS,
    clock,
  );
}, 60_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function drain(queueUrl: string): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const out = await plane.clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
      }),
    );
    if (!out.Messages || out.Messages.length === 0) return all;
    all.push(...out.Messages);
  }
}

interface Delivered {
  readonly event: string;
  readonly key: string;
  readonly attributes: Record<string, string>;
}

async function notices(): Promise<Delivered[]> {
  return (await drain(plane.updatesQueue ?? '')).map((m) => {
    const envelope = JSON.parse(m.Body ?? '{}') as {
      Message: string;
      MessageAttributes: Record<string, { Value: string }>;
    };
    const body = JSON.parse(envelope.Message) as { event: string; key: string };
    return {
      event: body.event,
      key: body.key,
      attributes: Object.fromEntries(Object.entries(envelope.MessageAttributes).map(([k, v]) => [k, v.Value])),
    };
  });
}

describe('lifecycle notices over SNS, against moto', () => {
  it('delivers opened, acknowledged, update and resolved to the Updates topic once each, pages to the level topic', async () => {
    // Prepare: the probe Lambda sees auth down twice: an incident opens (and pages level 1)
    const probe = createProbeHandler(runtime, new NetworkProber(clock, new LocalSecretSource({})));
    const sweep = createEscalationSweepHandler(runtime);
    for (let i = 0; i < 2; i++) {
      await probe({}, context);
      clock.advance(2 * SECOND);
    }
    const [incident] = await runtime.ctx.incidents.listOpenIncidents();
    if (!incident) throw new Error('no incident opened');
    expect(incident.notices?.map((n) => n.kind)).toEqual(['opened']);

    // Act: the sweep delivers; operators acknowledge, note and resolve; the sweep delivers again
    await sweep({}, context);
    await acknowledgeIncident(runtime.ctx, incident.id, 'alice');
    await noteIncident(runtime.ctx, incident.id, 'alice', 'restarting auth by hand');
    await resolveIncident(runtime.ctx, incident.id, 'alice', 'restarted by hand');
    clock.advance(SECOND);
    await sweep({}, context);
    clock.advance(60 * SECOND);
    await sweep({}, context);

    // Assess
    const delivered = await notices();
    expect(delivered.map((d) => d.event)).toEqual(['opened', 'acknowledged', 'update', 'resolved']);
    expect(new Set(delivered.map((d) => d.key)).size).toBe(4);
    for (const d of delivered) {
      expect(d.key.startsWith(`${incident.id}/`)).toBe(true);
      expect(d.attributes).toEqual({ kind: d.event, incidentId: incident.id, severity: incident.severity });
    }
    expect((await runtime.ctx.incidents.getIncident(incident.id))?.notices ?? []).toEqual([]);
    const pages = await drain(plane.queue(1));
    expect(pages.length).toBeGreaterThan(0);
    for (const page of pages) expect(JSON.parse(JSON.parse(page.Body ?? '{}').Message).kind).toBe('acgs-ops.page');
  }, 60_000);
});
