import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EVENT_GAP_MS, main } from '../../../scripts/ingest/main';
import { UsageError, ToolError } from '../../../scripts/lib/cli';
import type { GeneratedRecord } from '../../../scripts/ingest/transactions';
import { generate } from './generate';
import { startLocalFirehose, type LocalFirehose } from './local-firehose';

describe('npm run ingest', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ingest-'));
  let stdout: jest.SpyInstance;
  let stderr: jest.SpyInstance;
  beforeEach(() => {
    stdout = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(() => jest.restoreAllMocks());
  const printed = (spy: jest.SpyInstance) => spy.mock.calls.map(([text]) => String(text)).join('');

  test('--help lists every option', async () => {
    expect(await main(['--help'])).toBe(0);
    const help = printed(stdout);
    for (const flag of ['--count', '--seed', '--fraud-rate', '--rate', '--dry-run', '--out', '--stream', '--stage']) {
      expect(help).toContain(flag);
    }
    expect(help).toMatch(/^Usage: npm run ingest -- \[options\]/);
  });

  test('--dry-run writes the generated records as NDJSON and touches no AWS API', async () => {
    const out = join(dir, 'dry.ndjson');
    expect(
      await main(['--dry-run', '--count', '25', '--seed', '42', '--start', '2026-11-01T00:00:00Z', '--out', out]),
    ).toBe(0);
    const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
    expect(lines.map((l) => JSON.parse(l) as GeneratedRecord)).toEqual(generate(25, { meanGapMs: EVENT_GAP_MS }));
    expect(printed(stderr)).toMatch(/Dry run: wrote 25 records \(seed 42, \d+ fraudulent, [\d.]+%\) to .*dry\.ndjson/);
  });

  test('rejects a bad option value with what to pass', async () => {
    await expect(main(['--count', '0'])).rejects.toThrow(
      new UsageError('--count is "0"; pass a whole number from 1 to 10000000'),
    );
    await expect(main(['--fraud-rate', '0.9'])).rejects.toThrow(
      /--fraud-rate is "0.9"; pass a number above 0 up to 0.5/,
    );
    await expect(main(['--start', 'yesterday'])).rejects.toThrow(/--start is "yesterday"; pass an ISO 8601 time/);
    await expect(main(['--cont', '3'])).rejects.toThrow(UsageError);
  });

  /** Runs `body` with the SDK pointed at a local Firehose and dummy credentials, restoring the environment after. */
  async function withLocalFirehose<T>(firehose: LocalFirehose, body: () => Promise<T>): Promise<T> {
    const local: Record<string, string> = {
      AWS_ENDPOINT_URL_FIREHOSE: firehose.endpoint,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIDLOCAL',
      AWS_SECRET_ACCESS_KEY: 'local',
    };
    const cleared = ['AWS_PROFILE', 'AWS_SESSION_TOKEN'];
    const saved = Object.fromEntries([...Object.keys(local), ...cleared].map((key) => [key, process.env[key]]));
    Object.assign(process.env, local);
    for (const key of cleared) delete process.env[key];
    try {
      return await body();
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  }

  test('sends to the named stream through the SDK and reports what was delivered', async () => {
    const firehose = await startLocalFirehose({
      streams: ['mlpipe-sandbox-events'],
      failRecord: (record, attempt) => attempt === 1 && record.includes('"C01'),
    });
    try {
      const code = await withLocalFirehose(firehose, () =>
        main(['--stream', 'mlpipe-sandbox-events', '--count', '700', '--rate', '100000']),
      );
      expect(code).toBe(0);
    } finally {
      await firehose.close();
    }
    expect(firehose.delivered).toHaveLength(700);
    expect(printed(stdout)).toMatch(/Delivered 700 of 700 records \(seed 42, \d+ fraudulent, [\d.]+%\) in \d+ calls/);
    expect(printed(stdout)).toContain('Next: npm run train');
  });

  test('keeps every undelivered record in a file when sending stops, and sends that file with --from', async () => {
    const firehose = await startLocalFirehose({ streams: ['mlpipe-sandbox-events'] });
    const kept = join(dir, 'kept.ndjson');
    try {
      await withLocalFirehose(firehose, async () => {
        await expect(
          main([
            '--stream',
            'mlpipe-sandbox-evnets',
            '--count',
            '1200',
            '--seed',
            '9',
            '--start',
            '2026-11-01T00:00:00Z',
            '--failed-out',
            kept,
          ]),
        ).rejects.toThrow(
          new RegExp(
            'Sending stopped: Firehose stream mlpipe-sandbox-evnets does not exist.*The 1200 records not delivered ' +
              `are kept in ${kept} .*npm run ingest -- --from ${kept}`,
          ),
        );
        expect(readFileSync(kept, 'utf8').trimEnd().split('\n')).toHaveLength(1200);
        expect(await main(['--stream', 'mlpipe-sandbox-events', '--from', kept])).toBe(0);
      });
    } finally {
      await firehose.close();
    }
    const sent = firehose.delivered.map((line) => JSON.parse(line) as GeneratedRecord);
    expect(sent).toEqual(generate(1_200, { seed: 9, meanGapMs: EVENT_GAP_MS }));
  });

  test('refuses options that mean nothing together, and a --from file that is not NDJSON', async () => {
    await expect(main(['--out', 'x.ndjson'])).rejects.toThrow(/--out is where --dry-run writes/);
    await expect(main(['--from', 'x.ndjson', '--count', '3'])).rejects.toThrow(
      new UsageError('--from sends the records of a file as they are; it does not combine with --count'),
    );
    await expect(main(['--dry-run', '--stream', 's'])).rejects.toThrow(/--dry-run sends nothing/);
    await expect(main(['--from', 'x.ndjson', '--drift', 'merchant-mix'])).rejects.toThrow(
      new UsageError('--from sends the records of a file as they are; it does not combine with --drift'),
    );
    await expect(main(['--dry-run', '--drift', 'cheaper', '--out', '-'])).rejects.toThrow(
      /^--drift cheaper is not a drift scenario; use one of:\n {2}larger-amounts: /,
    );
    const bad = join(dir, 'bad.ndjson');
    writeFileSync(bad, '{"a":1}\n\n[1,2]\n');
    await expect(main(['--from', bad, '--stream', 's'])).rejects.toThrow(
      new ToolError(`${bad} line 3 is not a JSON object; --from takes NDJSON, one record per line`),
    );
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));
});
