import { ServiceQuotasClient, type ServiceQuota } from '@aws-sdk/client-service-quotas';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type LocalServer, startLocalServer } from '../local-server';
import { stdoutOf } from './stdout';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadStageConfig } from '../../lib/config/stage-config';
import { main } from '../../scripts/preflight';
import { ToolError } from '../../scripts/lib/cli';
import {
  checkQuotas,
  formatReport,
  quotasSufficient,
  requiredQuotas,
  type FoundQuota,
  type QuotaCheck,
} from '../../scripts/lib/quotas';
import { loadToolConfig } from '../../scripts/lib/stage';

const SPOT_TYPE = 'ml.m5.xlarge for spot training job usage';
const SPOT_TOTAL = 'Number of instances across all spot training jobs';
const SERVERLESS_CONCURRENCY = 'Maximum total concurrency that can be allocated across all serverless endpoints';
const SERVERLESS_ENDPOINTS = 'Maximum number of serverless endpoints';

const namesAndValues = (config: ReturnType<typeof loadStageConfig>) =>
  requiredQuotas(config).map(({ name, needed }) => ({ name, needed }));

describe('requiredQuotas', () => {
  test('the sandbox needs the spot training quotas and the serverless endpoint quotas', () => {
    expect(namesAndValues(loadStageConfig('sandbox'))).toEqual([
      { name: SPOT_TYPE, needed: 1 },
      { name: SPOT_TOTAL, needed: 1 },
      { name: SERVERLESS_CONCURRENCY, needed: 5 },
      { name: SERVERLESS_ENDPOINTS, needed: 1 },
    ]);
  });

  test('the serverless concurrency needed is the endpoint maximum concurrency', () => {
    const config = loadStageConfig('sandbox', { serving: { serverlessMaxConcurrency: 40 } });
    expect(namesAndValues(config)).toContainEqual({ name: SERVERLESS_CONCURRENCY, needed: 40 });
  });

  test('prod needs twice its endpoint instances, because a rollout runs the old and the new fleet at once', () => {
    expect(namesAndValues(loadStageConfig('prod'))).toEqual([
      { name: SPOT_TYPE, needed: 1 },
      { name: SPOT_TOTAL, needed: 1 },
      { name: 'ml.m5.large for endpoint usage', needed: 2 },
      { name: 'Number of instances across active endpoints', needed: 2 },
    ]);
  });

  test('the endpoint quota follows the configured instance type and count', () => {
    const config = loadStageConfig('prod', { serving: { instanceType: 'ml.c5.xlarge', initialInstanceCount: 3 } });
    expect(namesAndValues(config)).toContainEqual({ name: 'ml.c5.xlarge for endpoint usage', needed: 6 });
  });

  test('on-demand training needs the on-demand quotas instead of the spot ones', () => {
    const config = loadStageConfig('sandbox', {
      training: { useSpot: false, instanceType: 'ml.c5.2xlarge', instanceCount: 4 },
    });
    const quotas = namesAndValues(config);
    expect(quotas.slice(0, 2)).toEqual([
      { name: 'ml.c5.2xlarge for training job usage', needed: 4 },
      { name: 'Number of instances across all training jobs', needed: 4 },
    ]);
    expect(quotas.map(({ name }) => name).filter((name) => name.includes('spot'))).toEqual([]);
  });
});

/**
 * A local server that answers like Service Quotas on the wire (awsJson1_1: `POST /` with `X-Amz-Target:
 * ServiceQuotasV20190624.<Operation>`), serving each listing in pages linked by NextToken.
 */
interface Fixture {
  readonly applied: readonly (readonly ServiceQuota[])[];
  readonly defaults: readonly (readonly ServiceQuota[])[];
  readonly deny?: boolean;
}
interface ReceivedRequest {
  readonly operation: string;
  readonly body: { readonly ServiceCode?: string; readonly NextToken?: string; readonly MaxResults?: number };
}
let fixture: Fixture = { applied: [], defaults: [] };
let received: ReceivedRequest[] = [];

