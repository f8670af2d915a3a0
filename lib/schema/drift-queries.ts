/**
 * Feature drift as SQL: the population stability index (PSI) of each feature of a window of records against the
 * baseline of the training window. It runs in Athena (Trino) and, for the tests, in DuckDB, so it uses only SQL
 * both share. Every feature is binned as the model sees it (`encodedExpression`: categories as their position,
 * booleans as 0/1), so a categorical feature's bins are its categories, with one more for values the schema does
 * not know.
 */
import { encodedExpression } from './athena-queries';
import { featureFields, type FeatureSchema } from './feature-schema';

/**
 * How one feature was spread over the training window: bin `i` holds the values from `edges[i - 1]` (included) to
 * `edges[i]` (excluded), the first bin everything below `edges[0]` and the last everything from the last edge on;
 * `expected[i]` is the share of training records in bin `i`.
 */
export interface FeatureBaseline {
  readonly feature: string;
  /** Ascending, one fewer than `expected`. */
  readonly edges: readonly number[];
  /** Shares from 0 to 1 that add up to 1. */
  readonly expected: readonly number[];
}

/**
 * The smallest share a bin counts with: PSI divides by the expected share and takes the logarithm of the actual
 * one, so an empty bin would make it infinite. 0.0001 is one record in 10,000.
 */
export const PSI_SHARE_FLOOR = 0.0001;

/** The PSI above which a feature has drifted enough to alarm, the usual rule of thumb (below 0.1 is stable). */
export const PSI_DRIFT_THRESHOLD = 0.2;

/**
 * The edges of a categorical feature with `categories` values: a bin per category (positions 0 to n - 1) and, first,
 * a bin for -1, the position of a value the schema does not know.
 */
export function categoricalEdges(categories: number): number[] {
  return Array.from({ length: categories }, (_, position) => position - 0.5);
}

/**
 * One row per feature of the baselines, `feature`, `psi` and `records`, over `source`: a table or a parenthesised
 * query of records with the schema's columns, such as a window of the inference log. A feature without a value in
 * the window has no row, so an empty window gives no result rather than a PSI of nothing.
 *
 * PSI = Σ over the bins of (actual − expected) × ln(actual / expected), both shares floored at `PSI_SHARE_FLOOR`.
 */
export function psiQuery(schema: FeatureSchema, baselines: readonly FeatureBaseline[], source: string): string {
  const fields = new Map(featureFields(schema).map((field) => [field.name, field]));
  const parts = baselines.map((baseline) => {
    const field = fields.get(baseline.feature);
    if (field === undefined) {
      throw new Error(`psiQuery: '${baseline.feature}' is not a feature of the schema; baselines must follow it`);
    }
    checkBaseline(baseline);
    const value = encodedExpression(field);
    const column = quoteIdentifier(field.name);
    const bin = baseline.edges.length === 0 ? '0' : binExpression(value, baseline.edges);
    const expected = baseline.expected.map((share, index) => `(${index}, ${sqlNumber(share)})`).join(', ');
    const floor = sqlNumber(PSI_SHARE_FLOOR);
    return [
      `SELECT ${quoteLiteral(field.name)} AS feature,`,
      `       SUM((GREATEST(COALESCE(CAST(c.n AS DOUBLE), 0) / t.n, ${floor}) - GREATEST(b.expected, ${floor}))`,
      `           * LN(GREATEST(COALESCE(CAST(c.n AS DOUBLE), 0) / t.n, ${floor}) / GREATEST(b.expected, ${floor}))) AS psi,`,
      `       MAX(t.n) AS records`,
      `FROM (VALUES ${expected}) AS b(bin, expected)`,
      `CROSS JOIN (SELECT CAST(COUNT(*) AS DOUBLE) AS n FROM ${source} WHERE ${column} IS NOT NULL) AS t`,
      `LEFT JOIN (SELECT ${bin} AS bin, COUNT(*) AS n FROM ${source} WHERE ${column} IS NOT NULL`,
      `           GROUP BY 1) AS c ON c.bin = b.bin`,
      // An empty window never reaches the division: Trino's GREATEST rejects the NaN of 0 / 0, where DuckDB's
      // returns null, so the DuckDB tests cannot catch this. The aggregate over no rows is then one row of nulls,
      // which HAVING drops.
      `WHERE t.n > 0`,
      `HAVING MAX(t.n) > 0`,
    ].join('\n');
  });
  return `-- Population stability index per feature against the training baseline.\n${parts.join('\nUNION ALL\n')}`;
}

function binExpression(value: string, edges: readonly number[]): string {
  const cases = edges.map((edge, index) => `WHEN ${value} < ${sqlNumber(edge)} THEN ${index}`).join(' ');
  return `CASE ${cases} ELSE ${edges.length} END`;
}

function checkBaseline({ feature, edges, expected }: FeatureBaseline): void {
  const fail = (problem: string): never => {
    throw new Error(`psiQuery: the baseline of '${feature}' ${problem}`);
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

const quoteIdentifier = (name: string) => `"${name.replace(/"/g, '""')}"`;
const quoteLiteral = (value: string) => `'${value.replace(/'/g, "''")}'`;
