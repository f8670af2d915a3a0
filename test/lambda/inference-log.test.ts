import { FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import { DescribeEndpointCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import { createServer } from 'node:net';
import { sendInferenceLog } from '../../lambda/predict/inference-log';
import {
  MODEL_NAME_READ_TIMEOUT_MS,
  MODEL_NAME_RETRY_MS,
  MODEL_NAME_TTL_MS,
  ModelIdentity,
} from '../../lambda/predict/model-identity';

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

  test('re-sends only the records a partly failed call reports, once, and counts what still fails', async () => {
    const three = [...rows, { request_id: 'r', record_index: 2 }];
    firehoseMock
      .on(PutRecordBatchCommand)
      .resolvesOnce({
        FailedPutCount: 2,
        RequestResponses: [
          { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down.' },
          { RecordId: 'b' },
          { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down.' },
        ],
      })
      .resolves({
        FailedPutCount: 1,
        RequestResponses: [{ RecordId: 'a' }, { ErrorCode: 'InternalFailure', ErrorMessage: 'Try again.' }],
      });
    expect(await sendInferenceLog(firehose, 'log', three, 500)).toEqual({
      sent: 2,
      failed: 1,
      errorType: 'InternalFailure',
    });
    const calls = firehoseMock.commandCalls(PutRecordBatchCommand);
    expect(calls).toHaveLength(2);
    const indexes = (call: (typeof calls)[number]) =>
      (call.args[0].input.Records ?? []).map((r) => JSON.parse(new TextDecoder().decode(r.Data)).record_index);
    expect(calls.map(indexes)).toEqual([
      [0, 1, 2],
      [0, 2],
    ]);
  });

  test('counts nothing as failed when the re-send delivers the rest', async () => {
    firehoseMock
      .on(PutRecordBatchCommand)
      .resolvesOnce({
        FailedPutCount: 1,
        RequestResponses: [{ RecordId: 'a' }, { ErrorCode: 'ServiceUnavailableException' }],
      })
      .resolves({ FailedPutCount: 0, RequestResponses: [{ RecordId: 'b' }] });
    expect(await sendInferenceLog(firehose, 'log', rows, 500)).toEqual({ sent: 2, failed: 0 });
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

  test('keeps the last name when a read fails, and asks again only after a pause, not on every request', async () => {
    let now = 0;
    sagemakerMock
      .on(DescribeEndpointCommand)
      .rejectsOnce(Object.assign(new Error('Could not find endpoint'), { name: 'ValidationException' }))
      .resolvesOnce({ EndpointConfigName: 'run-1' })
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    const identity = new ModelIdentity(sagemaker, 'ep', () => now);
    identity.refresh();
    expect(await identity.current(1_000)).toBeNull();
    for (now = 1; now < MODEL_NAME_RETRY_MS; now += 1_000) identity.refresh();
    expect(sagemakerMock.commandCalls(DescribeEndpointCommand)).toHaveLength(1);
    now = MODEL_NAME_RETRY_MS;
    identity.refresh();
    expect(await identity.current(1_000)).toBe('run-1');
    // Throttled from now on: one read after the TTL, then one per pause, whatever the number of requests.
    now += MODEL_NAME_TTL_MS;
    for (let request = 0; request < 50; request++) {
      identity.refresh();
      await new Promise((resolve) => setImmediate(resolve));
      now += 100;
    }
    expect(sagemakerMock.commandCalls(DescribeEndpointCommand)).toHaveLength(3);
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

describe('ModelIdentity with a real client', () => {
  test('gives up a read that hangs, so the next one can start after the pause', async () => {
    // Last in the file: it takes the mock off the client class. The server accepts and never answers.
    sagemakerMock.restore();
    let connections = 0;
    const server = createServer(() => {
      connections++;
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = new SageMakerClient({
      endpoint: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      maxAttempts: 1,
    });
    try {
      let now = 0;
      const identity = new ModelIdentity(client, 'ep', () => now);
      identity.refresh();
      expect(await identity.current(50)).toBeNull();
      await new Promise((resolve) => setTimeout(resolve, MODEL_NAME_READ_TIMEOUT_MS + 300));
      now = MODEL_NAME_RETRY_MS;
      identity.refresh();
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(connections).toBe(2);
    } finally {
      client.destroy();
      server.close();
    }
  });
});
