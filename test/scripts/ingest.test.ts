import { FirehoseClient } from '@aws-sdk/client-firehose';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FeatureSchema, featureFields, TRANSACTION_SCHEMA } from '../../lib/schema/feature-schema';
import { checkRecord } from '../../lib/schema/record-validation';
import { EVENT_GAP_MS, main } from '../../scripts/ingest';
import { ToolError, UsageError } from '../../scripts/lib/cli';
import { rmSync, writeFileSync } from 'node:fs';
import { encodeRecord, PUT_RECORD_BATCH_LIMITS, sendRecords, toBatches } from '../../scripts/lib/firehose-sender';
import { generateRecords, type GeneratedRecord } from '../../scripts/lib/transactions';
import { startLocalFirehose, type LocalFirehose } from './local-firehose';

const OPTIONS = { seed: 42, fraudRate: 0.02, startTime: Date.UTC(2026, 10, 1), meanGapMs: 1 };
const generate = (count: number, overrides: Partial<typeof OPTIONS> = {}, schema?: FeatureSchema) => [
  ...generateRecords(count, { ...OPTIONS, ...overrides }, schema),
];

/** Area under the ROC curve of a score, by the rank-sum formula (ties count half). */
function auc(records: readonly GeneratedRecord[], score: (record: GeneratedRecord) => number): number {
  const positives = records.filter((r) => r.is_fraud).map(score);
  const negatives = records.filter((r) => !r.is_fraud).map(score);
  let wins = 0;
  for (const p of positives) for (const n of negatives) wins += p > n ? 1 : p === n ? 0.5 : 0;
  return wins / (positives.length * negatives.length);
}

describe('the synthetic transactions', () => {
  const records = generate(20_000);

  test('are the same for the same seed and differ for another', () => {
    expect(generate(50)).toEqual(records.slice(0, 50));
    expect(generate(50, { seed: 43 })).not.toEqual(records.slice(0, 50));
  });

  test('have every field of the feature schema, in schema order, with its type', () => {
    const names = TRANSACTION_SCHEMA.fields.map((f) => f.name);
    for (const record of records.slice(0, 200)) {
      expect(Object.keys(record)).toEqual(names);
      expect(typeof record.transaction_id).toBe('string');
      expect(Number.isInteger(record.event_time)).toBe(true);
      expect(typeof record.is_fraud).toBe('boolean');
    }
    expect(new Set(records.map((r) => r.transaction_id)).size).toBe(records.length);
  });

  test("pass the inference API's validation of every feature (types, ranges and categories)", () => {
    const featureNames = featureFields(TRANSACTION_SCHEMA).map((f) => f.name);
    const failures = records
      .map((record) => checkRecord(TRANSACTION_SCHEMA, Object.fromEntries(featureNames.map((n) => [n, record[n]]))))
      .filter((check) => !check.ok);
    expect(failures).toEqual([]);
  });

  test('have the requested class imbalance', () => {
    const share = records.filter((r) => r.is_fraud).length / records.length;
    expect(share).toBeGreaterThan(0.016);
    expect(share).toBeLessThan(0.024);
    const heavier = generate(5_000, { fraudRate: 0.2 }).filter((r) => r.is_fraud).length / 5_000;
    expect(heavier).toBeGreaterThan(0.18);
    expect(heavier).toBeLessThan(0.22);
  });

  test('carry a fraud signal a model can learn, without separating the classes perfectly', () => {
    const sample = records.slice(0, 6_000);
    const naive = (r: GeneratedRecord) =>
      Number(r.channel === 'online' || r.channel === 'phone') +
      Number((r.distance_from_home_km as number) > 100) +
      Number((r.minutes_since_last_transaction as number) < 60) +
      Number((r.transactions_last_24h as number) >= 5) +
      Number(['electronics', 'online_services', 'gambling', 'travel'].includes(r.merchant_category as string));
    const combined = auc(sample, naive);
    expect(combined).toBeGreaterThan(0.85);
    expect(combined).toBeLessThan(0.95);
    // No single feature gives the answer away.
    expect(auc(sample, (r) => r.amount as number)).toBeLessThan(0.85);
    expect(auc(sample, (r) => r.distance_from_home_km as number)).toBeLessThan(0.85);
  });

  test('follow a changed schema: new fields get values from their type, range and categories', () => {
    const schema: FeatureSchema = {
      ...TRANSACTION_SCHEMA,
      fields: [
        ...TRANSACTION_SCHEMA.fields.filter((f) => f.role !== 'label'),
        { name: 'device_score', type: 'int', role: 'feature', description: 'd', range: { min: 3, max: 7 } },
        { name: 'wallet', type: 'string', role: 'feature', description: 'w', categories: ['apple', 'google'] },
        { name: 'label', type: 'int', role: 'label', description: 'l' },
      ],
    };
    for (const record of generate(300, { fraudRate: 0.3 }, schema)) {
      expect(record.device_score).toBeGreaterThanOrEqual(3);
      expect(record.device_score).toBeLessThanOrEqual(7);
      expect(Number.isInteger(record.device_score)).toBe(true);
      expect(['apple', 'google']).toContain(record.wallet);
      expect([0, 1]).toContain(record.label);
    }
  });

  test('reject a schema whose categories the example behaviour cannot produce, naming the field', () => {
    const schema: FeatureSchema = {
      ...TRANSACTION_SCHEMA,
      fields: TRANSACTION_SCHEMA.fields.map((f) => (f.name === 'channel' ? { ...f, categories: ['atm'] } : f)),
    };
    expect(() => generate(20, {}, schema)).toThrow(/field 'channel' drew '\w+', which is not in the feature schema/);
  });
});

