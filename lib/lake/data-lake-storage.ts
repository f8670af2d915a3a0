import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import {
  PREDICTIONS_PREFIX,
  PREDICTION_ERRORS_PREFIX,
  RAW_ERRORS_PREFIX,
  RAW_EVENTS_PREFIX,
  TRAINING_EXPORTS_PREFIX,
} from '../schema/lake-layout';
import { LakeBucket, enableEventBridgeNotifications } from './lake-bucket';

/** How long each kind of object lives in each storage class, counted from when it was written. */
export interface DataLakeLifecycle {
  /** Raw events and predictions move to S3 Standard-IA (30 days at the earliest). @default Duration.days(30) */
  readonly rawInfrequentAccessAfter?: Duration;
  /** Raw events and predictions move to Glacier Instant Retrieval, 30 days after Standard-IA at the earliest. @default Duration.days(90) */
  readonly rawGlacierInstantRetrievalAfter?: Duration;
  /** Records Firehose could not convert (under `errors/` and `prediction-errors/`) are deleted. @default Duration.days(14) */
  readonly rawErrorsExpireAfter?: Duration;
  /** Training exports are deleted. @default Duration.days(14) */
  readonly curatedExpireAfter?: Duration;
  /** Athena query results are deleted. @default Duration.days(7) */
  readonly athenaResultsExpireAfter?: Duration;
  /** Spot-training checkpoints are deleted. @default Duration.days(7) */
  readonly checkpointsExpireAfter?: Duration;
  /** S3 server access logs are deleted. @default Duration.days(30) */
  readonly accessLogsExpireAfter?: Duration;
  /** Old versions in the versioned buckets (raw, models) are deleted. @default Duration.days(7) */
  readonly noncurrentVersionsExpireAfter?: Duration;
}

export interface DataLakeStorageProps {
  /** The customer managed key of every data bucket (SSE-KMS). */
  readonly encryptionKey: kms.IKey;
  /** What happens to the buckets when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** Empty the buckets on stack deletion; needs `removalPolicy` DESTROY. @default false */
  readonly autoDeleteObjects?: boolean;
  /** @default - the defaults of each {@link DataLakeLifecycle} field */
  readonly lifecycle?: DataLakeLifecycle;
}

/**
 * The S3 zones of the data lake, one bucket per kind of data so each gets the lifecycle and access it needs:
 *
 * - `raw`: Parquet records from Firehose, the source of truth (versioned; tiered to cheaper storage as it ages), and
 *   the records Firehose could not convert under `errors/` (expire);
 * - `curated`: training and validation Parquet exported by Athena (re-creatable, so it expires);
 * - `athenaResults`: query results of the Athena workgroup (expire);
 * - `models`: trained model artifacts that endpoints serve (versioned);
 * - `checkpoints`: spot-training checkpoints that let an interrupted job resume (expire);
 * - `accessLogs`: S3 server access logs of all the buckets above.
 */
export class DataLakeStorage extends Construct {
  readonly raw: s3.IBucket;
  readonly curated: s3.IBucket;
  readonly athenaResults: s3.IBucket;
  readonly models: s3.IBucket;
  readonly checkpoints: s3.IBucket;
  readonly accessLogs: s3.IBucket;

