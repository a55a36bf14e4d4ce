import { randomUUID } from 'node:crypto';
import type { CreateTableCommandInput, UpdateTimeToLiveCommandInput } from '@aws-sdk/client-dynamodb';
import { AUDIT_DEFAULT_LIMIT, type AuditEntry, type AuditQuery } from '../../core/audit.ts';
import { CONTROL_TABLE_SCHEMA, type ControlTableIndexName, type KeyAttribute } from '../../core/control-table.ts';
import { ControlPlaneError, VersionConflictError } from '../../core/errors.ts';
import type { MaintenanceWindow } from '../../core/escalation.ts';
import type { TargetState } from '../../core/health-state.ts';
import type { Incident, Notice, TimelineEntry } from '../../core/incident.ts';
import { checkLeaseRequest } from '../../core/lease.ts';
import { incidentDueAt } from '../../core/notices.ts';
import type { RemediationAttempt } from '../../core/remediation.ts';
import {
  type Clock,
  type ControlStore,
  type CreateIncidentResult,
  type IncidentStore,
  type LeaseClaim,
  systemClock,
  type TargetStateStore,
} from '../../ports.ts';
import { DocumentTable, type Item, type QueryInput, type WriteItem } from './dynamodb-document.ts';
import { type DynamoDbApi, isDynamoDbError } from './dynamodb-http.ts';

/**
 * The control table's items (pk / sk); its keys, indexes and TTL attribute are `CONTROL_TABLE_SCHEMA` in
 * `core/control-table.ts`:
 * - `TARGET#<targetId>` / `STATE`: a target's health state; `version` guards every write.
 * - `INCIDENT#<id>` / `META`: an incident; `version` guards every write.
 * - `INCIDENT#<id>` / `TL#<at, 15 digits>#<incident version, 8 digits>#<index, 3 digits>`: its timeline entries,
 *   in time order (ties in write order), each expiring `retentionDays` after its time (`expiresAt`).
 * - `OPENKEY#<dedupKey>` / `LOCK`: the guard holding the id of the one open incident for a dedup key.
 * - `ATTEMPT#<id>` / `META`: a remediation attempt; `COMMAND#<commandId>` / `ATTEMPT`: the attempt a command carries.
 * - `ISOLATION` / `SERVICE#<name>` and `MAINTENANCE` / `WINDOW#<id>`: small collections, read whole with one
 *   strongly consistent query (an isolation mark must be seen by the very next restart decision).
 * - `LEASE#<name>` / `LEASE`: who holds a lease (`holder`) until when (`until`, epoch ms); taken with one conditional
 *   put, given up with a conditional delete. An abandoned one expires (TTL) a day after its `until`.
 * - `AUDIT` / `AT#<at, 15 digits>#<random id>`: the audit trail, one small partition read newest first with one
 *   strongly consistent query; each entry expires `retentionDays` after its time, like the timelines.
 */

/** CreateTable input for the control table (on-demand capacity). */
export function controlTableCreateInput(tableName: string): CreateTableCommandInput {
  const s = CONTROL_TABLE_SCHEMA;
  const keys: KeyAttribute[] = [
    s.partitionKey,
    s.sortKey,
    ...s.globalSecondaryIndexes.flatMap((g) => [g.partitionKey, g.sortKey]),
  ];
  const attributes = new Map(keys.map((k) => [k.name, k.type]));
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    KeySchema: [
      { AttributeName: s.partitionKey.name, KeyType: 'HASH' },
      { AttributeName: s.sortKey.name, KeyType: 'RANGE' },
    ],
    AttributeDefinitions: [...attributes].map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType })),
    GlobalSecondaryIndexes: s.globalSecondaryIndexes.map((g) => ({
      IndexName: g.indexName,
      KeySchema: [
        { AttributeName: g.partitionKey.name, KeyType: 'HASH' },
        { AttributeName: g.sortKey.name, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: g.projection },
    })),
  };
}

/** UpdateTimeToLive input that turns on expiry by `expiresAt` (CreateTable cannot). */
export function controlTableTimeToLiveInput(tableName: string): UpdateTimeToLiveCommandInput {
  return {
    TableName: tableName,
    TimeToLiveSpecification: { AttributeName: CONTROL_TABLE_SCHEMA.timeToLiveAttribute, Enabled: true },
  };
}

