import { Stack } from 'aws-cdk-lib';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import type { IConstruct } from 'constructs';

/**
 * The id of cdk-nag's IAM5 finding for a wildcard object ARN (`<bucket ARN>/<pattern>`) in a policy of `scope`, so
 * the acknowledgement names the exact resource instead of silencing IAM5 for the whole role.
 *
 * cdk-nag prints the ARN as the template has it: `<LogicalId.Arn>/events/*` in the bucket's own stack, and
 * `<export name>/events/*` in another stack, where CDK turns the reference into an import of the bucket's stack
 * export. `exportValue` returns that same import (it names the export as the automatic reference does).
 */
export function objectArnFindingId(scope: IConstruct, bucket: s3.IBucket, pattern: string): string {
  const consumer = Stack.of(scope);
  const producer = Stack.of(bucket);
  const bucketArn = producer === consumer ? bucket.bucketArn : producer.exportValue(bucket.bucketArn);
  return `AwsSolutions-IAM5[Resource::${flattenCfnReference(consumer.resolve(`${bucketArn}/${pattern}`))}]`;
}

/** The id of cdk-nag's IAM5 finding for a wildcard resource that is defined in the policy's own stack. */
export function resourceFindingId(scope: IConstruct, resource: string): string {
  return `AwsSolutions-IAM5[Resource::${flattenCfnReference(Stack.of(scope).resolve(resource))}]`;
}
