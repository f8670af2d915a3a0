/**
 * Athena SQL derived from the feature schema. Nothing here lists a field by hand: add a feature to the schema and
 * the quality checks and the training export pick it up.
 */
import { RAW_PARTITION_KEYS } from './lake-layout';
import { FeatureSchema, FieldSpec, featureFields, labelField, recordIdField } from './feature-schema';

/** The two sides of the deterministic train/validation split; each is one partition of the export. */
export const DATASET_SPLITS = ['train', 'validation'] as const;
export type DatasetSplit = (typeof DATASET_SPLITS)[number];

/**
 * The export's partition column. UNLOAD writes each split under `split=<name>/` (see `exportSplitPrefix`) and
 * leaves the column out of the files, so SageMaker's channels see the label and the features only.
 */
export const SPLIT_COLUMN = 'split';

export interface ExportQueryOptions {
  /** Glue database that holds the schema's table. */
  readonly database: string;
  /** S3 URI ending in `/`, one per export. UNLOAD writes `split=train/` and `split=validation/` under it. */
  readonly destination: string;
  /** Share of records, in percent, that go to the validation split. */
  readonly validationPercent: number;
  /**
   * Days of raw partitions the export reads, counted back from the day the query runs (that day included). The
   * scan grows with this window, not with the lake.
   */
  readonly windowDays: number;
  /**
   * When the run started, as an SQL timestamp expression: the window then ends before that hour's partition, and its
   * days count back from that day, so the exports of one run select the same records whenever each query runs.
   * @default - the window ends now and counts back from current_date
   */
  readonly runStart?: string;
}

const quoteIdentifier = (name: string) => `"${name.replace(/"/g, '""')}"`;
const quoteLiteral = (value: string) => `'${value.replace(/'/g, "''")}'`;
/** The schema's raw table in `database`, quoted. */
export const tableRef = (database: string, schema: FeatureSchema) =>
  `${quoteIdentifier(database)}.${quoteIdentifier(schema.tableName)}`;

/**
 * The numeric expression the model sees for a field: booleans become 0/1 and categories their position in the
 * schema's list (-1 for a value the schema does not know), because XGBoost reads numbers only.
 */
export function encodedExpression(field: FieldSpec): string {
  const column = quoteIdentifier(field.name);
  if (field.categories !== undefined) {
    const cases = field.categories.map((c, i) => `WHEN ${quoteLiteral(c)} THEN ${i}`).join(' ');
    return `CASE ${column} ${cases} ELSE -1 END`;
  }
  if (field.type === 'boolean') return `CAST(${column} AS INTEGER)`;
  return column;
}

/**
 * The split of a record: its id's CRC32 modulo 100 decides the side, so a record lands on the same side in every
 * export (no leakage between runs) without storing a split column.
 */
export function splitExpression(schema: FeatureSchema, validationPercent: number): string {
  const bucket = `crc32(to_utf8(${quoteIdentifier(recordIdField(schema).name)})) % 100`;
  return `CASE WHEN ${bucket} < ${100 - validationPercent} THEN 'train' ELSE 'validation' END`;
}

/**
 * A predicate on the raw table's partition columns only, true for the last `days` days of partitions (today
 * included, in UTC like Firehose's partition values). Athena (Trino) tests such a predicate against each partition's
 * values before it reads a file (HivePartitionManager.partitionMatches), so only the window's files are scanned; the
 * `year` bound is a plain range that Glue's GetPartitions can also filter on, so listing stays small as years pile up.
 */
