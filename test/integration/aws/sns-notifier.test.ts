import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnsNotifier, snsSubject } from '../../../lambdas/adapters/aws/sns-notifier.ts';
import type { Page } from '../../../lambdas/core/escalation.ts';
import type { Incident } from '../../../lambdas/core/incident.ts';
import { openIncident } from '../../../lambdas/core/incident-planner.ts';
import { formatPage } from '../../../lambdas/core/page-message.ts';
import type { Notification } from '../../../lambdas/ports.ts';
import { acgsPolicy, CONTACT, MINUTE, serviceDownReport, T0 } from '../../support/incident-fixtures.ts';
import { awsClientConfig, useMotoServer } from '../../support/moto.ts';

const moto = useMotoServer();
const OPTIONS = { fleet: 'acgs-1', acknowledgeHint: 'acgs-ops incident ack {id}' };
const LEVELS = [1, 2, 3] as const;
let sns: SNSClient;
let sqs: SQSClient;
const topics: Record<string, string> = {};
const queues = new Map<number, string>();

beforeAll(async () => {
  sns = new SNSClient(awsClientConfig(moto.endpoint));
  sqs = new SQSClient(awsClientConfig(moto.endpoint));
  for (const level of LEVELS) {
    const topic = await sns.send(new CreateTopicCommand({ Name: `acgs-pages-level-${level}` }));
    const queue = await sqs.send(new CreateQueueCommand({ QueueName: `level-${level}-inbox` }));
    const attributes = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl, AttributeNames: ['QueueArn'] }),
    );
    await sns.send(
      new SubscribeCommand({ TopicArn: topic.TopicArn, Protocol: 'sqs', Endpoint: attributes.Attributes?.QueueArn }),
    );
    topics[String(level)] = topic.TopicArn ?? '';
    queues.set(level, queue.QueueUrl ?? '');
  }
});
afterAll(() => {
  sns.destroy();
  sqs.destroy();
});

function notification(level: number, incident: Incident): Notification {
  const page: Page = {
    incidentId: incident.id,
    severity: incident.severity,
    level,
    levelName: level === 2 ? 'Engineering' : 'Operations',
    contacts: [{ name: CONTACT.engineering, role: 'member' }],
    why: 'escalated',
    at: T0 + 65 * MINUTE,
  };
  return {
    page,
    incident,
    recent: [{ at: T0 + MINUTE, type: 'paged', level: 1, levelName: 'Operations', contacts: [], why: 'opened' }],
  };
}

async function receive(level: number, waitSeconds: number): Promise<Message[]> {
  const out = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queues.get(level),
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: waitSeconds,
      MessageAttributeNames: ['All'],
    }),
  );
  return out.Messages ?? [];
}

describe('SnsNotifier against moto (SNS topic per level -> SQS queue)', () => {
  it("delivers a level-2 page to level 2's subscribers only, with subject, text, JSON body and attributes", async () => {
    const incident = openIncident(serviceDownReport('pgc'), acgsPolicy, T0).incident;
    const sent = notification(2, incident);
    await new SnsNotifier(sns, topics, OPTIONS).notify(sent);

    const [delivered, ...more] = await receive(2, 1);
    expect(more).toEqual([]);
    const envelope = JSON.parse(delivered?.Body ?? '{}');
    const expected = formatPage(sent.page, incident, sent.recent, OPTIONS);
    expect(envelope).toMatchObject({ Type: 'Notification', TopicArn: topics['2'], Subject: expected.subject });
    // The queue is a machine subscriber: it gets the JSON body of the page.
    expect(JSON.parse(envelope.Message)).toEqual(expected.body);
    expect(JSON.parse(envelope.Message)).toMatchObject({
      incidentId: incident.id,
      level: 2,
      why: 'escalated',
      acknowledge: `acgs-ops incident ack ${incident.id}`,
    });
    expect(envelope.MessageAttributes).toEqual({
      severity: { Type: 'String', Value: 'P2' },
      incidentId: { Type: 'String', Value: incident.id },
      level: { Type: 'String', Value: '2' },
      why: { Type: 'String', Value: 'escalated' },
    });
    expect(await receive(1, 0)).toEqual([]);
    expect(await receive(3, 0)).toEqual([]);
  });

  it('sends a subject SNS accepts when the title has line breaks, non-ASCII characters and great length', async () => {
    const title = `Dépendance «postgres» en panne\nsur l'hôte ${'x'.repeat(120)}`;
    const incident = openIncident(serviceDownReport('gs', { title }), acgsPolicy, T0).incident;
    await new SnsNotifier(sns, topics, OPTIONS).notify(notification(1, incident));
    const [delivered] = await receive(1, 1);
    const subject: string = JSON.parse(delivered?.Body ?? '{}').Subject;
    expect(subject.startsWith("[P2] acgs-1: Dependance ?postgres? en panne sur l'hote xxx")).toBe(true);
    expect(subject.length).toBeLessThan(100);
    expect(subject).toMatch(/^[\x20-\x7E]+$/);
  });

  it('refuses a page for a level that has no topic, naming the level, and sends nothing', async () => {
    const incident = openIncident(serviceDownReport('ec'), acgsPolicy, T0).incident;
    const { '3': _none, ...withoutThree } = topics;
    await expect(new SnsNotifier(sns, withoutThree, OPTIONS).notify(notification(3, incident))).rejects.toThrow(
      /no SNS topic for escalation level 3/,
    );
    expect(await receive(3, 0)).toEqual([]);
  });

  it('refuses a topic map with a bad level or an ARN that is not a standard topic', () => {
    expect(() => new SnsNotifier(sns, { one: topics['1'] ?? '' }, OPTIONS)).toThrow(/"one" is not an escalation level/);
    expect(() => new SnsNotifier(sns, { '1': 'arn:aws:sns:us-east-1:123456789012:pages.fifo' }, OPTIONS)).toThrow(
      /level 1: .* is not a standard SNS topic ARN/,
    );
  });
});

describe('snsSubject', () => {
  it('keeps a plain subject as it is', () => {
    expect(snsSubject('[P1] acgs-1: auth is down (INC-1)')).toBe('[P1] acgs-1: auth is down (INC-1)');
  });

  it('turns control characters, tabs and line breaks into single spaces and trims', () => {
    expect(snsSubject('  a\r\n\tb\u0007c  ')).toBe('a b?c');
  });

  it('replaces each character outside ASCII by one question mark, after dropping accents', () => {
    expect(snsSubject('café 🔥 ok')).toBe('cafe ? ok');
  });

  it('cuts a long subject to 99 characters ending in an ellipsis, and names an empty one', () => {
    const cut = snsSubject('y'.repeat(300));
    expect(cut).toHaveLength(99);
    expect(cut.endsWith('...')).toBe(true);
    expect(snsSubject(' \n ')).toBe('ACGS ops page');
  });
});
