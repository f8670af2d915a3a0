/**
 * What Athena bills for a query on the lake. Athena bills the bytes it scans, rounded up to the next megabyte, with a
 * 10 MB minimum per query, at $5 per TB (https://aws.amazon.com/athena/pricing/, "SQL queries": "You are charged for
 * the number of bytes scanned by Amazon Athena, rounded up to the nearest megabyte, with a 10 MB minimum per query").
 * On Parquet it scans the column chunks of the columns a query reads, in the partitions it prunes to; on JSON it
 * reads every byte of those partitions' files, because a row format cannot skip a column.
 */
import type { FeatureSchema } from '../../lib/schema/feature-schema';
import { partitionWindowPredicate } from '../../lib/schema/athena-queries';
import type { ColumnChunk, LakePartition } from './lake';

/** Binary units: the pricing page does not say, and the difference (5% per MB, 10% per TB) does not change a trend. */
export const MB = 1024 ** 2;
export const TB = 1024 ** 4;
export const MINIMUM_BILLED_BYTES = 10 * MB;
export const USD_PER_TB = 5;

/** Which partitions a query reads after pruning. */
export type PartitionScope =
  | { readonly kind: 'all' }
  /** The newest hourly partition only (found through the `$partitions` metadata table, which scans no data). */
  | { readonly kind: 'latest' }
  /** The last `days` UTC days, the query's day included. */
  | { readonly kind: 'lastDays'; readonly days: number };

export interface QueryScan {
  /** The table columns the query reads, in schema order. */
  readonly columns: readonly string[];
  readonly partitions: PartitionScope;
}

/**
 * What a saved query scans, read from its SQL: the schema columns it names as quoted identifiers (every column for
 * `SELECT *`), and the partitions its partition predicate keeps. Every saved query quotes its identifiers
 * (athena-queries.ts `quoteIdentifier`), so a column it reads appears as `"name"`; a predicate other than
 * `partitionWindowPredicate` or the `$partitions` lookup is not recognised and counts as a full scan.
 */
export function queryScan(sql: string, schema: FeatureSchema): QueryScan {
  const columns = /\bSELECT \*/.test(sql)
    ? schema.fields.map((f) => f.name)
    : schema.fields.filter((f) => sql.includes(`"${f.name}"`)).map((f) => f.name);
  const window = /INTERVAL '(\d+)' DAY/.exec(sql);
  if (window !== null) {
    const days = Number(window[1]) + 1;
    if (!sql.includes(partitionWindowPredicate(days))) {
      throw new Error(
        `queryScan: the query has an INTERVAL but not partitionWindowPredicate(${days}); teach queryScan it`,
      );
    }
    return { columns, partitions: { kind: 'lastDays', days } };
  }
  if (sql.includes(`"${schema.tableName}$partitions"`) && /LIMIT 1\b/.test(sql)) {
    return { columns, partitions: { kind: 'latest' } };
  }
  return { columns, partitions: { kind: 'all' } };
}

/** The partitions a scope keeps, of a lake's partitions (oldest first), as of the lake's newest day. */
export function prunedPartitions(partitions: readonly LakePartition[], scope: PartitionScope): LakePartition[] {
  if (scope.kind === 'all' || partitions.length === 0) return [...partitions];
  if (scope.kind === 'latest') return [partitions[partitions.length - 1]];
  const today = Date.parse(`${partitions[partitions.length - 1].day}T00:00:00Z`);
  const from = new Date(today - (scope.days - 1) * 86_400_000).toISOString().slice(0, 10);
  return partitions.filter((p) => p.day >= from);
}

/** Bytes Athena scans on the Parquet lake: the compressed column chunks of the read columns in the kept partitions. */
export function parquetScannedBytes(
  chunks: readonly ColumnChunk[],
  partitions: readonly LakePartition[],
  scan: QueryScan,
): number {
  const kept = new Set(prunedPartitions(partitions, scan.partitions).map((p) => p.path));
  const columns = new Set(scan.columns);
  return chunks
    .filter((c) => kept.has(c.partition) && columns.has(c.column))
    .reduce((sum, c) => sum + c.compressedBytes, 0);
}

/** Bytes Athena scans on the NDJSON lake: the whole files of the kept partitions. */
export function jsonScannedBytes(partitions: readonly LakePartition[], scan: QueryScan): number {
  return prunedPartitions(partitions, scan.partitions).reduce((sum, p) => sum + p.jsonBytes, 0);
}

/** Scanned bytes as billed: rounded up to the next megabyte, at least 10 MB. */
export const billedBytes = (scanned: number): number => Math.max(MINIMUM_BILLED_BYTES, Math.ceil(scanned / MB) * MB);

export const usd = (billed: number): number => (billed / TB) * USD_PER_TB;
