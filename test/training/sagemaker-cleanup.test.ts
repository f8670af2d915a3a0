import { Duration, RemovalPolicy, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import { SageMakerCleanup, type SageMakerCleanupProps } from '../../lib/training/sagemaker-cleanup';
import { templateText } from '../helpers';
import { bareStack, importedKey } from './bare-stack';

function cleanup(overrides: Partial<SageMakerCleanupProps> = {}, stack: Stack = bareStack()) {
  new SageMakerCleanup(stack, 'Cleanup', {
    ownerTag: { key: 'owner', value: 'mlpipe-test-training-pipeline' },
    namePrefix: 'mlpipe-test',
    endpointName: 'mlpipe-test-fraud',
    modelPackageGroupName: 'mlpipe-test-models',
    encryptionKey: importedKey(stack),
    logRetention: logs.RetentionDays.ONE_YEAR,
    removalPolicy: RemovalPolicy.RETAIN,
    endpointLogGroup: logs.LogGroup.fromLogGroupName(stack, 'EndpointLogs', '/aws/sagemaker/Endpoints/x'),
    ...overrides,
  });
  return stack;
}

describe('SageMakerCleanup, the provider-framework custom resource (built once)', () => {
  const template = Template.fromStack(cleanup({ timeout: Duration.minutes(20), pollInterval: Duration.seconds(20) }));
  const functions = template.findResources('AWS::Lambda::Function');
  const byHandler = (handler: string) => Object.entries(functions).find(([, f]) => f.Properties.Handler === handler)!;

  test('polls isComplete every pollInterval until timeout, through the waiter state machine', () => {
    const [waiter] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
    const definition = templateText(waiter.Properties.DefinitionString);
    expect(definition).toContain('"IntervalSeconds":20,"MaxAttempts":60,"BackoffRate":1');
    expect(waiter.Properties.LoggingConfiguration).toMatchObject({ Level: 'ALL', IncludeExecutionData: false });
  });

  test('runs onEvent and isComplete as two functions of the one bundle, the framework calling each', () => {
    expect(byHandler('index.onEvent')[1].Properties.Environment.Variables).toMatchObject({ OWNER_TAG_KEY: 'owner' });
    expect(byHandler('index.isComplete')).toBeDefined();
    const [entryPointId, entryPoint] = byHandler('framework.onEvent');
    expect(entryPoint.Properties.Environment.Variables).toEqual({
      USER_ON_EVENT_FUNCTION_ARN: { 'Fn::GetAtt': [byHandler('index.onEvent')[0], 'Arn'] },
      USER_IS_COMPLETE_FUNCTION_ARN: { 'Fn::GetAtt': [byHandler('index.isComplete')[0], 'Arn'] },
      WAITER_STATE_MACHINE_ARN: { Ref: expect.stringMatching(/waiterstatemachine/) },
    });
    template.hasResourceProperties('Custom::SageMakerCleanup', {
      ServiceToken: { 'Fn::GetAtt': [entryPointId, 'Arn'] },
      OwnerTagValue: 'mlpipe-test-training-pipeline',
    });
  });

  test("writes every function's logs, the framework's included, to encrypted groups with the retention", () => {
    const groups = template.findResources('AWS::Logs::LogGroup');
    expect(Object.keys(groups)).toHaveLength(4);
    for (const group of Object.values(groups)) {
      expect(group.Properties).toMatchObject({ RetentionInDays: 365, KmsKeyId: expect.stringContaining(':key/') });
      expect(group.DeletionPolicy).toBe('Retain');
    }
    for (const fn of Object.values(functions)) {
      expect(Object.keys(groups)).toContain(fn.Properties.LoggingConfig.LogGroup.Ref);
    }
  });

  test('gives no role a managed policy', () => {
    for (const role of Object.values(template.findResources('AWS::IAM::Role'))) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });

  test('is deleted before everything that runs its deletion (the endpoint log group: training-stack.test.ts)', () => {
    const [resource] = Object.values(template.findResources('Custom::SageMakerCleanup'));
    const dependsOn = resource.DependsOn as string[];
    for (const id of [
      ...Object.keys(functions),
      ...Object.keys(template.findResources('AWS::IAM::Policy')),
      ...Object.keys(template.findResources('AWS::StepFunctions::StateMachine')),
      ...Object.keys(template.findResources('AWS::Logs::LogGroup')),
    ]) {
      expect(dependsOn).toContain(id);
    }
  });
});

test("gives the provider's entry point the logical id a deployed stack's ServiceToken names", () => {
  const template = Template.fromStack(cleanup({ serviceTokenFunctionLogicalId: 'CleanupHandlerFunction1234ABCD' }));
  template.hasResourceProperties('Custom::SageMakerCleanup', {
    ServiceToken: { 'Fn::GetAtt': ['CleanupHandlerFunction1234ABCD', 'Arn'] },
  });
  expect(template.findResources('AWS::Lambda::Function').CleanupHandlerFunction1234ABCD.Properties.Handler).toBe(
    'framework.onEvent',
  );
});

describe('SageMakerCleanup validation', () => {
  test.each<[string, Partial<SageMakerCleanupProps>, string]>([
    [
      'a timeout above an hour',
      { timeout: Duration.hours(2) },
      "SageMakerCleanup Test/Cleanup: timeout (2 hours) must be from pollInterval up to 1 hour, a custom resource's limit",
    ],
    [
      'a timeout that is not a multiple of the poll interval',
      { timeout: Duration.seconds(100), pollInterval: Duration.seconds(15) },
      'SageMakerCleanup Test/Cleanup: timeout (100 s) must be a whole multiple of pollInterval (15 s), the provider framework polls a whole number of times; pass a timeout of 105 s',
    ],
    [
      'a poll interval that is not whole seconds',
      { pollInterval: Duration.millis(2500) },
      'SageMakerCleanup Test/Cleanup: pollInterval (2 seconds 500 millis) must be a whole number of seconds, at least 1',
    ],
    [
      'an upper-case endpoint name, which the delete statement by ARN would never match',
      { endpointName: 'Fraud-EP' },
      "SageMakerCleanup Test/Cleanup: endpointName 'Fraud-EP' must be 1 to 63 lower-case letters, digits and inner hyphens",
    ],
    [
      'a ServiceToken function id that is not a logical id',
      { serviceTokenFunctionLogicalId: 'Cleanup/Handler' },
      "SageMakerCleanup Test/Cleanup: serviceTokenFunctionLogicalId 'Cleanup/Handler' is not a logical id; pass the alphanumeric id of the function in the deployed template",
    ],
  ])('rejects %s', (_, overrides, message) => {
    expect(() => cleanup(overrides)).toThrow(message);
  });
});
