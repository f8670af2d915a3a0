import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../../scripts/preflight/main';
import { requiredQuotas } from '../../../scripts/preflight/quotas';
import { loadToolConfig } from '../../../scripts/lib/stage';
import { stdoutOf } from '../stdout';
import { quota, SPREAD, useLocalServiceQuotas } from './local-service-quotas';

const service = useLocalServiceQuotas();

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
      AWS_ENDPOINT_URL_SERVICE_QUOTAS: service.url,
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
    expect(service.received).toEqual([]);
  });

  test('--offline lists the quotas and how to check them, and sends nothing although credentials are set', async () => {
    await expect(main(['--offline'])).resolves.toBe(0);
    for (const name of sandboxNames()) expect(printed()).toContain(name);
    expect(printed()).toContain('aws service-quotas list-service-quotas --service-code sagemaker');
    expect(printed()).toContain('The current values were not read (--offline).');
    expect(service.received).toEqual([]);
  });

  test('--offline names the region the SDK resolves from AWS_REGION, and puts it in every command', async () => {
    await expect(main(['--offline'])).resolves.toBe(0);
    expect(printed()).toContain('SageMaker quotas that stage sandbox needs (region: us-east-1):');
    expect(printed()).toContain('aws service-quotas list-service-quotas --service-code sagemaker --region us-east-1');
    expect(printed()).not.toContain('not pinned');
  });

  test('--offline says the region is not pinned when neither the stage nor the SDK knows one', async () => {
    setEnv({ AWS_REGION: undefined, AWS_DEFAULT_REGION: undefined, AWS_CONFIG_FILE: '/nonexistent/aws-config' });
    await expect(main(['--offline'])).resolves.toBe(0);
    expect(printed()).toContain("region: not pinned, so AWS_REGION or your profile's region");
    expect(printed()).not.toContain('--region');
  });

  test('with credentials it reads the quotas, prints the region and returns 1 when one is too low', async () => {
    service.fixture = SPREAD;
    await expect(main([])).resolves.toBe(1);
    expect(service.received.length).toBeGreaterThan(0);
    expect(printed()).toContain('SageMaker quotas for stage sandbox in us-east-1:');
    expect(printed()).toMatch(/TOO LOW/);
  });

  test('with credentials it returns 0 when every quota is high enough', async () => {
    service.fixture = {
      applied: [sandboxNames().map((name, index) => quota(name, `L-0000000${index}`, 50))],
      defaults: [],
    };
    await expect(main([])).resolves.toBe(0);
    expect(printed()).not.toMatch(/TOO LOW/);
  });

  test('--json prints each check and the increase command of a quota that is too low', async () => {
    service.fixture = {
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
    expect(service.received).toEqual([]);
  });
});
