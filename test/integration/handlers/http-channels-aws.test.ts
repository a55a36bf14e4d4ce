import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFleetConfig } from '../../../lambdas/core/config.ts';
import type { FleetConfig } from '../../../lambdas/core/config-schema.ts';
import { createEscalationSweepHandler } from '../../../lambdas/handlers/escalation-sweep.ts';
import { type AwsRuntime, createRuntime, NO_COMMANDS } from '../../../lambdas/handlers/runtime-base.ts';
import { declareIncident, resolveIncident } from '../../../lambdas/use-cases/operator-actions.ts';
import { type AwsControlPlane, createAwsControlPlane } from '../../support/aws-control-plane.ts';
import { type PagerDutySink, startPagerDutySink } from '../../support/channel-sinks.ts';
import { ManualClock, MINUTE } from '../../support/harness.ts';
import { lambdaContext } from '../../support/lambda-context.ts';
import { awsClientConfig, useMotoServer } from '../../support/moto.ts';
import { shippedConfigWith } from '../../support/shipped-config.ts';

/**
 * A PagerDuty channel in AWS, end to end: the runtime every Lambda is built from (DynamoDB, SNS, Secrets Manager on
 * moto), its routing key read from a Secrets Manager secret on the first page, a local PagerDuty Events v2 sink as
 * its URL. The incident is paged (the level topic AND PagerDuty), re-paged by the real escalation sweep handler, then
 * resolved: the sweep delivers the resolve notice, and PagerDuty holds one incident, triggered then resolved. The
 * console and jsonl channels of the shipped config are left alone (they are the daemon's).
 */
const moto = useMotoServer();
const ROUTING_KEY = 'R0123456789abcdef0123456789abcd01';
const SECRET = 'acgs-1/pagerduty';
const clock = new ManualClock(Date.UTC(2026, 11, 1, 2, 0, 0));
const context = lambdaContext('acgs-test');

let pagerDuty: PagerDutySink;
let runtime: AwsRuntime;
let plane: AwsControlPlane;
let secretReads = 0;

function configWithPagerDuty(url: string): FleetConfig {
  const parsed = parseFleetConfig(
    shippedConfigWith('notifications.channels', [
      { name: 'console', kind: 'console', events: ['resolved'] },
      { name: 'pages-file', kind: 'jsonl', path: 'pages.jsonl' },
      {
        name: 'pagerduty',
        kind: 'pagerduty',
        url,
        routingKeySecret: { id: SECRET, field: 'routingKey' },
        events: ['acknowledged', 'resolved'],
      },
    ]),
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
}

beforeAll(async () => {
  pagerDuty = await startPagerDutySink(ROUTING_KEY);
  const secrets = new SecretsManagerClient(awsClientConfig(moto.endpoint));
  await secrets.send(
    new CreateSecretCommand({ Name: SECRET, SecretString: JSON.stringify({ routingKey: ROUTING_KEY }) }),
  );
  secrets.middlewareStack.add(
    (next) => async (args) => {
      secretReads++;
      return next(args);
    },
    { step: 'initialize', name: 'countSecretReads' },
  );
  const config = configWithPagerDuty(pagerDuty.url);
  plane = await createAwsControlPlane(moto.endpoint, {
    levels: config.escalation.levels.map((l) => l.level),
    subscribe: [1],
  });
  runtime = createRuntime(config, plane.env, { ...plane.clients, secrets }, NO_COMMANDS, clock);
}, 60_000);

afterAll(async () => {
  await pagerDuty?.close();
});

describe('escalation sweep Lambda with a PagerDuty channel whose routing key is in Secrets Manager', () => {
  it('pages through SNS and PagerDuty, re-pages on the sweep, and the resolve notice resolves the one PagerDuty incident', async () => {
    // Prepare
    const sweep = createEscalationSweepHandler(runtime);
    expect(runtime.ctx.notifier.noticeChannels('resolved')).toEqual(['pagerduty']);
    expect(secretReads).toBe(0);
    // Act: declared and paged at level 1; the sweep re-pages when the level's time is up; resolved; the sweep delivers
    const { incident } = await declareIncident(runtime.ctx, {
      kind: 'manual',
      title: 'checkout slow',
      severity: 'P2',
      services: [],
      by: 'alice',
    });
    const afterPage = pagerDuty.taken.length;
    clock.advance(120 * MINUTE);
    await sweep({}, context);
    const afterSweep = pagerDuty.taken.length;
    await resolveIncident(runtime.ctx, incident.id, 'alice', 'cache warmed');
    clock.advance(MINUTE);
    await sweep({}, context);
    await sweep({}, context);
    // Assess
    expect(afterPage).toBe(1);
    expect(afterSweep).toBeGreaterThan(1);
    expect(pagerDuty.incidents).toHaveLength(1);
    const [pd] = pagerDuty.incidents;
    expect(pd?.dedupKey).toContain(incident.id);
    expect(pd?.status).toBe('resolved');
    expect(pd?.log[0]).toBe('trigger');
    expect(pd?.log.at(-1)).toBe('resolve');
    expect(pd?.log.filter((a) => a === 'resolve')).toHaveLength(1);
    expect(pagerDuty.dropped).toEqual([]);
    // The routing key was read once, on the first page; SNS paged level 1 as before.
    expect(secretReads).toBe(1);
    const level1 = await plane.clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: plane.queue(1), MaxNumberOfMessages: 10 }),
    );
    expect(level1.Messages?.length ?? 0).toBeGreaterThan(0);
    const stored = await runtime.ctx.incidents.getIncident(incident.id);
    expect(stored?.status).toBe('resolved');
    expect(stored?.notices ?? []).toEqual([]);
  });
});
