/**
 * `npm run ingest`: the producer. Generates the running example's labelled transactions from a seed and sends them
 * to the Firehose stream the Ingest stack created, or with `--dry-run` writes them to a local NDJSON file.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { FirehoseClient } from '@aws-sdk/client-firehose';
import { createWriteStream, openSync } from 'node:fs';
import { once } from 'node:events';
import { STACK_OUTPUTS } from '../../lib/contract/stacks';
import {
  integerOption,
  positiveNumberOption,
  runTool,
  stringOption,
  ToolError,
  toolMain,
  type ToolSpec,
  UsageError,
} from '../lib/cli';
import { encodeRecord, sendRecords } from './firehose-sender';
import { PUT_RECORD_BATCH_LIMITS } from '../../lib/contract/service-limits';
import { parseNdjson, readTextFile } from '../lib/ndjson';
import { ProgressBar } from './progress';
import { stackNames } from '../../lib/contract/stacks';
import { clientConfig, loadToolConfig, readStackOutputs } from '../lib/stage';
import { DRIFT_SCENARIOS, generateRecords, isDriftScenario, isPositive, type DriftScenario } from './transactions';

export const INGEST_DEFAULTS = {
  count: 10_000,
  seed: 42,
  fraudRate: 0.02,
  recordsPerSecond: 1_000,
  out: 'transactions.ndjson',
} as const;

/** Sends of one record before it counts as failed: the first and four re-sends. */
export const MAX_ATTEMPTS_PER_RECORD = 5;

export const SPEC: ToolSpec<
  'count' | 'seed' | 'fraud-rate' | 'drift' | 'rate' | 'start' | 'dry-run' | 'out' | 'stream' | 'failed-out' | 'from'
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
      description: `same seed and --start, same records (default ${INGEST_DEFAULTS.seed})`,
    },
    'fraud-rate': {
      type: 'string',
      valueName: '<share>',
      description: `share of fraudulent records, up to 0.5 (default ${INGEST_DEFAULTS.fraudRate})`,
    },
    drift: {
      type: 'string',
      valueName: '<scenario>',
      description: `shift the generated distributions: ${Object.keys(DRIFT_SCENARIOS).join(', ')} (default: none)`,
    },
    rate: {
      type: 'string',
      valueName: '<per-second>',
      description: `records sent per second at most; a batch holds at most a second's worth (default ${INGEST_DEFAULTS.recordsPerSecond})`,
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
      description: 'where records not delivered are kept (default: ingest-failed-<time>.ndjson)',
    },
    from: {
      type: 'string',
      valueName: '<file.ndjson>',
      description: 'send the records of a file instead of generating them, e.g. the kept records of a failed run',
    },
  },
  notes: [
    `Each PutRecordBatch call carries at most ${PUT_RECORD_BATCH_LIMITS.records} records or ` +
      `${PUT_RECORD_BATCH_LIMITS.bytes / 1024 / 1024} MiB. Firehose buffers them and writes Parquet files to the raw ` +
      'bucket when its buffer fills or its interval ends (ingest.* in the stage config).',
    `Records that still fail after ${MAX_ATTEMPTS_PER_RECORD} attempts, and the rest of the input when a call fails ` +
      'as a whole (the stream ' +
      'is missing, access is denied, the service stays unavailable), are written to --failed-out, so nothing is ' +
      'lost: send them again with --from.',
    `Drift scenarios (--drift): ${Object.entries(DRIFT_SCENARIOS)
      .map(([name, { summary }]) => `${name}, ${summary}`)
      .join('; ')}. The labels keep their odds; only how transactions look changes.`,
    'Exit codes: 0 all delivered, 1 some records were not delivered (kept in a file), 2 bad usage.',
  ],
  examples: [
    'npm run ingest -- --dry-run --count 5 --out -',
    'npm run ingest -- --count 20000 --seed 7',
    'npm run ingest -- --drift larger-amounts --seed 8',
    'npm run ingest -- --stage prod --rate 200',
    'npm run ingest -- --from ingest-failed-2026-11-27T10-00-00-000Z.ndjson',
  ],
};

