import { Stack, Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import { resourceFindingId } from '../shared/nag-findings';
import { runResourceArn } from './run-names';

/**
 * Each wildcard the training states' generated grants leave in the state machine's role, with why it cannot be
 * narrower; the registry and the champion/challenger acknowledge their own.
 */
export function acknowledgeTrainingWildcards(
  scope: IConstruct,
  role: iam.IRole,
  namePrefix: string,
  evaluatorArn: string,
): void {
  const trainingJobs = Stack.of(scope).formatArn({
    service: 'sagemaker',
    resource: 'training-job',
    resourceName: '*',
  });
  Validations.of(role).acknowledge(
    {
      id: resourceFindingId(role, `${evaluatorArn}:*`),
      reason: 'LambdaInvoke grants invoking every version and alias of the one evaluation function.',
    },
    {
      id: resourceFindingId(role, trainingJobs),
      reason:
        'The createTrainingJob.sync integration acts on training-job/*; jobs are named <namePrefix>-<uuid> at run time.',
    },
    ...(['model', 'endpoint-config'] as const).map((resource) => ({
      id: resourceFindingId(role, runResourceArn(scope, resource, namePrefix)),
      reason: `Each run creates a ${resource} named <namePrefix>-<uuid>; the wildcard covers only this stage's runs.`,
    })),
    {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Log delivery, X-Ray tracing, sagemaker:ListModels / ListEndpointConfigs (the clean-up of old versions) and sagemaker:ListTags (which the createTrainingJob.sync and createTransformJob.sync integrations need) have no resource-level permissions.',
    },
  );
}
