/**
 * Sends records to a Firehose delivery stream with PutRecordBatch: as many records per call as the service takes,
 * at a steady rate, re-sending only the records a call reports as failed.
 *
 * PutRecordBatch is not all-or-nothing: a call can succeed while some of its records fail (FailedPutCount > 0, and an
 * ErrorCode in that record's slot of RequestResponses, in request order). Re-sending the whole batch would duplicate
 * the records that did arrive; re-sending only the failed ones is the documented way.
 */
import { type FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import { ToolError } from '../lib/cli';
import { PUT_RECORD_BATCH_LIMITS } from '../../lib/contract/service-limits';

export interface SendOptions {
  readonly streamName: string;
  /**
   * Records per second at most, averaged over each second: Direct PUT quotas are per stream (1 MiB/s in smaller
   * regions). A batch never holds more records than one second's worth.
   */
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
  /** Records taken from the input: delivered, failed, or in the batch that was being sent when the run stopped. */
  readonly offered: number;
  readonly calls: number;
  /** Records that failed at least once and were sent again. */
  readonly resent: number;
  /** Records still failing after maxAttempts, or unsent when the run stopped; the caller keeps them. */
  readonly failed: readonly FailedRecord[];
  /** Why sending stopped before the input ended (a call that failed as a whole), or undefined when it finished. */
  readonly stoppedBy?: string;
  /** The input not yet taken when the run stopped (lazily; empty when it finished). */
  readonly unsent: Iterable<Uint8Array>;
}

const encoder = new TextEncoder();

/** One record on the wire: JSON with a newline, so the objects in S3 (before conversion) split back into records. */
export const encodeRecord = (record: object): Uint8Array => encoder.encode(`${JSON.stringify(record)}\n`);

/**
 * Takes encoded records from a source in batches within the per-call record and byte limits, in order. The byte
 * limit needs one record of lookahead; `rest()` hands back that record with everything not yet taken, so a run that
 * stops early can keep the remainder instead of dropping it.
 */
class Batcher {
  private peeked: Uint8Array | undefined;
  private readonly source: Iterator<Uint8Array>;

  constructor(
    records: Iterable<Uint8Array>,
    private readonly maxRecords: number = PUT_RECORD_BATCH_LIMITS.records,
  ) {
    this.source = records[Symbol.iterator]();
  }

  /** The next batch, or undefined when the source is exhausted. */
  next(): Uint8Array[] | undefined {
    const batch: Uint8Array[] = [];
    let bytes = 0;
    for (;;) {
      const data = this.peeked ?? this.take();
      if (data === undefined) break;
      if (data.byteLength > PUT_RECORD_BATCH_LIMITS.recordBytes) {
        throw new ToolError(
          `A record is ${data.byteLength} bytes; Firehose accepts at most ${PUT_RECORD_BATCH_LIMITS.recordBytes} ` +
            'bytes per record. Make the record smaller',
        );
      }
      if (batch.length > 0 && bytes + data.byteLength > PUT_RECORD_BATCH_LIMITS.bytes) {
        this.peeked = data;
        break;
      }
      this.peeked = undefined;
      batch.push(data);
      bytes += data.byteLength;
      if (batch.length === this.maxRecords) break;
    }
    return batch.length > 0 ? batch : undefined;
  }

  /** The records not taken yet, lazily. */
  *rest(): Generator<Uint8Array> {
    if (this.peeked !== undefined) yield this.peeked;
    this.peeked = undefined;
    for (let data = this.take(); data !== undefined; data = this.take()) yield data;
  }

  private take(): Uint8Array | undefined {
    const result = this.source.next();
    return result.done === true ? undefined : result.value;
  }
}

/** All batches of a source, for callers that send everything. */
export function* toBatches(records: Iterable<Uint8Array>, maxRecords?: number): Generator<Uint8Array[]> {
  const batcher = new Batcher(records, maxRecords);
  for (let batch = batcher.next(); batch !== undefined; batch = batcher.next()) yield batch;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Backoff before re-sending failed records: exponential with full jitter, capped, as the AWS SDKs do. */
const backoffMs = (attempt: number) => Math.random() * Math.min(5_000, 100 * 2 ** attempt);

/**
 * Sends every record and reports what was delivered, re-sent and finally failed. Throttling and 5xx answers to a
 * whole call are retried by the SDK client (configure its maxAttempts); this function handles the per-record failures.
 * A call that still fails as a whole (retries used up, the stream missing, access denied) stops the run: the records
 * of that batch and any failed before come back in `failed`, with the reason in `stoppedBy`, so none is lost.
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

  const batcher = new Batcher(records, Math.min(PUT_RECORD_BATCH_LIMITS.records, options.recordsPerSecond));
  for (let batch = batcher.next(); batch !== undefined; batch = batcher.next()) {
    // Pace by records offered so far: the batch may start once the budget of the earlier ones has elapsed.
    const due = startedAt + (offered / options.recordsPerSecond) * 1000;
    if (due > now()) await sleep(due - now());
    offered += batch.length;

    let pending = batch;
    for (let attempt = 1; pending.length > 0; attempt++) {
      calls++;
      let response;
      try {
        response = await putBatch(client, options.streamName, pending);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        const code = error instanceof Error ? error.name : 'Error';
        failed.push(...pending.map((data) => ({ data, errorCode: code, errorMessage: reason })));
        options.onProgress?.(delivered);
        return { delivered, offered, calls, resent, failed, stoppedBy: reason, unsent: batcher.rest() };
      }
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
  return { delivered, offered, calls, resent, failed, unsent: [] };
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
