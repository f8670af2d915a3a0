import { UsageError } from '../../../scripts/lib/cli';
import { main } from '../../../scripts/predict/main';
import { stdoutOf } from '../stdout';
import { API_KEY, useFakeApi } from './fake-api';
import { event, ndjson, useTempFiles } from './records';

const api = useFakeApi();
const files = useTempFiles();

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
    expect(api.received).toHaveLength(0);
  });

  test('scores an ingest-style file against --url with --api-key and prints lines and a summary', async () => {
    const path = files.write('main.ndjson', ndjson([event(1, 900, true), event(2, 20, false)]));
    await expect(main(['--url', api.baseUrl.href, '--api-key', API_KEY, '--file', path])).resolves.toBe(0);
    expect(printed(log).split('\n')).toEqual([
      'record 1      fraud probability 0.900  FLAGGED      actual fraud  ✓ agrees',
      'record 2      fraud probability 0.020  not flagged  actual legit  ✓ agrees',
      '2 record(s), 1 flagged as fraud (threshold 0.5).',
      '2 labelled (1 actual fraud): prediction agrees with the label for 2 (100%); 0 missed fraud, 0 false alarm(s).',
    ]);
    // SigV4 is the default authorization, so every request is signed for execute-api in the region.
    expect(String(api.received[0].headers.authorization)).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request/,
    );
  });

  test('--json prints the raw answer and a failed request exits 1 with the hint on stderr', async () => {
    api.reply = () => ({ status: 429, body: { message: 'Too Many Requests' } });
    await expect(main(['--url', api.baseUrl.href, '--api-key', API_KEY, '--example', '--json'])).resolves.toBe(1);
    expect(JSON.parse(printed(log))).toEqual({ message: 'Too Many Requests' });
    expect(printed(error)).toContain('The API answered 429 Too Many Requests for record 1 of 1.');
    expect(printed(error)).toContain('Retry later, with backoff.');
  });

  test('two inputs at once are a usage error, before any request', async () => {
    await expect(main(['--url', api.baseUrl.href, '--api-key', API_KEY, '--example', '{}'])).rejects.toThrow(
      new UsageError('Pass only one of --record, a record argument, --file and --example.'),
    );
    expect(api.received).toHaveLength(0);
  });
});
