import { FirehoseClient } from '@aws-sdk/client-firehose';
import { encodeRecord, sendRecords, toBatches } from '../../../scripts/ingest/firehose-sender';
import { PUT_RECORD_BATCH_LIMITS } from '../../../lib/contract/service-limits';
import { generate } from './generate';
import { startLocalFirehose, type LocalFirehose } from './local-firehose';

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
