/**
 * Feature drift as SQL: at training time, the baseline of each feature (its bins and the training records' share in
 * each); later, the population stability index (PSI) of a window of records against that baseline. Both run in
 * Athena (Trino) and, for the tests, in DuckDB, so they use only SQL both share (window functions, VALUES, CASE).
 * Every feature is binned as the model sees it (`encodedExpression`: categories as their position, booleans as 0/1),
 * so a categorical feature's bins are its categories, with one more for values the schema does not know.
 *
 * A baseline is rows of (`feature`, `bin`, `lower_edge`, `upper_edge`, `expected`): bin `bin` holds the values from
 * `lower_edge` (included) to `upper_edge` (excluded), a null edge meaning unbounded, and `expected` is the share of
 * training records in it. The pipeline writes these rows next to the model; the monitor reads them back.
 */
import {
  encodedExpression,
  checkExportOptions,
  exportedRecordsPredicate,
  splitExpression,
  tableRef,
  type ExportQueryOptions,
} from './athena-queries';
import { featureFields, type FeatureSchema, type FieldSpec } from './feature-schema';

/** Name of the Glue table of the runs' baselines. */
export const BASELINES_TABLE = 'baselines';

/** The table's one partition column: the training run a baseline belongs to, given in every query. */
export const BASELINE_RUN_COLUMN = 'run';

/** The baseline's columns, in order: the shape `baselineQuery` writes and `psiQuery` reads. */
export const BASELINE_COLUMNS = [
  { name: 'feature', type: 'string', description: 'The feature the bin belongs to' },
  { name: 'bin', type: 'int', description: 'Position of the bin, from 0 (lowest values)' },
  { name: 'lower_edge', type: 'double', description: 'Smallest value in the bin (included); null: unbounded' },
  { name: 'upper_edge', type: 'double', description: 'Value where the next bin starts (excluded); null: unbounded' },
  { name: 'expected', type: 'double', description: "Share of the training split's records in the bin" },
] as const;

/** How many quantile bins a numeric feature gets: deciles, the usual choice for PSI. Ties merge bins. */
export const NUMERIC_BINS = 10;

/**
 * The smallest share a bin counts with: PSI divides by the expected share and takes the logarithm of the actual
 * one, so an empty bin would make it infinite. 0.0001 is one record in 10,000.
 */
export const PSI_SHARE_FLOOR = 0.0001;

/** The PSI above which a feature has drifted enough to alarm, the usual rule of thumb (below 0.1 is stable). */
export const PSI_DRIFT_THRESHOLD = 0.2;

/** One feature's baseline written out: `edges` between the bins, ascending, and a share per bin. */
export interface FeatureBaseline {
  readonly feature: string;
  /** Ascending, one fewer than `expected`. */
  readonly edges: readonly number[];
  /** Shares from 0 to 1 that add up to 1. */
  readonly expected: readonly number[];
}

/**
 * The edges of a categorical feature with `categories` values: a bin per category (positions 0 to n - 1) and, first,
 * a bin for -1, the position of a value the schema does not know.
 */
export function categoricalEdges(categories: number): number[] {
  return Array.from({ length: categories }, (_, position) => position - 0.5);
}

/** The fixed edges of a feature that has them (categories, booleans), or undefined for one binned by quantiles. */
function fixedEdges(field: FieldSpec): number[] | undefined {
  if (field.categories !== undefined) return categoricalEdges(field.categories.length);
  if (field.type === 'boolean') return [0.5];
  return undefined;
}

/**
 * Every feature value of `source` as a (`feature`, `value`) row, the value as the model sees it, in one pass: Trino
 * inlines a WITH query at every reference, so a UNION of one scan per feature would read the source once per
 * feature and reference. Nulls are left out.
 */
function featureValues(schema: FeatureSchema, source: string): string {
  const features = featureFields(schema);
  const cases = features.map((f) => `WHEN ${quoteLiteral(f.name)} THEN CAST(${encodedExpression(f)} AS DOUBLE)`);
  const names = features.map((f) => `(${quoteLiteral(f.name)})`).join(', ');
  return [
    `SELECT feature, value FROM (`,
    `  SELECT f.feature, CASE f.feature ${cases.join(' ')} END AS value`,
    `  FROM ${source} AS s CROSS JOIN (VALUES ${names}) AS f(feature)`,
    ') AS unpivoted WHERE value IS NOT NULL',
  ].join('\n');
}

