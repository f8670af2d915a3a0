import {
  EXAMPLE_TRANSACTION_FEATURES,
  featureFields,
  labelField,
  recordIdField,
  TRANSACTION_SCHEMA,
} from '../../../lib/schema/feature-schema';
import { ToolError } from '../../../scripts/lib/cli';
import { formatFailure, formatScored, formatSummary } from '../../../scripts/predict/format';
import { readRecords, recordsFromFile } from '../../../scripts/predict/input';
import { checkHealth, predictRecords } from '../../../scripts/predict/run';
import { API_KEY, type Reply, sentRecords, useFakeApi } from './fake-api';
import { event, ndjson, useTempFiles } from './records';

const api = useFakeApi();
const files = useTempFiles();

describe('calling the API', () => {
  test('an NDJSON file of full events is sent as features and record ids, with the API key, and scored in order', async () => {
    const path = files.write('events.ndjson', ndjson([event(1, 800, true), event(2, 100, false), event(3, 300, true)]));
    const run = await predictRecords(api.target(), recordsFromFile(TRANSACTION_SCHEMA, path), 100);

    expect(run.failure).toBeUndefined();
    expect(api.received).toHaveLength(1);
    expect(api.received[0].headers['x-api-key']).toBe(API_KEY);
    expect(api.received[0].headers['content-type']).toBe('application/json');
    // The record id goes along for the inference log, which joins the label that arrives later on it.
    const sentFields = [
      ...featureFields(TRANSACTION_SCHEMA).map((f) => f.name),
      recordIdField(TRANSACTION_SCHEMA).name,
    ];
    const sent = sentRecords(api.received[0]);
    for (const record of sent) expect(Object.keys(record).sort()).toEqual(sentFields.sort());
    expect(sent.map((record) => record.transaction_id)).toEqual(
      [1, 2, 3].map((n) => event(n, 0, false).transaction_id),
    );
    expect(api.received[0].body).not.toContain('customer_id');
    expect(api.received[0].body).not.toContain(labelField(TRANSACTION_SCHEMA).name);
    expect(run.scored.map((s) => s.prediction.fraudProbability)).toEqual([0.8, 0.1, 0.3]);
    expect(run.threshold).toBe(0.5);
  });

  test('each line shows the probability, the decision and the actual label, and the summary counts agreement', async () => {
    const records = recordsFromFile(
      TRANSACTION_SCHEMA,
      files.write(
        'labelled.ndjson',
        ndjson([
          event(1, 800, true),
          event(2, 100, false),
          event(3, 300, true),
          event(4, 600, false),
          event(5, 50, false),
        ]),
      ),
    );
    const run = await predictRecords(api.target(), records, 100);

    expect(run.scored.map(formatScored)).toEqual([
      'record 1      fraud probability 0.800  FLAGGED      actual fraud  ✓ agrees',
      'record 2      fraud probability 0.100  not flagged  actual legit  ✓ agrees',
      'record 3      fraud probability 0.300  not flagged  actual fraud  ✗ missed fraud',
      'record 4      fraud probability 0.600  FLAGGED      actual legit  ✗ false alarm',
      'record 5      fraud probability 0.050  not flagged  actual legit  ✓ agrees',
    ]);
    expect(formatSummary(run.scored, run.threshold)).toBe(
      '5 record(s), 2 flagged as fraud (threshold 0.5).\n' +
        '5 labelled (2 actual fraud): prediction agrees with the label for 3 (60%); 1 missed fraud, 1 false alarm(s).',
    );
  });

  test('unlabelled records print no actual label and the summary has no agreement line', async () => {
    const run = await predictRecords(
      api.target(),
      readRecords(TRANSACTION_SCHEMA, { kind: 'example', features: EXAMPLE_TRANSACTION_FEATURES }),
      100,
    );
    expect(run.scored.map(formatScored)).toEqual(['record 1      fraud probability 0.043  not flagged']);
    expect(formatSummary(run.scored, run.threshold)).toBe('1 record(s), 0 flagged as fraud (threshold 0.5).');
    // A single record goes as the record itself, not wrapped in {"records": [...]}.
    expect(JSON.parse(api.received[0].body)).toEqual(EXAMPLE_TRANSACTION_FEATURES);
  });

  test('a file larger than maxBatchSize goes in batches of that size and the output keeps the input order', async () => {
    const amounts = [100, 200, 300, 400, 500];
    const path = files.write('five.ndjson', ndjson(amounts.map((amount, n) => event(n, amount, false))));
    const batches: number[][] = [];
    const run = await predictRecords(api.target(), recordsFromFile(TRANSACTION_SCHEMA, path), 2, ({ scored }) =>
      batches.push(scored.map((s) => s.index)),
    );

    expect(api.received.map((request) => sentRecords(request).map((r) => r.amount))).toEqual([
      [100, 200],
      [300, 400],
      [500],
    ]);
    expect(batches).toEqual([[0, 1], [2, 3], [4]]);
    expect(run.scored.map((s) => [s.index, s.prediction.fraudProbability])).toEqual(
      amounts.map((amount, index) => [index, amount / 1000]),
    );
  });

  test('a 400 prints the status, the error, its details renumbered over the whole file, and the hint', async () => {
    const path = files.write(
      'invalid.ndjson',
      ndjson([
        event(1, 100, false),
        event(2, 200, false),
        event(3, 300, false),
        { ...event(4, -5, false), channel: 'fax' },
      ]),
    );
    const run = await predictRecords(api.target(), recordsFromFile(TRANSACTION_SCHEMA, path), 2);

    expect(run.scored).toHaveLength(2);
    expect(run.failure?.answer.status).toBe(400);
    expect(formatFailure(run.failure!).split('\n')).toEqual([
      'The API answered 400 Bad Request for records 3-4 of 4.',
      '  error: The request does not match the model features.',
      `  - record 4 (${path} line 4): 'amount' must be between 0 and 100000, got -5`,
      `  - record 4 (${path} line 4): 'channel' must be one of chip, contactless, online, phone; got 'fax'`,
      'What to do: Fix the fields the details name; `npm run predict -- --example` sends a valid record.',
    ]);
  });

  test('a 503 stops the run before the next batch and points to npm run train', async () => {
    api.reply = () => ({
      status: 503,
      body: {
        message:
          'The model endpoint mlpipe-sandbox-fraud is not deployed yet: run the training pipeline (npm run train).',
      },
    });
    const records = readRecords(TRANSACTION_SCHEMA, {
      kind: 'json',
      text: JSON.stringify({ records: [event(1, 1, false), event(2, 2, false), event(3, 3, false)] }),
      origin: '--record',
    });
    const run = await predictRecords(api.target(), records, 2);

    expect(api.received).toHaveLength(1);
    expect(run.scored).toEqual([]);
    const text = formatFailure(run.failure!);
    expect(text).toContain('The API answered 503 Service Unavailable for records 1-2 of 3.');
    expect(text).toContain('error: The model endpoint mlpipe-sandbox-fraud is not deployed yet');
    expect(text).toContain('What to do: No model is deployed yet: run the training pipeline with `npm run train`.');
  });

  test('a wrong API key gets the 403 hint about the key and the stage', async () => {
    const run = await predictRecords(
      api.target({ apiKey: 'not-the-key' }),
      [{ features: EXAMPLE_TRANSACTION_FEATURES, source: '--example' }],
      10,
    );
    expect(run.failure?.answer.status).toBe(403);
    expect(formatFailure(run.failure!)).toMatch(/error: Forbidden\n.*Wrong or missing API key, wrong stage/s);
  });

  test('an answer that is not predictions is an error suggesting the URL is wrong', async () => {
    api.reply = () => ({ status: 200, body: { hello: 'world' } });
    await expect(predictRecords(api.target(), [{ features: {}, source: 'x' }], 10)).rejects.toThrow(
      /answered 200 but not with 1 prediction\(s\).*Is --url the inference API/,
    );
  });

  test('an API that does not answer in time is a ToolError naming the URL and --timeout', async () => {
    api.reply = () =>
      new Promise<Reply>((resolve) => setTimeout(() => resolve({ status: 200, body: {} }), 1_500).unref());
    await expect(checkHealth(api.target({ timeoutMs: 200 }))).rejects.toThrow(
      new ToolError(
        `GET ${api.baseUrl.href}health did not answer within 0.2 s. Retry, send fewer records per request, or raise --timeout.`,
      ),
    );
  });

  test('--health calls GET /health with the key and reports a missing model as a failure', async () => {
    const up = await checkHealth(api.target());
    expect(api.received[0]).toMatchObject({ method: 'GET', path: '/v1/health' });
    expect(api.received[0].headers['x-api-key']).toBe(API_KEY);
    expect(up.failure).toBeUndefined();

    api.reply = () => ({
      status: 503,
      body: {
        endpointName: 'mlpipe-sandbox-fraud',
        status: 'NotDeployed',
        message: 'Run the training pipeline (npm run train) to deploy a model.',
      },
    });
    const down = await checkHealth(api.target());
    expect(formatFailure(down.failure!).split('\n').slice(0, 3)).toEqual([
      'The API answered 503 Service Unavailable.',
      '  endpoint mlpipe-sandbox-fraud is NotDeployed',
      '  error: Run the training pipeline (npm run train) to deploy a model.',
    ]);
  });
});
