/**
 * `npm run bench:lake`: a model of what the lake's saved Athena queries bill as the lake grows. It writes N days of
 * the producer's records as Firehose would (hourly partitions of Snappy Parquet) and as the NDJSON a lake without
 * conversion would keep, reads the bytes each query scans from the Parquet footers, and prints Parquet against JSON.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { TRANSACTION_SCHEMA } from '../../lib/schema/feature-schema';
import { integerOption, runTool, stringOption, toolMain, type ToolSpec, UsageError } from '../lib/cli';
import { billedBytes, jsonScannedBytes, parquetScannedBytes, queryScan, usd } from './billing';
import { type LakePartition, readColumnChunks, writeLake } from './lake';
import { savedQueries } from './saved-queries';
import { markdownTable } from '../lib/generated-table';
import { LAKE_COST_TABLE } from './cost-table';

export const SPEC: ToolSpec<'days' | 'per-hour' | 'write-docs'> = {
  name: 'bench:lake',
  summary:
    'Models what the saved Athena queries bill as the lake grows: writes N days of synthetic records as Firehose ' +
    'would (hourly Snappy Parquet partitions) and as raw NDJSON, then prints per query and lake size the bytes ' +
    'Athena scans and bills on each, at $5 per TB with its 10 MB minimum. Runs offline; asserts nothing.',
  options: {
    days: { type: 'string', valueName: '<n,n,...>', description: 'lake sizes in days (default 1,7,30,90)' },
    'per-hour': { type: 'string', valueName: '<n>', description: 'records per hourly partition (default 200)' },
    'write-docs': { type: 'boolean', description: 'also write the table into docs/costs.md between its markers' },
  },
  examples: [
    'npm run bench:lake',
    'npm run bench:lake -- --days 1,7 --per-hour 50',
    'npm run bench:lake -- --write-docs',
  ],
  notes: [
    'The lake ends on a fixed day, so the figures do not depend on when the tool runs; the temp folder it writes ' +
      'the lake into is removed at the end.',
  ],
  stageless: true,
};

/** The newest day of the modelled lake: fixed, so two runs write the same records. */
export const LAST_DAY = '2026-11-30';

export interface CostRow {
  readonly query: string;
  readonly days: number;
  readonly parquetScanned: number;
  readonly jsonScanned: number;
}

function daysOption(value: string | boolean | undefined): number[] {
  const text = stringOption(value) ?? '1,7,30,90';
  const days = text.split(',').map((part) => (/^\d+$/.test(part.trim()) ? Number(part) : NaN));
  if (days.some((d) => !Number.isSafeInteger(d) || d < 1 || d > 3650)) {
    throw new UsageError(`--days is ${JSON.stringify(text)}; pass whole numbers from 1 to 3650, comma-separated`);
  }
  return [...new Set(days)].sort((a, b) => a - b);
}

/**
 * Writes one lake of the largest size into `dir` and measures every saved query on its last N days for each N: the
 * queries prune relative to the newest day, so a smaller lake is a suffix of the larger one.
 */
export async function measureLake(
  dir: string,
  options: { readonly days: readonly number[]; readonly perHour: number },
): Promise<CostRow[]> {
  const instance = await DuckDBInstance.create(':memory:');
  try {
    const connection = await instance.connect();
    try {
      const largest = Math.max(...options.days);
      const lake = await writeLake(connection, dir, { days: largest, perHour: options.perHour, lastDay: LAST_DAY });
      const chunks = await readColumnChunks(connection, lake);
      return options.days.flatMap((days) => {
        const partitions: LakePartition[] = lake.partitions.slice(-days * 24);
        return savedQueries().map(({ name, sql }) => {
          const scan = queryScan(sql, TRANSACTION_SCHEMA);
          return {
            query: name,
            days,
            parquetScanned: parquetScannedBytes(chunks, partitions, scan),
            jsonScanned: jsonScannedBytes(partitions, scan),
          };
        });
      });
    } finally {
      connection.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

const ROOT = join(__dirname, '..', '..');

export const main = toolMain(SPEC, async ({ values }) => {
  const days = daysOption(values.days);
  const perHour = integerOption(values['per-hour'], 'per-hour', { min: 1, max: 100_000, default: 200 });
  const dir = mkdtempSync(join(tmpdir(), 'bench-lake-'));
  let rows: CostRow[];
  try {
    rows = await measureLake(dir, { days, perHour });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const caption = `${perHour} records an hour, lake ending ${LAST_DAY}`;
  process.stdout.write(`Athena bytes per saved query (${caption})\n\n${costTable(rows)}\n`);
  if (values['write-docs'] === true) {
    LAKE_COST_TABLE.write(ROOT, caption, costTable(rows));
  }
  return 0;
});

/** A byte count in the largest binary unit that keeps it at or above 1. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  const power = Math.min(units.length - 1, bytes < 1 ? 0 : Math.floor(Math.log2(bytes) / 10));
  return power === 0 ? `${bytes} B` : `${(bytes / 1024 ** power).toFixed(1)} ${units[power]}`;
}

const dollars = (bytes: number) => `$${usd(billedBytes(bytes)).toFixed(6)}`;

/** The figures as a Markdown table: query × lake size, Parquet against JSON, scanned, billed and in USD. */
export function costTable(rows: readonly CostRow[]): string {
  const header = [
    'Query',
    'Lake (days)',
    'Parquet scanned',
    'Parquet billed',
    'Parquet USD',
    'JSON scanned',
    'JSON billed',
    'JSON USD',
  ];
  const queries = [...new Set(rows.map((r) => r.query))];
  const cells = [...rows]
    .sort((a, b) => queries.indexOf(a.query) - queries.indexOf(b.query) || a.days - b.days)
    .map((r) => [
      r.query,
      String(r.days),
      formatBytes(r.parquetScanned),
      formatBytes(billedBytes(r.parquetScanned)),
      dollars(r.parquetScanned),
      formatBytes(r.jsonScanned),
      formatBytes(billedBytes(r.jsonScanned)),
      dollars(r.jsonScanned),
    ]);
  return markdownTable(header, cells);
}

if (require.main === module) runTool(main);
