import { APIGatewayClient, GetApiKeyCommand } from '@aws-sdk/client-api-gateway';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { mockClient } from 'aws-sdk-client-mock';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { type LocalServer, startLocalServer } from '../local-server';
import { stdoutOf } from './stdout';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { predict } from '../../lambda/predict/predict';
import {
  EXAMPLE_TRANSACTION_FEATURES,
  featureFields,
  labelField,
  recordIdField,
  TRANSACTION_SCHEMA,
  type FeatureSchema,
} from '../../lib/schema/feature-schema';
import { ToolError, UsageError } from '../../scripts/lib/cli';
import {
  checkHealth,
  formatFailure,
  formatScored,
  formatSummary,
  predictRecords,
  readRecords,
  recordsFromFile,
  regionFromUrl,
  resolveApiLocation,
  sigV4Signer,
  toInputRecord,
  type ApiTarget,
} from '../../scripts/lib/predict-client';
import { main } from '../../scripts/predict';

/**
 * A local stand-in for the deployed API on 127.0.0.1: API Gateway's key check (403 without the right x-api-key),
 * then the real predict logic of lambda/predict with the SageMaker runtime mocked to answer amount / 1000 as the
 * fraud probability. So a body with a field the model does not know (an id, a label) fails here as it would in AWS.
 */
const API_KEY = 'test-key-value';
const SIGNING = { region: 'eu-west-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'dummy-secret' } };

interface Received {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}
interface Reply {
  readonly status: number;
  readonly body: unknown;
}

const runtimeMock = mockClient(SageMakerRuntimeClient);
const runtime = new SageMakerRuntimeClient({ region: 'eu-west-1' });
const settings = {
  schema: TRANSACTION_SCHEMA,
  endpointName: 'mlpipe-sandbox-fraud',
  threshold: 0.5,
  maxBatchSize: 100,
  maxBodyBytes: 256 * 1024,
};

async function apiLikeAws(request: Received): Promise<Reply> {
  if (request.headers['x-api-key'] !== API_KEY) return { status: 403, body: { message: 'Forbidden' } };
  if (request.method === 'GET' && request.path === '/v1/health') {
    return { status: 200, body: { endpointName: settings.endpointName, status: 'InService' } };
  }
  if (request.method !== 'POST' || request.path !== '/v1/predict')
    return { status: 403, body: { message: 'Missing Authentication Token' } };
  const { response } = await predict(runtime, settings, request.body);
  return { status: response.statusCode, body: JSON.parse(response.body) };
}

let received: Received[] = [];
let reply: (request: Received) => Promise<Reply> | Reply = apiLikeAws;
let server: LocalServer;
let baseUrl: URL;
let dir: string;

beforeAll(async () => {
  server = await startLocalServer((request, response, body) => {
    const entry = { method: request.method ?? '', path: request.url ?? '', headers: request.headers, body };
    received.push(entry);
    void Promise.resolve(reply(entry)).then(({ status, body: answer }) =>
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(answer)),
    );
  });
  baseUrl = new URL(`${server.url}/v1/`);
  dir = mkdtempSync(join(tmpdir(), 'predict-client-'));
});

afterAll(async () => {
  await server.close();
});

beforeEach(() => {
  received = [];
  reply = apiLikeAws;
  runtimeMock.reset();
  runtimeMock.on(InvokeEndpointCommand).callsFake(({ Body }: { Body: Uint8Array }) => {
    const rows = new TextDecoder().decode(Body).split('\n');
    // Column 0 is the amount, the first feature in model order.
    const csv = rows.map((row) => Number(row.split(',')[0]) / 1000).join('\n');
    return { Body: new TextEncoder().encode(csv) } as never;
  });
});

const target = (overrides: Partial<ApiTarget> = {}): ApiTarget => ({
  baseUrl,
  apiKey: API_KEY,
  timeoutMs: 5_000,
  ...overrides,
});

/** A full event as the ingest producer writes it: ids, event time, the features and the label. */
const event = (n: number, amount: number, isFraud: boolean) => ({
  transaction_id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  customer_id: `customer-${n}`,
  event_time: 1_767_225_600_000 + n,
  ...EXAMPLE_TRANSACTION_FEATURES,
  amount,
  is_fraud: isFraud,
});

