import 'aws-sdk-client-mock-vitest/extend';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, GetQueueAttributesCommand, type Message, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EventBridgePublisher } from '../../../lambdas/adapters/aws/eventbridge-publisher.ts';
import { ControlPlaneError } from '../../../lambdas/core/errors.ts';
import {
  type ControlPlaneEvent,
  DETAIL_TYPE,
  EVENT_SOURCE,
  incidentEventDetail,
} from '../../../lambdas/core/events.ts';
import { receive } from '../../support/aws-control-plane.ts';
import { MINUTE, T0 } from '../../support/harness.ts';
import { awsClientConfig, useMotoServer } from '../../support/moto.ts';
import { newIncident } from '../../support/state-store-contract.ts';

const BUS = 'acgs-ops';

function healthChanged(i: number): ControlPlaneEvent {
  return {
    detailType: DETAIL_TYPE.healthChanged,
    detail: { targetId: `svc-${i}:health@h`, from: 'up', to: 'down', at: new Date(T0 + i * 1000).toISOString() },
  };
}

const opened: ControlPlaneEvent = {
  detailType: DETAIL_TYPE.incidentOpened,
  detail: incidentEventDetail(newIncident('auth:health@h'), T0 + MINUTE),
};

describe('EventBridgePublisher against moto (custom bus, rules targeting SQS)', () => {
  const moto = useMotoServer();
  let events: EventBridgeClient;
  let sqs: SQSClient;
  const queues = { all: '', opened: '' };

  beforeAll(async () => {
    events = new EventBridgeClient(awsClientConfig(moto.endpoint));
    sqs = new SQSClient(awsClientConfig(moto.endpoint));
    await events.send(new CreateEventBusCommand({ Name: BUS }));
    const route = async (name: string, pattern: Record<string, unknown>) => {
      const queue = await sqs.send(new CreateQueueCommand({ QueueName: name }));
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl, AttributeNames: ['QueueArn'] }),
      );
      await events.send(new PutRuleCommand({ Name: name, EventBusName: BUS, EventPattern: JSON.stringify(pattern) }));
      await events.send(
        new PutTargetsCommand({ Rule: name, EventBusName: BUS, Targets: [{ Id: 'queue', Arn: Attributes?.QueueArn }] }),
      );
      return queue.QueueUrl ?? '';
    };
    queues.all = await route('all-control-plane-events', { source: [EVENT_SOURCE] });
    queues.opened = await route('incident-opened-only', {
      source: [EVENT_SOURCE],
      'detail-type': [DETAIL_TYPE.incidentOpened],
    });
  });
  afterAll(() => {
    events.destroy();
    sqs.destroy();
  });

  async function drain(queueUrl: string): Promise<Message[]> {
    const all: Message[] = [];
    for (;;) {
      const messages = await receive(sqs, queueUrl);
      if (messages.length === 0) return all;
      all.push(...messages);
    }
  }

  it('delivers every event of a publish larger than one PutEvents batch, with source, detail-type, detail and time', async () => {
    const published = [...Array.from({ length: 11 }, (_, i) => healthChanged(i)), opened];
    await new EventBridgePublisher(events, BUS).publish(published);

    const received = (await drain(queues.all)).map((m) => JSON.parse(m.Body ?? '{}'));
    expect(received).toHaveLength(12);
    const byTarget = new Map(received.map((e) => [e.detail.targetId ?? e.detail.incidentId, e]));
    for (const event of published) {
      const id =
        'targetId' in event.detail
          ? event.detail.targetId
          : 'incidentId' in event.detail
            ? event.detail.incidentId
            : '';
      expect(byTarget.get(id)).toMatchObject({
        source: EVENT_SOURCE,
        'detail-type': event.detailType,
        detail: event.detail,
        time: event.detail.at.replace(/\.\d{3}Z$/, 'Z'),
      });
    }
    // A rule on the detail type sees only its events.
    const openedOnly = (await drain(queues.opened)).map((m) => JSON.parse(m.Body ?? '{}'));
    expect(openedOnly.map((e) => e['detail-type'])).toEqual([DETAIL_TYPE.incidentOpened]);
    expect(openedOnly[0]?.detail).toEqual(opened.detail);
  });

  it('fails naming the bus when it does not exist', async () => {
    await expect(new EventBridgePublisher(events, 'no-such-bus').publish([opened])).rejects.toThrow(
      /PutEvents to bus no-such-bus failed with 0 of 1 events published/,
    );
  });
});

