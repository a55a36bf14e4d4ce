import { RemovalPolicy } from 'aws-cdk-lib';
import {
  AttributeType,
  BillingMode,
  type GlobalSecondaryIndexProps,
  ProjectionType,
  Table,
  TableEncryption,
  type TableProps,
} from 'aws-cdk-lib/aws-dynamodb';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { CONTROL_TABLE_SCHEMA, type ControlTableSchema } from '../../lambdas/core/control-table.ts';

/**
 * The item operations `DynamoDbStateStore` performs (transactions are authorised per item by these same actions).
 * No Scan, no BatchWriteItem, no table administration.
 */
export const CONTROL_DATA_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
] as const;

/**
 * The one place the store's table description becomes CDK table props: keys, attribute types, the global
 * secondary indexes and the TTL attribute all come from `CONTROL_TABLE_SCHEMA`, which the store and its tests use too.
 */
export function controlTableProps(schema: ControlTableSchema): {
  readonly table: Pick<TableProps, 'partitionKey' | 'sortKey' | 'timeToLiveAttribute'>;
  readonly indexes: readonly GlobalSecondaryIndexProps[];
} {
  const attribute = (a: ControlTableSchema['partitionKey']) => ({
    name: a.name,
    type: a.type === 'S' ? AttributeType.STRING : AttributeType.NUMBER,
  });
  return {
    table: {
      partitionKey: attribute(schema.partitionKey),
      sortKey: attribute(schema.sortKey),
      timeToLiveAttribute: schema.timeToLiveAttribute,
    },
    indexes: schema.globalSecondaryIndexes.map((g) => ({
      indexName: g.indexName,
      partitionKey: attribute(g.partitionKey),
      sortKey: attribute(g.sortKey),
      projectionType: ProjectionType[g.projection],
    })),
  };
}

/**
 * The control table: on-demand, point-in-time recovery, deletion protection, kept when the stack goes.
 *
 * Encrypted with the AWS-managed key (`aws/dynamodb`) rather than a customer-managed one: the table holds the
 * control plane's own operational records (health states, incidents, timelines), read and written only by this
 * stack's Lambdas in this account; no cross-account reader needs a key grant, and revoking access is done on the
 * roles. The managed key still puts every decryption in CloudTrail, and costs no key policy to keep right.
 */
export class ControlTable extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const { table, indexes } = controlTableProps(CONTROL_TABLE_SCHEMA);
    this.table = new Table(this, 'Table', {
      ...table,
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const index of indexes) this.table.addGlobalSecondaryIndex(index);
  }

  /** Reads and writes of control records: the table and its indexes by name, nothing wider. */
  grantControlData(grantee: IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: [...CONTROL_DATA_ACTIONS],
        resources: [
          this.table.tableArn,
          ...CONTROL_TABLE_SCHEMA.globalSecondaryIndexes.map((g) => `${this.table.tableArn}/index/${g.indexName}`),
        ],
      }),
    );
  }
}
