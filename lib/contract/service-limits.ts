/**
 * Facts about AWS services that the config checks at synth time and the constructs rely on, each with its source.
 * No aws-cdk-lib here: the command-line tools read these too.
 */

/** Firehose accepts 64 to 128 MiB of buffer when it converts record formats (Firehose developer guide). */
export const PARQUET_BUFFER_MIB = { min: 64, max: 128 } as const;

/** The service's limits for one Firehose PutRecordBatch call (Firehose API reference, PutRecordBatch). */
export const PUT_RECORD_BATCH_LIMITS = {
  records: 500,
  bytes: 4 * 1024 * 1024,
  recordBytes: 1_000 * 1024,
} as const;

/**
 * SageMaker instance families with local NVMe instance store. Their storage is encrypted by a hardware module on the
 * instance, and SageMaker rejects a customer KMS key for it: "You can't request a VolumeKmsKeyId when using an
 * instance type with local storage" (CreateTrainingJob, ResourceConfig.VolumeKmsKeyId), and CreateEndpointConfig
 * fails when KmsKeyId is set for such a variant (CreateEndpointConfig, KmsKeyId).
 *
 * SageMaker's guide ("Instance storage volumes") defers to a table of host instance storage volumes; the families
 * below are the ones with instance store in EC2's instance-store tables (EC2 User Guide, "Instance store volumes",
 * and the instance type specifications) that SageMaker offers for training or hosting. A naming pattern is not
 * enough: g5, g6, g6e, p5, trn1 and dl1 have NVMe storage without the `d` in their name.
 */
export const INSTANCE_STORE_FAMILIES: readonly string[] = [
  'c5d',
  'c6gd',
  'dl1',
  'g4dn',
  'g5',
  'g6',
  'g6e',
  'm5d',
  'm6gd',
  'p3dn',
  'p4d',
  'p4de',
  'p5',
  'p5e',
  'p5en',
  'p6-b200',
  'p6e-gb200',
  'r5d',
  'r6gd',
  'r7gd',
  'trn1',
  'trn1n',
  'trn2',
];

/** A SageMaker instance type, `ml.<family>.<size>`: SageMaker trains, hosts and transforms only on these. */
export const SAGEMAKER_INSTANCE_TYPE = /^ml\.([a-z0-9-]+)\.[a-z0-9]+$/;

/** Whether an `ml.<family>.<size>` instance type has local instance store (and so takes no KMS volume key). */
export function hasInstanceStore(instanceType: string): boolean {
  const family = SAGEMAKER_INSTANCE_TYPE.exec(instanceType)?.[1];
  return family !== undefined && INSTANCE_STORE_FAMILIES.includes(family);
}

/**
 * Regions where CloudFormation offers AWS::Budgets::Budget (cfn-lint's per-region CloudFormation schemas,
 * aws-cloudformation/cfn-lint, "Update CloudFormation schemas to 2026-06-15"). Among the regions that host the
 * XGBoost image, it is missing in af-south-1, ap-east-1, ap-northeast-3, ap-south-2, ap-southeast-3, ap-southeast-4,
 * ca-west-1, eu-central-2, eu-north-1, eu-south-1, eu-south-2, il-central-1, me-central-1 and me-south-1, where a
 * template with a budget fails to deploy.
 */
export const BUDGETS_REGIONS: readonly string[] = [
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-south-1',
  'ap-southeast-1',
  'ap-southeast-2',
  'ca-central-1',
  'eu-central-1',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'sa-east-1',
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
];