export interface DynamoDbStateStoreOptions {
  readonly tableName: string;
  /** Days a timeline entry, a remediation attempt and an ended maintenance window are kept (DynamoDB TTL). */
  readonly retentionDays: number;
  /** Retries of a transaction that collided with another one on the same items. @default 5 */
  readonly conflictRetries?: number;
  /** Dates the expiry of records whose write carries no time of its own (command links). @default systemClock */
  readonly clock?: Clock;
}

/** TransactWriteItems takes at most 100 items. */
const MAX_TRANSACTION_ITEMS = 100;
/** BatchGetItem takes at most 100 keys. */
const MAX_BATCH_KEYS = 100;
const DAY_SECONDS = 86_400;

const LIST = { incidents: 'INCIDENTS', attempts: (service: string) => `ATTEMPTS#${service}` };
const ACTIVE = { incidents: 'OPEN_INCIDENTS', attempts: 'PENDING_ATTEMPTS' };
const DUE = 'DUE';

const key = {
  targetState: (targetId: string) => ({ pk: `TARGET#${targetId}`, sk: 'STATE' }),
  incident: (id: string) => ({ pk: `INCIDENT#${id}`, sk: 'META' }),
  openKey: (dedupKey: string) => ({ pk: `OPENKEY#${dedupKey}`, sk: 'LOCK' }),
  timeline: (id: string, at: number, version: number, index: number) => ({
    pk: `INCIDENT#${id}`,
    sk: `TL#${pad(at, 15)}#${pad(version, 8)}#${pad(index, 3)}`,
  }),
  attempt: (id: string) => ({ pk: `ATTEMPT#${id}`, sk: 'META' }),
  command: (commandId: string) => ({ pk: `COMMAND#${commandId}`, sk: 'ATTEMPT' }),
  isolation: (service: string) => ({ pk: 'ISOLATION', sk: `SERVICE#${service}` }),
  window: (id: string) => ({ pk: 'MAINTENANCE', sk: `WINDOW#${id}` }),
  lease: (name: string) => ({ pk: `LEASE#${name}`, sk: 'LEASE' }),
  audit: (at: number) => ({ pk: 'AUDIT', sk: `AT#${pad(at, 15)}#${randomUUID()}` }),
};

/**
 * State of the control plane in DynamoDB, with the guarantees of the other stores:
 * - target states are written with TransactWriteItems, conditional on the version each was read at; a batch is
 *   all-or-nothing per 100 states (the transaction limit). A fleet config rarely has more than 100 targets (ACGS-1
 *   has about 20), so a probe cycle's changes are one transaction; beyond that, a conflict in one chunk leaves the
 *   earlier chunks written, each a correct state at its new version, and the call still throws.
 * - one open incident per dedup key: the incident, its guard item and its first timeline entries are one
 *   transaction with `attribute_not_exists` on both; an update is one transaction conditional on `version`, and
 *   resolving deletes the guard in it (only while the guard still names this incident).
 * - conditional failures become VersionConflictError; transactions that merely collided are retried.
 *
 * Records with nested structure (target states, incidents, timeline entries) are stored as one JSON string (`body`,
 * `entry`) beside the typed top-level attributes that keys, indexes and conditions need: the record comes back
 * exactly as written. Flat records (attempts, windows, isolation marks) are native attributes, so that one
 * UpdateItem can finish an attempt without reading it first. Numbers are DynamoDB numbers throughout.
 */
export class DynamoDbStateStore implements TargetStateStore, IncidentStore, ControlStore {
  private readonly db: DocumentTable;
  private readonly retentionSeconds: number;
  private readonly conflictRetries: number;
  private readonly clock: Clock;
  /** Number of target-state writes, for tests and benchmarks of write amplification. */
  stateWrites = 0;

  constructor(client: DynamoDbApi, options: DynamoDbStateStoreOptions) {
    if (!options.tableName) throw new ControlPlaneError('CONFIG', 'DynamoDbStateStore: tableName is empty');
    if (!Number.isInteger(options.retentionDays) || options.retentionDays < 1)
      throw new ControlPlaneError(
        'CONFIG',
        `DynamoDbStateStore: retentionDays must be a whole number of days >= 1, got ${options.retentionDays}`,
      );
    this.db = new DocumentTable(client, options.tableName);
    this.retentionSeconds = options.retentionDays * DAY_SECONDS;
    this.conflictRetries = options.conflictRetries ?? 5;
    this.clock = options.clock ?? systemClock;
  }

