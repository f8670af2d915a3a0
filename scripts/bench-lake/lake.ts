/**
 * A synthetic raw zone written the way Firehose writes it: the producer's records, one hourly Hive partition each
 * (`events/year=YYYY/month=MM/day=DD/hour=HH/`), once as the NDJSON a lake without conversion keeps and once as Snappy
 * Parquet with the Glue column types of the feature schema, which is what Firehose's record format conversion writes.
 */
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { type FeatureSchema, type FieldType, TRANSACTION_SCHEMA } from '../../lib/schema/feature-schema';
import { RAW_EVENTS_PREFIX, RAW_PARTITION_KEYS } from '../../lib/schema/lake-layout';
import { generateRecords } from '../ingest/transactions';

/**
 * The DuckDB type of each schema type, as Glue maps them (lib/lake/data-catalog.ts `glueColumns`, which a script may
 * not import): the Parquet physical and logical types DuckDB writes for these are the ones Firehose writes.
 */
export const DUCKDB_TYPES: Readonly<Record<FieldType, string>> = {
  string: 'VARCHAR',
  double: 'DOUBLE',
  int: 'INTEGER',
  boolean: 'BOOLEAN',
  timestamp: 'TIMESTAMP',
};

const MS_PER_HOUR = 3_600_000;
const MS_PER_DAY = 24 * MS_PER_HOUR;

/** One hourly partition: its key values (strings with leading zeros, as Firehose writes them) and its JSON size. */
export interface LakePartition {
  /** `year=2026/month=11/day=30/hour=07`, the path under `events/`. */
  readonly path: string;
  /** The partition's UTC day, `2026-11-30`. */
  readonly day: string;
  readonly jsonBytes: number;
}

export interface LakeOptions {
  /** Days of history, ending with `lastDay`. */
  readonly days: number;
  /** Records per hourly partition. */
  readonly perHour: number;
  /** The newest day of the lake, `YYYY-MM-DD` (UTC): the day the queries run. */
  readonly lastDay: string;
  readonly schema?: FeatureSchema;
}

export interface Lake {
  /** Folder of the NDJSON lake; its `events/` holds the partitions. */
  readonly jsonRoot: string;
  /** Folder of the Parquet lake; its `events/` holds the partitions. */
  readonly parquetRoot: string;
  /** Oldest first. */
  readonly partitions: readonly LakePartition[];
}

const pad = (value: number) => String(value).padStart(2, '0');

/** Writes the lake under `dir` (which must exist) and returns where it is and what it holds. */
export async function writeLake(connection: DuckDBConnection, dir: string, options: LakeOptions): Promise<Lake> {
  const schema = options.schema ?? TRANSACTION_SCHEMA;
  const jsonRoot = join(dir, 'json');
  const parquetRoot = join(dir, 'parquet');
  const first = Date.parse(`${options.lastDay}T00:00:00Z`) - (options.days - 1) * MS_PER_DAY;
  if (Number.isNaN(first)) throw new Error(`writeLake: lastDay '${options.lastDay}' is not a YYYY-MM-DD date`);
  const partitions: LakePartition[] = [];
  for (let hour = 0; hour < options.days * 24; hour++) {
    const start = new Date(first + hour * MS_PER_HOUR);
    const values = [start.getUTCFullYear(), start.getUTCMonth() + 1, start.getUTCDate(), start.getUTCHours()];
    const path = RAW_PARTITION_KEYS.map((key, i) => `${key.name}=${i === 0 ? values[i] : pad(values[i])}`).join('/');
    const records = generateRecords(options.perHour, {
      seed: hour + 1,
      fraudRate: 0.02,
      startTime: start.getTime(),
      // Exponential gaps averaging this keep an hour's records (almost all) inside the hour, as arrival time does.
      meanGapMs: MS_PER_HOUR / (options.perHour + 1),
    });
    const folder = join(jsonRoot, RAW_EVENTS_PREFIX, path);
    mkdirSync(folder, { recursive: true });
    const file = join(folder, 'part-0.json');
    writeFileSync(file, [...records].map((record) => `${JSON.stringify(record)}\n`).join(''));
    partitions.push({ path, day: start.toISOString().slice(0, 10), jsonBytes: statSync(file).size });
  }

  // The producer sends a timestamp as epoch milliseconds (TIMESTAMP_WIRE_FORMAT); Firehose's millis parser turns it
  // into a Parquet timestamp, as epoch_ms does here.
  const readAs = schema.fields.map((f) => `${f.name}: '${f.type === 'timestamp' ? 'BIGINT' : DUCKDB_TYPES[f.type]}'`);
  const select = schema.fields.map((f) =>
    f.type === 'timestamp'
      ? `CAST(epoch_ms("${f.name}") AS TIMESTAMP) AS "${f.name}"`
      : `CAST("${f.name}" AS ${DUCKDB_TYPES[f.type]}) AS "${f.name}"`,
  );
  const keys = RAW_PARTITION_KEYS.map((k) => k.name);
  // Partition values stay strings ('07', not 7), as Firehose writes them and the Glue table declares them.
  const hiveTypes = keys.map((k) => `${k}: 'VARCHAR'`).join(', ');
  const glob = join(jsonRoot, RAW_EVENTS_PREFIX, '**', '*.json');
  mkdirSync(parquetRoot, { recursive: true });
  // Firehose writes one object per buffer flush into the hour's partition, with the partition keys in the path only.
  await connection.run(
    `COPY (SELECT ${select.join(', ')}, ${keys.join(', ')}
       FROM read_json('${glob}', format = 'newline_delimited', columns = {${readAs.join(', ')}},
                      hive_partitioning = true, hive_types = {${hiveTypes}}))
     TO '${join(parquetRoot, RAW_EVENTS_PREFIX)}'
     (FORMAT PARQUET, COMPRESSION SNAPPY, PARTITION_BY (${keys.join(', ')}))`,
  );
  return { jsonRoot, parquetRoot, partitions };
}

/** One Parquet column chunk, from the file footers: which partition, which column, how many compressed bytes. */
export interface ColumnChunk {
  /** `year=2026/month=11/day=30/hour=07`. */
  readonly partition: string;
  readonly column: string;
  readonly compressedBytes: number;
}

/** Every column chunk of the Parquet lake, read from the footers with DuckDB's `parquet_metadata`. */
export async function readColumnChunks(connection: DuckDBConnection, lake: Lake): Promise<ColumnChunk[]> {
  const glob = join(lake.parquetRoot, RAW_EVENTS_PREFIX, '**', '*.parquet');
  const reader = await connection.runAndReadAll(
    `SELECT file_name, path_in_schema, total_compressed_size FROM parquet_metadata('${glob}')`,
  );
  const partition = new RegExp(`${RAW_PARTITION_KEYS.map((k) => `${k.name}=[^/]+`).join('/')}`);
  return reader.getRowObjectsJS().map((row) => {
    const match = partition.exec(String(row.file_name));
    if (match === null) throw new Error(`readColumnChunks: ${String(row.file_name)} is in no hourly partition`);
    return {
      partition: match[0],
      column: String(row.path_in_schema),
      compressedBytes: Number(row.total_compressed_size),
    };
  });
}
