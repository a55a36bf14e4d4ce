import { ArnFormat, Aws, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

export interface ControlPlaneKeyProps {
  /** The fleet's name, for the key's description. */
  readonly fleetName: string;
}

/**
 * The one customer-managed key of a fleet's control plane ($1 a month each, so one where one serves): it encrypts
 * the escalation topics and the backup bucket. Who may use it for what is said by the grants, each limited with
 * `kms:ViaService` to the service it is for (publishing through SNS, reading and writing backups through S3), so a
 * function that pages cannot decrypt a backup with it.
 *
 * A customer-managed key, not `alias/aws/sns`: CloudWatch alarms publish to the level-1 topic, and only a key whose
 * policy names `cloudwatch.amazonaws.com` lets them. Retained on delete, like the backups it decrypts.
 */
export class ControlPlaneKey extends Construct {
  readonly key: Key;

  constructor(scope: Construct, id: string, props: ControlPlaneKeyProps) {
    super(scope, id);
    this.key = new Key(this, 'Key', {
      description: `Encrypts the ${props.fleetName} escalation topics, database backups and drill reports`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // CloudWatch alarm actions publish as the CloudWatch service, which needs the data key; limited to alarms of this
    // account (confused deputy).
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublishToEncryptedTopics',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnLike: { 'aws:SourceArn': alarmArnPattern(this) },
        },
      }),
    );
  }
}

/** The ARNs of every CloudWatch alarm of this account and region. */
export function alarmArnPattern(scope: Construct): string {
  return Stack.of(scope).formatArn({
    service: 'cloudwatch',
    resource: 'alarm',
    resourceName: '*',
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}
