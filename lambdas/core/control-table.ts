/**
 * The control table: one DynamoDB table (string keys `pk`/`sk`) holding every record of the control plane, three
 * global secondary indexes and a TTL attribute. A contract shared by the CDK stack (`lib/constructs/state.ts`
 * creates the table from it) and the DynamoDB state store (which reads and writes by these names), so it lives in
 * the core with no AWS import.
 *
 * Indexes (all sparse, all projecting every attribute, so a query returns whole records):
 * - `listing` (`listKey`, `listAt`): `INCIDENTS` by opening time; `ATTEMPTS#<service>` by request time.
 * - `active` (`activeKey`, `activeAt`): `OPEN_INCIDENTS` by opening time, only while not resolved;
 *   `PENDING_ATTEMPTS` by request time, only while pending.
 * - `due` (`dueShard` = `DUE`, `nextAt`): incidents with an escalation timer, only while it is set.
 * One partition per list is plenty for one fleet (tens of open incidents, a few restarts an hour); index reads are
 * eventually consistent, which the sweeps tolerate: every write they lead to is conditional on a version.
 * The items stored under these keys are described in `adapters/aws/dynamodb-state-store.ts`.
 */
export const CONTROL_TABLE_SCHEMA = {
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  timeToLiveAttribute: 'expiresAt',
  globalSecondaryIndexes: [
    {
      indexName: 'listing',
      partitionKey: { name: 'listKey', type: 'S' },
      sortKey: { name: 'listAt', type: 'N' },
      projection: 'ALL',
    },
    {
      indexName: 'active',
      partitionKey: { name: 'activeKey', type: 'S' },
      sortKey: { name: 'activeAt', type: 'N' },
      projection: 'ALL',
    },
    {
      indexName: 'due',
      partitionKey: { name: 'dueShard', type: 'S' },
      sortKey: { name: 'nextAt', type: 'N' },
      projection: 'ALL',
    },
  ],
} as const satisfies ControlTableSchema;

export interface ControlTableSchema {
  readonly partitionKey: KeyAttribute;
  readonly sortKey: KeyAttribute;
  readonly timeToLiveAttribute: string;
  readonly globalSecondaryIndexes: readonly {
    readonly indexName: string;
    readonly partitionKey: KeyAttribute;
    readonly sortKey: KeyAttribute;
    readonly projection: 'ALL';
  }[];
}

export interface KeyAttribute {
  readonly name: string;
  readonly type: 'S' | 'N';
}

/** The name of one of the table's indexes: the store's queries name theirs with it, so a renamed index fails to compile. */
export type ControlTableIndexName = (typeof CONTROL_TABLE_SCHEMA.globalSecondaryIndexes)[number]['indexName'];
