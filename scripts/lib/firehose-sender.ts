/**
 * Sends records to a Firehose delivery stream with PutRecordBatch: as many records per call as the service takes,
 * at a steady rate, re-sending only the records a call reports as failed.
 *
 * PutRecordBatch is not all-or-nothing: a call can succeed while some of its records fail (FailedPutCount > 0, and an
 * ErrorCode in that record's slot of RequestResponses, in request order). Re-sending the whole batch would duplicate
 * the records that did arrive; re-sending only the failed ones is the documented way.
 */
import { type FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import { ToolError } from './cli';

/** The service's limits for one PutRecordBatch call. */
export const PUT_RECORD_BATCH_LIMITS = {
  records: 500,
  bytes: 4 * 1024 * 1024,
  recordBytes: 1_000 * 1024,
} as const;

export interface SendOptions {
  readonly streamName: string;
  /** Records per second, on average: Direct PUT quotas are per stream (1 MiB/s in smaller regions). */
  readonly recordsPerSecond: number;
  /** Calls per record before it counts as failed: the first send plus the re-sends. */
  readonly maxAttempts: number;
  /** Called after every batch with the number of records delivered so far. */
  readonly onProgress?: (delivered: number) => void;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

export interface FailedRecord {
  readonly data: Uint8Array;
  readonly errorCode: string;
  readonly errorMessage: string;
}

export interface SendResult {
  readonly delivered: number;
  readonly calls: number;
  /** Records that failed at least once and were sent again. */
  readonly resent: number;
  /** Records still failing after maxAttempts; the caller keeps them so nothing is lost. */
  readonly failed: readonly FailedRecord[];
}

const encoder = new TextEncoder();

/** One record on the wire: JSON with a newline, so the objects in S3 (before conversion) split back into records. */
export const encodeRecord = (record: object): Uint8Array => encoder.encode(`${JSON.stringify(record)}\n`);

/** Groups encoded records into batches within the per-call record and byte limits, in order. */
export function* toBatches(records: Iterable<Uint8Array>): Generator<Uint8Array[]> {
  let batch: Uint8Array[] = [];
  let bytes = 0;
  for (const data of records) {
    if (data.byteLength > PUT_RECORD_BATCH_LIMITS.recordBytes) {
      throw new ToolError(
        `A record is ${data.byteLength} bytes; Firehose accepts at most ${PUT_RECORD_BATCH_LIMITS.recordBytes} bytes ` +
          'per record. Make the record smaller',
      );
    }
    if (batch.length === PUT_RECORD_BATCH_LIMITS.records || bytes + data.byteLength > PUT_RECORD_BATCH_LIMITS.bytes) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(data);
    bytes += data.byteLength;
  }
  if (batch.length > 0) yield batch;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Backoff before re-sending failed records: exponential with full jitter, capped, as the AWS SDKs do. */
const backoffMs = (attempt: number) => Math.random() * Math.min(5_000, 100 * 2 ** attempt);

/**
 * Sends every record and reports what was delivered, re-sent and finally failed. Throttling and 5xx answers to a
 * whole call are retried by the SDK client (configure its maxAttempts); this function handles the per-record failures.
 * @throws ToolError when the stream does not exist or cannot be written to
 */
export async function sendRecords(
  client: FirehoseClient,
  records: Iterable<Uint8Array>,
  options: SendOptions,
): Promise<SendResult> {
  const sleep = options.sleep ?? realSleep;
  const now = options.now ?? Date.now;
  const startedAt = now();
  let delivered = 0;
  let calls = 0;
  let resent = 0;
  let offered = 0;
  const failed: FailedRecord[] = [];

  for (const batch of toBatches(records)) {
    // Pace by records offered so far: the batch may start once the budget of the earlier ones has elapsed.
    const due = startedAt + (offered / options.recordsPerSecond) * 1000;
    if (due > now()) await sleep(due - now());
    offered += batch.length;

    let pending = batch;
    for (let attempt = 1; pending.length > 0; attempt++) {
      calls++;
      const response = await putBatch(client, options.streamName, pending);
      const results = response.RequestResponses ?? [];
      const failures = pending
        .map((data, index) => ({ data, result: results[index] }))
        .filter(({ result }) => result === undefined || result.ErrorCode !== undefined);
      delivered += pending.length - failures.length;
      if (failures.length === 0) break;
      if (attempt >= options.maxAttempts) {
        failed.push(
          ...failures.map(({ data, result }) => ({
            data,
            errorCode: result?.ErrorCode ?? 'MissingResponse',
            errorMessage: result?.ErrorMessage ?? 'Firehose returned no result for this record',
          })),
        );
        break;
      }
      if (attempt === 1) resent += failures.length;
      pending = failures.map(({ data }) => data);
      await sleep(backoffMs(attempt));
    }
    options.onProgress?.(delivered);
  }
  return { delivered, calls, resent, failed };
}

async function putBatch(client: FirehoseClient, streamName: string, batch: readonly Uint8Array[]) {
  try {
    return await client.send(
      new PutRecordBatchCommand({ DeliveryStreamName: streamName, Records: batch.map((Data) => ({ Data })) }),
    );
  } catch (error) {
    if (error instanceof Error && error.name === 'ResourceNotFoundException') {
      throw new ToolError(
        `Firehose stream ${streamName} does not exist in this account and region: deploy the Ingest stack ` +
          `(npx cdk deploy --all), or check AWS_REGION. (${error.message})`,
      );
    }
    if (error instanceof Error && error.name === 'AccessDeniedException') {
      throw new ToolError(
        `Not allowed to write to Firehose stream ${streamName}: the caller needs firehose:PutRecordBatch on it. ` +
          `(${error.message})`,
      );
    }
    throw error;
  }
}
