/**
 * A Firehose stand-in on 127.0.0.1 that speaks the service's wire protocol (JSON 1.1, `X-Amz-Target:
 * Firehose_20150804.PutRecordBatch`, base64 record data), so the real SDK client runs against it offline.
 */
import { startLocalServer } from '../../local-server';

export interface PutRecordBatchCall {
  readonly streamName: string;
  readonly records: readonly string[];
}

export interface LocalFirehose {
  readonly endpoint: string;
  /** Every call, with each record's data decoded to text. */
  readonly calls: PutRecordBatchCall[];
  /** Records accepted, in arrival order. */
  readonly delivered: string[];
  close(): Promise<void>;
}

export interface LocalFirehoseOptions {
  /** Stream names that exist; any other answers ResourceNotFoundException. */
  readonly streams: readonly string[];
  /** Decides per record whether this attempt fails; `attempt` counts this record's sends from 1. */
  readonly failRecord?: (record: string, attempt: number) => boolean;
  /** Decides whether a whole call fails (HTTP 503, as when the service is unavailable); `call` counts from 1. */
  readonly failCall?: (call: number) => boolean;
}

export async function startLocalFirehose(options: LocalFirehoseOptions): Promise<LocalFirehose> {
  const calls: PutRecordBatchCall[] = [];
  const delivered: string[] = [];
  const attempts = new Map<string, number>();
  let received = 0;
  const server = await startLocalServer((request, response, text) => {
    const reply = (status: number, body: object) => {
      response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(JSON.stringify(body));
    };
    if (request.headers['x-amz-target'] !== 'Firehose_20150804.PutRecordBatch') {
      reply(400, { __type: 'UnknownOperationException', message: String(request.headers['x-amz-target']) });
      return;
    }
    const body = JSON.parse(text) as {
      DeliveryStreamName: string;
      Records: { Data: string }[];
    };
    if (options.failCall?.(++received) === true) {
      reply(503, { __type: 'ServiceUnavailableException', message: 'Slow down.' });
      return;
    }
    if (!options.streams.includes(body.DeliveryStreamName)) {
      reply(400, {
        __type: 'ResourceNotFoundException',
        message: `Firehose ${body.DeliveryStreamName} under account 123456789012 not found.`,
      });
      return;
    }
    const records = body.Records.map(({ Data }) => Buffer.from(Data, 'base64').toString('utf8'));
    calls.push({ streamName: body.DeliveryStreamName, records });
    const results = records.map((record, index) => {
      const attempt = (attempts.get(record) ?? 0) + 1;
      attempts.set(record, attempt);
      if (options.failRecord?.(record, attempt) === true) {
        return { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down.' };
      }
      delivered.push(record);
      return { RecordId: `record-${calls.length}-${index}` };
    });
    reply(200, {
      FailedPutCount: results.filter((result) => 'ErrorCode' in result).length,
      Encrypted: true,
      RequestResponses: results,
    });
  });
  return {
    endpoint: server.url,
    calls,
    delivered,
    close: () => server.close(),
  };
}