/** Average gap between generated event times: 10 events a second, whatever the send rate, so a seed fixes the data. */
export const EVENT_GAP_MS = 100;

export const main = toolMain(SPEC, async ({ values }) => {
  const from = stringOption(values.from);
  const dryRun = values['dry-run'] === true;
  rejectConflicts(values, from, dryRun);
  const recordsPerSecond = integerOption(values.rate, 'rate', {
    min: 1,
    max: 100_000,
    default: INGEST_DEFAULTS.recordsPerSecond,
  });
  const config = loadToolConfig(stringOption(values.stage));

  // The input: the records of an earlier run's failures file, or records generated from the seed.
  const tally = { records: 0, positives: 0 };
  let total: number;
  let input: Iterable<Uint8Array>;
  let describe: () => string;
  if (from !== undefined) {
    const lines = readNdjsonLines(from);
    total = lines.length;
    input = lines.map((line) => encoder.encode(`${line}\n`));
    describe = () => `from ${from}`;
  } else {
    const count = integerOption(values.count, 'count', { min: 1, max: 10_000_000, default: INGEST_DEFAULTS.count });
    const seed = integerOption(values.seed, 'seed', { min: 0, max: 2 ** 31 - 1, default: INGEST_DEFAULTS.seed });
    const fraudRate = positiveNumberOption(values['fraud-rate'], 'fraud-rate', 0.5) ?? INGEST_DEFAULTS.fraudRate;
    const startTime = parseStart(stringOption(values.start));
    const drift = driftOption(stringOption(values.drift));
    const records = (function* () {
      for (const record of generateRecords(count, { seed, fraudRate, startTime, meanGapMs: EVENT_GAP_MS, drift })) {
        tally.records++;
        if (isPositive(record)) tally.positives++;
        yield record;
      }
    })();
    total = count;
    describe = () =>
      `seed ${seed}${drift === undefined ? '' : `, drift ${drift}`}, ${tally.positives} fraudulent, ${((100 * tally.positives) / Math.max(1, tally.records)).toFixed(1)}%`;
    if (dryRun) {
      const out = stringOption(values.out) ?? INGEST_DEFAULTS.out;
      const bytes = await writeLines(
        (function* () {
          for (const record of records) yield `${JSON.stringify(record)}\n`;
        })(),
        out,
      );
      const where = out === '-' ? 'stdout' : `${out} (${(bytes / 1024).toFixed(1)} KiB)`;
      process.stderr.write(`Dry run: wrote ${tally.records} records (${describe()}) to ${where}\n`);
      return 0;
    }
    input = (function* () {
      for (const record of records) yield encodeRecord(record);
    })();
  }

  const streamName =
    stringOption(values.stream) ??
    (
      await readStackOutputs(new CloudFormationClient(clientConfig(config)), stackNames(config.namePrefix).ingest, [
        STACK_OUTPUTS.deliveryStreamName,
      ])
    ).DeliveryStreamName;
  // Whole-call throttling and 5xx answers are retried by the SDK with backoff; per-record failures by sendRecords.
  const firehose = new FirehoseClient({ ...clientConfig(config), maxAttempts: 8 });
  const region = await firehose.config.region();
  process.stderr.write(
    `Sending ${total} records to Firehose stream ${streamName} (${region}) at up to ${recordsPerSecond} records/s\n`,
  );
  const progress = new ProgressBar('ingest', total);
  const result = await sendRecords(firehose, input, {
    streamName,
    recordsPerSecond,
    maxAttempts: MAX_ATTEMPTS_PER_RECORD,
    onProgress: (delivered) => progress.update(delivered),
  });
  progress.done();

  const resent = result.resent > 0 ? `, ${result.resent} re-sent after partial failures` : '';
  process.stdout.write(
    `Delivered ${result.delivered} of ${total} records (${describe()}) in ${result.calls} calls${resent}.\n`,
  );
  if (result.failed.length > 0 || result.stoppedBy !== undefined) {
    // Nothing is lost: what failed, and what was never sent because the run stopped, go to one file to send again.
    const failedOut = stringOption(values['failed-out']) ?? failedFileName();
    const kept = await writeLines(
      (function* () {
        for (const { data } of result.failed) yield data;
        yield* result.unsent;
      })(),
      failedOut,
    );
    const why =
      result.stoppedBy !== undefined
        ? `Sending stopped: ${result.stoppedBy}`
        : `${result.failed.length} records still failed after ${MAX_ATTEMPTS_PER_RECORD} attempts ` +
          `(${[...new Set(result.failed.map(({ errorCode }) => errorCode))].join(', ')}: ${result.failed[0].errorMessage})`;
    throw new ToolError(
      `${why}. The ${total - result.delivered} records not delivered are kept in ${failedOut} (${kept} bytes); ` +
        `once the stream is healthy, send them with: npm run ingest -- --from ${failedOut}`,
    );
  }
  process.stdout.write(
    `Firehose writes them to the raw bucket as Parquet within ${config.ingest.bufferIntervalSeconds} s ` +
      `(ingest.bufferIntervalSeconds). Next: npm run train${config.stage === 'sandbox' ? '' : ` -- --stage ${config.stage}`}\n`,
  );
  return 0;
});

