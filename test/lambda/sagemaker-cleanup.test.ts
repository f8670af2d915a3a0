import { GetResourcesCommand, ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import {
  DeleteEndpointCommand,
  DescribeEndpointCommand,
  DeleteEndpointConfigCommand,
  DeleteModelCommand,
  DeleteModelPackageCommand,
  ListModelPackagesCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import {
  DELETE_CONCURRENCY,
  finishCleanUp,
  isCleanupComplete,
  onCleanupEvent,
  ownerTagFromEnvironment,
  resourceName,
  startCleanUp,
  type CleanupRequest,
} from '../../lambda/sagemaker-cleanup/cleanup';

const sagemaker = mockClient(SageMakerClient);
const tagging = mockClient(ResourceGroupsTaggingAPIClient);
const clients = { sagemaker: new SageMakerClient({}), tagging: new ResourceGroupsTaggingAPIClient({}) };
const tag = { key: 'ml-pipeline:owner', value: 'mlpipe-sandbox-training-pipeline' };
const arn = (type: string, name: string) => `arn:aws:sagemaker:eu-west-1:123456789012:${type}/${name}`;

const notFound = (name: string) =>
  Object.assign(new Error(`Could not find endpoint "${name}".`), { name: 'ValidationException' });
const logs = { logGroupName: 'cleanup-logs', logStreamName: 'stream-7' };
const GROUP = 'mlpipe-sandbox-models';

beforeEach(() => {
  sagemaker.reset();
  tagging.reset();
  sagemaker.on(DescribeEndpointCommand).callsFake(({ EndpointName }) => Promise.reject(notFound(EndpointName)));
  sagemaker.on(ListModelPackagesCommand).resolves({ ModelPackageSummaryList: [] });
});

describe('startCleanUp (onEvent on a deletion)', () => {
  test('deletes the endpoints carrying the owner tag, and nothing else yet', async () => {
    tagging.on(GetResourcesCommand).resolves({
      ResourceTagMappingList: [{ ResourceARN: arn('endpoint', 'mlpipe-sandbox-fraud') }],
    });
    expect(await startCleanUp(clients, tag)).toEqual(['mlpipe-sandbox-fraud']);
    expect(sagemaker.commandCalls(DeleteEndpointCommand).map((c) => c.args[0].input)).toEqual([
      { EndpointName: 'mlpipe-sandbox-fraud' },
    ]);
    expect(sagemaker.commandCalls(DeleteEndpointConfigCommand)).toHaveLength(0);
    expect(sagemaker.commandCalls(DeleteModelCommand)).toHaveLength(0);
    const filters = tagging.commandCalls(GetResourcesCommand)[0].args[0].input;
    expect(filters.TagFilters).toEqual([{ Key: tag.key, Values: [tag.value] }]);
    expect(filters.ResourceTypeFilters).toEqual(['sagemaker:endpoint']);
  });

  test('treats an endpoint that is already gone as deleted', async () => {
    tagging.on(GetResourcesCommand).resolves({ ResourceTagMappingList: [{ ResourceARN: arn('endpoint', 'e') }] });
    sagemaker.on(DeleteEndpointCommand).rejects(notFound('e'));
    expect(await startCleanUp(clients, tag)).toEqual(['e']);
  });
});

describe('finishCleanUp (isComplete on a deletion)', () => {
  test("deletes every version of the registry's group, across pages, by ARN, and is complete once none is left", async () => {
    const version = (n: number) => `arn:aws:sagemaker:eu-west-1:123456789012:model-package/${GROUP}/${n}`;
    const summary = (n: number, status: string) =>
      ({ ModelPackageArn: version(n), ModelPackageStatus: status }) as never;
    tagging.on(GetResourcesCommand).resolves({ ResourceTagMappingList: [] });
    sagemaker
      .on(ListModelPackagesCommand, {
        ModelPackageGroupName: GROUP,
        ModelPackageType: 'Versioned',
        NextToken: undefined,
      })
      .resolvesOnce({ ModelPackageSummaryList: [summary(1, 'Completed')], NextToken: 'page-2' })
      .resolves({ ModelPackageSummaryList: [] })
      .on(ListModelPackagesCommand, {
        ModelPackageGroupName: GROUP,
        ModelPackageType: 'Versioned',
        NextToken: 'page-2',
      })
      .resolves({ ModelPackageSummaryList: [summary(2, 'Deleting')] });
    // The first look finds two, one already deleting: it deletes the other and is not complete yet.
    expect(await finishCleanUp(clients, tag, [], GROUP)).toBeUndefined();
    expect(sagemaker.commandCalls(DeleteModelPackageCommand).map((c) => c.args[0].input.ModelPackageName)).toEqual([
      version(1),
    ]);
    // The next poll finds none left.
    expect(await finishCleanUp(clients, tag, [], GROUP)).toMatchObject({ modelPackages: [] });
  });

  test('keeps the registry where the stage keeps its data (an empty group name)', async () => {
    tagging.on(GetResourcesCommand).resolves({ ResourceTagMappingList: [] });
    expect(await finishCleanUp(clients, tag, [], '')).toMatchObject({ modelPackages: [] });
    expect(sagemaker.commandCalls(ListModelPackagesCommand)).toHaveLength(0);
  });

  test('waits while a deleted endpoint is still Deleting, and deletes no config meanwhile', async () => {
    sagemaker.on(DescribeEndpointCommand).resolves({ EndpointStatus: 'Deleting' });
    expect(await finishCleanUp(clients, tag, ['mlpipe-sandbox-fraud'], GROUP)).toBeUndefined();
    expect(tagging.calls()).toHaveLength(0);
    expect(sagemaker.commandCalls(DeleteEndpointConfigCommand)).toHaveLength(0);
  });

  test('once the endpoint is gone, finds configs and models by the owner tag across pages and deletes configs first', async () => {
    tagging
      .on(GetResourcesCommand, { PaginationToken: undefined })
      .resolves({
        ResourceTagMappingList: [{ ResourceARN: arn('model', 'mlpipe-sandbox-a') }],
        PaginationToken: 'page-2',
      })
      .on(GetResourcesCommand, { PaginationToken: 'page-2' })
      .resolves({
        ResourceTagMappingList: [
          { ResourceARN: arn('endpoint-config', 'mlpipe-sandbox-a') },
          { ResourceARN: arn('model', 'mlpipe-sandbox-b') },
        ],
        PaginationToken: '',
      });
    const order: string[] = [];
    sagemaker
      .on(DeleteEndpointConfigCommand)
      .callsFake((input) => order.push(`config:${input.EndpointConfigName}`))
      .on(DeleteModelCommand)
      .callsFake((input) => order.push(`model:${input.ModelName}`));

    const report = await finishCleanUp(clients, tag, ['mlpipe-sandbox-fraud'], GROUP);

    expect(order).toEqual(['config:mlpipe-sandbox-a', 'model:mlpipe-sandbox-a', 'model:mlpipe-sandbox-b']);
    expect(report).toEqual({
      endpoints: ['mlpipe-sandbox-fraud'],
      endpointConfigs: ['mlpipe-sandbox-a'],
      models: ['mlpipe-sandbox-a', 'mlpipe-sandbox-b'],
      modelPackages: [],
    });
    const filters = tagging.commandCalls(GetResourcesCommand)[0].args[0].input;
    expect(filters.TagFilters).toEqual([{ Key: tag.key, Values: [tag.value] }]);
    expect(filters.ResourceTypeFilters).toEqual(['sagemaker:endpoint-config', 'sagemaker:model']);
  });

  test('does nothing when the pipeline never created anything', async () => {
    tagging.on(GetResourcesCommand).resolves({ ResourceTagMappingList: [] });
    expect(await finishCleanUp(clients, tag, [], GROUP)).toEqual({
      endpoints: [],
      endpointConfigs: [],
      models: [],
      modelPackages: [],
    });
    // It only looked: at the registry's group, which has no versions.
    expect(sagemaker.calls().map((call) => call.args[0].constructor.name)).toEqual(['ListModelPackagesCommand']);
  });

  test('deletes many leftover models a few at a time', async () => {
    const names = Array.from({ length: 12 }, (_, i) => `mlpipe-sandbox-${i}`);
    tagging
      .on(GetResourcesCommand)
      .resolves({ ResourceTagMappingList: names.map((n) => ({ ResourceARN: arn('model', n) })) });
    let inFlight = 0;
    let peak = 0;
    sagemaker.on(DeleteModelCommand).callsFake(async () => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight -= 1;
      return {};
    });
    expect((await finishCleanUp(clients, tag, [], GROUP))?.models).toEqual(names);
    expect(sagemaker.commandCalls(DeleteModelCommand)).toHaveLength(12);
    expect(peak).toBe(DELETE_CONCURRENCY);
  });

  test('treats a resource that is already gone as deleted', async () => {
    tagging
      .on(GetResourcesCommand)
      .resolves({ ResourceTagMappingList: [{ ResourceARN: arn('model', 'mlpipe-sandbox-a') }] });
    const gone = Object.assign(new Error('Could not find model "mlpipe-sandbox-a".'), { name: 'ValidationException' });
    sagemaker.on(DeleteModelCommand).rejects(gone);
    await expect(finishCleanUp(clients, tag, [], GROUP)).resolves.toEqual({
      endpoints: [],
      endpointConfigs: [],
      models: ['mlpipe-sandbox-a'],
      modelPackages: [],
    });
  });

  test('fails when a deleted endpoint came back, instead of waiting for it until the timeout', async () => {
    sagemaker.on(DescribeEndpointCommand).resolves({ EndpointStatus: 'Creating' });
    await expect(finishCleanUp(clients, tag, ['e'], GROUP)).rejects.toThrow(
      "endpoint e is Creating although its deletion was started; stop the training pipeline's running executions, then delete the stack again",
    );
  });

  test('fails on any other error, so the stack deletion stops instead of leaving resources behind', async () => {
    tagging.on(GetResourcesCommand).resolves({ ResourceTagMappingList: [{ ResourceARN: arn('model', 'm') }] });
    sagemaker
      .on(DeleteModelCommand)
      .rejects(Object.assign(new Error('Access denied'), { name: 'AccessDeniedException' }));
    await expect(finishCleanUp(clients, tag, [], GROUP)).rejects.toThrow('Access denied');
  });
});

test('rejects an ARN that is not a SageMaker resource', () => {
  expect(resourceName(arn('endpoint-config', 'x'))).toEqual({ type: 'endpoint-config', name: 'x' });
  expect(() => resourceName('arn:aws:s3:::bucket')).toThrow('Not a SageMaker resource ARN: arn:aws:s3:::bucket');
});

test('needs the owner tag in the environment before it starts', () => {
  expect(ownerTagFromEnvironment({ OWNER_TAG_KEY: 'k', OWNER_TAG_VALUE: 'v' })).toEqual({ key: 'k', value: 'v' });
  expect(() => ownerTagFromEnvironment({ OWNER_TAG_KEY: 'k' })).toThrow(
    'OWNER_TAG_KEY and OWNER_TAG_VALUE must be set on the function',
  );
});

const event = (requestType: 'Create' | 'Update' | 'Delete'): CloudFormationCustomResourceEvent =>
  ({
    RequestType: requestType,
    ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:framework-onEvent',
    ResponseURL: 'https://example.invalid/response',
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/training/1',
    RequestId: 'request-1',
    LogicalResourceId: 'SageMakerCleanup',
    ResourceType: 'Custom::SageMakerCleanup',
    ResourceProperties: { ServiceToken: 'token' },
    ...(requestType === 'Create' ? {} : { PhysicalResourceId: 'sagemaker-cleanup-SageMakerCleanup' }),
    ...(requestType === 'Update' ? { OldResourceProperties: {} } : {}),
  }) as CloudFormationCustomResourceEvent;

describe('the provider framework handlers', () => {
  test('do no clean-up on create and update, and keep one physical id', async () => {
    expect(await onCleanupEvent(event('Create'), clients, tag, logs)).toEqual({
      PhysicalResourceId: 'sagemaker-cleanup-SageMakerCleanup',
    });
    expect(await onCleanupEvent(event('Update'), clients, tag, logs)).toEqual({
      PhysicalResourceId: 'sagemaker-cleanup-SageMakerCleanup',
    });
    expect(await isCleanupComplete(event('Create'), clients, tag, logs, GROUP)).toEqual({ IsComplete: true });
    expect(await isCleanupComplete(event('Update'), clients, tag, logs, GROUP)).toEqual({ IsComplete: true });
    expect(tagging.calls()).toHaveLength(0);
    expect(sagemaker.calls()).toHaveLength(0);
  });

  test('on delete, onEvent hands the endpoints it started deleting on to isComplete, which waits for them', async () => {
    tagging
      .on(GetResourcesCommand, { ResourceTypeFilters: ['sagemaker:endpoint'] })
      .resolves({ ResourceTagMappingList: [{ ResourceARN: arn('endpoint', 'mlpipe-sandbox-fraud') }] })
      .on(GetResourcesCommand, { ResourceTypeFilters: ['sagemaker:endpoint-config', 'sagemaker:model'] })
      .resolves({ ResourceTagMappingList: [{ ResourceARN: arn('endpoint-config', 'mlpipe-sandbox-a') }] });
    let deleting = true;
    sagemaker
      .on(DescribeEndpointCommand)
      .callsFake(({ EndpointName }) =>
        deleting ? { EndpointStatus: 'Deleting' } : Promise.reject(notFound(EndpointName)),
      );

    const started = await onCleanupEvent(event('Delete'), clients, tag, logs);
    expect(started).toEqual({
      PhysicalResourceId: 'sagemaker-cleanup-SageMakerCleanup',
      DeletingEndpoints: ['mlpipe-sandbox-fraud'],
    });
    // The provider framework merges onEvent's answer into the request it gives isComplete.
    const request: CleanupRequest = { ...event('Delete'), ...started };
    expect(await isCleanupComplete(request, clients, tag, logs, GROUP)).toEqual({ IsComplete: false });
    deleting = false;
    expect(await isCleanupComplete(request, clients, tag, logs, GROUP)).toEqual({
      IsComplete: true,
      deleted: {
        endpoints: ['mlpipe-sandbox-fraud'],
        endpointConfigs: ['mlpipe-sandbox-a'],
        models: [],
        modelPackages: [],
      },
    });
  });

  test('fail with the cause and the log group and stream to read, which the framework reports to CloudFormation', async () => {
    tagging
      .on(GetResourcesCommand)
      .rejects(Object.assign(new Error('Access denied'), { name: 'AccessDeniedException' }));
    await expect(onCleanupEvent(event('Delete'), clients, tag, logs)).rejects.toThrow(
      'SageMaker clean-up failed: Access denied (see CloudWatch log group cleanup-logs, stream stream-7)',
    );
    await expect(isCleanupComplete(event('Delete'), clients, tag, logs, GROUP)).rejects.toThrow(
      'SageMaker clean-up failed: Access denied (see CloudWatch log group cleanup-logs, stream stream-7)',
    );
  });
});