describe('PutRecordBatch batching', () => {
  const bytes = (size: number) => new Uint8Array(size);

  test('puts at most 500 records in one call', () => {
    const sizes = [...toBatches(Array.from({ length: 1_201 }, () => bytes(100)))].map((b) => b.length);
    expect(sizes).toEqual([500, 500, 201]);
  });

  test('keeps each call within 4 MiB', () => {
    const batches = [...toBatches(Array.from({ length: 100 }, () => bytes(300 * 1024)))];
    for (const batch of batches) {
      expect(batch.reduce((sum, d) => sum + d.byteLength, 0)).toBeLessThanOrEqual(PUT_RECORD_BATCH_LIMITS.bytes);
    }
    expect(batches.flat()).toHaveLength(100);
    expect(batches[0]).toHaveLength(13);
  });

  test('refuses a record over 1000 KiB with the limit in the message', () => {
    expect(() => [...toBatches([bytes(1_000 * 1024 + 1)])]).toThrow(/at most 1024000 bytes per record/);
  });
});

describe('sending to Firehose (real SDK, local Firehose protocol server)', () => {
  let firehose: LocalFirehose;
  const records = generate(1_234).map(encodeRecord);
  const client = () =>
    new FirehoseClient({
      endpoint: firehose.endpoint,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local' },
    });
  const noWait = { sleep: async () => undefined };

  afterEach(() => firehose.close());

  test('re-sends only the records a call reports as failed, so each arrives exactly once', async () => {
    // Every 7th record fails once, every 50th twice.
    let index = 0;
    const order = new Map<string, number>();
    firehose = await startLocalFirehose({
      streams: ['events'],
      failRecord: (record, attempt) => {
        if (!order.has(record)) order.set(record, index++);
        const i = order.get(record)!;
        return (i % 7 === 0 && attempt === 1) || (i % 50 === 0 && attempt <= 2);
      },
    });
    const result = await sendRecords(client(), records, {
      streamName: 'events',
      recordsPerSecond: 1e6,
      maxAttempts: 5,
      ...noWait,
    });

    const text = records.map((r) => new TextDecoder().decode(r));
    expect(result).toMatchObject({ delivered: 1_234, failed: [] });
    expect([...firehose.delivered].sort()).toEqual([...text].sort());
    expect(result.resent).toBe(text.filter((_, i) => i % 7 === 0 || i % 50 === 0).length);
    // Three full batches; each re-send carries only the failed records of its batch.
    const firstSends = firehose.calls.filter((c) => c.records.length >= 234);
    expect(firstSends.map((c) => c.records.length)).toEqual([500, 500, 234]);
    const resends = firehose.calls.filter((c) => !firstSends.includes(c));
    expect(resends.every((c) => c.records.every((r) => text.indexOf(r) % 7 === 0 || text.indexOf(r) % 50 === 0))).toBe(
      true,
    );
  });

  test('keeps the records that still fail after the last attempt, with their error', async () => {
    firehose = await startLocalFirehose({ streams: ['events'], failRecord: (record) => record.includes('"C0001') });
    const result = await sendRecords(client(), records, {
      streamName: 'events',
      recordsPerSecond: 1e6,
      maxAttempts: 3,
      ...noWait,
    });
    const doomed = records.filter((r) => new TextDecoder().decode(r).includes('"C0001'));
    expect(doomed.length).toBeGreaterThan(0);
    expect(result.failed.map((f) => f.data)).toEqual(doomed);
    expect(result.failed[0]).toMatchObject({ errorCode: 'ServiceUnavailableException', errorMessage: 'Slow down.' });
    expect(result.delivered).toBe(records.length - doomed.length);
  });

  test('stops on a stream that does not exist, explains it, and hands back every record', async () => {
    firehose = await startLocalFirehose({ streams: ['events'] });
    const result = await sendRecords(client(), records.slice(0, 3), {
      streamName: 'nope',
      recordsPerSecond: 10,
      maxAttempts: 2,
    });
    expect(result.stoppedBy).toMatch(/Firehose stream nope does not exist in this account and region: deploy/);
    expect(result.failed.map((f) => f.data)).toEqual(records.slice(0, 3));
    expect([...result.unsent]).toEqual([]);
  });

  test('keeps the batch in flight and the rest of the input when a whole call keeps failing', async () => {
    firehose = await startLocalFirehose({ streams: ['events'], failCall: (call) => call >= 2 });
    const once = new FirehoseClient({
      endpoint: firehose.endpoint,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    // Records of 100 KiB: the 4 MiB limit ends a batch early, so the batcher holds one record of lookahead.
    const big = records.slice(0, 100).map((r) => new Uint8Array([...r, ...new Uint8Array(100 * 1024)]));
    const result = await sendRecords(once, big, {
      streamName: 'events',
      recordsPerSecond: 1e6,
      maxAttempts: 3,
      ...noWait,
    });

    expect(result.stoppedBy).toBe('Slow down.');
    expect(result.delivered).toBe(40);
    expect(result.failed.map((f) => f.errorCode)).toEqual(Array(40).fill('ServiceUnavailableException'));
    // Delivered, failed and unsent together are the whole input, in order: nothing dropped, nothing twice.
    expect([
      ...firehose.calls[0].records.map((r) => r.length),
      ...result.failed.map((f) => f.data.length),
    ]).toHaveLength(80);
    expect([...result.failed.map((f) => f.data), ...result.unsent]).toEqual(big.slice(40));
  });

  test('paces the batches to the requested rate', async () => {
    firehose = await startLocalFirehose({ streams: ['events'] });
    let clock = 0;
    const waits: number[] = [];
    await sendRecords(client(), records, {
      streamName: 'events',
      recordsPerSecond: 100,
      maxAttempts: 1,
      now: () => clock,
      sleep: async (ms) => {
        waits.push(ms);
        clock += ms;
      },
    });
    // 1234 records at 100/s: batches of at most one second's worth, each starting a second after the one before.
    expect(firehose.calls.map((c) => c.records.length)).toEqual([...Array(12).fill(100), 34]);
    expect(waits).toEqual(Array(12).fill(1_000));
  });
});

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
    const bad = join(dir, 'bad.ndjson');
    writeFileSync(bad, '{"a":1}\n\n[1,2]\n');
    await expect(main(['--from', bad, '--stream', 's'])).rejects.toThrow(
      new ToolError(`${bad} line 3 is not a JSON object; --from takes NDJSON, one record per line`),
    );
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));
});
