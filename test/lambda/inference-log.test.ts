import { FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import { DescribeEndpointCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import { createServer } from 'node:net';
import { sendInferenceLog } from '../../lambda/predict/inference-log';
import { MODEL_NAME_TTL_MS, ModelIdentity } from '../../lambda/predict/model-identity';

const firehoseMock = mockClient(FirehoseClient);
const sagemakerMock = mockClient(SageMakerClient);
const firehose = new FirehoseClient({});
const rows = [
  { request_id: 'r', record_index: 0 },
  { request_id: 'r', record_index: 1 },
];

beforeEach(() => {
  firehoseMock.reset();
  sagemakerMock.reset();
});

describe('sendInferenceLog', () => {
  test('sends all rows in one call, one JSON line each, and counts them as sent', async () => {
    firehoseMock.on(PutRecordBatchCommand).resolves({ FailedPutCount: 0, RequestResponses: [{}, {}] });
    expect(await sendInferenceLog(firehose, 'log', rows, 500)).toEqual({ sent: 2, failed: 0 });
    const [call] = firehoseMock.commandCalls(PutRecordBatchCommand);
    expect(call.args[0].input.DeliveryStreamName).toBe('log');
    const lines = (call.args[0].input.Records ?? []).map((r) => new TextDecoder().decode(r.Data));
    expect(lines).toEqual(rows.map((row) => `${JSON.stringify(row)}\n`));
  });

  test('counts the records a partly failed call reports, with their error code', async () => {
    firehoseMock.on(PutRecordBatchCommand).resolves({
      FailedPutCount: 1,
      RequestResponses: [{ RecordId: 'a' }, { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down.' }],
    });
    expect(await sendInferenceLog(firehose, 'log', rows, 500)).toEqual({
      sent: 1,
      failed: 1,
      errorType: 'ServiceUnavailableException',
    });
  });

  test('counts every row of a call that failed as a whole, and never throws', async () => {
    firehoseMock
      .on(PutRecordBatchCommand)
      .rejects(Object.assign(new Error('gone'), { name: 'ResourceNotFoundException' }));
    expect(await sendInferenceLog(firehose, 'log', rows, 500)).toEqual({
      sent: 0,
      failed: 2,
      errorType: 'ResourceNotFoundException',
    });
  });

  test('sends nothing for no rows, and counts a batch beyond the PutRecordBatch limits without sending it', async () => {
    expect(await sendInferenceLog(firehose, 'log', [], 500)).toEqual({ sent: 0, failed: 0 });
    const many = Array.from({ length: 501 }, (_, i) => ({ i }));
    expect(await sendInferenceLog(firehose, 'log', many, 500)).toEqual({
      sent: 0,
      failed: 501,
      errorType: 'BatchTooLarge',
    });
    expect(firehoseMock.commandCalls(PutRecordBatchCommand)).toHaveLength(0);
  });
  test('gives up when the budget is spent, counting the rows as failed', async () => {
    // The mock honours no abort signal, so a real client against a socket that never answers stands in for a slow
    // stream. Last in this block: it takes the mock off the client class.
    const server = createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    firehoseMock.restore();
    try {
      const client = new FirehoseClient({
        endpoint: `http://127.0.0.1:${port}`,
        region: 'eu-west-1',
        credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      });
      const started = Date.now();
      const result = await sendInferenceLog(client, 'log', rows, 200);
      expect(Date.now() - started).toBeLessThan(1_500);
      expect(result).toMatchObject({ sent: 0, failed: 2 });
      client.destroy();
    } finally {
      server.close();
    }
  });
});

describe('ModelIdentity', () => {
  const sagemaker = new SageMakerClient({});

  test('names the endpoint config the endpoint serves, and reads it again only after the TTL', async () => {
    let now = 0;
    sagemakerMock.on(DescribeEndpointCommand).resolvesOnce({ EndpointConfigName: 'run-1' }).resolves({
      EndpointConfigName: 'run-2',
    });
    const identity = new ModelIdentity(sagemaker, 'ep', () => now);
    identity.refresh();
    expect(await identity.current(1_000)).toBe('run-1');
    now = MODEL_NAME_TTL_MS - 1;
    identity.refresh();
    expect(await identity.current(1_000)).toBe('run-1');
    expect(sagemakerMock.commandCalls(DescribeEndpointCommand)).toHaveLength(1);
    now = MODEL_NAME_TTL_MS + 1;
    identity.refresh();
    await new Promise((resolve) => setImmediate(resolve));
    expect(await identity.current(1_000)).toBe('run-2');
    expect(sagemakerMock.commandCalls(DescribeEndpointCommand)[0].args[0].input).toEqual({ EndpointName: 'ep' });
  });

  test('keeps the last name when a read fails, and is null before any read succeeded', async () => {
    let now = 0;
    sagemakerMock
      .on(DescribeEndpointCommand)
      .rejectsOnce(Object.assign(new Error('Could not find endpoint'), { name: 'ValidationException' }))
      .resolvesOnce({ EndpointConfigName: 'run-1' })
      .rejects(new Error('throttled'));
    const identity = new ModelIdentity(sagemaker, 'ep', () => now);
    identity.refresh();
    expect(await identity.current(1_000)).toBeNull();
    identity.refresh(); // a failed read is retried on the next request, not after the TTL
    expect(await identity.current(1_000)).toBe('run-1');
    now = MODEL_NAME_TTL_MS * 2;
    identity.refresh();
    await new Promise((resolve) => setImmediate(resolve));
    expect(await identity.current(1_000)).toBe('run-1');
  });

  test('waits for a first read at most the given time', async () => {
    sagemakerMock.on(DescribeEndpointCommand).callsFake(() => new Promise(() => undefined));
    const identity = new ModelIdentity(sagemaker, 'ep');
    identity.refresh();
    const started = Date.now();
    expect(await identity.current(50)).toBeNull();
    expect(Date.now() - started).toBeLessThan(500);
  });
});
