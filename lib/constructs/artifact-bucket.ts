import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type IBucket,
  ObjectOwnership,
  StorageClass,
} from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface ArtifactBucketProps {
  /** The control plane's key (`ControlPlaneKey`); retained on delete, so backups stay readable. */
  readonly key: IKey;
  /** Days to keep server access logs. */
  readonly accessLogRetentionDays: number;
  /**
   * Days a replaced or deleted object version is kept (a bad retention run or an overwrite can be undone within it).
   * @default 30
   */
  readonly noncurrentVersionDays?: number;
}

/**
 * The bucket for database backups, manifests and drill reports, and the separate bucket its access logs go to.
 *
 * Backups hold the whole database, so they are encrypted with the control plane's customer-managed key (S3 Bucket Keys keep the KMS
 * request cost flat): reading a backup needs both bucket and key permissions, and the key can be disabled on its own.
 * Current versions move to Standard-IA after 30 days and to Glacier Instant Retrieval after 90: restore drills pick
 * any recent backup and must not wait hours for a Glacier restore. Retention of backups themselves is the control
 * plane's (GFS, never deleting the newest good one); the lifecycle rules only clean up what S3 keeps besides.
 */
export class ArtifactBucket extends Construct {
  readonly bucket: Bucket;
  readonly accessLogs: Bucket;
  readonly key: IKey;

  constructor(scope: Construct, id: string, props: ArtifactBucketProps) {
    super(scope, id);
    // Access logs are delivered under a bucket policy (logging.s3.amazonaws.com), never through ACLs, whatever the
    // app's feature flags say: both buckets enforce bucket-owner object ownership, which disables ACLs.
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    this.key = props.key;
    // Server access logs can only be delivered to an SSE-S3 bucket.
    this.accessLogs = new Bucket(this, 'AccessLogs', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        { id: 'expire-access-logs', expiration: Duration.days(props.accessLogRetentionDays) },
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });

    this.bucket = new Bucket(this, 'Bucket', {
      encryption: BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
      // The cast only bridges aws-cdk-lib's own optional-property typing under exactOptionalPropertyTypes.
      serverAccessLogsBucket: this.accessLogs as IBucket,
      serverAccessLogsPrefix: 'artifacts/',
      lifecycleRules: [
        {
          id: 'tier-down-current-versions',
          transitions: [
            { storageClass: StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(30) },
            { storageClass: StorageClass.GLACIER_INSTANT_RETRIEVAL, transitionAfter: Duration.days(90) },
          ],
        },
        {
          id: 'expire-noncurrent-versions',
          noncurrentVersionExpiration: Duration.days(props.noncurrentVersionDays ?? 30),
        },
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
        { id: 'remove-expired-delete-markers', expiredObjectDeleteMarker: true },
      ],
    });
  }
}
