import { Agent } from 'node:http';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type DynamoDbApi,
  DynamoDbError,
  DynamoDbHttpClient,
  type DynamoDbOperation,
} from '../../../lambdas/adapters/aws/dynamodb-http.ts';
import {
  controlTableCreateInput,
  controlTableTimeToLiveInput,
  DynamoDbStateStore,
} from '../../../lambdas/adapters/aws/dynamodb-state-store.ts';
import { CONTROL_TABLE_SCHEMA } from '../../../lambdas/core/control-table.ts';
import { VersionConflictError } from '../../../lambdas/core/errors.ts';
import { acknowledge, resolve } from '../../../lambdas/core/escalation.ts';
import { initialTargetState } from '../../../lambdas/core/health-state.ts';
import { MINUTE, T0 } from '../../support/harness.ts';
import { awsClientConfig, useMotoServer } from '../../support/moto.ts';
import { describeStateStoreContract, newIncident } from '../../support/state-store-contract.ts';

const moto = useMotoServer();
const RETENTION_DAYS = 30;
/** The SDK's client, for what the store does not do: create and describe tables, read raw items. */
let client: DynamoDBClient;
/** The store's own client, as the Lambdas make it. */
let api: DynamoDbHttpClient;
let tables = 0;

/**
 * moto's DynamoDB runs each transaction's condition checks and writes without a lock, on a threaded server: two
 * concurrent transactions can both pass `attribute_not_exists`, which DynamoDB itself never allows (it serialises
 * them, or cancels one with TransactionConflict). Every DynamoDB client here therefore sends its requests through one
 * shared socket, one request at a time, so that moto answers as DynamoDB would; concurrent writers still interleave
 * request by request. The TransactionConflict path is covered with scripted answers below.
 */
const oneRequestAtATime = new Agent({ keepAlive: true, maxSockets: 1 });
const motoDynamoDb = () => new DynamoDbHttpClient({ ...awsClientConfig(moto.endpoint), agent: oneRequestAtATime });

beforeAll(() => {
  client = new DynamoDBClient({ ...awsClientConfig(moto.endpoint), requestHandler: { httpAgent: oneRequestAtATime } });
  api = motoDynamoDb();
});
afterAll(() => {
  client.destroy();
  api.destroy();
  oneRequestAtATime.destroy();
});

/** A fresh control table, created from CONTROL_TABLE_SCHEMA as the stack creates it. */
async function freshTable(): Promise<string> {
  const name = `acgs-control-${++tables}`;
  await client.send(new CreateTableCommand(controlTableCreateInput(name)));
  await client.send(new UpdateTimeToLiveCommand(controlTableTimeToLiveInput(name)));
  return name;
}

async function openStore(tableName?: string): Promise<{ store: DynamoDbStateStore; table: string }> {
  const table = tableName ?? (await freshTable());
  return { store: new DynamoDbStateStore(api, { tableName: table, retentionDays: RETENTION_DAYS }), table };
}

async function rawItem(table: string, pk: string, sk: string) {
  const out = await client.send(
    new GetItemCommand({ TableName: table, Key: { pk: { S: pk }, sk: { S: sk } }, ConsistentRead: true }),
  );
  return out.Item;
}

describeStateStoreContract('DynamoDbStateStore', async () => (await openStore()).store);

