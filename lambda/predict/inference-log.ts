/**
 * Sends a request's inference-log rows to the log's Firehose stream: one PutRecordBatch per request (and one re-send
 * of the records it reports as failed), cut off after a time budget, so a slow or failing stream holds the invocation (which has already answered; see
 * index.ts) by at most the budget and never fails it. What could not be sent is counted, never dropped silently: the
 * caller publishes the count as a metric that an alarm watches.
 *
 * PutRecordBatch is not all-or-nothing: a call can succeed while some records fail, each with an ErrorCode in its
 * slot of RequestResponses (Firehose API reference, PutRecordBatch). Records Firehose accepts but cannot convert to
 * Parquet go to the stream's error prefix in S3, not away.
 */
import { type FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import { PUT_RECORD_BATCH_LIMITS } from '../../lib/contract/service-limits';

export interface LogResult {
  /** Records Firehose accepted. */
  readonly sent: number;
  /** Records it did not accept, or that were never sent (call failed, budget spent, record too large). */
  readonly failed: number;
  /** The error of the call, or the first record's error code, when anything failed: a name, never a value. */
  readonly errorType?: string;
}

const encoder = new TextEncoder();

/** One row on the wire: JSON with a newline, as the producer sends events, so files split back into rows. */
const encodeRow = (row: object): Uint8Array => encoder.encode(`${JSON.stringify(row)}\n`);

/**
 * Sends `rows` in one call, and the records that call reports as failed once more, all given up after `timeoutMs`
 * (the SDK's retries included). A call cut off by the budget counts its records as failed: Firehose may still have
 * accepted them, so the count is of rows not confirmed.
 * @throws never: every failure is a count in the result
 */
export async function sendInferenceLog(
  firehose: FirehoseClient,
  streamName: string,
  rows: readonly object[],
  timeoutMs: number,
): Promise<LogResult> {
  if (rows.length === 0) return { sent: 0, failed: 0 };
  const records = rows.map(encodeRow);
  const bytes = records.reduce((sum, data) => sum + data.byteLength, 0);
  // The API's limits keep a request's rows far inside these (maxBatchSize, the record id's length); were they ever
  // crossed, the rows are counted as failed rather than split into calls the budget was not made for.
  if (
    records.length > PUT_RECORD_BATCH_LIMITS.records ||
    bytes > PUT_RECORD_BATCH_LIMITS.bytes ||
    records.some((data) => data.byteLength > PUT_RECORD_BATCH_LIMITS.recordBytes)
  ) {
    return { sent: 0, failed: rows.length, errorType: 'BatchTooLarge' };
  }
  // One budget for the call and the re-send, through an AbortController whose timer is cleared when sending ends
  // (AbortSignal.timeout would leave one timer per request pending for the whole budget).
  const budget = new AbortController();
  const timer = setTimeout(() => budget.abort(), timeoutMs);
  let pending = records;
  let errorType: string | undefined;
  try {
    // The first call, then one re-send of only the records it reports as failed (re-sending the whole batch would
    // duplicate the accepted ones), if the budget allows.
    for (let attempt = 0; attempt < 2 && pending.length > 0 && !budget.signal.aborted; attempt++) {
      const answer = await firehose.send(
        new PutRecordBatchCommand({ DeliveryStreamName: streamName, Records: pending.map((Data) => ({ Data })) }),
        { abortSignal: budget.signal },
      );
      if ((answer.FailedPutCount ?? 0) === 0) {
        pending = [];
        break;
      }
      const responses = answer.RequestResponses ?? [];
      errorType = responses.find((r) => r.ErrorCode !== undefined)?.ErrorCode ?? 'FailedPut';
      // Results come in request order, one per record.
      pending = pending.filter(
        (_, index) => responses[index]?.ErrorCode !== undefined || responses[index] === undefined,
      );
    }
  } catch (err) {
    errorType = (err as { name?: string }).name ?? 'Unknown';
  } finally {
    clearTimeout(timer);
  }
  return pending.length === 0
    ? { sent: rows.length, failed: 0 }
    : { sent: rows.length - pending.length, failed: pending.length, errorType };
}
