import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** Whether a bucket keeps old versions, and if not, why not (the reason acknowledges the guard rule). */
export type LakeBucketVersioning =
  | { readonly enabled: true; readonly noncurrentVersionExpiration: Duration }
  | { readonly enabled: false; readonly whyNotVersioned: string };

export interface LakeBucketProps {
  /** Customer-managed key for SSE-KMS; S3 Bucket Keys are on to cut KMS request costs. */
  readonly encryptionKey: kms.IKey;
  /** Bucket that receives this bucket's server access logs. */
  readonly accessLogsBucket: s3.IBucket;
  /** What happens to the bucket when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** Empty the bucket on stack deletion, so that a DESTROY policy can delete it. @default false */
  readonly autoDeleteObjects?: boolean;
  readonly versioning: LakeBucketVersioning;
  /** Lifecycle rules of the bucket's data; a rule that aborts stale multipart uploads is always added. */
  readonly lifecycleRules: s3.LifecycleRule[];
}

/**
 * One bucket of the data lake with the house defaults: SSE-KMS with a bucket key, TLS 1.2+ only, every public access
 * block on, ACLs disabled, server access logs, EventBridge notifications, and lifecycle rules.
 *
 * The server access logs go under a prefix named after this construct so every bucket's logs stay apart.
 */
export class LakeBucket extends Construct {
  readonly bucket: s3.IBucket;

  constructor(scope: Construct, id: string, props: LakeBucketProps) {
    super(scope, id);
    const bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: props.encryptionKey,
      bucketKeyEnabled: true,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: props.accessLogsBucket,
      serverAccessLogsPrefix: `${id}/`,
      versioned: props.versioning.enabled,
      lifecycleRules: [
        ...props.lifecycleRules,
        ...(props.versioning.enabled
          ? [
              {
                id: 'ExpireNoncurrentVersions',
                noncurrentVersionExpiration: props.versioning.noncurrentVersionExpiration,
                expiredObjectDeleteMarker: true,
              },
            ]
          : []),
        { id: 'AbortIncompleteUploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      autoDeleteObjects: props.autoDeleteObjects ?? false,
    });
    enableEventBridgeNotifications(bucket);
    this.bucket = bucket;

    if (!props.versioning.enabled) {
      Validations.of(bucket).acknowledge({
        id: 'cdk-validator-cfnguard::s3_bucket_versioning_enabled_check',
        reason: props.versioning.whyNotVersioned,
      });
    }
    Validations.of(bucket).acknowledge({
      id: 'cdk-validator-cfnguard::s3_bucket_object_lock_enabled_check',
      reason:
        'Object Lock is write-once retention for regulated records. This pipeline expires data through lifecycle ' +
        'rules and the sandbox deletes it on cdk destroy, both of which a retention period would block; ' +
        'versioning protects the buckets whose data cannot be recreated.',
    });
  }
}

/**
 * Sends the bucket's object events to EventBridge (free for AWS service events) through the bucket's own
 * NotificationConfiguration. The L2 `eventBridgeEnabled` flag would add a Lambda-backed custom resource instead.
 */
export function enableEventBridgeNotifications(bucket: s3.Bucket): void {
  const cfnBucket = bucket.node.defaultChild as s3.CfnBucket;
  cfnBucket.notificationConfiguration = { eventBridgeConfiguration: { eventBridgeEnabled: true } };
}