function writeFile(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}
const ndjson = (values: readonly unknown[]) => values.map((value) => JSON.stringify(value)).join('\n') + '\n';
const sentRecords = (request: Received): Record<string, unknown>[] => {
  const body = JSON.parse(request.body) as Record<string, unknown>;
  return Array.isArray(body.records) ? (body.records as Record<string, unknown>[]) : [body];
};

describe('reading records', () => {
  test('a full event keeps only the model features and sets its label aside', () => {
    const [record] = readRecords(TRANSACTION_SCHEMA, {
      kind: 'json',
      text: JSON.stringify(event(1, 80, true)),
      origin: '--record',
    });
    expect(Object.keys(record.features).sort()).toEqual(
      featureFields(TRANSACTION_SCHEMA)
        .map((f) => f.name)
        .sort(),
    );
    expect(record.label).toBe(true);
  });

  test('the withheld fields follow the schema, so a new id column is stripped and an unknown key is kept', () => {
    const schema: FeatureSchema = {
      ...TRANSACTION_SCHEMA,
      fields: [...TRANSACTION_SCHEMA.fields, { name: 'merchant_id', type: 'string', role: 'id', description: 'x' }],
    };
    const fail = (message: string) => new Error(message);
    const record = toInputRecord(schema, { ...event(1, 10, false), merchant_id: 'm-1', amout: 3 }, 'test', fail);
    expect(record.features).not.toHaveProperty('merchant_id');
    expect(record.features).toHaveProperty('amout', 3);
    expect(toInputRecord(TRANSACTION_SCHEMA, { merchant_id: 'm-1' }, 'test', fail).features).toHaveProperty(
      'merchant_id',
    );
  });

  test('a label of 1 or 0 counts as fraud or not, and any other value is an error naming the record', () => {
    const fail = (message: string) => new UsageError(message);
    const label = labelField(TRANSACTION_SCHEMA).name;
    expect(toInputRecord(TRANSACTION_SCHEMA, { amount: 1, [label]: 1 }, 'x', fail).label).toBe(true);
    expect(toInputRecord(TRANSACTION_SCHEMA, { amount: 1, [label]: 0 }, 'x', fail).label).toBe(false);
    expect(toInputRecord(TRANSACTION_SCHEMA, { amount: 1 }, 'x', fail).label).toBeUndefined();
    expect(() => toInputRecord(TRANSACTION_SCHEMA, { [label]: 'yes' }, 'events.ndjson line 4', fail)).toThrow(
      `events.ndjson line 4: '${label}' is "yes"; the label must be true/false or 1/0`,
    );
  });

  test('a JSON file of {"records": [...]} and a pretty-printed single record are both read', () => {
    const batch = writeFile('batch.json', JSON.stringify({ records: [event(1, 10, false), event(2, 20, true)] }));
    const single = writeFile('single.json', JSON.stringify(EXAMPLE_TRANSACTION_FEATURES, null, 2));
    expect(recordsFromFile(TRANSACTION_SCHEMA, batch).map((r) => [r.features.amount, r.label, r.source])).toEqual([
      [10, false, `${batch} records[0]`],
      [20, true, `${batch} records[1]`],
    ]);
    expect(recordsFromFile(TRANSACTION_SCHEMA, single)).toEqual([
      { features: EXAMPLE_TRANSACTION_FEATURES, source: single },
    ]);
  });

  test('a malformed NDJSON line is an error naming the file and the line', () => {
    const path = writeFile('broken.ndjson', `${JSON.stringify(event(1, 10, false))}\n{"amount": 12,\n`);
    expect(() => recordsFromFile(TRANSACTION_SCHEMA, path)).toThrow(ToolError);
    expect(() => recordsFromFile(TRANSACTION_SCHEMA, path)).toThrow(`${path} line 2 is not valid JSON`);
  });

  test('an NDJSON line that is not an object is an error naming its line, blank lines counted', () => {
    const path = writeFile('array.ndjson', `${JSON.stringify(event(1, 10, false))}\n\n[1, 2]\n`);
    expect(() => recordsFromFile(TRANSACTION_SCHEMA, path)).toThrow(`${path} line 3 is array, not a record`);
  });

  test('a missing file is a ToolError that names the file', () => {
    const path = join(dir, 'no-such.ndjson');
    expect(() => recordsFromFile(TRANSACTION_SCHEMA, path)).toThrow(
      new ToolError(`Cannot read --file ${path}: no such file. Pass the path of a JSON or NDJSON file of records.`),
    );
  });

  test('a --record that is not JSON is a usage error that says how to quote it', () => {
    expect(() => readRecords(TRANSACTION_SCHEMA, { kind: 'json', text: '{amount: 1}', origin: '--record' })).toThrow(
      UsageError,
    );
    expect(() => readRecords(TRANSACTION_SCHEMA, { kind: 'json', text: '{amount: 1}', origin: '--record' })).toThrow(
      /--record is not valid JSON .*Quote the record/,
    );
  });
});

