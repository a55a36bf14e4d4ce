import { type AddressInfo, createServer, type Socket } from 'node:net';
import { SNSClient } from '@aws-sdk/client-sns';
import { type Message, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnsNotifier, snsSubject } from '../../../lambdas/adapters/aws/sns-notifier.ts';
import { SNS_UPDATES_CHANNEL } from '../../../lambdas/adapters/aws/sns-topics.ts';
import { DEFAULT_SNS_EVENTS } from '../../../lambdas/core/config-schema.ts';
import type { MaintenanceWindow, Page } from '../../../lambdas/core/escalation.ts';
import type { Incident, Notice } from '../../../lambdas/core/incident.ts';
import { openIncident } from '../../../lambdas/core/incident-planner.ts';
import { formatNotice } from '../../../lambdas/core/notice-message.ts';
import { NOTICE_KINDS, type NoticeMessage } from '../../../lambdas/core/notices.ts';
import { formatPage } from '../../../lambdas/core/page-message.ts';
import type { Notification } from '../../../lambdas/ports.ts';
import { createTopic, receive as receiveFrom, subscribedQueue } from '../../support/aws-control-plane.ts';
import { acgsPolicy, CONTACT, MINUTE, serviceDownReport, T0 } from '../../support/incident-fixtures.ts';
import { awsClientConfig, useMotoServer } from '../../support/moto.ts';

const moto = useMotoServer();
const OPTIONS = { fleet: 'acgs-1', acknowledgeHint: 'acgs-ops incident ack {id}' };
const LEVELS = [1, 2, 3] as const;
let sns: SNSClient;
let sqs: SQSClient;
const topics: Record<string, string> = {};
const queues = new Map<number, string>();
/** The Updates topic and the queue subscribed to it. */
let updatesTopic = '';
let updatesQueue = '';

