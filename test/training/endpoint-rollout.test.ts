import { Duration, Size } from 'aws-cdk-lib';
import type { EndpointCapacity } from '../../lib/training/endpoint-capacity';
import { EndpointRollout, type EndpointRolloutProps } from '../../lib/training/endpoint-rollout';
import { bareStack, importedKey, importedRole, importedTopic, placeholder, render } from './bare-stack';

const serverless = (memory: Size, maxConcurrency = 5): EndpointCapacity => ({ serverless: { memory, maxConcurrency } });

function rollout(overrides: Partial<EndpointRolloutProps> = {}) {
  const stack = bareStack();
  const step = new EndpointRollout(stack, 'Rollout', {
    namePrefix: 'mlpipe-test',
    endpointName: 'mlpipe-test-fraud',
    capacity: serverless(Size.gibibytes(2)),
    modelPackagesArn: 'arn:aws:sagemaker:eu-west-1:123456789012:model-package/mlpipe-test-models/*',
    sagemakerRole: importedRole(stack),
    encryptionKey: importedKey(stack),
    ownerTag: { key: 'owner', value: 'test' },
    onFailure: placeholder(stack, 'Failed'),
    notifications: importedTopic(stack),
    onSuccess: placeholder(stack, 'Done'),
    ...overrides,
  });
  return { stack, step };
}

describe('EndpointRollout', () => {
  test('gives a serverless variant its memory in MiB and its concurrency, and an instance variant its instances', () => {
    const small = rollout({ capacity: serverless(Size.gibibytes(3), 7) });
    expect(render(small.stack, small.step.startState).states.CreateEndpointConfig.Parameters).toMatchObject({
      ProductionVariants: [{ VariantName: 'primary', ServerlessConfig: { MemorySizeInMB: 3072, MaxConcurrency: 7 } }],
    });
    const warm = rollout({ capacity: { instances: { instanceType: 'ml.c5.large', count: 2 } } });
    expect(render(warm.stack, warm.step.startState).states.CreateEndpointConfig.Parameters).toMatchObject({
      ProductionVariants: [{ InstanceType: 'ml.c5.large', InitialInstanceCount: 2 }],
      KmsKeyId: expect.stringContaining(':key/'),
    });
  });
});

describe('EndpointRollout validation', () => {
  test.each<[string, Partial<EndpointRolloutProps>, string]>([
    [
      'serverless memory that is not whole GiB',
      { capacity: serverless(Size.mebibytes(1536)) },
      'EndpointRollout Test/Rollout: capacity.serverless.memory (1536 MiB) must be 1 to 6 GiB in whole GiB; pass for example Size.gibibytes(2)',
    ],
    [
      'serverless memory above 6 GiB',
      { capacity: serverless(Size.gibibytes(8)) },
      'EndpointRollout Test/Rollout: capacity.serverless.memory (8192 MiB) must be 1 to 6 GiB in whole GiB; pass for example Size.gibibytes(2)',
    ],
    [
      'a serverless concurrency above 200',
      { capacity: serverless(Size.gibibytes(2), 500) },
      'EndpointRollout Test/Rollout: capacity.serverless.maxConcurrency 500 must be a whole number from 1 to 200',
    ],
    [
      'an instance type without the ml. prefix',
      { capacity: { instances: { instanceType: 'm5.large', count: 1 } } },
      "EndpointRollout Test/Rollout: capacity.instances.instanceType 'm5.large' is not a SageMaker instance type; pass one such as 'ml.m5.large'",
    ],
    [
      'no instance',
      { capacity: { instances: { instanceType: 'ml.m5.large', count: 0 } } },
      'EndpointRollout Test/Rollout: capacity.instances.count 0 must be a whole number of at least 1',
    ],
    [
      'an endpoint name SageMaker refuses',
      { endpointName: 'fraud_endpoint' },
      "EndpointRollout Test/Rollout: endpointName 'fraud_endpoint' must be 1 to 63 lower-case letters, digits and inner hyphens",
    ],
    [
      'an upper-case endpoint name, which no IAM statement by ARN would match',
      { endpointName: 'Fraud-EP' },
      "EndpointRollout Test/Rollout: endpointName 'Fraud-EP' must be 1 to 63 lower-case letters, digits and inner hyphens",
    ],
    [
      'a poll interval that is not whole seconds',
      { pollInterval: Duration.millis(500) },
      'EndpointRollout Test/Rollout: pollInterval (0.5 s) must be a whole number of seconds, at least 1',
    ],
  ])('rejects %s', (_, overrides, message) => {
    expect(() => rollout(overrides)).toThrow(message);
  });
});
