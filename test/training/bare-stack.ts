import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { bareStack as sharedBareStack, stateMachineDefinition } from '../helpers';

/**
 * An environment-agnostic stack of its own for one training construct under test, as the app's Training stack is
 * (the XGBoost image then comes from the region map); the lake's resources are imported by name, below.
 */
export const bareStack = (): Stack => sharedBareStack('Test', null);

export const importedBucket = (stack: Stack, name: string): s3.IBucket =>
  s3.Bucket.fromBucketName(stack, `${name}Bucket`, name);

export const importedKey = (stack: Stack): kms.IKey =>
  kms.Key.fromKeyArn(stack, 'Key', 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab');

export const importedRole = (stack: Stack): iam.IRole =>
  iam.Role.fromRoleArn(stack, 'SageMakerRole', 'arn:aws:iam::123456789012:role/sagemaker');

export const importedTopic = (stack: Stack): sns.ITopic =>
  sns.Topic.fromTopicArn(stack, 'Topic', 'arn:aws:sns:eu-west-1:123456789012:notifications');

/** A state that stands for the rest of a pipeline (its failure path, the next step). */
export const placeholder = (stack: Stack, id: string): sfn.IChainable => new sfn.Pass(stack, id);

/** Puts `start` in a state machine on its stack and returns the rendered states and the machine's policy. */
export function render(
  stack: Stack,
  start: sfn.IChainable,
): { states: Record<string, Record<string, unknown>>; statements: Record<string, unknown>[] } {
  new sfn.StateMachine(stack, 'Machine', { definitionBody: sfn.DefinitionBody.fromChainable(start) });
  const template = Template.fromStack(stack);
  const states = (stateMachineDefinition(template) as { States: Record<string, Record<string, unknown>> }).States;
  const policies = Object.values(template.findResources('AWS::IAM::Policy'));
  const statements = policies.flatMap(
    (p) => (p.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement,
  );
  return { states, statements };
}
