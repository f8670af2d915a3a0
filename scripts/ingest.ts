/**
 * `npm run ingest`: the producer. Generates the running example's labelled transactions from a seed and sends them
 * to the Firehose stream the Ingest stack created, or with `--dry-run` writes them to a local NDJSON file.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { FirehoseClient } from '@aws-sdk/client-firehose';
import { createWriteStream, openSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { STACK_OUTPUTS } from '../lib/stack-outputs';
import {
  helpText,
  integerOption,
  parseCli,
  positiveNumberOption,
  runTool,
  stringOption,
  ToolError,
  type ToolSpec,
  UsageError,
} from './lib/cli';
import { encodeRecord, PUT_RECORD_BATCH_LIMITS, sendRecords } from './lib/firehose-sender';
import { ProgressBar } from './lib/progress';
import { clientConfig, loadToolConfig, readStackOutputs, stacksOf } from './lib/stage';
import { generateRecords, type GeneratedRecord, isPositive } from './lib/transactions';

export const INGEST_DEFAULTS = {
  count: 10_000,
  seed: 42,
  fraudRate: 0.02,
  recordsPerSecond: 1_000,
  out: 'transactions.ndjson',
  failedOut: 'ingest-failed.ndjson',
} as const;

export const SPEC: ToolSpec<
  'count' | 'seed' | 'fraud-rate' | 'rate' | 'start' | 'dry-run' | 'out' | 'stream' | 'failed-out'
> = {
  name: 'ingest',
  summary:
    "Generates labelled card transactions (fields from the feature schema) and sends them to the pipeline's " +
    'Firehose stream with PutRecordBatch, re-sending only records that fail.',
  options: {
    count: {
      type: 'string',
      short: 'n',
      valueName: '<records>',
      description: `records to generate (default ${INGEST_DEFAULTS.count})`,
    },
    seed: {
      type: 'string',
      valueName: '<n>',
      description: `same seed, same records (default ${INGEST_DEFAULTS.seed})`,
    },
    'fraud-rate': {
      type: 'string',
      valueName: '<share>',
      description: `share of fraudulent records, up to 0.5 (default ${INGEST_DEFAULTS.fraudRate})`,
    },
    rate: {
      type: 'string',
      valueName: '<per-second>',
      description: `records sent per second at most (default ${INGEST_DEFAULTS.recordsPerSecond})`,
    },
    start: {
      type: 'string',
      valueName: '<time>',
      description: 'event time of the first record, ISO 8601 (default: now)',
    },
    'dry-run': { type: 'boolean', description: 'write NDJSON to --out instead of sending; needs no AWS account' },
    out: {
      type: 'string',
      valueName: '<file>',
      description: `where --dry-run writes, - for stdout (default ${INGEST_DEFAULTS.out})`,
    },
    stream: {
      type: 'string',
      valueName: '<name>',
      description: "Firehose stream to send to (default: the Ingest stack's DeliveryStreamName output)",
    },
    'failed-out': {
      type: 'string',
      valueName: '<file>',
      description: `where records that still fail after retries are kept (default ${INGEST_DEFAULTS.failedOut})`,
    },
  },
  notes: [
    `Each PutRecordBatch call carries at most ${PUT_RECORD_BATCH_LIMITS.records} records or ` +
      `${PUT_RECORD_BATCH_LIMITS.bytes / 1024 / 1024} MiB. Firehose buffers them and writes Parquet files to the raw ` +
      'bucket when its buffer fills or its interval ends (ingest.* in the stage config).',
    'Exit codes: 0 all delivered, 1 some records failed (kept in --failed-out) or the stream is missing, 2 bad usage.',
  ],
  examples: [
    'npm run ingest -- --dry-run --count 5 --out -',
    'npm run ingest -- --count 20000 --seed 7',
    'npm run ingest -- --stage prod --rate 200',
  ],
};

const MAX_ATTEMPTS_PER_RECORD = 5;

export async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseCli(SPEC, argv);
  if (values.help === true) {
    process.stdout.write(helpText(SPEC));
    return 0;
  }
  const count = integerOption(values.count, 'count', { min: 1, max: 10_000_000, default: INGEST_DEFAULTS.count });
  const seed = integerOption(values.seed, 'seed', { min: 0, max: 2 ** 31 - 1, default: INGEST_DEFAULTS.seed });
  const fraudRate = positiveNumberOption(values['fraud-rate'], 'fraud-rate', 0.5) ?? INGEST_DEFAULTS.fraudRate;
  const recordsPerSecond = integerOption(values.rate, 'rate', {
    min: 1,
    max: 100_000,
    default: INGEST_DEFAULTS.recordsPerSecond,
  });
  const startTime = parseStart(stringOption(values.start));
  const config = loadToolConfig(stringOption(values.stage));

  const tally = { records: 0, positives: 0 };
  const counted = function* (records: Iterable<GeneratedRecord>) {
    for (const record of records) {
      tally.records++;
      if (isPositive(record)) tally.positives++;
      yield record;
    }
  };
  const records = counted(generateRecords(count, { seed, fraudRate, startTime, meanGapMs: 1000 / recordsPerSecond }));
  const share = () => `${tally.positives} fraudulent, ${((100 * tally.positives) / tally.records).toFixed(1)}%`;

  if (values['dry-run'] === true) {
    const out = stringOption(values.out) ?? INGEST_DEFAULTS.out;
    const bytes = await writeNdjson(records, out);
    const where = out === '-' ? 'stdout' : `${out} (${(bytes / 1024).toFixed(1)} KiB)`;
    process.stderr.write(`Dry run: wrote ${tally.records} records (seed ${seed}, ${share()}) to ${where}\n`);
    return 0;
  }

  const cloudFormation = new CloudFormationClient(clientConfig(config));
  const streamName =
    stringOption(values.stream) ??
    (await readStackOutputs(cloudFormation, stacksOf(config).ingest, [STACK_OUTPUTS.deliveryStreamName]))
      .DeliveryStreamName;
  // Whole-call throttling and 5xx answers are retried by the SDK with backoff; per-record failures by sendRecords.
  const firehose = new FirehoseClient({ ...clientConfig(config), maxAttempts: 8 });
  const region = await firehose.config.region();
  process.stderr.write(
    `Sending ${count} records to Firehose stream ${streamName} (${region}) at up to ${recordsPerSecond} records/s\n`,
  );
  const progress = new ProgressBar('ingest', count);
  const result = await sendRecords(
    firehose,
    (function* () {
      for (const record of records) yield encodeRecord(record);
    })(),
    {
      streamName,
      recordsPerSecond,
      maxAttempts: MAX_ATTEMPTS_PER_RECORD,
      onProgress: (delivered) => progress.update(delivered),
    },
  );
  progress.done();

  const resent = result.resent > 0 ? `, ${result.resent} re-sent after partial failures` : '';
  process.stdout.write(
    `Delivered ${result.delivered} of ${count} records (${share()}) in ${result.calls} calls${resent}.\n`,
  );
  if (result.failed.length > 0) {
    const failedOut = stringOption(values['failed-out']) ?? INGEST_DEFAULTS.failedOut;
    writeFileSync(failedOut, Buffer.concat(result.failed.map(({ data }) => data)));
    const codes = [...new Set(result.failed.map(({ errorCode }) => errorCode))].join(', ');
    throw new ToolError(
      `${result.failed.length} records still failed after ${MAX_ATTEMPTS_PER_RECORD} attempts (${codes}: ` +
        `${result.failed[0].errorMessage}). They are kept in ${failedOut}; check the stream's status and quota, ` +
        'then send them again',
    );
  }
  process.stdout.write(
    `Firehose writes them to the raw bucket as Parquet within ${config.ingest.bufferIntervalSeconds} s ` +
      `(ingest.bufferIntervalSeconds). Next: npm run train${config.stage === 'sandbox' ? '' : ` -- --stage ${config.stage}`}\n`,
  );
  return 0;
}

function parseStart(value: string | undefined): number {
  if (value === undefined) return Date.now();
  const time = Date.parse(value);
  if (Number.isNaN(time)) {
    throw new UsageError(`--start is ${JSON.stringify(value)}; pass an ISO 8601 time such as 2026-11-01T00:00:00Z`);
  }
  return time;
}

/** Opens the output file up front, so a bad path is a message before any work, not a stream error after it. */
function openForWriting(path: string): number {
  try {
    return openSync(path, 'w');
  } catch (error) {
    throw new ToolError(`Cannot write ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Writes one JSON record per line; returns the bytes written. */
async function writeNdjson(records: Iterable<GeneratedRecord>, out: string): Promise<number> {
  const stream = out === '-' ? process.stdout : createWriteStream('', { fd: openForWriting(out) });
  let bytes = 0;
  for (const record of records) {
    const line = `${JSON.stringify(record)}\n`;
    bytes += Buffer.byteLength(line);
    if (!stream.write(line)) await once(stream, 'drain');
  }
  if (stream !== process.stdout) {
    stream.end();
    await once(stream, 'finish');
  }
  return bytes;
}

if (require.main === module) runTool(main);