/**
 * The baseline rows of `source`, a table or parenthesised query of training records with the schema's columns. A
 * numeric feature's edges are the smallest value of each of its `NUMERIC_BINS` quantile groups after the first
 * (`ntile`, exact), with ties merged; a categorical or boolean feature has a bin per value the model can see. The
 * source is read twice: once for the quantiles, once to count the bins.
 */
export function baselineQuery(schema: FeatureSchema, source: string): string {
  const features = featureFields(schema);
  const fixed = features.flatMap((f) => (fixedEdges(f) ?? []).map((edge) => [f.name, edge] as const));
  const quantiled = features.filter((f) => fixedEdges(f) === undefined).map((f) => quoteLiteral(f.name));
  const edgeSources = [
    ...(quantiled.length === 0
      ? []
      : [
          [
            '  SELECT feature, MIN(value) AS edge FROM (',
            `    SELECT feature, value, ntile(${NUMERIC_BINS}) OVER (PARTITION BY feature ORDER BY value) AS tile`,
            `    FROM (${featureValues(schema, source)}) AS v WHERE feature IN (${quantiled.join(', ')})`,
            '  ) AS tiles WHERE tile > 1 GROUP BY feature, tile',
          ].join('\n'),
        ]),
    ...(fixed.length === 0
      ? []
      : [
          `  SELECT feature, edge FROM (VALUES ${fixed.map(([f, e]) => `(${quoteLiteral(f)}, ${sqlNumber(e)})`).join(', ')}) AS f(feature, edge)`,
        ]),
  ];
  return [
    `-- Baseline of every feature: ${NUMERIC_BINS} quantile bins for a number, a bin per value otherwise, with the share of records in each.`,
    'WITH e AS (',
    `  SELECT DISTINCT feature, edge FROM (\n${edgeSources.join('\n  UNION ALL\n')}\n  ) AS edges`,
    '), bounds AS (',
    // Each edge starts a bin; the bin below the first edge has no lower bound.
    '  SELECT feature, edge AS lower_edge, LEAD(edge) OVER (PARTITION BY feature ORDER BY edge) AS upper_edge,',
    '         CAST(ROW_NUMBER() OVER (PARTITION BY feature ORDER BY edge) AS INTEGER) AS bin',
    '  FROM e',
    '  UNION ALL',
    '  SELECT feature, CAST(NULL AS DOUBLE), MIN(edge), 0 FROM e GROUP BY feature',
    '), counts AS (',
    '  SELECT b.feature, b.bin, b.lower_edge, b.upper_edge, COUNT(v.value) AS n',
    '  FROM bounds b',
    `  LEFT JOIN (${featureValues(schema, source)}) AS v ON v.feature = b.feature`,
    '    AND (b.lower_edge IS NULL OR v.value >= b.lower_edge) AND (b.upper_edge IS NULL OR v.value < b.upper_edge)',
    '  GROUP BY b.feature, b.bin, b.lower_edge, b.upper_edge',
    '), shares AS (',
    // The bins cover every value once, so their counts add up to the feature's records.
    '  SELECT feature, bin, lower_edge, upper_edge, n, SUM(n) OVER (PARTITION BY feature) AS total FROM counts',
    ')',
    'SELECT feature, bin, lower_edge, upper_edge, CAST(n AS DOUBLE) / total AS expected',
    'FROM shares WHERE total > 0',
  ].join('\n');
}

/**
 * The training run's baseline as an UNLOAD into `destination`: the same records as the training channel (the export
 * window's train split, without nulls), written as Parquet rows of `BASELINE_COLUMNS`.
 */
export function baselineUnloadQuery(schema: FeatureSchema, options: ExportQueryOptions): string {
  checkExportOptions('baselineUnloadQuery', options);
  const training = [
    `(SELECT * FROM ${tableRef(options.database, schema)}`,
    `  WHERE ${exportedRecordsPredicate(schema, options.windowDays, options.runStart)}`,
    `    AND ${splitExpression(schema, options.validationPercent)} = 'train')`,
  ].join('\n');
  return [
    `-- The feature baseline of a run's training split (the last ${options.windowDays} day(s) of partitions).`,
    // The WITH query sits in a subquery, which Trino's grammar allows a WITH in wherever a query goes.
    'UNLOAD (SELECT * FROM (',
    baselineQuery(schema, training),
    ') AS baseline)',
    `TO ${quoteLiteral(options.destination)}`,
    "WITH (format = 'PARQUET', compression = 'SNAPPY')",
  ].join('\n');
}