beforeAll(async () => {
  sns = new SNSClient(awsClientConfig(moto.endpoint));
  sqs = new SQSClient(awsClientConfig(moto.endpoint));
  for (const level of LEVELS) {
    const topicArn = await createTopic(sns, `acgs-pages-level-${level}`);
    topics[String(level)] = topicArn;
    queues.set(level, await subscribedQueue({ sns, sqs }, topicArn, `level-${level}-inbox`));
  }
  updatesTopic = await createTopic(sns, 'acgs-updates');
  updatesQueue = await subscribedQueue({ sns, sqs }, updatesTopic, 'updates-inbox');
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

/** What the queue of a level's topic, or of the Updates topic, was delivered (SNS's envelope, attributes in it). */
function receive(level: number | 'updates', waitSeconds: number): Promise<Message[]> {
  return receiveFrom(sqs, (level === 'updates' ? updatesQueue : queues.get(level)) ?? '', waitSeconds);
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

function notice(kind: Notice['kind'], extra: Partial<Notice> = {}): Notice {
  return { key: `n-${kind}`, kind, at: T0 + 5 * MINUTE, done: [], attempts: 0, nextAt: T0 + 5 * MINUTE, ...extra };
}

describe('SnsNotifier notices against moto (Updates topic -> SQS queue)', () => {
  const withUpdates = (deliveryTimeoutMs?: number) =>
    new SnsNotifier(sns, topics, {
      ...OPTIONS,
      ...(deliveryTimeoutMs === undefined ? {} : { deliveryTimeoutMs }),
      updates: { topicArn: updatesTopic, events: DEFAULT_SNS_EVENTS },
    });

  it('routes every kind but escalated and test to the Updates topic by default, and nothing without the topic', () => {
    const notifier = withUpdates();
    expect(NOTICE_KINDS.filter((kind) => notifier.noticeChannels(kind).length > 0)).toEqual(DEFAULT_SNS_EVENTS);
    expect(notifier.noticeChannels('resolved')).toEqual([SNS_UPDATES_CHANNEL]);
    expect(notifier.noticeChannels('escalated')).toEqual([]);
    expect(notifier.noticeChannels('test')).toEqual([]);
    const without = new SnsNotifier(sns, topics, OPTIONS);
    expect(NOTICE_KINDS.flatMap((kind) => without.noticeChannels(kind))).toEqual([]);
  });

  it("publishes an incident's acknowledgement to the Updates topic only: JSON body with its key, attributes", async () => {
    const incident = openIncident(serviceDownReport('pgc'), acgsPolicy, T0).incident;
    const message: NoticeMessage = {
      key: `${incident.id}/n-acknowledged`,
      notice: notice('acknowledged', { by: 'alice' }),
      incident: { ...incident, status: 'acknowledged', acknowledgedBy: 'alice', acknowledgedAt: T0 + 5 * MINUTE },
      recent: [],
    };
    await withUpdates().sendNotice(SNS_UPDATES_CHANNEL, message);

    const [delivered, ...more] = await receive('updates', 1);
    expect(more).toEqual([]);
    const envelope = JSON.parse(delivered?.Body ?? '{}');
    const expected = formatNotice(message, OPTIONS);
    expect(envelope).toMatchObject({ Type: 'Notification', TopicArn: updatesTopic, Subject: expected.subject });
    expect(JSON.parse(envelope.Message)).toEqual(expected.body);
    expect(JSON.parse(envelope.Message)).toMatchObject({
      kind: 'acgs-ops.notice',
      key: `${incident.id}/n-acknowledged`,
      event: 'acknowledged',
      by: 'alice',
      incident: { id: incident.id, status: 'acknowledged' },
    });
    expect(envelope.MessageAttributes).toEqual({
      kind: { Type: 'String', Value: 'acknowledged' },
      incidentId: { Type: 'String', Value: incident.id },
      severity: { Type: 'String', Value: 'P2' },
    });
    for (const level of LEVELS) expect(await receive(level, 0)).toEqual([]);
  });

  it('publishes a maintenance window notice with the window id and no severity', async () => {
    const window: MaintenanceWindow = {
      id: 'MW-1',
      subjects: ['gs', 'pgc'],
      startsAt: T0,
      endsAt: T0 + 60 * MINUTE,
      reason: 'kernel update',
      createdBy: 'bob',
    };
    await withUpdates().sendNotice(SNS_UPDATES_CHANNEL, {
      key: 'MW-1/n-maintenance-started',
      notice: notice('maintenance-started', { by: 'bob' }),
      window,
      recent: [],
    });
    const [delivered] = await receive('updates', 1);
    const envelope = JSON.parse(delivered?.Body ?? '{}');
    expect(envelope.Subject).toBe('Maintenance started: acgs-1: maintenance of gs, pgc (MW-1)');
    expect(JSON.parse(envelope.Message)).toMatchObject({ key: 'MW-1/n-maintenance-started', window: { id: 'MW-1' } });
    expect(envelope.MessageAttributes).toEqual({
      kind: { Type: 'String', Value: 'maintenance-started' },
      windowId: { Type: 'String', Value: 'MW-1' },
    });
  });

  it('refuses a channel other than the Updates topic, and any notice without the topic, sending nothing', async () => {
    const incident = openIncident(serviceDownReport('ec'), acgsPolicy, T0).incident;
    const message: NoticeMessage = { key: `${incident.id}/n-opened`, notice: notice('opened'), incident, recent: [] };
    await expect(withUpdates().sendNotice('slack', message)).rejects.toThrow(/no notice channel slack in AWS/);
    await expect(new SnsNotifier(sns, topics, OPTIONS).sendNotice(SNS_UPDATES_CHANNEL, message)).rejects.toThrow(
      /no Updates topic/,
    );
    expect(
      () => new SnsNotifier(sns, topics, { ...OPTIONS, updates: { topicArn: 'updates.fifo', events: [] } }),
    ).toThrow(/updates topic "updates.fifo" is not a standard SNS topic ARN/);
    expect(await receive('updates', 0)).toEqual([]);
  });

  it('gives up on a publish when SNS does not answer within the delivery timeout', async () => {
    // An endpoint that takes the connection and never answers.
    const held: Socket[] = [];
    const silent = createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const stuck = new SNSClient({ ...awsClientConfig(`http://127.0.0.1:${port}`), maxAttempts: 1 });
    try {
      const incident = openIncident(serviceDownReport('ac'), acgsPolicy, T0).incident;
      const message: NoticeMessage = { key: `${incident.id}/n-opened`, notice: notice('opened'), incident, recent: [] };
      const notifier = new SnsNotifier(stuck, topics, {
        ...OPTIONS,
        deliveryTimeoutMs: 300,
        updates: { topicArn: updatesTopic, events: DEFAULT_SNS_EVENTS },
      });
      const started = Date.now();
      await expect(notifier.sendNotice(SNS_UPDATES_CHANNEL, message)).rejects.toThrow(/abort/i);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(held.length).toBeGreaterThan(0);
    } finally {
      stuck.destroy();
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
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
