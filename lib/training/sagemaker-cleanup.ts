import { CustomResource, Duration, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { PipelineFunction } from '../shared/pipeline-function';
import { resourceFindingId } from '../shared/nag-findings';
import { runResourceArn } from './run-names';

export interface SageMakerCleanupProps {
  /** The tag the pipeline puts on every model, endpoint config and endpoint it creates. */
  readonly ownerTag: { readonly key: string; readonly value: string };
  /** Prefix of the model and endpoint-config names the pipeline creates (`<namePrefix>-<uuid>`). */
  readonly namePrefix: string;
  readonly endpointName: string;
  readonly encryptionKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  /** What happens to the clean-up's log groups when its stack is deleted. */
  readonly removalPolicy: RemovalPolicy;
  /** The endpoint's log group: deleted only after the clean-up has waited for the endpoint to be gone. */
  readonly endpointLogGroup: logs.ILogGroup;
}

/**
 * A custom resource that does nothing until its stack is deleted, then deletes the SageMaker endpoint, endpoint
 * configs and models that the training pipeline created outside CloudFormation, found by their owner tag. Without
 * it, `cdk destroy` would leave an endpoint billing. If the clean-up fails, so does the stack deletion.
 */
export class SageMakerCleanup extends Construct {
  constructor(scope: Construct, id: string, props: SageMakerCleanupProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const handler = new PipelineFunction(this, 'Handler', {
      entry: 'sagemaker-cleanup',
      description: 'Deletes the SageMaker resources of the training pipeline when its stack is deleted',
      environment: { OWNER_TAG_KEY: props.ownerTag.key, OWNER_TAG_VALUE: props.ownerTag.value },
      timeout: Duration.minutes(15),
      encryptionKey: props.encryptionKey,
      logRetention: props.logRetention,
      removal: { removalPolicy: props.removalPolicy },
    });
    const arn = (resource: string, name: string) =>
      stack.formatArn({ service: 'sagemaker', resource, resourceName: name });
    const runResources = (['endpoint-config', 'model'] as const).map((resource) =>
      runResourceArn(this, resource, props.namePrefix),
    );
    handler.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'FindTaggedResources', actions: ['tag:GetResources'], resources: ['*'] }),
    );
    handler.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'DeletePipelineResources',
        actions: ['sagemaker:DeleteEndpoint', 'sagemaker:DeleteEndpointConfig', 'sagemaker:DeleteModel'],
        resources: [arn('endpoint', props.endpointName), ...runResources],
      }),
    );
    handler.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WaitForEndpointDeletion',
        actions: ['sagemaker:DescribeEndpoint'],
        resources: [arn('endpoint', props.endpointName)],
      }),
    );
    Validations.of(handler.role).acknowledge(
      ...runResources.map((resource) => ({
        id: resourceFindingId(handler.role, resource),
        reason: 'The pipeline names each model and endpoint config <namePrefix>-<uuid> at run time.',
      })),
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'tag:GetResources and X-Ray tracing have no resource-level permissions; deletes are scoped by ARN.',
      },
    );

    const resource = new CustomResource(this, 'Resource', {
      serviceToken: handler.function.functionArn,
      resourceType: 'Custom::SageMakerCleanup',
      properties: { OwnerTagKey: props.ownerTag.key, OwnerTagValue: props.ownerTag.value },
    });
    // The function and its permissions must outlive the resource so the delete can run.
    resource.node.addDependency(handler, props.endpointLogGroup);
  }
}
