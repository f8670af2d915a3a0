import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { TRANSACTION_SCHEMA } from '../../lib/schema/feature-schema';
import { inferenceLogColumns } from '../../lib/schema/inference-log';
import { schemaToJson } from '../../lib/schema/schema-json';
import { installStreamingRuntime, invokeStreaming } from '../../scripts/lib/streaming-runtime';
import { type LocalServer, startLocalServer } from '../local-server';

/**
 * The real handler with the real AWS SDK clients, against a local server on 127.0.0.1 that answers the way SageMaker
 * does on the wire: `POST /endpoints/<name>/invocations` for the runtime (raw CSV in and out, errors named in the
 * `x-amzn-ErrorType` header) and the JSON 1.1 protocol for DescribeEndpoint; and the way Firehose does for
 * PutRecordBatch (JSON 1.1, records base64-encoded, per-record results in request order). The handler runs as
 * Lambda's runtime runs a streaming function, and its output is read as API Gateway reads it in STREAM mode
 * (scripts/lib/streaming-runtime.ts).
 */
type Scenario = 'ok' | 'model-error' | 'throttled' | 'missing' | 'slow';
let scenario: Scenario = 'ok';
type LogScenario = 'ok' | 'partial' | 'down' | 'hangs';
let logScenario: LogScenario = 'ok';
const received: { path?: string; contentType?: string; accept?: string; body: string }[] = [];
const logged: { stream: string; rows: Record<string, unknown>[]; at: number }[] = [];
const LOG_TIMEOUT_MS = 300;

function firehose(response: ServerResponse, body: string): void {
  const { DeliveryStreamName, Records } = JSON.parse(body) as {
    DeliveryStreamName: string;
    Records: { Data: string }[];
  };
  const rows = Records.map(
    (r) => JSON.parse(Buffer.from(r.Data, 'base64').toString('utf8')) as Record<string, unknown>,
  );
  logged.push({ stream: DeliveryStreamName, rows, at: performance.now() });
  const json = (status: number, payload: unknown, type?: string): void => {
    response
      .writeHead(status, {
        'content-type': 'application/x-amz-json-1.1',
        ...(type ? { 'x-amzn-errortype': type } : {}),
      })
      .end(JSON.stringify(payload));
  };
  switch (logScenario) {
    case 'down':
      return json(500, { message: 'Service unavailable' }, 'ServiceUnavailableException');
    case 'hangs':
      // Unref'd: a stream that never answers in time must not keep Jest waiting after the tests.
      setTimeout(
        () => json(200, { FailedPutCount: 0, RequestResponses: Records.map(() => ({ RecordId: 'r' })) }),
        2_000,
      ).unref();
      return;
    case 'partial':
      return json(200, {
        FailedPutCount: 1,
        RequestResponses: Records.map((_, i) =>
          i === 0 ? { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down.' } : { RecordId: `r${i}` },
        ),
      });
    default:
      return json(200, {
        FailedPutCount: 0,
        Encrypted: true,
        RequestResponses: Records.map((_, i) => ({ RecordId: `r${i}` })),
      });
  }
}

function sagemaker(request: IncomingMessage, response: ServerResponse, body: string): void {
  if (String(request.headers['x-amz-target']).startsWith('Firehose_20150804.PutRecordBatch')) {
    return firehose(response, body);
  }
  if (request.url?.startsWith('/endpoints/')) {
    received.push({
      path: request.url,
      contentType: request.headers['content-type'],
      accept: request.headers.accept,
      body,
    });
    const error = (status: number, type: string, message: string): void => {
      response
        .writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type })
        .end(JSON.stringify({ Message: message }));
    };
    switch (scenario) {
      case 'model-error':
        return error(424, 'ModelError', 'Received client error (400) from primary with message "bad input"');
      case 'throttled':
        return error(429, 'ThrottlingException', 'Rate exceeded');
      case 'missing':
        return error(400, 'ValidationError', 'Endpoint mlpipe-sandbox-fraud of account 123456789012 not found.');
      case 'slow':
        setTimeout(() => response.writeHead(200, { 'content-type': 'text/csv' }).end('0.5\n'), 1_000).unref();
        return;
      default: {
        const rows = body.split('\n').length;
        response.writeHead(200, { 'content-type': 'text/csv' }).end(Array(rows).fill('0.91').join('\n'));
        return;
      }
    }
  }
  // DescribeEndpoint (awsJson1_1)
  const describe = {
    EndpointName: 'mlpipe-sandbox-fraud',
    EndpointStatus: 'InService',
    EndpointConfigName: 'mlpipe-sandbox-3f2a9c1e',
  };
  response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(describe));
}

let server: LocalServer;
let handler: unknown;