  constructor(scope: Construct, id: string, props: DataLakeStorageProps) {
    super(scope, id);
    const days = Duration.days;
    const lifecycle = lifecycleWithDefaults(props.lifecycle ?? {});
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const autoDeleteObjects = props.autoDeleteObjects ?? false;

    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      // S3 delivers server access logs only to buckets encrypted with S3-managed keys, not SSE-KMS.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        { id: 'ExpireAccessLogs', expiration: lifecycle.accessLogsExpireAfter },
        { id: 'AbortIncompleteUploads', abortIncompleteMultipartUploadAfter: days(1) },
      ],
      removalPolicy,
      autoDeleteObjects,
    });
    enableEventBridgeNotifications(accessLogs);
    this.accessLogs = accessLogs;
    const logsBucketReason =
      'This bucket receives the server access logs of the data lake buckets; logging it too would log its own log deliveries.';
    Validations.of(this.accessLogs).acknowledge(
      { id: 'AwsSolutions-S1', reason: logsBucketReason },
      { id: 'cdk-validator-cfnguard::s3_bucket_logging_enabled_check', reason: logsBucketReason },
      {
        id: 'cdk-validator-cfnguard::s3_bucket_default_encryption_kms_check',
        reason: 'S3 server access log delivery supports only SSE-S3 on the target bucket; SSE-KMS would drop the logs.',
      },
      {
        id: 'cdk-validator-cfnguard::s3_bucket_versioning_enabled_check',
        reason:
          'Access logs are written once by S3 and expire by lifecycle; nothing overwrites them, so versions would only add cost.',
      },
      {
        id: 'cdk-validator-cfnguard::s3_bucket_object_lock_enabled_check',
        reason:
          'Access logs expire by lifecycle rule and the sandbox deletes them on cdk destroy; a retention lock would block both.',
      },
    );

    const common = {
      encryptionKey: props.encryptionKey,
      accessLogsBucket: this.accessLogs,
      removalPolicy,
      autoDeleteObjects,
    };
    const noncurrentVersionExpiration = lifecycle.noncurrentVersionsExpireAfter;

    this.raw = new LakeBucket(this, 'Raw', {
      ...common,
      versioning: { enabled: true, noncurrentVersionExpiration },
      lifecycleRules: [
        // Glacier Instant Retrieval keeps old partitions queryable by Athena at a lower storage price.
        ...[
          { id: 'TierAgingRawEvents', prefix: RAW_EVENTS_PREFIX },
          { id: 'TierAgingPredictions', prefix: PREDICTIONS_PREFIX },
        ].map((rule) => ({
          ...rule,
          transitions: [
            {
              storageClass: s3.StorageClass.INFREQUENT_ACCESS,
              transitionAfter: lifecycle.rawInfrequentAccessAfter,
            },
            {
              storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
              transitionAfter: lifecycle.rawGlacierInstantRetrievalAfter,
            },
          ],
        })),
        // Conversion and delivery failures are kept long enough to inspect and resend, then deleted.
        { id: 'ExpireDeliveryErrors', prefix: RAW_ERRORS_PREFIX, expiration: lifecycle.rawErrorsExpireAfter },
        {
          id: 'ExpireInferenceLogErrors',
          prefix: PREDICTION_ERRORS_PREFIX,
          expiration: lifecycle.rawErrorsExpireAfter,
        },
      ],
    }).bucket;

    this.curated = new LakeBucket(this, 'Curated', {
      ...common,
      versioning: {
        enabled: false,
        whyNotVersioned:
          'Training exports are regenerated from the raw zone by every pipeline run into a new prefix and expire by lifecycle; old versions would only add cost.',
      },
      lifecycleRules: [
        {
          id: 'ExpireTrainingExports',
          prefix: TRAINING_EXPORTS_PREFIX,
          expiration: lifecycle.curatedExpireAfter,
        },
      ],
    }).bucket;

    this.athenaResults = new LakeBucket(this, 'AthenaResults', {
      ...common,
      versioning: {
        enabled: false,
        whyNotVersioned: 'Athena query results are disposable output of re-runnable queries and expire by lifecycle.',
      },
      lifecycleRules: [{ id: 'ExpireQueryResults', expiration: lifecycle.athenaResultsExpireAfter }],
    }).bucket;

    this.models = new LakeBucket(this, 'Models', {
      ...common,
      versioning: { enabled: true, noncurrentVersionExpiration },
      lifecycleRules: [],
    }).bucket;

    this.checkpoints = new LakeBucket(this, 'Checkpoints', {
      ...common,
      versioning: {
        enabled: false,
        whyNotVersioned:
          'Checkpoints are overwritten every training round and only matter until the job finishes; versions would multiply their size.',
      },
      lifecycleRules: [{ id: 'ExpireCheckpoints', expiration: lifecycle.checkpointsExpireAfter }],
    }).bucket;

    if (autoDeleteObjects) {
      // autoDeleteObjects adds one stack-wide Lambda provider that empties the buckets on stack deletion.
      const provider = Stack.of(this).node.tryFindChild('Custom::S3AutoDeleteObjectsCustomResourceProvider');
      if (provider !== undefined) {
        Validations.of(provider).acknowledge({
          id: 'cdk-validator-cfnguard::lambda_inside_vpc_check',
          reason:
            "CDK's bucket-emptying function runs only on stack deletion and calls only the S3 API; this pipeline has no VPC, and adding one would add NAT or endpoint cost for a delete-time helper.",
        });
      }
    }
  }
}

/** The lifecycle with every default applied, checked against S3's minimum storage durations. */
function lifecycleWithDefaults(lifecycle: DataLakeLifecycle): Required<DataLakeLifecycle> {
  const days = Duration.days;
  const resolved: Required<DataLakeLifecycle> = {
    rawInfrequentAccessAfter: lifecycle.rawInfrequentAccessAfter ?? days(30),
    rawGlacierInstantRetrievalAfter: lifecycle.rawGlacierInstantRetrievalAfter ?? days(90),
    rawErrorsExpireAfter: lifecycle.rawErrorsExpireAfter ?? days(14),
    curatedExpireAfter: lifecycle.curatedExpireAfter ?? days(14),
    athenaResultsExpireAfter: lifecycle.athenaResultsExpireAfter ?? days(7),
    checkpointsExpireAfter: lifecycle.checkpointsExpireAfter ?? days(7),
    accessLogsExpireAfter: lifecycle.accessLogsExpireAfter ?? days(30),
    noncurrentVersionsExpireAfter: lifecycle.noncurrentVersionsExpireAfter ?? days(7),
  };
  const ia = resolved.rawInfrequentAccessAfter.toDays();
  const glacier = resolved.rawGlacierInstantRetrievalAfter.toDays();
  if (ia < 30) {
    throw new Error(
      `DataLakeStorage: lifecycle.rawInfrequentAccessAfter is ${ia} days, but S3 moves objects to Standard-IA ` +
        'after 30 days at the earliest; pass Duration.days(30) or more',
    );
  }
  if (glacier < ia + 30) {
    throw new Error(
      `DataLakeStorage: lifecycle.rawGlacierInstantRetrievalAfter is ${glacier} days, but S3 keeps objects in ` +
        `Standard-IA for 30 days, so it must be at least rawInfrequentAccessAfter + 30 (${ia + 30} days)`,
    );
  }
  return resolved;
}