const quota = (QuotaName: string, QuotaCode: string, Value: number, Adjustable = true): ServiceQuota => ({
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

function serviceQuotas(request: IncomingMessage, response: ServerResponse, raw: string): void {
  const json = (status: number, body: unknown): void => {
    response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(body));
  };
  const operation = String(request.headers['x-amz-target']).replace('ServiceQuotasV20190624.', '');
  const body = JSON.parse(raw) as ReceivedRequest['body'];
  received.push({ operation, body });
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

let server: LocalServer;
let url: string;

beforeAll(async () => {
  server = await startLocalServer(serviceQuotas);
  url = server.url;
});
afterAll(() => server.close());
beforeEach(() => {
  received = [];
});

const sandboxQuotas = requiredQuotas(loadStageConfig('sandbox'));

/** The sandbox's quotas spread the way an account shows them: over two pages, one only among the defaults. */
const SPREAD: Fixture = {
  applied: [
    [quota('ml.c5.large for endpoint usage', 'L-4D27DFDD', 3), quota(SPOT_TYPE, 'L-4CEE6BA6', 2)],
    [quota(SPOT_TOTAL, 'L-93958082', 0)],
  ],
  defaults: [
    [quota('ml.t2.medium for endpoint usage', 'L-A1B2C3D4', 2)],
    [quota(SERVERLESS_CONCURRENCY, 'L-96300102', 10)],
  ],
};

async function check(
  given: Fixture,
): Promise<{ report: Awaited<ReturnType<typeof checkQuotas>>; byName: Map<string, QuotaCheck> }> {
  fixture = given;
  const client = new ServiceQuotasClient({
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
  });
  try {
    const report = await checkQuotas(client, sandboxQuotas);
    return { report, byName: new Map(report.checks.map((c) => [c.name, c])) };
  } finally {
    client.destroy();
  }
}

describe('checkQuotas with the real SDK client against a local Service Quotas server', () => {
  test('it follows NextToken to the second page of the applied quotas', async () => {
    const { byName } = await check(SPREAD);
    expect(received.filter(({ operation }) => operation === 'ListServiceQuotas').map(({ body }) => body)).toEqual([
      { ServiceCode: 'sagemaker', MaxResults: 100 },
      { ServiceCode: 'sagemaker', MaxResults: 100, NextToken: 'page-1' },
    ]);
    expect(byName.get(SPOT_TOTAL)).toMatchObject({ code: 'L-93958082', value: 0, source: 'applied' });
  });

  test('a quota the account never adjusted gets its AWS default value', async () => {
    const { byName } = await check(SPREAD);
    expect(byName.get(SERVERLESS_CONCURRENCY)).toMatchObject({
      status: 'ok',
      code: 'L-96300102',
      value: 10,
      source: 'default',
    });
    expect(received.filter(({ operation }) => operation === 'ListAWSDefaultServiceQuotas')).toHaveLength(2);
  });

  test('a zero quota fails the check and the report gives the exact command to raise it', async () => {
    const { report, byName } = await check(SPREAD);
    expect(byName.get(SPOT_TOTAL)?.status).toBe('too-low');
    expect(byName.get(SPOT_TYPE)?.status).toBe('ok');
    expect(quotasSufficient(report)).toBe(false);
    const text = formatReport('sandbox', report, []);
    expect(text).toContain(
      'aws service-quotas request-service-quota-increase --service-code sagemaker --quota-code L-93958082 ' +
        '--desired-value 1 --region us-east-1',
    );
    expect(text).not.toContain('--quota-code L-4CEE6BA6');
    expect(text).toMatch(/1 of 4 quotas are below what stage sandbox needs in us-east-1/);
  });

  test('a quota in neither list is reported as not found with a warning, without failing the check', async () => {
    const { report, byName } = await check({
      applied: [[quota(SPOT_TYPE, 'L-4CEE6BA6', 2), quota(SPOT_TOTAL, 'L-93958082', 4)]],
      defaults: [[quota(SERVERLESS_CONCURRENCY, 'L-96300102', 10)]],
    });
    expect(byName.get(SERVERLESS_ENDPOINTS)).toEqual({ ...sandboxQuotas[3], status: 'not-found' });
    expect(quotasSufficient(report)).toBe(true);
    expect(formatReport('sandbox', report, [])).toContain(
      `Warning: Service Quotas has no quota named "${SERVERLESS_ENDPOINTS}" in us-east-1`,
    );
  });

  test('a quota exactly at the value needed passes and one just below fails', async () => {
    const { byName } = await check({
      applied: [
        [
          quota(SPOT_TYPE, 'L-4CEE6BA6', 1),
          quota(SPOT_TOTAL, 'L-93958082', 1),
          quota(SERVERLESS_CONCURRENCY, 'L-96300102', 4),
          quota(SERVERLESS_ENDPOINTS, 'L-99AD19BF', 1),
        ],
      ],
      defaults: [],
    });
    expect([...byName.values()].map(({ name, needed, status }) => ({ name, needed, status }))).toEqual([
      { name: SPOT_TYPE, needed: 1, status: 'ok' },
      { name: SPOT_TOTAL, needed: 1, status: 'ok' },
      { name: SERVERLESS_CONCURRENCY, needed: 5, status: 'too-low' },
      { name: SERVERLESS_ENDPOINTS, needed: 1, status: 'ok' },
    ]);
  });

  test('it stops reading pages once every needed quota is found', async () => {
    const { report } = await check({
      applied: [
        [
          quota(SPOT_TYPE, 'L-4CEE6BA6', 2),
          quota(SPOT_TOTAL, 'L-93958082', 4),
          quota(SERVERLESS_CONCURRENCY, 'L-96300102', 10),
          quota(SERVERLESS_ENDPOINTS, 'L-99AD19BF', 5),
        ],
        [quota('ml.c5.large for endpoint usage', 'L-4D27DFDD', 3)],
      ],
      defaults: [],
    });
    expect(received.map(({ operation }) => operation)).toEqual(['ListServiceQuotas']);
    expect(report.checks.map(({ status }) => status)).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(formatReport('sandbox', report, [])).toContain('Every quota stage sandbox needs that exists in us-east-1');
  });

  test('a quota that cannot be raised on request says to change the instance type instead', async () => {
    const { report } = await check({
      applied: [[quota(SPOT_TYPE, 'L-4CEE6BA6', 0, false), quota(SPOT_TOTAL, 'L-93958082', 4)]],
      defaults: [],
    });
    const text = formatReport('sandbox', report, []);
    expect((report.checks[0] as FoundQuota).adjustable).toBe(false);
    expect(text).not.toContain('request-service-quota-increase');
    expect(text).toContain(`"${SPOT_TYPE}" (L-4CEE6BA6) cannot be raised on request`);
  });

  test('an access-denied answer becomes a ToolError that names the permissions to grant', async () => {
    const denied = check({ applied: [], defaults: [], deny: true });
    await expect(denied).rejects.toThrow(ToolError);
    await expect(denied).rejects.toThrow(
      /servicequotas:ListServiceQuotas and servicequotas:ListAWSDefaultServiceQuotas, or run with --offline/,
    );
  });
});

describe('main', () => {
  let output: string[];
  const saved = new Map<string, string | undefined>();
  const setEnv = (vars: Record<string, string | undefined>) => {
    for (const [key, value] of Object.entries(vars)) {
      if (!saved.has(key)) saved.set(key, process.env[key]);
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
  const printed = () => output.join('\n');
  /** What cdk.json configures, so the tests follow a change of the stage's instance types. */
  const sandboxNames = () => requiredQuotas(loadToolConfig(undefined)).map(({ name }) => name);

  beforeEach(() => {
    output = [];
    jest.spyOn(console, 'log').mockImplementation((line: unknown) => void output.push(String(line)));
    // Reach the local server only through the SDK's standard endpoint variable, as a user's shell could.
    setEnv({
      AWS_ENDPOINT_URL_SERVICE_QUOTAS: url,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_SESSION_TOKEN: undefined,
      AWS_PROFILE: undefined,
    });
  });
  afterEach(() => {
    jest.restoreAllMocks();
    for (const [key, value] of saved) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    saved.clear();
  });

  test('--help prints the generated help with the tool options and returns 0', async () => {
    const { result, text: help } = await stdoutOf(() => main(['--help']));
    expect(result).toBe(0);
    expect(help).toMatch(/^Usage: npm run preflight -- \[options\]/);
    expect(help).toMatch(/--offline\s+only list the quotas/);
    expect(help).toMatch(/--json\s+print the result as JSON/);
    expect(received).toEqual([]);
  });

  test('--offline lists the quotas and how to check them, and sends nothing although credentials are set', async () => {
    await expect(main(['--offline'])).resolves.toBe(0);
    for (const name of sandboxNames()) expect(printed()).toContain(name);
    expect(printed()).toContain('aws service-quotas list-service-quotas --service-code sagemaker');
    expect(printed()).toContain('The current values were not read (--offline).');
    expect(received).toEqual([]);
  });

  test('with credentials it reads the quotas, prints the region and returns 1 when one is too low', async () => {
    fixture = SPREAD;
    await expect(main([])).resolves.toBe(1);
    expect(received.length).toBeGreaterThan(0);
    expect(printed()).toContain('SageMaker quotas for stage sandbox in us-east-1:');
    expect(printed()).toMatch(/TOO LOW/);
  });

  test('with credentials it returns 0 when every quota is high enough', async () => {
    fixture = {
      applied: [sandboxNames().map((name, index) => quota(name, `L-0000000${index}`, 50))],
      defaults: [],
    };
    await expect(main([])).resolves.toBe(0);
    expect(printed()).not.toMatch(/TOO LOW/);
  });

  test('--json prints each check and the increase command of a quota that is too low', async () => {
    fixture = {
      applied: [sandboxNames().map((name, index) => quota(name, `L-0000000${index}`, index === 0 ? 0 : 50))],
      defaults: [],
    };
    await expect(main(['--json'])).resolves.toBe(1);
    const result = JSON.parse(printed()) as {
      read: boolean;
      region: string;
      sufficient: boolean;
      quotas: { name: string; status: string; increaseCommand?: string }[];
    };
    expect(result).toMatchObject({ read: true, region: 'us-east-1', sufficient: false });
    expect(result.quotas[0]).toMatchObject({
      name: sandboxNames()[0],
      status: 'too-low',
      increaseCommand: expect.stringContaining('--quota-code L-00000000 --desired-value'),
    });
    expect(result.quotas.slice(1).map(({ status }) => status)).toEqual(['ok', 'ok', 'ok']);
  });

  test('without credentials it lists the quotas, says why the values were not read, and returns 0', async () => {
    const nowhere = join(tmpdir(), 'preflight-test-no-such-file');
    setEnv({
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      AWS_SHARED_CREDENTIALS_FILE: nowhere,
      AWS_CONFIG_FILE: nowhere,
      AWS_WEB_IDENTITY_TOKEN_FILE: undefined,
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined,
      AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined,
      // The credential chain would otherwise end by asking the EC2 metadata service.
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    await expect(main([])).resolves.toBe(0);
    expect(printed()).toContain('No AWS credentials were found');
    for (const name of sandboxNames()) expect(printed()).toContain(name);
    expect(received).toEqual([]);
  });
});
