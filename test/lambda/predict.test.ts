import { DescribeEndpointCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { health, mapInvokeError, parseProbabilities, predict } from '../../lambda/predict/predict';
import { EXAMPLE_TRANSACTION_FEATURES, TRANSACTION_SCHEMA } from '../../lib/schema/feature-schema';

const runtimeMock = mockClient(SageMakerRuntimeClient);
const sagemakerMock = mockClient(SageMakerClient);
const runtime = new SageMakerRuntimeClient({});
const settings = {
  schema: TRANSACTION_SCHEMA,
  endpointName: 'mlpipe-sandbox-fraud',
  threshold: 0.5,
  maxBatchSize: 10,
  maxBodyBytes: 16_384,
};
const record = EXAMPLE_TRANSACTION_FEATURES;
const answer = (text: string) => ({ Body: new TextEncoder().encode(text) }) as never;
const sentCsv = () =>
  new TextDecoder().decode(runtimeMock.commandCalls(InvokeEndpointCommand)[0].args[0].input.Body as Uint8Array);
const bodyOf = (response: { body: string }) => JSON.parse(response.body) as Record<string, unknown>;

beforeEach(() => {
  runtimeMock.reset();
  sagemakerMock.reset();
});

describe('predict', () => {
  test('scores one record: features in model order as CSV, probability and decision back', async () => {
    runtimeMock.on(InvokeEndpointCommand).resolves(answer('0.83\n'));
    const { response, outcome } = await predict(runtime, settings, JSON.stringify(record));
    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toEqual({ predictions: [{ fraudProbability: 0.83, isFraud: true }], threshold: 0.5 });
    expect(sentCsv()).toBe('42.5,3,2,0,900,3,7,3');
    expect(runtimeMock.commandCalls(InvokeEndpointCommand)[0].args[0].input).toMatchObject({
      EndpointName: 'mlpipe-sandbox-fraud',
      ContentType: 'text/csv',
      Accept: 'text/csv',
    });
    expect(outcome).toEqual({ statusCode: 200, records: 1 });
  });

  test('scores a batch in order, one CSV row per record', async () => {
    runtimeMock.on(InvokeEndpointCommand).resolves(answer('0.1,0.7'));
    const { response } = await predict(
      runtime,
      settings,
      JSON.stringify({ records: [record, { ...record, card_present: true }] }),
    );
    expect(bodyOf(response).predictions).toEqual([
      { fraudProbability: 0.1, isFraud: false },
      { fraudProbability: 0.7, isFraud: true },
    ]);
    expect(sentCsv().split('\n')).toHaveLength(2);
  });

  test.each([
    ['malformed JSON', '{"amount": ', 400, 'The body is not valid JSON.'],
    ['no body', '', 400, 'The request has no body; send JSON.'],
    ['a JSON array', '[1,2]', 400, 'The body must be a JSON object'],
    ['records that are not an array', '{"records": 3}', 400, "'records' must be an array of records"],
    ['an empty batch', '{"records": []}', 400, "'records' is empty"],
  ])('rejects %s with %i', async (_, body, status, message) => {
    const { response } = await predict(runtime, settings, body);
    expect(response.statusCode).toBe(status);
    expect(String(bodyOf(response).message)).toContain(message);
    expect(runtimeMock.calls()).toHaveLength(0);
  });

  test('names each field that is missing, unknown, mistyped or out of range', async () => {
    const bad: Record<string, unknown> = {
      ...record,
      channel: 'telepathy',
      card_present: 'yes',
      hour_of_day: 25,
      extra: 1,
    };
    delete bad.amount;
    const { response } = await predict(runtime, settings, JSON.stringify(bad));
    expect(response.statusCode).toBe(400);
    expect(bodyOf(response).details).toEqual([
      "'extra' is not a feature of the model",
      "'amount' is missing",
      "'channel' must be one of chip, contactless, online, phone; got 'telepathy'",
      "'card_present' must be true or false, got string",
      "'hour_of_day' must be between 0 and 23, got 25",
    ]);
  });

  test('rejects a number too large to be finite and a fractional count', async () => {
    const body = `{"records": [${JSON.stringify({ ...record, transactions_last_24h: 2.5 })}, ${JSON.stringify(record).replace('42.5', '1e400')}]}`;
    const { response } = await predict(runtime, settings, body);
    expect(bodyOf(response).details).toEqual([
      "record 0: 'transactions_last_24h' must be a whole number, got 2.5",
      "record 1: 'amount' must be a finite number",
    ]);
  });

  test('answers 413 for a batch or a body that is too large', async () => {
    const batch = await predict(runtime, settings, JSON.stringify({ records: Array(11).fill(record) }));
    expect(batch.response.statusCode).toBe(413);
    expect(bodyOf(batch.response).message).toBe('A batch holds at most 10 records; this one has 11.');
    const big = await predict(runtime, { ...settings, maxBodyBytes: 100 }, JSON.stringify(record));
    expect(big.response.statusCode).toBe(413);
  });

  test('answers 502 when the model returns something other than one probability per record', async () => {
    runtimeMock.on(InvokeEndpointCommand).resolves(answer('0.2,0.3'));
    const { response } = await predict(runtime, settings, JSON.stringify(record));
    expect(response.statusCode).toBe(502);
  });
});

describe('mapInvokeError', () => {
  const err = (name: string, message: string, httpStatusCode?: number) =>
    Object.assign(new Error(message), { name, $metadata: { httpStatusCode } });
  test.each([
    [
      'a missing endpoint',
      err('ValidationError', 'Endpoint mlpipe-sandbox-fraud of account 1 not found.', 400),
      503,
      'run the training pipeline',
    ],
    ['a model error', err('ModelError', 'Received client error (400) from primary', 424), 502, 'ModelError'],
    ['throttling', err('ThrottlingException', 'Rate exceeded', 429), 429, 'retry with backoff'],
    ['a serverless model that is still starting', err('ModelNotReadyException', 'not ready', 429), 503, 'starting'],
    ['a timeout', err('TimeoutError', 'socket timed out', undefined), 504, 'did not answer in time'],
    ['anything else', err('InternalFailure', 'boom', 500), 502, 'unexpected error'],
  ])('maps %s', (_, error, status, message) => {
    const response = mapInvokeError(error, 'mlpipe-sandbox-fraud');
    expect(response.statusCode).toBe(status);
    expect(String(bodyOf(response).message)).toContain(message);
  });
});

describe('parseProbabilities', () => {
  test('reads newline- or comma-separated values and rejects anything else', () => {
    expect(parseProbabilities('0.1\n0.2\n', 2)).toEqual([0.1, 0.2]);
    expect(parseProbabilities('0.1,0.2', 2)).toEqual([0.1, 0.2]);
    expect(parseProbabilities('0.1', 2)).toBeUndefined();
    expect(parseProbabilities('1.5', 1)).toBeUndefined();
    expect(parseProbabilities('abc', 1)).toBeUndefined();
  });
});

describe('health', () => {
  const sagemaker = new SageMakerClient({});
  test('is 200 when the endpoint is InService', async () => {
    sagemakerMock.on(DescribeEndpointCommand).resolves({ EndpointStatus: 'InService' });
    const response = await health(sagemaker, 'e');
    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toEqual({ endpointName: 'e', status: 'InService' });
  });
  test('is 503 while the endpoint is updating, and says how to deploy when there is none', async () => {
    sagemakerMock.on(DescribeEndpointCommand).resolvesOnce({ EndpointStatus: 'Updating' });
    expect((await health(sagemaker, 'e')).statusCode).toBe(503);
    sagemakerMock
      .on(DescribeEndpointCommand)
      .rejects(Object.assign(new Error('Could not find endpoint "e".'), { name: 'ValidationException' }));
    const missing = await health(sagemaker, 'e');
    expect(missing.statusCode).toBe(503);
    expect(bodyOf(missing)).toMatchObject({ status: 'NotDeployed' });
  });
});

describe('malformed bodies (property-based)', () => {
  // A model that answers one probability per row, so valid records reach a 200.
  beforeEach(() => {
    runtimeMock.on(InvokeEndpointCommand).callsFake((input: { Body: Uint8Array }) => {
      const rows = new TextDecoder().decode(input.Body).split('\n').length;
      return answer(Array(rows).fill('0.4').join('\n'));
    });
  });
  const featureValue = fc.oneof(
    fc.double(),
    fc.integer(),
    fc.string(),
    fc.boolean(),
    fc.constant(null),
    fc.constantFrom(...['grocery', 'online', 'chip', 'travel']),
    fc.object({ maxDepth: 1 }),
  );
  const nearRecord = fc.record(
    Object.fromEntries(Object.keys(record).map((k) => [k, featureValue])) as Record<string, fc.Arbitrary<unknown>>,
    { requiredKeys: [] },
  );
  const bodies = fc.oneof(
    fc.string(),
    fc.json(),
    nearRecord.map((r) => JSON.stringify(r)),
    fc.array(nearRecord, { maxLength: 12 }).map((records) => JSON.stringify({ records })),
    fc.jsonValue().map((v) => JSON.stringify({ records: v })),
  );

  test('never produce a 5xx or an exception, whatever the body', async () => {
    await fc.assert(
      fc.asyncProperty(bodies, async (body) => {
        const { response } = await predict(runtime, settings, body);
        expect([200, 400, 413]).toContain(response.statusCode);
        expect(() => JSON.parse(response.body)).not.toThrow();
      }),
      { numRuns: 3000 },
    );
  });
});
