import { type Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';

/**
 * What a state machine needs to run a SageMaker job through Step Functions' optimized `.sync` integration, the same
 * statements CDK's own tasks generate (Step Functions developer guide, "IAM policies for Amazon SageMaker AI"):
 * create, describe and stop the job and tag it, list tags, and manage the EventBridge rule through which Step
 * Functions learns that the job ended. A job that runs as a role also needs `iam:PassRole` for it, which the caller
 * adds.
 */
export function sageMakerJobSyncStatements(
  stack: Stack,
  kind: 'Training' | 'Transform',
  jobArn: string,
): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({
      actions: [`sagemaker:Create${kind}Job`, `sagemaker:Describe${kind}Job`, `sagemaker:Stop${kind}Job`],
      resources: [jobArn],
    }),
    new iam.PolicyStatement({ actions: ['sagemaker:ListTags'], resources: ['*'] }),
    new iam.PolicyStatement({ actions: ['sagemaker:AddTags'], resources: [jobArn] }),
    new iam.PolicyStatement({
      actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
      resources: [
        stack.formatArn({
          service: 'events',
          resource: 'rule',
          resourceName: `StepFunctionsGetEventsForSageMaker${kind}JobsRule`,
        }),
      ],
    }),
  ];
}
