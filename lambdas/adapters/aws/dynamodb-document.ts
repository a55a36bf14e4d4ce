import type { DynamoDbApi } from './dynamodb-http.ts';

/*
 * Plain values <-> DynamoDB's typed attribute values, and the calls of the control table with plain values in and
 * out, as @aws-sdk/lib-dynamodb's document client gives them (with `removeUndefinedValues`): strings S, numbers N,
 * booleans BOOL, null NULL, arrays L, objects M, Sets SS/NS, bytes B; undefined attributes left out. Only the fields
 * that hold items, keys or values are converted (Key, Item, ExpressionAttributeValues, ExclusiveStartKey, and back
 * Item, Items, Responses, UnprocessedKeys, LastEvaluatedKey); the rest passes through as written.
 */

export type Item = Record<string, unknown>;
type AttributeValue = Record<string, unknown>;

export function toAttributeValue(value: unknown, path = 'value'): AttributeValue | undefined {
  if (value === undefined) return undefined;
  if (value === null) return { NULL: true };
  if (typeof value === 'string') return { S: value };
  if (typeof value === 'boolean') return { BOOL: value };
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`${path}: ${value} cannot be stored as a DynamoDB number`);
    return { N: String(value) };
  }
  if (value instanceof Uint8Array) return { B: Buffer.from(value).toString('base64') };
  if (Array.isArray(value))
    return {
      L: value.flatMap((v, i) => {
        const converted = toAttributeValue(v, `${path}[${i}]`);
        return converted === undefined ? [] : [converted];
      }),
    };
  if (value instanceof Set) {
    const members = [...value];
    if (members.length === 0) throw new TypeError(`${path}: DynamoDB cannot store an empty set`);
    if (members.every((m) => typeof m === 'string')) return { SS: members };
    if (members.every((m) => typeof m === 'number' && Number.isFinite(m))) return { NS: members.map(String) };
    throw new TypeError(`${path}: a set must hold only strings or only numbers`);
  }
  if (typeof value === 'object') return { M: marshallItem(value as Item, path) };
  throw new TypeError(`${path}: a ${typeof value} cannot be stored in DynamoDB`);
}

export function fromAttributeValue(value: AttributeValue): unknown {
  if ('S' in value) return value.S;
  if ('N' in value) return Number(value.N);
  if ('BOOL' in value) return value.BOOL;
  if ('NULL' in value) return null;
  if ('L' in value) return (value.L as AttributeValue[]).map(fromAttributeValue);
  if ('M' in value) return unmarshallItem(value.M as Record<string, AttributeValue>);
  if ('SS' in value) return new Set(value.SS as string[]);
  if ('NS' in value) return new Set((value.NS as string[]).map(Number));
  if ('B' in value) return Buffer.from(String(value.B), 'base64');
  if ('BS' in value) return new Set((value.BS as string[]).map((b) => Buffer.from(b, 'base64')));
  throw new TypeError(`unknown DynamoDB attribute value ${JSON.stringify(value).slice(0, 80)}`);
}

/** An item with its undefined attributes left out. */
export function marshallItem(item: Readonly<Item>, path = 'item'): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const [name, value] of Object.entries(item)) {
    const converted = toAttributeValue(value, `${path}.${name}`);
    if (converted !== undefined) out[name] = converted;
  }
  return out;
}

export function unmarshallItem(item: Readonly<Record<string, AttributeValue>>): Item {
  const out: Item = {};
  for (const [name, value] of Object.entries(item)) out[name] = fromAttributeValue(value);
  return out;
}

/** The fields of a request that hold items or values, converted; the rest as written. */
function marshallRequest(input: Readonly<Item>): Item {
  const out: Item = { ...input };
  for (const field of ['Key', 'Item', 'ExpressionAttributeValues', 'ExclusiveStartKey'] as const)
    if (input[field] !== undefined) out[field] = marshallItem(input[field] as Item, field);
  return out;
}

