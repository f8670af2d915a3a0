/**
 * Athena SQL derived from the feature schema. Nothing here lists a field by hand: add a feature to the schema and
 * the quality checks and the training export pick it up.
 */
import { RAW_PARTITION_KEYS } from './lake-layout';
import { FeatureSchema, FieldSpec, featureFields, labelField, recordIdField } from './feature-schema';

/** Which side of the deterministic train/validation split to export. */
export type DatasetSplit = 'train' | 'validation';

export interface ExportQueryOptions {
  /** Glue database that holds the schema's table. */
  readonly database: string;
  readonly split: DatasetSplit;
  /** S3 URI ending in `/`. UNLOAD refuses to write to a prefix that already holds objects. */
  readonly destination: string;
  /** Share of records, in percent, that go to the validation split. */
  readonly validationPercent: number;
}

const quoteIdentifier = (name: string) => `"${name.replace(/"/g, '""')}"`;
const quoteLiteral = (value: string) => `'${value.replace(/'/g, "''")}'`;
const tableRef = (database: string, schema: FeatureSchema) =>
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
 * The split predicate: a record id's CRC32 modulo 100 decides its side, so a record lands on the same side in
 * every export (no leakage between runs) without storing a split column.
 */
export function splitPredicate(schema: FeatureSchema, split: DatasetSplit, validationPercent: number): string {
  const bucket = `crc32(to_utf8(${quoteIdentifier(recordIdField(schema).name)})) % 100`;
  const threshold = 100 - validationPercent;
  return split === 'train' ? `${bucket} < ${threshold}` : `${bucket} >= ${threshold}`;
}

/**
 * UNLOAD of one split as the built-in XGBoost algorithm wants its CSV: label in the first column, features in schema
 * order, no header, no compression. Records with a null in any exported column are left out, because UNLOAD writes
 * nulls as `\N`, which XGBoost cannot parse; the null-count query shows how many that is.
 */
export function trainingExportQuery(schema: FeatureSchema, options: ExportQueryOptions): string {
  if (!options.destination.startsWith('s3://') || !options.destination.endsWith('/')) {
    throw new Error(`trainingExportQuery: destination '${options.destination}' must be an s3:// URI ending in '/'`);
  }
  if (!(options.validationPercent > 0 && options.validationPercent < 100)) {
    throw new Error(`trainingExportQuery: validationPercent ${options.validationPercent} must be between 0 and 100`);
  }
  const exported = [labelField(schema), ...featureFields(schema)];
  const columns = exported.map((f) => `    ${encodedExpression(f)} AS ${quoteIdentifier(f.name)}`).join(',\n');
  const notNull = exported.map((f) => `${quoteIdentifier(f.name)} IS NOT NULL`).join('\n    AND ');
  return [
    `-- ${options.split} split for SageMaker XGBoost: label first, no header. UNLOAD needs an empty destination.`,
    'UNLOAD (',
    '  SELECT',
    columns,
    `  FROM ${tableRef(options.database, schema)}`,
    `  WHERE ${notNull}`,
    `    AND ${splitPredicate(schema, options.split, options.validationPercent)}`,
    ')',
    `TO ${quoteLiteral(options.destination)}`,
    "WITH (format = 'TEXTFILE', field_delimiter = ',', compression = 'NONE')",
  ].join('\n');
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