/** moto never answers PutEvents with failed entries: partial failures are scripted with aws-sdk-client-mock. */
describe('EventBridgePublisher partial failures (aws-sdk-client-mock)', () => {
  const client = new EventBridgeClient(awsClientConfig('http://127.0.0.1:9'));
  const mock = mockClient(client);
  const noWait = async () => {};
  beforeEach(() => mock.reset());
  afterAll(() => mock.restore());

  it('throws naming each entry EventBridge failed, after sending the other batches', async () => {
    mock
      .on(PutEventsCommand)
      .resolvesOnce({
        FailedEntryCount: 1,
        Entries: [
          { EventId: 'e0' },
          { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' },
          ...Array.from({ length: 8 }, (_, i) => ({ EventId: `e${i + 2}` })),
        ],
      })
      .resolvesOnce({ FailedEntryCount: 0, Entries: [{ EventId: 'e10' }, { EventId: 'e11' }] });
    const published = [...Array.from({ length: 11 }, (_, i) => healthChanged(i)), opened];
    const error = await new EventBridgePublisher(client, BUS, { sleep: noWait })
      .publish(published)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ControlPlaneError);
    expect((error as ControlPlaneError).code).toBe('EVENTS_NOT_PUBLISHED');
    expect((error as Error).message).toBe(
      `1 of 12 events not published to bus ${BUS}: #1 Health Changed: MalformedDetail Detail is malformed.`,
    );
    expect(mock).toHaveReceivedCommandTimes(PutEventsCommand, 2);
    expect(mock).toHaveReceivedNthCommandWith(PutEventsCommand, 1, {
      Entries: expect.arrayContaining([
        expect.objectContaining({ Source: EVENT_SOURCE, DetailType: DETAIL_TYPE.healthChanged, EventBusName: BUS }),
      ]),
    });
  });

  it('retries only the entries that failed for a passing reason, and succeeds when they go through', async () => {
    mock
      .on(PutEventsCommand)
      .resolvesOnce({
        FailedEntryCount: 1,
        Entries: [{ EventId: 'e0' }, { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' }],
      })
      .resolvesOnce({ FailedEntryCount: 0, Entries: [{ EventId: 'e1' }] });
    await new EventBridgePublisher(client, BUS, { sleep: noWait }).publish([healthChanged(0), opened]);
    expect(mock).toHaveReceivedCommandTimes(PutEventsCommand, 2);
    expect(mock).toHaveReceivedNthCommandWith(PutEventsCommand, 2, {
      Entries: [
        expect.objectContaining({ DetailType: DETAIL_TYPE.incidentOpened, Detail: JSON.stringify(opened.detail) }),
      ],
    });
  });

  it('gives up on an entry that keeps failing for a passing reason after the configured retries', async () => {
    mock.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }],
    });
    await expect(
      new EventBridgePublisher(client, BUS, { retries: 2, sleep: noWait }).publish([opened]),
    ).rejects.toThrow(/#0 Incident Opened: InternalFailure try again/);
    expect(mock).toHaveReceivedCommandTimes(PutEventsCommand, 3);
  });

  it('sends nothing for no events', async () => {
    await new EventBridgePublisher(client, BUS).publish([]);
    expect(mock).not.toHaveReceivedCommand(PutEventsCommand);
  });
});