  // ---- target states ----

  async loadTargetStates(targetIds: readonly string[]): Promise<Map<string, TargetState>> {
    const found = new Map<string, TargetState>();
    for (const ids of chunks([...new Set(targetIds)], MAX_BATCH_KEYS)) {
      let keys: Item[] = ids.map(key.targetState);
      for (let attempt = 0; keys.length > 0; attempt++) {
        if (attempt > 0) {
          if (attempt > 8)
            throw new ControlPlaneError('STATE_READ', `DynamoDB left ${keys.length} target states unread (throttled)`);
          await sleep(backoff(attempt));
        }
        const out = await this.db.batchGet(keys);
        for (const item of out.items) {
          const state = JSON.parse(String(item.body)) as TargetState;
          found.set(state.targetId, state);
        }
        keys = out.unprocessed;
      }
    }
    return found;
  }

  async saveTargetStates(states: readonly TargetState[]): Promise<void> {
    const ids = new Set(states.map((s) => s.targetId));
    if (ids.size !== states.length)
      throw new ControlPlaneError('DUPLICATE_TARGET', 'saveTargetStates: a batch names the same target twice');
    for (const chunk of chunks(states, MAX_TRANSACTION_ITEMS)) {
      const items = chunk.map((s): WriteItem => {
        const stored: TargetState = { ...s, version: s.version + 1 };
        return {
          Put: {
            Item: { ...key.targetState(s.targetId), targetId: s.targetId, version: stored.version, body: json(stored) },
            ...(s.version === 0
              ? { ConditionExpression: 'attribute_not_exists(pk)' }
              : {
                  ConditionExpression: '#version = :expected',
                  ExpressionAttributeNames: { '#version': 'version' },
                  ExpressionAttributeValues: { ':expected': s.version },
                }),
          },
        };
      });
      const failed = await this.transact(items);
      if (failed) {
        const state = chunk[failed.indexOf('ConditionalCheckFailed')] ?? chunk[0];
        throw new VersionConflictError(`target state ${state?.targetId}`, state?.version ?? 0);
      }
      this.stateWrites += chunk.length;
    }
  }

  // ---- incidents ----

