import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { loadStageConfig } from '../../../lib/config/stage-config';
import { ToolError } from '../../../scripts/lib/cli';
import {
  checkQuotas,
  formatReport,
  quotasSufficient,
  requiredQuotas,
  type FoundQuota,
  type QuotaCheck,
} from '../../../scripts/preflight/quotas';
import {
  type Fixture,
  quota,
  SERVERLESS_CONCURRENCY,
  SERVERLESS_ENDPOINTS,
  SPOT_TOTAL,
  SPOT_TYPE,
  SPREAD,
  useLocalServiceQuotas,
} from './local-service-quotas';

const service = useLocalServiceQuotas();

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

const sandboxQuotas = requiredQuotas(loadStageConfig('sandbox'));

async function check(
  given: Fixture,
): Promise<{ report: Awaited<ReturnType<typeof checkQuotas>>; byName: Map<string, QuotaCheck> }> {
  service.fixture = given;
  const client = new ServiceQuotasClient({
    endpoint: service.url,
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
    expect(
      service.received.filter(({ operation }) => operation === 'ListServiceQuotas').map(({ body }) => body),
    ).toEqual([
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
    expect(service.received.filter(({ operation }) => operation === 'ListAWSDefaultServiceQuotas')).toHaveLength(2);
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
    expect(service.received.map(({ operation }) => operation)).toEqual(['ListServiceQuotas']);
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