export interface QueryInput {
  readonly IndexName?: string;
  readonly KeyConditionExpression: string;
  readonly FilterExpression?: string;
  readonly ExpressionAttributeNames?: Readonly<Record<string, string>>;
  readonly ExpressionAttributeValues?: Readonly<Item>;
  readonly ConsistentRead?: boolean;
  readonly ScanIndexForward?: boolean;
  readonly Limit?: number;
}

/** One write of a transaction: Put, Update, Delete or ConditionCheck, with plain values. */
export type TransactWriteItem = Readonly<Record<'Put' | 'Update' | 'Delete' | 'ConditionCheck', Readonly<Item>>>;
export type WriteItem = Partial<TransactWriteItem>;

/** The control table's calls with plain values. */
export class DocumentTable {
  constructor(
    private readonly api: DynamoDbApi,
    readonly tableName: string,
  ) {}

  async get(key: Readonly<Item>): Promise<Item | undefined> {
    const out = await this.api.call('GetItem', {
      TableName: this.tableName,
      Key: marshallItem(key),
      ConsistentRead: true,
    });
    return out.Item ? unmarshallItem(out.Item as Record<string, AttributeValue>) : undefined;
  }

  async put(input: Readonly<Item> & { readonly Item: Readonly<Item> }): Promise<void> {
    await this.api.call('PutItem', { ...marshallRequest(input), TableName: this.tableName });
  }

  async update(input: Readonly<Item> & { readonly Key: Readonly<Item> }): Promise<void> {
    await this.api.call('UpdateItem', { ...marshallRequest(input), TableName: this.tableName });
  }

  async delete(input: Readonly<Item> & { readonly Key: Readonly<Item> }): Promise<void> {
    await this.api.call('DeleteItem', { ...marshallRequest(input), TableName: this.tableName });
  }

  /** One page of a query: its items and where the next page starts. */
  async query(
    input: QueryInput,
    start?: Readonly<Item>,
  ): Promise<{ readonly items: Item[]; readonly next?: Item | undefined }> {
    const out = await this.api.call('Query', {
      ...marshallRequest({ ...input, ...(start ? { ExclusiveStartKey: start } : {}) }),
      TableName: this.tableName,
    });
    const items = ((out.Items ?? []) as Record<string, AttributeValue>[]).map(unmarshallItem);
    const next = out.LastEvaluatedKey as Record<string, AttributeValue> | undefined;
    return { items, ...(next ? { next: unmarshallItem(next) } : {}) };
  }

  /** Strongly consistent BatchGetItem: the items found and the keys DynamoDB left unprocessed. */
  async batchGet(keys: readonly Readonly<Item>[]): Promise<{ readonly items: Item[]; readonly unprocessed: Item[] }> {
    const out = await this.api.call('BatchGetItem', {
      RequestItems: { [this.tableName]: { Keys: keys.map((k) => marshallItem(k)), ConsistentRead: true } },
    });
    const found = (out.Responses as Record<string, Record<string, AttributeValue>[]> | undefined)?.[this.tableName];
    const left = (out.UnprocessedKeys as Record<string, { Keys?: Record<string, AttributeValue>[] }> | undefined)?.[
      this.tableName
    ]?.Keys;
    return { items: (found ?? []).map(unmarshallItem), unprocessed: (left ?? []).map(unmarshallItem) };
  }

  /** TransactWriteItems on this table; every write's TableName is set here. */
  async transactWrite(items: readonly WriteItem[], clientRequestToken: string): Promise<void> {
    await this.api.call('TransactWriteItems', {
      TransactItems: items.map((item) =>
        Object.fromEntries(
          Object.entries(item).map(([kind, write]) => [kind, { ...marshallRequest(write), TableName: this.tableName }]),
        ),
      ),
      ClientRequestToken: clientRequestToken,
    });
  }
}
