/**
 * A local stand-in for the deployed API on 127.0.0.1: API Gateway's key check (403 without the right x-api-key),
 * then the real predict logic of lambda/predict with the SageMaker runtime mocked to answer amount / 1000 as the
 * fraud probability. So a body with a field the model does not know (an id, a label) fails here as it would in AWS.
 */
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { mockClient } from 'aws-sdk-client-mock';
import type { IncomingHttpHeaders } from 'node:http';
import { predict } from '../../../lambda/predict/predict';
import { TRANSACTION_SCHEMA } from '../../../lib/schema/feature-schema';
import type { ApiTarget } from '../../../scripts/predict/http';
import { type LocalServer, startLocalServer } from '../../local-server';

export const API_KEY = 'test-key-value';

export interface Received {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface Reply {
  readonly status: number;
  readonly body: unknown;
}

export interface FakeApi {
  /** `http://127.0.0.1:<port>/v1/`, once the server listens (from beforeAll on). */
  readonly baseUrl: URL;
  /** The requests of the current test, in order. */
  readonly received: Received[];
  /** How the API answers; back to the real predict logic before each test. */
  reply: (request: Received) => Promise<Reply> | Reply;
  /** A target for the client: this API with the right key and a 5 s timeout. */
  target(overrides?: Partial<ApiTarget>): ApiTarget;
}

const settings = {
  schema: TRANSACTION_SCHEMA,
  endpointName: 'mlpipe-sandbox-fraud',
  threshold: 0.5,
  maxBatchSize: 100,
  maxBodyBytes: 256 * 1024,
};

/** Starts the API for the test file (beforeAll, afterAll) and resets what it received and answers before each test. */
export function useFakeApi(): FakeApi {
  const runtimeMock = mockClient(SageMakerRuntimeClient);
  const runtime = new SageMakerRuntimeClient({ region: 'eu-west-1' });
  const apiLikeAws = async (request: Received): Promise<Reply> => {
    if (request.headers['x-api-key'] !== API_KEY) return { status: 403, body: { message: 'Forbidden' } };
    if (request.method === 'GET' && request.path === '/v1/health') {
      return { status: 200, body: { endpointName: settings.endpointName, status: 'InService' } };
    }
    if (request.method !== 'POST' || request.path !== '/v1/predict')
      return { status: 403, body: { message: 'Missing Authentication Token' } };
    const { response } = await predict(runtime, settings, request.body);
    return { status: response.statusCode, body: JSON.parse(response.body) };
  };

  let server: LocalServer | undefined;
  let baseUrl: URL | undefined;
  const api: FakeApi = {
    get baseUrl() {
      if (baseUrl === undefined) throw new Error('The fake API starts in beforeAll; use baseUrl inside a test');
      return baseUrl;
    },
    received: [],
    reply: apiLikeAws,
    target: (overrides = {}) => ({ baseUrl: api.baseUrl, apiKey: API_KEY, timeoutMs: 5_000, ...overrides }),
  };

  beforeAll(async () => {
    server = await startLocalServer((request, response, body) => {
      const entry = { method: request.method ?? '', path: request.url ?? '', headers: request.headers, body };
      api.received.push(entry);
      void Promise.resolve(api.reply(entry)).then(({ status, body: answer }) =>
        response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(answer)),
      );
    });
    baseUrl = new URL(`${server.url}/v1/`);
  });

  afterAll(async () => {
    await server?.close();
  });

  beforeEach(() => {
    api.received.length = 0;
    api.reply = apiLikeAws;
    runtimeMock.reset();
    runtimeMock.on(InvokeEndpointCommand).callsFake(({ Body }: { Body: Uint8Array }) => {
      const rows = new TextDecoder().decode(Body).split('\n');
      // Column 0 is the amount, the first feature in model order.
      const csv = rows.map((row) => Number(row.split(',')[0]) / 1000).join('\n');
      return { Body: new TextEncoder().encode(csv) } as never;
    });
  });

  return api;
}

/** The records a request carried: `{"records": [...]}` or a single record. */
export const sentRecords = (request: Received): Record<string, unknown>[] => {
  const body = JSON.parse(request.body) as Record<string, unknown>;
  return Array.isArray(body.records) ? (body.records as Record<string, unknown>[]) : [body];
};
