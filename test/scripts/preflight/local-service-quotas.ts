/**
 * A local server that answers like Service Quotas on the wire (awsJson1_1: `POST /` with `X-Amz-Target:
 * ServiceQuotasV20190624.<Operation>`), serving each listing in pages linked by NextToken; and SageMaker quotas
 * as an account shows them.
 */
import type { ServiceQuota } from '@aws-sdk/client-service-quotas';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type LocalServer, startLocalServer } from '../../local-server';

export const SPOT_TYPE = 'ml.m5.xlarge for spot training job usage';
export const SPOT_TOTAL = 'Number of instances across all spot training jobs';
export const SERVERLESS_CONCURRENCY = 'Maximum total concurrency that can be allocated across all serverless endpoints';
export const SERVERLESS_ENDPOINTS = 'Maximum number of serverless endpoints';

export interface Fixture {
  readonly applied: readonly (readonly ServiceQuota[])[];
  readonly defaults: readonly (readonly ServiceQuota[])[];
  readonly deny?: boolean;
}

export interface ReceivedRequest {
  readonly operation: string;
  readonly body: { readonly ServiceCode?: string; readonly NextToken?: string; readonly MaxResults?: number };
}

export const quota = (QuotaName: string, QuotaCode: string, Value: number, Adjustable = true): ServiceQuota => ({
  ServiceCode: 'sagemaker',
  ServiceName: 'Amazon SageMaker',
  QuotaArn: `arn:aws:servicequotas:us-east-1:123456789012:sagemaker/${QuotaCode}`,
  QuotaCode,
  QuotaName,
  Value,
  Unit: 'None',
  Adjustable,
  GlobalQuota: false,
});

/** The sandbox's quotas spread the way an account shows them: over two pages, one only among the defaults. */
export const SPREAD: Fixture = {
  applied: [
    [quota('ml.c5.large for endpoint usage', 'L-4D27DFDD', 3), quota(SPOT_TYPE, 'L-4CEE6BA6', 2)],
    [quota(SPOT_TOTAL, 'L-93958082', 0)],
  ],
  defaults: [
    [quota('ml.t2.medium for endpoint usage', 'L-A1B2C3D4', 2)],
    [quota(SERVERLESS_CONCURRENCY, 'L-96300102', 10)],
  ],
};

export interface LocalServiceQuotas {
  /** `http://127.0.0.1:<port>`, once the server listens (from beforeAll on). */
  readonly url: string;
  /** The requests of the current test, in order. */
  readonly received: ReceivedRequest[];
  /** The quotas the server lists; kept from one test to the next until a test sets others. */
  fixture: Fixture;
}

/** Starts the server for the test file (beforeAll, afterAll) and clears what it received before each test. */
export function useLocalServiceQuotas(): LocalServiceQuotas {
  let server: LocalServer | undefined;
  const service = {
    get url() {
      if (server === undefined) throw new Error('The server starts in beforeAll; use its url inside a test');
      return server.url;
    },
    received: [] as ReceivedRequest[],
    fixture: { applied: [], defaults: [] } as Fixture,
  };
  const received = service.received;

  function serviceQuotas(request: IncomingMessage, response: ServerResponse, raw: string): void {
    const json = (status: number, body: unknown): void => {
      response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(body));
    };
    const operation = String(request.headers['x-amz-target']).replace('ServiceQuotasV20190624.', '');
    const body = JSON.parse(raw) as ReceivedRequest['body'];
    received.push({ operation, body });
    const { fixture } = service;
    if (fixture.deny) {
      return json(400, {
        __type: 'AccessDeniedException',
        message: `User is not authorized to perform: servicequotas:${operation}`,
      });
    }
    const pages = { ListServiceQuotas: fixture.applied, ListAWSDefaultServiceQuotas: fixture.defaults }[operation];
    if (request.method !== 'POST' || request.url !== '/' || pages === undefined) {
      return json(400, { __type: 'UnknownOperationException', message: `unexpected ${request.method} ${operation}` });
    }
    if (body.ServiceCode !== 'sagemaker') {
      return json(400, { __type: 'NoSuchResourceException', message: `no service ${body.ServiceCode}` });
    }
    const index = body.NextToken === undefined ? 0 : Number(body.NextToken.replace('page-', ''));
    const next = index + 1 < pages.length ? `page-${index + 1}` : undefined;
    json(200, { Quotas: pages[index] ?? [], ...(next === undefined ? {} : { NextToken: next }) });
  }

  beforeAll(async () => {
    server = await startLocalServer(serviceQuotas);
  });
  afterAll(() => server?.close());
  beforeEach(() => {
    received.length = 0;
  });
  return service;
}