export function partitionWindowPredicate(days: number, runStart?: string): string {
  if (!Number.isInteger(days) || days < 1) {
    throw new Error(`partitionWindowPredicate: days ${days} must be a whole number of at least 1`);
  }
  const lastDay = runStart === undefined ? 'current_date' : `date(${runStart})`;
  const start = `${lastDay} - INTERVAL '${days - 1}' DAY`;
  const keys = RAW_PARTITION_KEYS.map((k) => quoteIdentifier(k.name));
  const [year, month, day] = keys;
  const since = [
    `${year} >= date_format(${start}, '%Y')`,
    `concat(${year}, '-', ${month}, '-', ${day}) >= date_format(${start}, '%Y-%m-%d')`,
  ];
  // A fixed end: the hours before the run's own, whose partitions are complete (zero-padded, so the concatenated
  // keys compare as the hours do).
  const until =
    runStart === undefined
      ? []
      : [
          `${year} <= date_format(${runStart}, '%Y')`,
          `concat(${keys.join(', ')}) < date_format(${runStart}, '%Y%m%d%H')`,
        ];
  return [...since, ...until].join('\n    AND ');
}

/** Throws, naming `query`, unless the destination is an s3:// prefix and the validation share a percentage. */
export function checkExportOptions(query: string, options: ExportQueryOptions): void {
  if (!options.destination.startsWith('s3://') || !options.destination.endsWith('/')) {
    throw new Error(`${query}: destination '${options.destination}' must be an s3:// URI ending in '/'`);
  }
  if (!(options.validationPercent > 0 && options.validationPercent < 100)) {
    throw new Error(`${query}: validationPercent ${options.validationPercent} must be between 0 and 100`);
  }
}

/** What every export selects, in model order: the label first, then the features, encoded as the model reads them. */
function exportedColumns(schema: FeatureSchema): string[] {
  return [labelField(schema), ...featureFields(schema)].map(
    (f) => `${encodedExpression(f)} AS ${quoteIdentifier(f.name)}`,
  );
}

/**
 * One UNLOAD of both splits in the form the built-in XGBoost algorithm reads as `application/x-parquet`: the label
 * in the first column, then the features in schema order, every column numeric (aws/sagemaker-xgboost-container
 * 1.7-1, `data_utils._get_parquet_dmatrix_file_mode`, takes column 0 as the label). One scan of the window writes
 * both sides, partitioned by `split`. Records with a null in any exported column are left out: a missing label
 * cannot be learned from, and the null-count query shows how many that is.
 */
export function trainingExportQuery(schema: FeatureSchema, options: ExportQueryOptions): string {
  checkExportOptions('trainingExportQuery', options);
  const columns = [
    ...exportedColumns(schema),
    // UNLOAD wants the partition column last.
    `${splitExpression(schema, options.validationPercent)} AS ${quoteIdentifier(SPLIT_COLUMN)}`,
  ];
  return [
    `-- Train and validation splits for SageMaker XGBoost (Parquet, label first), from the last ${options.windowDays} day(s) of partitions.`,
    'UNLOAD (',
    '  SELECT',
    columns.map((c) => `    ${c}`).join(',\n'),
    `  FROM ${tableRef(options.database, schema)}`,
    `  WHERE ${exportedRecordsPredicate(schema, options.windowDays, options.runStart)}`,
    ')',
    `TO ${quoteLiteral(options.destination)}`,
    // Snappy rather than UNLOAD's Parquet default (gzip): faster to read back, and both are readable by pyarrow.
    `WITH (format = 'PARQUET', compression = 'SNAPPY', partitioned_by = ARRAY[${quoteLiteral(SPLIT_COLUMN)}])`,
  ].join('\n');
}

/**
 * The validation split again, as the CSV a batch transform of the built-in XGBoost reads (`text/csv`, its inference
 * format): one line per record, no header, the label first and then the features as the export encodes them, so a
 * transform's `InputFilter` of `$[1:]` hands the model the features alone. UNLOAD writes TEXTFILE gzip-compressed by
 * default (Athena, "Compression support"), which the transform reads with `CompressionType: Gzip`. The same window
 * and split expression as trainingExportQuery select the same records (with the same `runStart`; without one, a
 * day that changes between the two queries moves the window by one day, and records arriving between them differ).
 */
