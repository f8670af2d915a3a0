import { GetResourcesCommand, ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import {
  DeleteEndpointCommand,
  DescribeEndpointCommand,
  DeleteEndpointConfigCommand,
  DeleteModelCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DELETE_CONCURRENCY, cleanUp, resourceName } from '../../lambda/sagemaker-cleanup/cleanup';
import { handleEvent, sendResponse } from '../../lambda/sagemaker-cleanup/custom-resource';

const sagemaker = mockClient(SageMakerClient);
const tagging = mockClient(ResourceGroupsTaggingAPIClient);
const clients = { sagemaker: new SageMakerClient({}), tagging: new ResourceGroupsTaggingAPIClient({}) };
const tag = { key: 'ml-pipeline:owner', value: 'mlpipe-sandbox-training-pipeline' };
const arn = (type: string, name: string) => `arn:aws:sagemaker:eu-west-1:123456789012:${type}/${name}`;

const notFound = (name: string) =>
  Object.assign(new Error(`Could not find endpoint "${name}".`), { name: 'ValidationException' });

beforeEach(() => {
  sagemaker.reset();
  tagging.reset();
  sagemaker.on(DescribeEndpointCommand).callsFake(({ EndpointName }) => Promise.reject(notFound(EndpointName)));
});

describe('cleanUp', () => {
  test('waits until a deleted endpoint is gone before deleting its configs', async () => {
    tagging.on(GetResourcesCommand).resolves({
      ResourceTagMappingList: [
        { ResourceARN: arn('endpoint', 'mlpipe-sandbox-fraud') },
        { ResourceARN: arn('endpoint-config', 'mlpipe-sandbox-a') },
      ],
    });
    const order: string[] = [];
    let describes = 0;
    sagemaker
      .on(DeleteEndpointCommand)
      .callsFake(() => order.push('delete endpoint'))
      .on(DescribeEndpointCommand)
      .callsFake(({ EndpointName }) => {
        describes++;
        order.push('describe');
        return describes < 3 ? { EndpointStatus: 'Deleting' } : Promise.reject(notFound(EndpointName));
      })
      .on(DeleteEndpointConfigCommand)
      .callsFake(() => order.push('delete config'));
    const sleeps: number[] = [];

    await cleanUp(clients, tag, { pollMs: 15_000, sleep: async (ms) => void sleeps.push(ms) });

    expect(order).toEqual(['delete endpoint', 'describe', 'describe', 'describe', 'delete config']);
    expect(sleeps).toEqual([15_000, 15_000]);
  });

  test('finds resources by the owner tag, across pages, and deletes endpoints before configs and models', async () => {
    tagging
      .on(GetResourcesCommand, { PaginationToken: undefined })
      .resolves({
        ResourceTagMappingList: [
          { ResourceARN: arn('endpoint', 'mlpipe-sandbox-fraud') },
          { ResourceARN: arn('model', 'mlpipe-sandbox-a') },
        ],
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
      .on(DeleteEndpointCommand)
      .callsFake((input) => order.push(`endpoint:${input.EndpointName}`))
      .on(DeleteEndpointConfigCommand)
      .callsFake((input) => order.push(`config:${input.EndpointConfigName}`))
      .on(DeleteModelCommand)
      .callsFake((input) => order.push(`model:${input.ModelName}`));

    const report = await cleanUp(clients, tag);

    expect(order).toEqual([
      'endpoint:mlpipe-sandbox-fraud',
      'config:mlpipe-sandbox-a',
      'model:mlpipe-sandbox-a',
      'model:mlpipe-sandbox-b',
    ]);
    expect(report).toEqual({
      endpoints: ['mlpipe-sandbox-fraud'],
      endpointConfigs: ['mlpipe-sandbox-a'],
      models: ['mlpipe-sandbox-a', 'mlpipe-sandbox-b'],
    });
    const filters = tagging.commandCalls(GetResourcesCommand)[0].args[0].input;
    expect(filters.TagFilters).toEqual([{ Key: tag.key, Values: [tag.value] }]);
    expect(filters.ResourceTypeFilters).toEqual(['sagemaker:endpoint', 'sagemaker:endpoint-config', 'sagemaker:model']);
  });

  test('does nothing when the pipeline never created anything', async () => {
    tagging.on(GetResourcesCommand).resolves({ ResourceTagMappingList: [] });
    expect(await cleanUp(clients, tag)).toEqual({ endpoints: [], endpointConfigs: [], models: [] });
    expect(sagemaker.calls()).toHaveLength(0);
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
    expect((await cleanUp(clients, tag)).models).toEqual(names);
    expect(sagemaker.commandCalls(DeleteModelCommand)).toHaveLength(12);
    expect(peak).toBe(DELETE_CONCURRENCY);
  });

  test('treats a resource that is already gone as deleted', async () => {
    tagging
      .on(GetResourcesCommand)
      .resolves({ ResourceTagMappingList: [{ ResourceARN: arn('model', 'mlpipe-sandbox-a') }] });
    const gone = Object.assign(new Error('Could not find model "mlpipe-sandbox-a".'), { name: 'ValidationException' });
    sagemaker.on(DeleteModelCommand).rejects(gone);
    await expect(cleanUp(clients, tag)).resolves.toEqual({
      endpoints: [],
      endpointConfigs: [],
      models: ['mlpipe-sandbox-a'],
    });
  });

  test('fails on any other error, so the stack deletion stops instead of leaving resources behind', async () => {
    tagging.on(GetResourcesCommand).resolves({ ResourceTagMappingList: [{ ResourceARN: arn('endpoint', 'e') }] });
    sagemaker
      .on(DeleteEndpointCommand)
      .rejects(Object.assign(new Error('Access denied'), { name: 'AccessDeniedException' }));
    await expect(cleanUp(clients, tag)).rejects.toThrow('Access denied');
  });

  test('rejects an ARN that is not a SageMaker resource', () => {
    expect(resourceName(arn('endpoint-config', 'x'))).toEqual({ type: 'endpoint-config', name: 'x' });
    expect(() => resourceName('arn:aws:s3:::bucket')).toThrow('Not a SageMaker resource ARN: arn:aws:s3:::bucket');
  });
});

const event = (requestType: 'Create' | 'Update' | 'Delete'): CloudFormationCustomResourceEvent =>
  ({
    RequestType: requestType,
    ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:cleanup',
    ResponseURL: 'https://example.invalid/response',
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/training/1',
    RequestId: 'request-1',
    LogicalResourceId: 'SageMakerCleanup',
    ResourceType: 'Custom::SageMakerCleanup',
    ResourceProperties: { ServiceToken: 'token' },
    ...(requestType === 'Create' ? {} : { PhysicalResourceId: 'sagemaker-cleanup-SageMakerCleanup' }),
    ...(requestType === 'Update' ? { OldResourceProperties: {} } : {}),
  }) as CloudFormationCustomResourceEvent;

describe('the custom resource protocol', () => {
  const nothing = async () => ({ endpoints: [], endpointConfigs: [], models: [] });

  test('does no clean-up on create and update', async () => {
    const cleanup = jest.fn(nothing);
    expect(await handleEvent(event('Create'), 'stream', cleanup, 1000)).toMatchObject({
      Status: 'SUCCESS',
      PhysicalResourceId: 'sagemaker-cleanup-SageMakerCleanup',
    });
    expect(await handleEvent(event('Update'), 'stream', cleanup, 1000)).toMatchObject({ Status: 'SUCCESS' });
    expect(cleanup).not.toHaveBeenCalled();
  });

  test('cleans up on delete and says what it deleted', async () => {
    const response = await handleEvent(
      event('Delete'),
      'stream',
      async () => ({ endpoints: ['e'], endpointConfigs: ['c1', 'c2'], models: ['m1', 'm2'] }),
      1000,
    );
    expect(response).toEqual({
      Status: 'SUCCESS',
      Reason: 'Deleted 1 endpoint(s), 2 endpoint config(s), 2 model(s)',
      PhysicalResourceId: 'sagemaker-cleanup-SageMakerCleanup',
      StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/training/1',
      RequestId: 'request-1',
      LogicalResourceId: 'SageMakerCleanup',
    });
  });

  test('reports a failed clean-up as FAILED with the cause and where to read the logs', async () => {
    const response = await handleEvent(
      event('Delete'),
      'log-stream-7',
      async () => {
        throw new Error('Access denied');
      },
      1000,
    );
    expect(response.Status).toBe('FAILED');
    expect(response.Reason).toBe('SageMaker clean-up failed: Access denied (see CloudWatch log stream log-stream-7)');
  });

  test('answers FAILED before the function runs out of time, instead of leaving CloudFormation waiting', async () => {
    const never = () => new Promise<never>(() => undefined);
    const response = await handleEvent(event('Delete'), 'stream', never, 20);
    expect(response.Status).toBe('FAILED');
    expect(response.Reason).toContain('not finished within 0 s; run the stack deletion again');
  });

  test('PUTs the response to the pre-signed URL as CloudFormation expects', async () => {
    const received: { method?: string; contentType?: string; body: string }[] = [];
    const server = createServer((request: IncomingMessage, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        received.push({ method: request.method, contentType: request.headers['content-type'], body });
        response.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const response = await handleEvent(event('Create'), 'stream', nothing, 1000);
      await sendResponse(`http://127.0.0.1:${port}/presigned?X-Amz-Signature=abc`, response);
      expect(received).toEqual([{ method: 'PUT', contentType: '', body: JSON.stringify(response) }]);
    } finally {
      server.close();
    }
  });
});