describe('calling the API', () => {
  test('an NDJSON file of full events is sent as features only, with the API key, and scored in order', async () => {
    const path = writeFile('events.ndjson', ndjson([event(1, 800, true), event(2, 100, false), event(3, 300, true)]));
    const run = await predictRecords(target(), recordsFromFile(TRANSACTION_SCHEMA, path), 100);

    expect(run.failure).toBeUndefined();
    expect(received).toHaveLength(1);
    expect(received[0].headers['x-api-key']).toBe(API_KEY);
    expect(received[0].headers['content-type']).toBe('application/json');
    const features = featureFields(TRANSACTION_SCHEMA)
      .map((f) => f.name)
      .sort();
    for (const sent of sentRecords(received[0])) expect(Object.keys(sent).sort()).toEqual(features);
    expect(received[0].body).not.toContain(recordIdField(TRANSACTION_SCHEMA).name);
    expect(received[0].body).not.toContain(labelField(TRANSACTION_SCHEMA).name);
    expect(run.scored.map((s) => s.prediction.fraudProbability)).toEqual([0.8, 0.1, 0.3]);
    expect(run.threshold).toBe(0.5);
  });

  test('each line shows the probability, the decision and the actual label, and the summary counts agreement', async () => {
    const records = recordsFromFile(
      TRANSACTION_SCHEMA,
      writeFile(
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
    const run = await predictRecords(target(), records, 100);

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
      target(),
      readRecords(TRANSACTION_SCHEMA, { kind: 'example', features: EXAMPLE_TRANSACTION_FEATURES }),
      100,
    );
    expect(run.scored.map(formatScored)).toEqual(['record 1      fraud probability 0.043  not flagged']);
    expect(formatSummary(run.scored, run.threshold)).toBe('1 record(s), 0 flagged as fraud (threshold 0.5).');
    // A single record goes as the record itself, not wrapped in {"records": [...]}.
    expect(JSON.parse(received[0].body)).toEqual(EXAMPLE_TRANSACTION_FEATURES);
  });

  test('a file larger than maxBatchSize goes in batches of that size and the output keeps the input order', async () => {
    const amounts = [100, 200, 300, 400, 500];
    const path = writeFile('five.ndjson', ndjson(amounts.map((amount, n) => event(n, amount, false))));
    const batches: number[][] = [];
    const run = await predictRecords(target(), recordsFromFile(TRANSACTION_SCHEMA, path), 2, ({ scored }) =>
      batches.push(scored.map((s) => s.index)),
    );

    expect(received.map((request) => sentRecords(request).map((r) => r.amount))).toEqual([
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
    const path = writeFile(
      'invalid.ndjson',
      ndjson([
        event(1, 100, false),
        event(2, 200, false),
        event(3, 300, false),
        { ...event(4, -5, false), channel: 'fax' },
      ]),
    );
    const run = await predictRecords(target(), recordsFromFile(TRANSACTION_SCHEMA, path), 2);

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
    reply = () => ({
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
    const run = await predictRecords(target(), records, 2);

    expect(received).toHaveLength(1);
    expect(run.scored).toEqual([]);
    const text = formatFailure(run.failure!);
    expect(text).toContain('The API answered 503 Service Unavailable for records 1-2 of 3.');
    expect(text).toContain('error: The model endpoint mlpipe-sandbox-fraud is not deployed yet');
    expect(text).toContain('What to do: No model is deployed yet: run the training pipeline with `npm run train`.');
  });

  test('a wrong API key gets the 403 hint about the key and the stage', async () => {
    const run = await predictRecords(
      target({ apiKey: 'not-the-key' }),
      [{ features: EXAMPLE_TRANSACTION_FEATURES, source: '--example' }],
      10,
    );
    expect(run.failure?.answer.status).toBe(403);
    expect(formatFailure(run.failure!)).toMatch(/error: Forbidden\n.*Wrong or missing API key, wrong stage/s);
  });

  test('an answer that is not predictions is an error suggesting the URL is wrong', async () => {
    reply = () => ({ status: 200, body: { hello: 'world' } });
    await expect(predictRecords(target(), [{ features: {}, source: 'x' }], 10)).rejects.toThrow(
      /answered 200 but not with 1 prediction\(s\).*Is --url the inference API/,
    );
  });

  test('an API that does not answer in time is a ToolError naming the URL and --timeout', async () => {
    reply = () => new Promise<Reply>((resolve) => setTimeout(() => resolve({ status: 200, body: {} }), 1_500).unref());
    await expect(checkHealth(target({ timeoutMs: 200 }))).rejects.toThrow(
      new ToolError(
        `GET ${baseUrl.href}health did not answer within 0.2 s. Retry, send fewer records per request, or raise --timeout.`,
      ),
    );
  });

  test('--health calls GET /health with the key and reports a missing model as a failure', async () => {
    const up = await checkHealth(target());
    expect(received[0]).toMatchObject({ method: 'GET', path: '/v1/health' });
    expect(received[0].headers['x-api-key']).toBe(API_KEY);
    expect(up.failure).toBeUndefined();

    reply = () => ({
      status: 503,
      body: {
        endpointName: 'mlpipe-sandbox-fraud',
        status: 'NotDeployed',
        message: 'Run the training pipeline (npm run train) to deploy a model.',
      },
    });
    const down = await checkHealth(target());
    expect(formatFailure(down.failure!).split('\n').slice(0, 3)).toEqual([
      'The API answered 503 Service Unavailable.',
      '  endpoint mlpipe-sandbox-fraud is NotDeployed',
      '  error: Run the training pipeline (npm run train) to deploy a model.',
    ]);
  });
});

describe('SigV4 signing', () => {
  /** Recomputes the signature from what the server received, the way API Gateway checks it. */
  async function expectedAuthorization(request: Received, body: string): Promise<string> {
    const authorization = String(request.headers.authorization);
    const signedNames = /SignedHeaders=([^,]+)/.exec(authorization)?.[1].split(';') ?? [];
    // The payload hash is left out so the verifier hashes the body itself, as a check of the body must.
    const headers = Object.fromEntries(
      signedNames
        .filter((name) => name !== 'x-amz-content-sha256')
        .map((name) => [name, String(request.headers[name])]),
    );
    const date = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(String(request.headers['x-amz-date']));
    if (date === null) throw new Error(`x-amz-date ${request.headers['x-amz-date']} is not a SigV4 date`);
    const signingDate = new Date(`${date[1]}-${date[2]}-${date[3]}T${date[4]}:${date[5]}:${date[6]}Z`);
    const verifier = new SignatureV4({ service: 'execute-api', ...SIGNING, sha256: Sha256 });
    const signed = await verifier.sign(
      {
        method: request.method,
        protocol: 'http:',
        hostname: '127.0.0.1',
        path: request.path,
        query: {},
        headers,
        body,
      },
      { signingDate },
    );
    return String(signed.headers.authorization);
  }

  test('with a signer every request carries an AWS4-HMAC-SHA256 signature over its host, key and body', async () => {
    await predictRecords(
      target({ signer: sigV4Signer(SIGNING) }),
      [{ features: EXAMPLE_TRANSACTION_FEATURES, source: 'x' }],
      10,
    );

    const [request] = received;
    const authorization = String(request.headers.authorization);
    expect(authorization.startsWith('AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/')).toBe(true);
    expect(authorization).toContain('/eu-west-1/execute-api/aws4_request');
    expect(request.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(authorization).toMatch(/SignedHeaders=[^,]*host;[^,]*x-api-key/);
    expect(authorization).toBe(await expectedAuthorization(request, request.body));
    // The check above would catch a signature over anything but what was sent.
    expect(authorization).not.toBe(await expectedAuthorization(request, `${request.body} `));
  });

  test('without a signer no request is signed', async () => {
    await checkHealth(target());
    expect(received[0].headers.authorization).toBeUndefined();
    expect(received[0].headers['x-amz-date']).toBeUndefined();
  });

  test('the region is read from an execute-api host and not guessed for other hosts', () => {
    expect(regionFromUrl(new URL('https://a1b2c3d4e5.execute-api.ap-southeast-2.amazonaws.com/v1/'))).toBe(
      'ap-southeast-2',
    );
    expect(regionFromUrl(new URL('https://api.example.com/v1/'))).toBeUndefined();
  });
});

describe('finding the API', () => {
  const cloudFormation = new CloudFormationClient({ region: 'eu-west-1' });
  const apiGateway = new APIGatewayClient({ region: 'eu-west-1' });
  const cfnMock = mockClient(cloudFormation);
  const apiGatewayMock = mockClient(apiGateway);
  const stack = (outputs: Record<string, string>) => ({
    Stacks: [
      {
        StackName: 'mlpipe-sandbox-serving',
        CreationTime: new Date(0),
        StackStatus: 'CREATE_COMPLETE' as const,
        Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
      },
    ],
  });

  beforeEach(() => {
    cfnMock.reset();
    apiGatewayMock.reset();
  });

  test("the URL and the key's value come from the Serving stack's outputs and GetApiKey", async () => {
    cfnMock
      .on(DescribeStacksCommand, { StackName: 'mlpipe-sandbox-serving' })
      .resolves(stack({ ApiUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com/v1', ApiKeyId: 'key-id-1' }));
    apiGatewayMock.on(GetApiKeyCommand).resolves({ id: 'key-id-1', value: 'secret-value' });

    const location = await resolveApiLocation({ cloudFormation, apiGateway }, 'mlpipe-sandbox-serving', {});

    expect(location.baseUrl.href).toBe('https://abc123.execute-api.eu-west-1.amazonaws.com/v1/');
    expect(location.apiKey).toBe('secret-value');
    expect(apiGatewayMock.commandCalls(GetApiKeyCommand).map((call) => call.args[0].input)).toEqual([
      { apiKey: 'key-id-1', includeValue: true },
    ]);
  });

  test('--url and --api-key make no AWS call', async () => {
    const location = await resolveApiLocation({ cloudFormation, apiGateway }, 'mlpipe-sandbox-serving', {
      url: baseUrl.href,
      apiKey: 'given',
    });
    expect(location).toEqual({ baseUrl, apiKey: 'given' });
    expect(cfnMock.calls()).toHaveLength(0);
    expect(apiGatewayMock.calls()).toHaveLength(0);
  });

  test('--url alone still reads the key from the stack', async () => {
    cfnMock.on(DescribeStacksCommand).resolves(stack({ ApiKeyId: 'key-id-2' }));
    apiGatewayMock.on(GetApiKeyCommand).resolves({ value: 'from-api-gateway' });
    const location = await resolveApiLocation({ cloudFormation, apiGateway }, 'mlpipe-sandbox-serving', {
      url: baseUrl.href,
    });
    expect(location).toEqual({ baseUrl, apiKey: 'from-api-gateway' });
  });

  test('a missing stack is the ToolError that says to deploy it', async () => {
    cfnMock
      .on(DescribeStacksCommand)
      .rejects(
        Object.assign(new Error('Stack with id mlpipe-sandbox-serving does not exist'), { name: 'ValidationError' }),
      );
    await expect(resolveApiLocation({ cloudFormation, apiGateway }, 'mlpipe-sandbox-serving', {})).rejects.toThrow(
      new ToolError(
        'Stack mlpipe-sandbox-serving is not deployed in this account and region. Deploy it first: npx cdk deploy --all' +
          ' (or pass the stage it was deployed with: --stage <stage>)',
      ),
    );
    expect(apiGatewayMock.calls()).toHaveLength(0);
  });

  test('a key that is gone is a ToolError that says to redeploy', async () => {
    cfnMock.on(DescribeStacksCommand).resolves(stack({ ApiUrl: baseUrl.href, ApiKeyId: 'key-gone' }));
    apiGatewayMock
      .on(GetApiKeyCommand)
      .rejects(Object.assign(new Error('Invalid API Key identifier'), { name: 'NotFoundException' }));
    await expect(resolveApiLocation({ cloudFormation, apiGateway }, 'mlpipe-sandbox-serving', {})).rejects.toThrow(
      /API key key-gone .* no longer exists\. Redeploy the Serving stack/,
    );
  });
});

describe('npm run predict', () => {
  let log: jest.SpyInstance;
  let error: jest.SpyInstance;
  const printed = (spy: jest.SpyInstance) => spy.mock.calls.map((args: unknown[]) => args.join(' ')).join('\n');

  // Every stage signs its requests by default (api.authorization iam); these are the credentials it signs with.
  const signingEnv = { AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' };
  const savedEnv = Object.fromEntries(Object.keys(signingEnv).map((name) => [name, process.env[name]]));

  beforeEach(() => {
    log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    error = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    Object.assign(process.env, signingEnv);
  });
  afterEach(() => {
    jest.restoreAllMocks();
    for (const [name, value] of Object.entries(savedEnv)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  test('--help prints the usage with every option', async () => {
    const { result, text: help } = await stdoutOf(() => main(['--help']));
    expect(result).toBe(0);
    expect(help).toMatch(/^Usage: npm run predict -- \[options\]/);
    for (const option of ['--record', '--file', '--example', '--health', '--json', '--url', '--api-key', '--stage']) {
      expect(help).toContain(option);
    }
    expect(received).toHaveLength(0);
  });

  test('scores an ingest-style file against --url with --api-key and prints lines and a summary', async () => {
    const path = writeFile('main.ndjson', ndjson([event(1, 900, true), event(2, 20, false)]));
    await expect(main(['--url', baseUrl.href, '--api-key', API_KEY, '--file', path])).resolves.toBe(0);
    expect(printed(log).split('\n')).toEqual([
      'record 1      fraud probability 0.900  FLAGGED      actual fraud  ✓ agrees',
      'record 2      fraud probability 0.020  not flagged  actual legit  ✓ agrees',
      '2 record(s), 1 flagged as fraud (threshold 0.5).',
      '2 labelled (1 actual fraud): prediction agrees with the label for 2 (100%); 0 missed fraud, 0 false alarm(s).',
    ]);
    // SigV4 is the default authorization, so every request is signed for execute-api in the region.
    expect(String(received[0].headers.authorization)).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request/,
    );
  });

  test('--json prints the raw answer and a failed request exits 1 with the hint on stderr', async () => {
    reply = () => ({ status: 429, body: { message: 'Too Many Requests' } });
    await expect(main(['--url', baseUrl.href, '--api-key', API_KEY, '--example', '--json'])).resolves.toBe(1);
    expect(JSON.parse(printed(log))).toEqual({ message: 'Too Many Requests' });
    expect(printed(error)).toContain('The API answered 429 Too Many Requests for record 1 of 1.');
    expect(printed(error)).toContain('Retry later, with backoff.');
  });

  test('two inputs at once are a usage error, before any request', async () => {
    await expect(main(['--url', baseUrl.href, '--api-key', API_KEY, '--example', '{}'])).rejects.toThrow(
      new UsageError('Pass only one of --record, a record argument, --file and --example.'),
    );
    expect(received).toHaveLength(0);
  });
});