/** Baselines written out, as a parenthesised VALUES relation with the columns of `BASELINE_COLUMNS`. */
export function baselineValues(schema: FeatureSchema, baselines: readonly FeatureBaseline[]): string {
  const known = new Set(featureFields(schema).map((f) => f.name));
  const rows = baselines.flatMap((baseline) => {
    if (!known.has(baseline.feature)) {
      throw new Error(`baselineValues: '${baseline.feature}' is not a feature of the schema; baselines must follow it`);
    }
    checkBaseline(baseline);
    const { feature, edges, expected } = baseline;
    const edge = (index: number) =>
      index < 0 || index >= edges.length ? 'CAST(NULL AS DOUBLE)' : sqlNumber(edges[index]);
    return expected.map(
      (share, bin) => `(${quoteLiteral(feature)}, ${bin}, ${edge(bin - 1)}, ${edge(bin)}, ${sqlNumber(share)})`,
    );
  });
  return `(VALUES ${rows.join(', ')}) AS baseline(${BASELINE_COLUMNS.map((c) => c.name).join(', ')})`;
}

/**
 * One row per feature of the baseline, `feature`, `psi` and `records`, over `source`: a table or a parenthesised
 * query of records with the schema's columns, such as a window of the inference log. `baseline` is a relation with
 * the columns of `BASELINE_COLUMNS` (the run's baseline table, or `baselineValues`). A feature with fewer than
 * `minRecords` values in the window has no row: a PSI over a handful of records is noise (every empty bin adds about
 * 0.7 at the share floor), and an empty window gives no result rather than a PSI of nothing. The source is read once.
 *
 * PSI = Σ over the bins of (actual − expected) × ln(actual / expected), both shares floored at `PSI_SHARE_FLOOR`.
 */
export function psiQuery(schema: FeatureSchema, baseline: string, source: string, minRecords = 1): string {
  if (!Number.isInteger(minRecords) || minRecords < 1) {
    throw new Error(`psiQuery: minRecords ${minRecords} must be a whole number of at least 1`);
  }
  const floor = sqlNumber(PSI_SHARE_FLOOR);
  const actual = `GREATEST(CAST(n AS DOUBLE) / total, ${floor})`;
  const expected = `GREATEST(expected, ${floor})`;
  return [
    '-- Population stability index per feature against the training baseline.',
    'WITH counts AS (',
    '  SELECT b.feature, b.bin, b.expected, COUNT(v.value) AS n',
    `  FROM (SELECT feature, bin, lower_edge, upper_edge, expected FROM ${baseline}) AS b`,
    `  LEFT JOIN (${featureValues(schema, source)}) AS v ON v.feature = b.feature`,
    '    AND (b.lower_edge IS NULL OR v.value >= b.lower_edge) AND (b.upper_edge IS NULL OR v.value < b.upper_edge)',
    '  GROUP BY b.feature, b.bin, b.expected',
    '), shares AS (',
    // The bins cover every value once, so their counts add up to the window's records of the feature.
    '  SELECT feature, expected, n, SUM(n) OVER (PARTITION BY feature) AS total FROM counts',
    ')',
    `SELECT feature, SUM((${actual} - ${expected}) * LN(${actual} / ${expected})) AS psi, MAX(total) AS records`,
    'FROM shares',
    // Too few records never reach the division: Trino's GREATEST rejects the NaN of 0 / 0, where DuckDB's returns
    // null, so the DuckDB tests could not catch that.
    `WHERE total >= ${minRecords}`,
    'GROUP BY feature',
  ].join('\n');
}

function checkBaseline({ feature, edges, expected }: FeatureBaseline): void {
  const fail = (problem: string): never => {
    throw new Error(`baselineValues: the baseline of '${feature}' ${problem}`);
  };
  if (expected.length !== edges.length + 1) fail(`has ${expected.length} shares for ${edges.length + 1} bins`);
  if (edges.some((edge, index) => !Number.isFinite(edge) || (index > 0 && edge <= edges[index - 1]))) {
    fail('needs finite edges in ascending order');
  }
  if (expected.some((share) => !(share >= 0 && share <= 1))) fail('has a share outside 0 to 1');
  const total = expected.reduce((sum, share) => sum + share, 0);
  if (Math.abs(total - 1) > 1e-6) fail(`has shares that add up to ${total}, not 1`);
}

/**
 * A number as a DOUBLE literal, in exponent form (`5E-1`): Trino reads a plain `0.5` as a DECIMAL, whose arithmetic
 * differs, while both engines read an exponent literal as DOUBLE.
 */
function sqlNumber(value: number): string {
  return value.toExponential().toUpperCase();
}

const quoteLiteral = (value: string) => `'${value.replace(/'/g, "''")}'`;