beforeAll(async () => {
  server = await startLocalServer(sagemaker);
  const { url } = server;
  Object.assign(process.env, {
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: url,
    AWS_ENDPOINT_URL_SAGEMAKER: url,
    AWS_ENDPOINT_URL_FIREHOSE: url,
    INFERENCE_LOG_STREAM: 'mlpipe-sandbox-predictions',
    INFERENCE_LOG_TIMEOUT_MS: String(LOG_TIMEOUT_MS),
    ENDPOINT_NAME: 'mlpipe-sandbox-fraud',
    FEATURE_SCHEMA: schemaToJson(TRANSACTION_SCHEMA),
    DECISION_THRESHOLD: '0.5',
    MAX_BATCH_SIZE: '50',
    MAX_BODY_BYTES: '65536',
    INVOKE_TIMEOUT_MS: '200',
    POWERTOOLS_TRACE_ENABLED: 'false',
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
  // Loaded only now, because the module reads its environment once when it is loaded; and after the global the
  // runtime sets before it loads a function.
  installStreamingRuntime();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  ({ handler } = require('../../lambda/predict/index') as { handler: unknown });
});

afterAll(() => server.close());
beforeEach(() => {
  scenario = 'ok';
  logScenario = 'ok';
  received.length = 0;
  logged.length = 0;
});

const record = {
  amount: 12,
  merchant_category: 'grocery',
  channel: 'chip',
  card_present: true,
  distance_from_home_km: 2,
  minutes_since_last_transaction: 600,
  transactions_last_24h: 1,
  hour_of_day: 10,
};
const call = (method: string, resource: string, body: unknown = null) =>
  invokeStreaming(handler, {
    httpMethod: method,
    resource,
    body: body === null ? null : JSON.stringify(body),
    isBase64Encoded: false,
    requestContext: { requestId: 'api-request-1' },
  });

describe('the predict handler against a local SageMaker endpoint', () => {
  test('sends CSV to the invocations path and returns probabilities', async () => {
    const response = await call('POST', '/predict', { records: [record, record] });
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body).predictions).toEqual([
      { fraudProbability: 0.91, isFraud: true },
      { fraudProbability: 0.91, isFraud: true },
    ]);
    expect(received).toEqual([
      {
        path: '/endpoints/mlpipe-sandbox-fraud/invocations',
        contentType: 'text/csv',
        accept: 'text/csv',
        body: '12,0,0,1,2,600,1,10\n12,0,0,1,2,600,1,10',
      },
    ]);
  });

  test.each([
    ['model-error', 502],
    ['throttled', 429],
    ['missing', 503],
    ['slow', 504],
  ] as const)('maps the endpoint answering %s to %i', async (name, status) => {
    scenario = name;
    const response = await call('POST', '/predict', record);
    expect(response.statusCode).toBe(status);
    expect(JSON.parse(response.body).message).toEqual(expect.any(String));
  });

  test('logs every scored record to the inference log stream in one call, with the columns of its table', async () => {
    const id = '6f1c2d3e-0000-4000-8000-000000000001';
    const response = await call('POST', '/predict', { records: [{ ...record, transaction_id: id }, record] });
    expect(response.statusCode).toBe(200);
    expect(logged).toHaveLength(1);
    const [{ stream, rows }] = logged;
    expect(stream).toBe('mlpipe-sandbox-predictions');
    const columns = inferenceLogColumns(TRANSACTION_SCHEMA).map((c) => c.name);
    for (const row of rows) expect(Object.keys(row)).toEqual(columns);
    expect(rows[0]).toEqual({
      request_id: 'api-request-1',
      record_index: 0,
      transaction_id: id,
      predicted_at: expect.any(Number),
      model_name: 'mlpipe-sandbox-3f2a9c1e',
      ...record,
      score: 0.91,
      decision: true,
      decision_threshold: 0.5,
    });
    expect(rows[1]).toMatchObject({ record_index: 1, transaction_id: null });
    expect(Math.abs((rows[0].predicted_at as number) - Date.now())).toBeLessThan(10_000);
  });

  test.each(['down', 'partial'] as const)('still answers when the log stream is %s', async (name) => {
    logScenario = name;
    const response = await call('POST', '/predict', { records: [record, record] });
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body).predictions).toHaveLength(2);
  });

  test('answers before the log is sent, and ends the invocation within the log budget', async () => {
    logScenario = 'hangs';
    const response = await call('POST', '/predict', record);
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body).predictions).toHaveLength(1);
    // The client's answer does not wait for the stream: the invocation goes on after it for the whole budget (timers
    // never fire early), and not much longer.
    expect(response.completedMs - response.answeredMs).toBeGreaterThanOrEqual(LOG_TIMEOUT_MS * 0.9);
    expect(response.completedMs).toBeLessThan(LOG_TIMEOUT_MS + 700);
    expect(logged).toHaveLength(1);
  });

  test('sends the log only once the answer has gone out, not at the end() call', async () => {
    const started = performance.now();
    // The answer's last write takes 30 ms to go out: a handler that did not wait would log before it.
    const response = await invokeStreaming(
      handler,
      { httpMethod: 'POST', resource: '/predict', body: JSON.stringify(record), requestContext: { requestId: 'r' } },
      {},
      { lastWriteDelayMs: 30 },
    );
    expect(response.statusCode).toBe(200);
    expect(logged).toHaveLength(1);
    expect(logged[0].at - started).toBeGreaterThanOrEqual(response.answeredMs);
  });

  test('answers in the streaming format, with the status and headers in the prelude', async () => {
    const response = await call('POST', '/predict', record);
    expect(response.headers).toEqual({ 'content-type': 'application/json', 'cache-control': 'no-store' });
  });

  test('logs nothing for a request it rejects or could not score', async () => {
    expect((await call('POST', '/predict', { ...record, amount: -1 })).statusCode).toBe(400);
    scenario = 'model-error';
    expect((await call('POST', '/predict', record)).statusCode).toBe(502);
    expect(logged).toEqual([]);
  });

  test('rejects a record id that is not a short string, as the request model does', async () => {
    const response = await call('POST', '/predict', { ...record, transaction_id: 'x'.repeat(129) });
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body).details).toEqual(["'transaction_id' must be 1 to 128 characters, got 129"]);
  });

  test('reports health from DescribeEndpoint', async () => {
    const response = await call('GET', '/health');
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ endpointName: 'mlpipe-sandbox-fraud', status: 'InService' });
  });

  test('answers an event with no body key as a request without a body', async () => {
    const response = await invokeStreaming(handler, { httpMethod: 'POST', resource: '/predict' });
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body)).toEqual({ message: 'The request has no body; send JSON.' });
  });

  test('answers 404 for a route it does not serve', async () => {
    expect((await call('GET', '/admin')).statusCode).toBe(404);
  });
});
