import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { STAGE_DEFAULTS } from '../../../lib/config/stage-config';
import { TRANSACTION_SCHEMA } from '../../../lib/schema/feature-schema';
import {
  billedBytes,
  jsonScannedBytes,
  MB,
  parquetScannedBytes,
  queryScan,
  type QueryScan,
  usd,
} from '../../../scripts/bench-lake/billing';
import { type ColumnChunk, type Lake, readColumnChunks, writeLake } from '../../../scripts/bench-lake/lake';
import { savedQueries } from '../../../scripts/bench-lake/saved-queries';

const ALL_COLUMNS = TRANSACTION_SCHEMA.fields.map((f) => f.name);
const scanOf = (name: string): QueryScan => {
  const query = savedQueries().find((q) => q.name.startsWith(name));
  if (query === undefined) throw new Error(`no saved query ${name}`);
  return queryScan(query.sql, TRANSACTION_SCHEMA);
};

describe('what each saved query scans', () => {
  test('the saved queries are the four the lake offers', () => {
    expect(savedQueries().map((q) => q.name)).toEqual([
      'latest partition',
      'null counts',
      'label balance',
      'training export (30 days)',
    ]);
  });

  test('the latest-partition query reads every column of the newest partition only', () => {
    expect(scanOf('latest partition')).toEqual({ columns: ALL_COLUMNS, partitions: { kind: 'latest' } });
  });

  test('the null-count query reads every column of every partition', () => {
    expect(scanOf('null counts')).toEqual({ columns: ALL_COLUMNS, partitions: { kind: 'all' } });
  });

  test('the label-balance query reads the label column of every partition', () => {
    expect(scanOf('label balance')).toEqual({ columns: ['is_fraud'], partitions: { kind: 'all' } });
  });

  test('the training export reads the id it splits on, the features and the label, in its 30-day window', () => {
    expect(scanOf('training export')).toEqual({
      columns: ALL_COLUMNS.filter((c) => c !== 'customer_id' && c !== 'event_time'),
      partitions: { kind: 'lastDays', days: 30 },
    });
  });

  test('the training export window follows training.exportWindowDays', () => {
    const [, , , exportQuery] = savedQueries(TRANSACTION_SCHEMA, {
      ...STAGE_DEFAULTS.sandbox.training,
      exportWindowDays: 7,
    });
    expect(queryScan(exportQuery.sql, TRANSACTION_SCHEMA).partitions).toEqual({ kind: 'lastDays', days: 7 });
  });
});

describe('billed bytes', () => {
  test('a query that scans less than 10 MB bills 10 MB', () => {
    expect(billedBytes(0)).toBe(10 * MB);
    expect(billedBytes(1)).toBe(10 * MB);
    expect(billedBytes(10 * MB)).toBe(10 * MB);
  });

  test('above the minimum, scanned bytes round up to the next megabyte', () => {
    expect(billedBytes(10 * MB + 1)).toBe(11 * MB);
    expect(billedBytes(25.5 * MB)).toBe(26 * MB);
  });

  test('a terabyte bills 5 dollars', () => {
    expect(usd(1024 * 1024 * MB)).toBe(5);
  });
});

describe('bytes scanned on a one-day lake of real Parquet', () => {
  let dir: string;
  let instance: DuckDBInstance;
  let connection: DuckDBConnection;
  let lake: Lake;
  let chunks: ColumnChunk[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bench-lake-test-'));
    instance = await DuckDBInstance.create(':memory:');
    connection = await instance.connect();
    lake = await writeLake(connection, dir, { days: 1, perHour: 10, lastDay: '2026-11-30' });
    chunks = await readColumnChunks(connection, lake);
  });

  afterAll(() => {
    connection.closeSync();
    instance.closeSync();
    rmSync(dir, { recursive: true, force: true });
  });

  const sum = (list: readonly ColumnChunk[]) => list.reduce((total, c) => total + c.compressedBytes, 0);
  const all = (columns: readonly string[]): QueryScan => ({ columns, partitions: { kind: 'all' } });

  test('the lake has 24 hourly partitions in Firehose layout, with zero-padded keys', () => {
    expect(lake.partitions).toHaveLength(24);
    expect(lake.partitions[7].path).toBe('year=2026/month=11/day=30/hour=07');
  });

  test('the Parquet files hold the schema columns with their Glue types and no partition columns', async () => {
    const reader = await connection.runAndReadAll(
      `SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${join(lake.parquetRoot, 'events', '**', '*.parquet')}', hive_partitioning = false))`,
    );
    expect(reader.getRowObjectsJS().map((r) => `${String(r.column_name)} ${String(r.column_type)}`)).toEqual([
      'transaction_id VARCHAR',
      'customer_id VARCHAR',
      'event_time TIMESTAMP',
      'amount DOUBLE',
      'merchant_category VARCHAR',
      'channel VARCHAR',
      'card_present BOOLEAN',
      'distance_from_home_km DOUBLE',
      'minutes_since_last_transaction DOUBLE',
      'transactions_last_24h INTEGER',
      'hour_of_day INTEGER',
      'is_fraud BOOLEAN',
    ]);
  });

  test('the Parquet column chunks are Snappy-compressed', async () => {
    const reader = await connection.runAndReadAll(
      `SELECT DISTINCT compression FROM parquet_metadata('${join(lake.parquetRoot, 'events', '**', '*.parquet')}')`,
    );
    expect(reader.getRowObjectsJS().map((r) => r.compression)).toEqual(['SNAPPY']);
  });

  test('the scan of a column set is the compressed size of exactly those columns chunks', () => {
    const expected = sum(chunks.filter((c) => c.column === 'amount' || c.column === 'is_fraud'));
    expect(expected).toBeGreaterThan(0);
    expect(parquetScannedBytes(chunks, lake.partitions, all(['amount', 'is_fraud']))).toBe(expected);
  });

  test('reading fewer columns scans fewer bytes', () => {
    expect(parquetScannedBytes(chunks, lake.partitions, all(['is_fraud']))).toBeLessThan(
      parquetScannedBytes(chunks, lake.partitions, all(ALL_COLUMNS)),
    );
  });

  test('the latest-partition scope reads the last hour only', () => {
    const latest = { columns: ALL_COLUMNS, partitions: { kind: 'latest' } } as const;
    expect(parquetScannedBytes(chunks, lake.partitions, latest)).toBe(
      sum(chunks.filter((c) => c.partition === 'year=2026/month=11/day=30/hour=23')),
    );
    expect(jsonScannedBytes(lake.partitions, latest)).toBe(lake.partitions[23].jsonBytes);
  });

  test('a JSON scan reads whole files whatever the columns', () => {
    const total = lake.partitions.reduce((s, p) => s + p.jsonBytes, 0);
    expect(jsonScannedBytes(lake.partitions, all(['is_fraud']))).toBe(total);
    expect(jsonScannedBytes(lake.partitions, all(ALL_COLUMNS))).toBe(total);
  });

  test('the tiny lake bills the 10 MB minimum though it scans far less', () => {
    const scanned = parquetScannedBytes(chunks, lake.partitions, all(ALL_COLUMNS));
    expect(scanned).toBeLessThan(MB);
    expect(billedBytes(scanned)).toBe(10 * MB);
  });
});
