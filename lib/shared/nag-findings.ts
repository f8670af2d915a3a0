import { Stack } from 'aws-cdk-lib';
import type * as s3 from 'aws-cdk-lib/aws-s3';
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

/**
 * A resolved CloudFormation value as cdk-nag prints it in a finding id: `Ref` and `Fn::GetAtt` as `<Id>` and
 * `<Id.Attr>`, `Fn::Join` joined, `Fn::Sub` with `${x}` as `<x>`, an import as its export name. cdk-nag keeps this
 * in a module of its own that it does not export; the compliance test proves every id built here matches a finding,
 * because an acknowledgement with a wrong id leaves its finding unacknowledged and fails synthesis.
 */
function flattenCfnReference(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
  const value = node as { [key: string]: unknown };
  if (value['Fn::Join'] !== undefined) {
    const [delimiter, items] = value['Fn::Join'] as [string, unknown[]];
    return items.map(flattenCfnReference).join(delimiter);
  }
  if (value['Fn::Sub'] !== undefined) return flattenCfnReference(value['Fn::Sub']);
  if (value['Fn::GetAtt'] !== undefined) {
    const [resource, attribute] = value['Fn::GetAtt'] as [unknown, unknown];
    return `<${flattenCfnReference(resource)}.${flattenCfnReference(attribute)}>`;
  }
  if (value['Fn::ImportValue'] !== undefined) return flattenCfnReference(value['Fn::ImportValue']);
  if (value.Ref !== undefined) return `<${flattenCfnReference(value.Ref)}>`;
  return JSON.stringify(node);
}