const encoder = new TextEncoder();

/** Options that mean nothing together are a usage error, not silently ignored. */
function rejectConflicts(
  values: Record<string, string | boolean | undefined>,
  from: string | undefined,
  dryRun: boolean,
) {
  const generatorOptions = ['count', 'seed', 'fraud-rate', 'drift', 'start'].filter((key) => values[key] !== undefined);
  if (from !== undefined && (generatorOptions.length > 0 || dryRun)) {
    throw new UsageError(
      `--from sends the records of a file as they are; it does not combine with ${[...generatorOptions.map((k) => `--${k}`), ...(dryRun ? ['--dry-run'] : [])].join(', ')}`,
    );
  }
  if (dryRun && (values.stream !== undefined || values['failed-out'] !== undefined)) {
    throw new UsageError('--dry-run sends nothing, so --stream and --failed-out do not apply; drop them');
  }
  if (!dryRun && values.out !== undefined) {
    throw new UsageError('--out is where --dry-run writes; add --dry-run, or drop --out to send to Firehose');
  }
}

/** The --drift scenario, or undefined for none; an unknown name is a usage error that lists the scenarios. */
function driftOption(value: string | undefined): DriftScenario | undefined {
  if (value === undefined || isDriftScenario(value)) return value;
  const known = Object.entries(DRIFT_SCENARIOS).map(([name, { summary }]) => `  ${name}: ${summary}`);
  throw new UsageError(`--drift ${value} is not a drift scenario; use one of:\n${known.join('\n')}`);
}

/** A new file per failed run, so a second failure never overwrites the records of the first. */
const failedFileName = () => `ingest-failed-${new Date().toISOString().replace(/[:.]/g, '-')}.ndjson`;

/** The records of an NDJSON file as lines to send, each checked to be a JSON object so garbage is caught first. */
function readNdjsonLines(path: string): string[] {
  const lines = parseNdjson(path, readTextFile(path, '--from', 'an NDJSON file of records'));
  const notObject = lines.find(({ value }) => typeof value !== 'object' || value === null || Array.isArray(value));
  if (notObject !== undefined) {
    throw new ToolError(
      `${path} line ${notObject.number} is not a JSON object; --from takes NDJSON, one record per line`,
    );
  }
  if (lines.length === 0) throw new ToolError(`${path} holds no records`);
  // Re-serialized, one line each: the same records, whatever whitespace the file had.
  return lines.map(({ value }) => JSON.stringify(value));
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

/** Writes lines (text or bytes) to a file, or to stdout for `-`; returns the bytes written. */
async function writeLines(lines: Iterable<string | Uint8Array>, out: string): Promise<number> {
  const stream = out === '-' ? process.stdout : createWriteStream('', { fd: openForWriting(out) });
  let bytes = 0;
  for (const line of lines) {
    bytes += typeof line === 'string' ? Buffer.byteLength(line) : line.byteLength;
    if (!stream.write(line)) await once(stream, 'drain');
  }
  if (stream !== process.stdout) {
    stream.end();
    await once(stream, 'finish');
  }
  return bytes;
}

if (require.main === module) runTool(main);