describe('DynamoDbStateStore against moto', () => {
  it('creates the table with the keys, indexes and TTL attribute of CONTROL_TABLE_SCHEMA', async () => {
    const table = await freshTable();
    const { Table } = await client.send(new DescribeTableCommand({ TableName: table }));
    expect(Table?.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(Table?.GlobalSecondaryIndexes?.map((g) => g.IndexName).sort()).toEqual(
      CONTROL_TABLE_SCHEMA.globalSecondaryIndexes.map((g) => g.indexName).sort(),
    );
    const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: table }));
    expect(ttl.TimeToLiveDescription).toMatchObject({ AttributeName: 'expiresAt', TimeToLiveStatus: 'ENABLED' });
  });

  it('creates exactly one incident when ten writers with their own clients race on one dedup key', async () => {
    const table = await freshTable();
    const writers = Array.from(
      { length: 10 },
      () =>
        new DynamoDbStateStore(motoDynamoDb(), {
          tableName: table,
          retentionDays: RETENTION_DAYS,
        }),
    );
    const results = await Promise.all(writers.map((w, i) => w.createIncident(newIncident('db:tcp@h', T0 + i), [])));
    const winners = results.flatMap((r) => (r.created ? [r.incident.id] : []));
    expect(winners).toHaveLength(1);
    // Every loser is handed the winner, not an error.
    expect(new Set(results.map((r) => (r.created ? r.incident.id : r.existing.id)))).toEqual(new Set(winners));
    const { store } = await openStore(table);
    expect((await store.listOpenIncidents()).map((i) => i.id)).toEqual(winners);
  });

  it('lets one of several concurrent updates from the same version win and refuses the rest', async () => {
    const { store } = await openStore();
    const created = await store.createIncident(newIncident('k'), []);
    if (!created.created) throw new Error('not created');
    const outcomes = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) =>
        store.updateIncident({ ...created.incident, count: 10 + i }, [
          { at: T0 + i, type: 'note', by: `writer-${i}`, text: `from ${i}` },
        ]),
      ),
    );
    const won = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    const lost = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason] : []));
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(5);
    for (const reason of lost) expect(reason).toBeInstanceOf(VersionConflictError);
    const stored = await store.getIncident(created.incident.id);
    expect(stored).toMatchObject({ version: 2, count: won[0]?.count });
    const notes = await store.getTimeline(created.incident.id);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatchObject({ type: 'note', text: `from ${(won[0]?.count ?? 0) - 10}` });
  });

  it('deletes the open-key guard on resolve, and a later update of the resolved incident leaves a newer guard alone', async () => {
    const { store, table } = await openStore();
    const first = await store.createIncident(newIncident('auth:health@h'), []);
    if (!first.created) throw new Error('not created');
    expect(await rawItem(table, 'OPENKEY#auth:health@h', 'LOCK')).toMatchObject({
      incidentId: { S: first.incident.id },
    });

    const acked = acknowledge(first.incident, 'alice', T0 + MINUTE);
    const done = resolve(await store.updateIncident(acked.incident, acked.timeline), 'bob', 'fixed', T0 + 2 * MINUTE);
    const resolved = await store.updateIncident(done.incident, done.timeline);
    expect(await rawItem(table, 'OPENKEY#auth:health@h', 'LOCK')).toBeUndefined();
    expect(await store.findOpenIncident('auth:health@h')).toBeUndefined();

    const second = await store.createIncident(newIncident('auth:health@h', T0 + 3 * MINUTE), []);
    if (!second.created) throw new Error('the freed key was not reusable');
    await store.updateIncident({ ...resolved, detail: 'late note on the old incident' }, []);
    expect(await rawItem(table, 'OPENKEY#auth:health@h', 'LOCK')).toMatchObject({
      incidentId: { S: second.incident.id },
    });
    expect((await store.findOpenIncident('auth:health@h'))?.id).toBe(second.incident.id);
    expect((await store.getTimeline(first.incident.id)).map((e) => e.type)).toEqual(['acknowledged', 'resolved']);
  });

  it('finds only due incidents through the sparse due index, which holds only incidents with a timer', async () => {
    const { store, table } = await openStore();
    const at = (dedupKey: string, nextAt: number | undefined) => {
      const base = newIncident(dedupKey);
      const { nextAt: _omit, ...escalation } = base.escalation;
      return { ...base, escalation: nextAt === undefined ? escalation : { ...escalation, nextAt } };
    };
    await store.createIncident(at('due-now', T0 + MINUTE), []);
    await store.createIncident(at('due-later', T0 + 30 * MINUTE), []);
    await store.createIncident(at('no-timer', undefined), []);
    const resolvedOne = await store.createIncident(at('resolved', T0 + MINUTE), []);
    if (!resolvedOne.created) throw new Error('not created');
    const done = resolve(resolvedOne.incident, 'ops', 'fixed', T0 + MINUTE);
    await store.updateIncident(done.incident, done.timeline);

    expect((await store.listIncidentsDue(T0 + 5 * MINUTE)).map((i) => i.dedupKey)).toEqual(['due-now']);
    expect((await store.listIncidentsDue(T0 + 30 * MINUTE)).map((i) => i.dedupKey)).toEqual(['due-now', 'due-later']);
    const indexed = await client.send(
      new QueryCommand({
        TableName: table,
        IndexName: 'due',
        KeyConditionExpression: 'dueShard = :d',
        ExpressionAttributeValues: { ':d': { S: 'DUE' } },
      }),
    );
    expect(indexed.Items?.map((i) => i.dedupKey?.S)).toEqual(['due-now', 'due-later']);
    expect(indexed.Items?.[0]?.nextAt).toEqual({ N: String(T0 + MINUTE) });
  });

  it('gives every timeline item a TTL attribute retentionDays after its time, in epoch seconds', async () => {
    const { store, table } = await openStore();
    const incident = newIncident('k');
    await store.createIncident(incident, [{ at: T0, type: 'note', by: 'a', text: 'one' }]);
    await store.updateIncident({ ...incident, version: 1 }, [
      { at: T0 + MINUTE, type: 'note', by: 'a', text: 'two' },
      { at: T0 + MINUTE, type: 'note', by: 'a', text: 'three' },
    ]);
    const out = await client.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :tl)',
        ExpressionAttributeValues: { ':pk': { S: `INCIDENT#${incident.id}` }, ':tl': { S: 'TL#' } },
      }),
    );
    expect(out.Items?.map((i) => i.expiresAt)).toEqual([
      { N: String(T0 / 1000 + RETENTION_DAYS * 86_400) },
      { N: String((T0 + MINUTE) / 1000 + RETENTION_DAYS * 86_400) },
      { N: String((T0 + MINUTE) / 1000 + RETENTION_DAYS * 86_400) },
    ]);
    expect((await store.getTimeline(incident.id)).map((e) => (e.type === 'note' ? e.text : e.type))).toEqual([
      'one',
      'two',
      'three',
    ]);
  });

  it('keeps audit entries in one partition, each expiring retentionDays after its time like the history', async () => {
    const { store, table } = await openStore();
    const entry = {
      at: T0,
      caller: 'alice',
      method: 'POST',
      path: '/fleet/stop-all',
      action: 'fleet.stop-all',
      subjects: [],
      statusCode: 200,
      outcome: 'succeeded',
      detail: 'stopped',
    };
    await store.appendAudit(entry);
    const out = await client.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: 'AUDIT' } },
      }),
    );
    expect(out.Items).toHaveLength(1);
    expect(out.Items?.[0]?.expiresAt).toEqual({ N: String(T0 / 1000 + RETENTION_DAYS * 86_400) });
    expect(out.Items?.[0]?.sk?.S).toMatch(new RegExp(`^AT#0*${T0}#`));
    expect(await store.listAudit({ limit: 5 })).toEqual([entry]);
  });

  it('keeps a lease as one item whose TTL removes it a day after its end if its holder never gave it up', async () => {
    const { store, table } = await openStore();
    await store.acquireLease('probe', 'req-1', T0, T0 + MINUTE);
    expect(await rawItem(table, 'LEASE#probe', 'LEASE')).toEqual({
      pk: { S: 'LEASE#probe' },
      sk: { S: 'LEASE' },
      holder: { S: 'req-1' },
      until: { N: String(T0 + MINUTE) },
      expiresAt: { N: String((T0 + MINUTE) / 1000 + 86_400) },
    });
    await store.releaseLease('probe', 'req-1');
    expect(await rawItem(table, 'LEASE#probe', 'LEASE')).toBeUndefined();
  });

  it('stores versions and times as DynamoDB numbers and the incident record as its JSON body', async () => {
    const { store, table } = await openStore();
    const incident = newIncident('k');
    await store.createIncident(incident, []);
    const item = await rawItem(table, `INCIDENT#${incident.id}`, 'META');
    expect(item).toMatchObject({
      version: { N: '1' },
      openedAt: { N: String(incident.openedAt) },
      status: { S: 'open' },
      activeKey: { S: 'OPEN_INCIDENTS' },
    });
    expect(JSON.parse(item?.body?.S ?? '{}')).toEqual({ ...incident, version: 1 });
  });

  it('saves and loads more target states than one transaction and one batch read take', async () => {
    const { store } = await openStore();
    const ids = Array.from({ length: 150 }, (_, i) => `svc-${i}:health@h`);
    await store.saveTargetStates(ids.map((id) => initialTargetState(id, T0)));
    const loaded = await store.loadTargetStates([...ids, 'never-stored']);
    expect(loaded.size).toBe(150);
    expect([...loaded.values()].every((s) => s.version === 1)).toBe(true);
    expect(store.stateWrites).toBe(150);
  });

  it('names the conflicting target when a batch is refused', async () => {
    const { store } = await openStore();
    await store.saveTargetStates([initialTargetState('pgc:health@h', T0)]);
    await expect(
      store.saveTargetStates([initialTargetState('ac:health@h', T0), initialTargetState('pgc:health@h', T0)]),
    ).rejects.toThrow(/target state pgc:health@h/);
  });
});

