import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TRANSACTION_SCHEMA } from '../../lib/schema/feature-schema';
import { schemaToJson } from '../../lib/schema/schema-json';
import { type LocalServer, startLocalServer } from '../local-server';

/**
 * The real handler with the real AWS SDK clients, against a local server on 127.0.0.1 that answers the way SageMaker
 * does on the wire: `POST /endpoints/<name>/invocations` for the runtime (raw CSV in and out, errors named in the
 * `x-amzn-ErrorType` header) and the JSON 1.1 protocol for DescribeEndpoint.
 */
type Scenario = 'ok' | 'model-error' | 'throttled' | 'missing' | 'slow';
let scenario: Scenario = 'ok';
const received: { path?: string; contentType?: string; accept?: string; body: string }[] = [];

function sagemaker(request: IncomingMessage, response: ServerResponse, body: string): void {
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
        setTimeout(() => response.writeHead(200, { 'content-type': 'text/csv' }).end('0.5\n'), 1_000);
        return;
      default: {
        const rows = body.split('\n').length;
        response.writeHead(200, { 'content-type': 'text/csv' }).end(Array(rows).fill('0.91').join('\n'));
        return;
      }
    }
  }
  // DescribeEndpoint (awsJson1_1)
  const describe = { EndpointName: 'mlpipe-sandbox-fraud', EndpointStatus: 'InService' };
  response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(describe));
}

let server: LocalServer;
let handler: (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

beforeAll(async () => {
  server = await startLocalServer(sagemaker);
  const { url } = server;
  Object.assign(process.env, {
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: url,
    AWS_ENDPOINT_URL_SAGEMAKER: url,
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
  // Loaded only now, because the module reads its environment once when it is loaded.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  ({ handler } = require('../../lambda/predict/index') as { handler: typeof handler });
});

afterAll(() => server.close());
beforeEach(() => {
  scenario = 'ok';
  received.length = 0;
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
  handler({
    httpMethod: method,
    resource,
    body: body === null ? null : JSON.stringify(body),
    isBase64Encoded: false,
  } as APIGatewayProxyEvent);

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

  test('reports health from DescribeEndpoint', async () => {
    const response = await call('GET', '/health');
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ endpointName: 'mlpipe-sandbox-fraud', status: 'InService' });
  });

  test('answers an event with no body key as a request without a body', async () => {
    const response = await handler({ httpMethod: 'POST', resource: '/predict' } as APIGatewayProxyEvent);
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body)).toEqual({ message: 'The request has no body; send JSON.' });
  });

  test('answers 404 for a route it does not serve', async () => {
    expect((await call('GET', '/admin')).statusCode).toBe(404);
  });
});