  async createIncident(incident: Incident, timeline: readonly TimelineEntry[]): Promise<CreateIncidentResult> {
    const stored: Incident = { ...incident, version: 1 };
    const open = stored.status !== 'resolved';
    const items: WriteItem[] = [
      {
        Put: {
          Item: this.incidentItem(stored),
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      ...(open
        ? [
            {
              Put: {
                Item: { ...key.openKey(stored.dedupKey), incidentId: stored.id, dedupKey: stored.dedupKey },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
          ]
        : []),
      ...this.timelineItems(stored, timeline),
    ];
    this.checkTransactionSize(items, `incident ${stored.id}`);
    // The guard may be released between a failed create and the read of its holder: then try again.
    for (let attempt = 0; attempt < 3; attempt++) {
      const failed = await this.transact(items);
      if (!failed) return { created: true, incident: stored };
      if (!open || failed[1] !== 'ConditionalCheckFailed') break;
      const existing = await this.findOpenIncident(stored.dedupKey);
      if (existing) return { created: false, existing };
    }
    throw new VersionConflictError(`incident ${stored.id}`, 0);
  }

  async updateIncident(incident: Incident, timeline: readonly TimelineEntry[]): Promise<Incident> {
    const stored: Incident = { ...incident, version: incident.version + 1 };
    const items: WriteItem[] = [
      {
        Put: {
          Item: this.incidentItem(stored),
          ConditionExpression: '#version = :expected',
          ExpressionAttributeNames: { '#version': 'version' },
          ExpressionAttributeValues: { ':expected': incident.version },
        },
      },
      ...this.timelineItems(stored, timeline),
    ];
    if (stored.status === 'resolved') {
      // Release the dedup key only if this incident holds it: a resolved incident updated again (its timer cleared)
      // must not take the key from a newer incident. Only an update of this incident, which the version condition
      // orders, can release it between this read and the write.
      const guard = await this.db.get(key.openKey(stored.dedupKey));
      if (guard?.incidentId === stored.id)
        items.push({
          Delete: {
            Key: key.openKey(stored.dedupKey),
            ConditionExpression: '#incidentId = :id',
            ExpressionAttributeNames: { '#incidentId': 'incidentId' },
            ExpressionAttributeValues: { ':id': stored.id },
          },
        });
    }
    this.checkTransactionSize(items, `incident ${stored.id}`);
    if (await this.transact(items)) throw new VersionConflictError(`incident ${incident.id}`, incident.version);
    return stored;
  }

  async getIncident(id: string): Promise<Incident | undefined> {
    const item = await this.db.get(key.incident(id));
    return item && parseIncident(item);
  }

  async findOpenIncident(dedupKey: string): Promise<Incident | undefined> {
    const guard = await this.db.get(key.openKey(dedupKey));
    if (typeof guard?.incidentId !== 'string') return undefined;
    const incident = await this.getIncident(guard.incidentId);
    return incident?.status === 'resolved' ? undefined : incident;
  }

  async listOpenIncidents(): Promise<Incident[]> {
    const items = await this.queryAll({
      IndexName: 'active' satisfies ControlTableIndexName,
      KeyConditionExpression: '#k = :k',
      ExpressionAttributeNames: { '#k': 'activeKey' },
      ExpressionAttributeValues: { ':k': ACTIVE.incidents },
    });
    return items.map(parseIncident);
  }

  async listIncidentsDue(now: number): Promise<Incident[]> {
    const items = await this.queryAll({
      IndexName: 'due' satisfies ControlTableIndexName,
      KeyConditionExpression: '#k = :k AND #at <= :now',
      ExpressionAttributeNames: { '#k': 'dueShard', '#at': 'nextAt' },
      ExpressionAttributeValues: { ':k': DUE, ':now': now },
    });
    return items.map(parseIncident);
  }

  async listIncidents(query: { readonly since?: number; readonly limit?: number }): Promise<Incident[]> {
    const { since, limit } = query;
    const items = await this.queryAll(
      {
        IndexName: 'listing' satisfies ControlTableIndexName,
        KeyConditionExpression: '#k = :k',
        ScanIndexForward: false,
        ...(since === undefined
          ? { ExpressionAttributeNames: { '#k': 'listKey' }, ExpressionAttributeValues: { ':k': LIST.incidents } }
          : {
              // Filtered on lastSeen, ordered by openedAt: an incident opened long ago may still be active.
              FilterExpression: '#lastSeen >= :since',
              ExpressionAttributeNames: { '#k': 'listKey', '#lastSeen': 'lastSeen' },
              ExpressionAttributeValues: { ':k': LIST.incidents, ':since': since },
            }),
        ...(limit === undefined ? {} : { Limit: Math.max(limit, 1) }),
      },
      limit,
    );
    return items.map(parseIncident);
  }

  async getTimeline(incidentId: string): Promise<TimelineEntry[]> {
    const items = await this.queryAll({
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :tl)',
      ExpressionAttributeValues: { ':pk': key.incident(incidentId).pk, ':tl': 'TL#' },
      ConsistentRead: true,
    });
    return items.map((item) => JSON.parse(String(item.entry)) as TimelineEntry);
  }

  // ---- remediation attempts, isolation, maintenance ----

  async recordAttempt(attempt: RemediationAttempt): Promise<void> {
    try {
      await this.db.put({
        Item: this.attemptItem(attempt),
        ConditionExpression: 'attribute_not_exists(pk)',
      });
    } catch (error) {
      if (isDynamoDbError(error, 'ConditionalCheckFailedException'))
        throw new VersionConflictError(`remediation attempt ${attempt.id}`, 0);
      throw error;
    }
  }

  async finishAttempt(
    id: string,
    outcome: 'succeeded' | 'failed',
    finishedAt: number,
    detail: string,
  ): Promise<boolean> {
    try {
      await this.db.update({
        Key: key.attempt(id),
        UpdateExpression: 'SET #outcome = :outcome, #finishedAt = :at, #detail = :detail REMOVE #ak, #aa',
        ConditionExpression: 'attribute_exists(pk) AND #outcome = :pending',
        ExpressionAttributeNames: {
          '#outcome': 'outcome',
          '#finishedAt': 'finishedAt',
          '#detail': 'detail',
          '#ak': 'activeKey',
          '#aa': 'activeAt',
        },
        ExpressionAttributeValues: {
          ':outcome': outcome,
          ':at': finishedAt,
          ':detail': detail,
          ':pending': 'pending',
        },
      });
      return true;
    } catch (error) {
      if (!isDynamoDbError(error, 'ConditionalCheckFailedException')) throw error;
    }
    // Finished already (a late or repeated outcome), or never recorded.
    if (await this.db.get(key.attempt(id))) return false;
    throw new VersionConflictError(`remediation attempt ${id}`, 1);
  }

  async listAttempts(services: readonly string[], since: number): Promise<RemediationAttempt[]> {
    const lists = await Promise.all(
      services.map((service) =>
        this.queryAll({
          IndexName: 'listing' satisfies ControlTableIndexName,
          KeyConditionExpression: '#k = :k AND #at >= :since',
          ExpressionAttributeNames: { '#k': 'listKey', '#at': 'listAt' },
          ExpressionAttributeValues: { ':k': LIST.attempts(service), ':since': since },
        }),
      ),
    );
    return lists.flat().map(parseAttempt);
  }

  async attachCommand(attemptId: string, commandId: string): Promise<void> {
    const failed = await this.transact([
      {
        Update: {
          Key: key.attempt(attemptId),
          UpdateExpression: 'SET #commandId = :c',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#commandId': 'commandId' },
          ExpressionAttributeValues: { ':c': commandId },
        },
      },
      {
        Put: {
          Item: {
            ...key.command(commandId),
            commandId,
            attemptId,
            expiresAt: this.expiresAt(this.clock.now()),
          },
        },
      },
    ]);
    if (failed) throw new VersionConflictError(`remediation attempt ${attemptId}`, 1);
  }

  async findAttemptByCommand(commandId: string): Promise<RemediationAttempt | undefined> {
    const link = await this.db.get(key.command(commandId));
    if (typeof link?.attemptId !== 'string') return undefined;
    const item = await this.db.get(key.attempt(link.attemptId));
    return item && parseAttempt(item);
  }

  async listPendingAttempts(before: number): Promise<RemediationAttempt[]> {
    const items = await this.queryAll({
      IndexName: 'active' satisfies ControlTableIndexName,
      KeyConditionExpression: '#k = :k AND #at < :before',
      ExpressionAttributeNames: { '#k': 'activeKey', '#at': 'activeAt' },
      ExpressionAttributeValues: { ':k': ACTIVE.attempts, ':before': before },
    });
    return items.map(parseAttempt);
  }

  async setIsolated(service: string, isolated: boolean, by: string, at: number): Promise<void> {
    if (!isolated) {
      await this.db.delete({ Key: key.isolation(service) });
      return;
    }
    // Isolating an isolated service again keeps who isolated it first, and when.
    await this.db.update({
      Key: key.isolation(service),
      UpdateExpression: 'SET #service = :s, #by = if_not_exists(#by, :by), #at = if_not_exists(#at, :at)',
      ExpressionAttributeNames: { '#service': 'service', '#by': 'isolatedBy', '#at': 'isolatedAt' },
      ExpressionAttributeValues: { ':s': service, ':by': by, ':at': at },
    });
  }

  async listIsolated(): Promise<Set<string>> {
    const items = await this.queryAll({
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': 'ISOLATION' },
      ConsistentRead: true,
    });
    return new Set(items.map((item) => String(item.service)));
  }

  async putMaintenanceWindow(window: MaintenanceWindow): Promise<void> {
    await this.db.put({
      Item: {
        ...key.window(window.id),
        id: window.id,
        subjects: [...window.subjects],
        startsAt: window.startsAt,
        endsAt: window.endsAt,
        reason: window.reason,
        createdBy: window.createdBy,
        ...(window.notices && window.notices.length > 0 ? { notices: json(window.notices) } : {}),
        expiresAt: this.expiresAt(window.endsAt),
      },
    });
  }

  async listMaintenanceWindows(activeAfter: number): Promise<MaintenanceWindow[]> {
    const items = await this.queryAll({
      KeyConditionExpression: 'pk = :pk',
      FilterExpression: '#endsAt > :after',
      ExpressionAttributeNames: { '#endsAt': 'endsAt' },
      ExpressionAttributeValues: { ':pk': 'MAINTENANCE', ':after': activeAfter },
      ConsistentRead: true,
    });
    return items
      .map(
        (item): MaintenanceWindow => ({
          id: String(item.id),
          subjects: (item.subjects as string[] | undefined) ?? [],
          startsAt: Number(item.startsAt),
          endsAt: Number(item.endsAt),
          reason: String(item.reason),
          createdBy: String(item.createdBy),
          ...(typeof item.notices === 'string' ? { notices: JSON.parse(item.notices) as Notice[] } : {}),
        }),
      )
      .sort((a, b) => a.endsAt - b.endsAt);
  }

  // ---- leases ----

  async acquireLease(name: string, holder: string, now: number, until: number): Promise<LeaseClaim> {
    checkLeaseRequest(name, holder, now, until);
    try {
      await this.db.put({
        Item: { ...key.lease(name), holder, until, expiresAt: Math.floor(until / 1000) + DAY_SECONDS },
        ConditionExpression: 'attribute_not_exists(pk) OR #until <= :now OR #holder = :holder',
        ExpressionAttributeNames: { '#until': 'until', '#holder': 'holder' },
        ExpressionAttributeValues: { ':now': now, ':holder': holder },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      });
      return { acquired: true };
    } catch (error) {
      if (!isDynamoDbError(error, 'ConditionalCheckFailedException')) throw error;
      // The item that failed the condition, as it was: no second read that could see a different holder.
      const held = (error.item ?? {}) as Record<string, { S?: string; N?: string } | undefined>;
      return { acquired: false, holder: held.holder?.S ?? 'unknown', until: Number(held.until?.N ?? 0) };
    }
  }

  async releaseLease(name: string, holder: string): Promise<boolean> {
    try {
      await this.db.delete({
        Key: key.lease(name),
        ConditionExpression: '#holder = :holder',
        ExpressionAttributeNames: { '#holder': 'holder' },
        ExpressionAttributeValues: { ':holder': holder },
      });
      return true;
    } catch (error) {
      if (isDynamoDbError(error, 'ConditionalCheckFailedException')) return false;
      throw error;
    }
  }

  // ---- audit trail ----

  async appendAudit(entry: AuditEntry): Promise<void> {
    if (!Number.isSafeInteger(entry.at) || entry.at < 0)
      throw new ControlPlaneError('INVALID_TIME', `audit entry time ${entry.at} is not epoch milliseconds`);
    await this.db.put({
      Item: { ...key.audit(entry.at), at: entry.at, entry: json(entry), expiresAt: this.expiresAt(entry.at) },
    });
  }

  async listAudit(query: AuditQuery): Promise<AuditEntry[]> {
    const limit = query.limit ?? AUDIT_DEFAULT_LIMIT;
    if (limit <= 0) return [];
    const items = await this.queryAll(
      {
        KeyConditionExpression: 'pk = :pk AND sk >= :from',
        ExpressionAttributeValues: { ':pk': 'AUDIT', ':from': `AT#${pad(Math.max(0, query.since ?? 0), 15)}` },
        ScanIndexForward: false,
        ConsistentRead: true,
        Limit: limit,
      },
      limit,
    );
    return items.map((item) => JSON.parse(String(item.entry)) as AuditEntry);
  }

  // ---- items ----

  private incidentItem(incident: Incident): Item {
    // The due index: the escalation's timer or the first notice owed (a resolved incident may still owe one).
    const nextAt = incidentDueAt(incident);
    return {
      ...key.incident(incident.id),
      id: incident.id,
      dedupKey: incident.dedupKey,
      status: incident.status,
      openedAt: incident.openedAt,
      lastSeen: incident.lastSeen,
      version: incident.version,
      body: json(incident),
      listKey: LIST.incidents,
      listAt: incident.openedAt,
      ...(incident.status === 'resolved' ? {} : { activeKey: ACTIVE.incidents, activeAt: incident.openedAt }),
      ...(nextAt === undefined ? {} : { dueShard: DUE, nextAt }),
    };
  }

  /** The entries a write appends, keyed by time and then by the incident version that wrote them. */
  private timelineItems(stored: Incident, entries: readonly TimelineEntry[]): WriteItem[] {
    return entries.map((entry, index) => {
      if (!Number.isSafeInteger(entry.at) || entry.at < 0)
        throw new ControlPlaneError('INVALID_TIME', `timeline entry time ${entry.at} is not epoch milliseconds`);
      return {
        Put: {
          Item: {
            ...key.timeline(stored.id, entry.at, stored.version, index),
            at: entry.at,
            type: entry.type,
            entry: json(entry),
            expiresAt: this.expiresAt(entry.at),
          },
        },
      };
    });
  }

  private attemptItem(a: RemediationAttempt): Item {
    return {
      ...key.attempt(a.id),
      id: a.id,
      service: a.service,
      incidentId: a.incidentId,
      action: a.action,
      requestedAt: a.requestedAt,
      outcome: a.outcome,
      ...(a.finishedAt === undefined ? {} : { finishedAt: a.finishedAt }),
      ...(a.detail === undefined ? {} : { detail: a.detail }),
      ...(a.commandId === undefined ? {} : { commandId: a.commandId }),
      listKey: LIST.attempts(a.service),
      listAt: a.requestedAt,
      ...(a.outcome === 'pending' ? { activeKey: ACTIVE.attempts, activeAt: a.requestedAt } : {}),
      expiresAt: this.expiresAt(a.requestedAt),
    };
  }

  /** TTL attribute: epoch seconds, `retentionDays` after `at` (epoch milliseconds). */
  private expiresAt(at: number): number {
    return Math.floor(at / 1000) + this.retentionSeconds;
  }

  private checkTransactionSize(items: readonly WriteItem[], what: string): void {
    if (items.length > MAX_TRANSACTION_ITEMS)
      throw new ControlPlaneError(
        'TRANSACTION_TOO_LARGE',
        `${what}: one write may append at most ${MAX_TRANSACTION_ITEMS - 2} timeline entries (DynamoDB transactions take ${MAX_TRANSACTION_ITEMS} items)`,
      );
  }

  // ---- DynamoDB calls ----

  /**
   * Runs one transaction. Undefined when it committed; the cancellation code of every item when a condition failed.
   * A transaction that only collided with another one in flight (TransactionConflict) is tried again. Each try has
   * its own client request token, so the SDK's retry of a lost response cannot apply a write twice.
   */
  private async transact(items: readonly WriteItem[]): Promise<string[] | undefined> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.db.transactWrite(items, randomUUID());
        return undefined;
      } catch (error) {
        if (!isDynamoDbError(error, 'TransactionCanceledException')) throw error;
        const codes = (error.cancellationReasons ?? []).map((r) => r.Code ?? 'None');
        if (codes.includes('ConditionalCheckFailed')) return codes;
        const collided = codes.includes('TransactionConflict');
        if (!collided || attempt >= this.conflictRetries) throw error;
        await sleep(backoff(attempt + 1));
      }
    }
  }