/**
 * moto serialises requests, so it never cancels a transaction for a conflict with another one in flight and never
 * leaves keys unprocessed: those answers of DynamoDB are scripted here, at the store's DynamoDB API (the HTTP client
 * under it is tested on its own in dynamodb-http.test.ts).
 */
describe('DynamoDbStateStore retries (scripted answers moto never gives)', () => {
  type Answer = Record<string, unknown> | DynamoDbError;
  let calls: { operation: DynamoDbOperation; input: Record<string, unknown> }[];
  let script: Partial<Record<DynamoDbOperation, Answer[]>>;
  const scripted: DynamoDbApi = {
    call: async (operation, input) => {
      calls.push({ operation, input: structuredClone(input) as Record<string, unknown> });
      const answers = script[operation] ?? [];
      // The last answer repeats, as a mock's default answer does.
      const answer = answers.length > 1 ? answers.shift() : answers[0];
      if (answer === undefined) throw new Error(`no scripted answer for ${operation}`);
      if (answer instanceof DynamoDbError) throw answer;
      return answer;
    },
  };
  const store = () => new DynamoDbStateStore(scripted, { tableName: 't', retentionDays: RETENTION_DAYS });
  const cancelled = (...codes: string[]) =>
    new DynamoDbError(
      'TransactionCanceledException',
      'Transaction cancelled',
      400,
      false,
      codes.map((Code) => ({ Code })),
    );
  const callsOf = (operation: DynamoDbOperation) => calls.filter((c) => c.operation === operation);

  beforeEach(() => {
    calls = [];
    script = {};
  });

  it('tries a transaction again when it only collided with another one', async () => {
    script.TransactWriteItems = [cancelled('TransactionConflict', 'None'), {}];
    const result = await store().createIncident(newIncident('k'), []);
    expect(result.created).toBe(true);
    expect(callsOf('TransactWriteItems')).toHaveLength(2);
    // Each try is its own transaction: its own client request token.
    const tokens = callsOf('TransactWriteItems').map((c) => c.input.ClientRequestToken);
    expect(new Set(tokens).size).toBe(2);
  });

  it('gives up after the configured retries of a transaction that keeps colliding', async () => {
    script.TransactWriteItems = [cancelled('None', 'TransactionConflict')];
    await expect(store().saveTargetStates([initialTargetState('a', T0)])).rejects.toMatchObject({
      name: 'TransactionCanceledException',
    });
    expect(callsOf('TransactWriteItems')).toHaveLength(6);
  });

  it('creates the incident after all when the open one was resolved between the refusal and the read', async () => {
    script.TransactWriteItems = [cancelled('None', 'ConditionalCheckFailed'), {}];
    script.GetItem = [{}];
    const result = await store().createIncident(newIncident('k'), []);
    expect(result.created).toBe(true);
    expect(callsOf('TransactWriteItems')).toHaveLength(2);
  });

  it('reads again the keys a batch read left unprocessed', async () => {
    const body = (id: string) => ({ S: JSON.stringify({ ...initialTargetState(id, T0), version: 1 }) });
    script.BatchGetItem = [
      {
        Responses: { t: [{ body: body('a') }] },
        UnprocessedKeys: { t: { Keys: [{ pk: { S: 'TARGET#b' }, sk: { S: 'STATE' } }] } },
      },
      { Responses: { t: [{ body: body('b') }] } },
    ];
    const loaded = await store().loadTargetStates(['a', 'b', 'a']);
    expect([...loaded.keys()].sort()).toEqual(['a', 'b']);
    expect(callsOf('BatchGetItem')[1]?.input).toEqual({
      RequestItems: { t: { Keys: [{ pk: { S: 'TARGET#b' }, sk: { S: 'STATE' } }], ConsistentRead: true } },
    });
  });
});