export function scoringExportQuery(schema: FeatureSchema, options: ExportQueryOptions): string {
  checkExportOptions('scoringExportQuery', options);
  return [
    `-- The validation split as CSV (label first, no header) for the champion's and the candidate's batch transforms, from the last ${options.windowDays} day(s).`,
    'UNLOAD (',
    '  SELECT',
    exportedColumns(schema)
      .map((c) => `    ${c}`)
      .join(',\n'),
    `  FROM ${tableRef(options.database, schema)}`,
    `  WHERE ${exportedRecordsPredicate(schema, options.windowDays, options.runStart)}`,
    `    AND ${splitExpression(schema, options.validationPercent)} = 'validation'`,
    ')',
    `TO ${quoteLiteral(options.destination)}`,
    "WITH (format = 'TEXTFILE', field_delimiter = ',')",
  ].join('\n');
}

/**
 * The records a training run learns from: the last `windowDays` days of partitions, without a null in the label or
 * a feature (a missing label cannot be learned from; the null-count query shows how many are left out).
 */
export function exportedRecordsPredicate(schema: FeatureSchema, windowDays: number, runStart?: string): string {
  const notNull = [labelField(schema), ...featureFields(schema)].map((f) => `${quoteIdentifier(f.name)} IS NOT NULL`);
  return [partitionWindowPredicate(windowDays, runStart), ...notNull].join('\n    AND ');
}

/**
 * Where UNLOAD writes one split under an export's destination. Athena writes partitioned output through Trino's Hive
 * writer, which names each partition folder `<column>=<value>` (HiveWriterFactory, `FileUtils.makePartName`), and
 * names files `<query id>_<uuid>`, which the XGBoost container reads as they are.
 */
export function exportSplitPrefix(split: DatasetSplit): string {
  return `${SPLIT_COLUMN}=${split}/`;
}

/** The newest partition's records, found through the `$partitions` metadata table so only that partition is read. */
export function latestPartitionQuery(schema: FeatureSchema, database: string, limit = 100): string {
  const keys = RAW_PARTITION_KEYS.map((k) => quoteIdentifier(k.name));
  const partitionsTable = `${quoteIdentifier(database)}.${quoteIdentifier(`${schema.tableName}$partitions`)}`;
  return [
    '-- The most recent hour of raw records.',
    'WITH latest AS (',
    `  SELECT ${keys.join(', ')}`,
    `  FROM ${partitionsTable}`,
    `  ORDER BY ${keys.map((k) => `${k} DESC`).join(', ')}`,
    '  LIMIT 1',
    ')',
    // USING merges the join keys into one column each, which `t.*` would leave out.
    'SELECT *',
    `FROM ${tableRef(database, schema)} t`,
    `JOIN latest USING (${keys.join(', ')})`,
    `LIMIT ${limit}`,
  ].join('\n');
}

/** Null count of every schema column, next to the total, to spot a producer that stopped sending a field. */
export function nullCountsQuery(schema: FeatureSchema, database: string): string {
  const counts = schema.fields.map(
    (f) => `  count_if(${quoteIdentifier(f.name)} IS NULL) AS ${quoteIdentifier(`${f.name}_nulls`)}`,
  );
  return [
    '-- Nulls per column; records with a null model input or label are left out of the training export.',
    'SELECT',
    ['  count(*) AS "records"', ...counts].join(',\n'),
    `FROM ${tableRef(database, schema)}`,
  ].join('\n');
}

/** Records per label value and their share: fraud data is heavily imbalanced, which shapes metric and weighting. */
export function labelBalanceQuery(schema: FeatureSchema, database: string): string {
  const label = quoteIdentifier(labelField(schema).name);
  return [
    '-- Class balance of the label.',
    `SELECT ${label},`,
    '  count(*) AS "records",',
    // A double literal: Trino's decimal 100.0 would keep only one decimal place in the division.
    '  round(100.0E0 * count(*) / sum(count(*)) OVER (), 2) AS "percent"',
    `FROM ${tableRef(database, schema)}`,
    `GROUP BY ${label}`,
    `ORDER BY ${label}`,
  ].join('\n');
}