  /** Every page of a query, or pages until `limit` items were returned. */
  private async queryAll(input: QueryInput, limit?: number): Promise<Item[]> {
    const items: Item[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.query(input, start);
      items.push(...page.items);
      start = page.next;
    } while (start && (limit === undefined || items.length < limit));
    return limit === undefined ? items : items.slice(0, limit);
  }
}

function parseIncident(item: Item): Incident {
  return JSON.parse(String(item.body)) as Incident;
}

function parseAttempt(item: Item): RemediationAttempt {
  return {
    id: String(item.id),
    service: String(item.service),
    incidentId: String(item.incidentId),
    action: 'restart',
    requestedAt: Number(item.requestedAt),
    outcome: item.outcome as RemediationAttempt['outcome'],
    ...(item.finishedAt === undefined ? {} : { finishedAt: Number(item.finishedAt) }),
    ...(item.detail === undefined ? {} : { detail: String(item.detail) }),
    ...(item.commandId === undefined ? {} : { commandId: String(item.commandId) }),
  };
}

function json(value: unknown): string {
  return JSON.stringify(value);
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Full-jitter exponential backoff: up to 25 ms, 50 ms, 100 ms... capped at 1 s. */
function backoff(attempt: number): number {
  return Math.random() * Math.min(1_000, 25 * 2 ** (attempt - 1));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
