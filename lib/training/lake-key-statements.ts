import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';

/**
 * Use of the lake key for SSE-KMS objects: Athena and SageMaker read and write encrypted data, and SNS encrypts the
 * notifications with the same key.
 */
export function useLakeKey(key: kms.IKey): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'UseLakeKey',
    actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
    resources: [key.keyArn],
  });
}

/**
 * SageMaker encrypts training and hosting volumes with the key through a grant it creates for the instance; the key
 * policy allows grants only for AWS resources, and so does this statement.
 */
export function createVolumeGrants(key: kms.IKey): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'CreateVolumeGrants',
    actions: ['kms:CreateGrant'],
    resources: [key.keyArn],
    conditions: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
  });
}
