import { Match, Template } from 'aws-cdk-lib/assertions';
import { SageMakerExecutionRole } from '../../lib/training/sagemaker-execution-role';
import { bareStack, importedBucket, importedKey } from './bare-stack';

function role(imageRepositoryArn = 'arn:aws:ecr:eu-west-1:141502667606:repository/sagemaker-xgboost') {
  const stack = bareStack();
  new SageMakerExecutionRole(stack, 'SageMakerRole', {
    curatedBucket: importedBucket(stack, 'curated'),
    modelsBucket: importedBucket(stack, 'models'),
    checkpointsBucket: importedBucket(stack, 'checkpoints'),
    encryptionKey: importedKey(stack),
    imageRepositoryArn,
  });
  return Template.fromStack(stack);
}

describe('SageMakerExecutionRole', () => {
  test('is assumed by SageMaker, has no managed policy, and pulls only the algorithm image', () => {
    const template = role();
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Principal: { Service: 'sagemaker.amazonaws.com' } })],
      },
      ManagedPolicyArns: Match.absent(),
    });
    const [policy] = Object.values(template.findResources('AWS::IAM::Policy'));
    const statements = policy.Properties.PolicyDocument.Statement as { Sid: string; Resource: unknown }[];
    expect(statements.map((s) => s.Sid)).toEqual([
      'ListTrainingInputsAndCheckpoints',
      'ReadTrainingExports',
      'WriteModelsAndCheckpoints',
      'UseLakeKey',
      'CreateVolumeGrants',
      'PullAlgorithmImage',
      'EcrLogin',
      'WriteJobAndEndpointLogs',
      'PublishMetrics',
    ]);
    expect(statements.find((s) => s.Sid === 'PullAlgorithmImage')?.Resource).toBe(
      'arn:aws:ecr:eu-west-1:141502667606:repository/sagemaker-xgboost',
    );
  });

  test('rejects an image repository that is not an ECR repository ARN', () => {
    expect(() => role('141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1')).toThrow(
      "SageMakerExecutionRole Test/SageMakerRole: imageRepositoryArn '141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1' is not an ECR repository ARN; pass one like arn:aws:ecr:<region>:<account>:repository/<name> (XgboostImage.repositoryArn)",
    );
  });
});
