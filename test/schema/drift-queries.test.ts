import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodedExpression } from '../../lib/schema/athena-queries';
import { categoricalEdges, PSI_DRIFT_THRESHOLD, psiQuery, type FeatureBaseline } from '../../lib/schema/drift-queries';
import { featureFields, TRANSACTION_SCHEMA, type FieldSpec } from '../../lib/schema/feature-schema';
import { checkRecord } from '../../lib/schema/record-validation';
import { DUCKDB_TYPES } from '../../scripts/bench-lake/lake';
import { generateRecords, type DriftScenario, type GeneratedRecord } from '../../scripts/ingest/transactions';
import { tempDir } from '../temp-dirs';

/**
 * The PSI query runs for real, in DuckDB, on Parquet files written with the Glue types of the schema's columns (as
 * Firehose writes them), from the producer's records.
 */
let instance: DuckDBInstance;
let connection: DuckDBConnection;
const dir = tempDir('drift-queries');

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  connection = await instance.connect();
});
afterAll(() => {
  connection.closeSync();
  instance.closeSync();
});

const FEATURES = featureFields(TRANSACTION_SCHEMA);

/** Writes records as a Parquet file with the schema's column types and returns it as a query source. */
async function parquetOf(name: string, records: readonly object[]): Promise<string> {
  const json = join(dir, `${name}.json`);
  writeFileSync(json, records.map((record) => `${JSON.stringify(record)}\n`).join(''));
  const columns = FEATURES.map((f) => `"${f.name}": '${DUCKDB_TYPES[f.type]}'`).join(', ');
  const parquet = join(dir, `${name}.parquet`);
  await connection.run(
    `COPY (SELECT * FROM read_json('${json}', format = 'newline_delimited', columns = {${columns}}))
     TO '${parquet}' (FORMAT PARQUET, COMPRESSION SNAPPY)`,
  );
  return `(SELECT * FROM read_parquet('${parquet}'))`;
}

async function psi(baselines: readonly FeatureBaseline[], source: string): Promise<Map<string, number>> {
  const reader = await connection.runAndReadAll(psiQuery(TRANSACTION_SCHEMA, baselines, source));
  return new Map(reader.getRowObjects().map((row) => [String(row.feature), Number(row.psi)]));
}

const records = (count: number, seed: number, drift?: DriftScenario) => [
  ...generateRecords(count, { seed, fraudRate: 0.02, startTime: Date.UTC(2026, 10, 1), meanGapMs: 1000, drift }),
];

/** A feature's value as the model sees it, as `encodedExpression` computes it in SQL. */
function encoded(field: FieldSpec, record: GeneratedRecord): number {
  const check = checkRecord(TRANSACTION_SCHEMA, Object.fromEntries(FEATURES.map((f) => [f.name, record[f.name]])));
  if (!check.ok) throw new Error(check.problems.join('; '));
  return check.row[FEATURES.indexOf(field)];
}

/** Deciles for a numeric feature, a bin per category otherwise, and the training records' share in each bin. */
function baselineOf(field: FieldSpec, training: readonly GeneratedRecord[]): FeatureBaseline {
  const values = training.map((record) => encoded(field, record)).sort((a, b) => a - b);
  const edges =
    field.categories !== undefined
      ? categoricalEdges(field.categories.length)
      : field.type === 'boolean'
        ? [0.5]
        : [...new Set([1, 2, 3, 4, 5, 6, 7, 8, 9].map((decile) => values[Math.floor((decile / 10) * values.length)]))];
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const value of values) counts[edges.filter((edge) => value >= edge).length]++;
  return { feature: field.name, edges, expected: counts.map((count) => count / values.length) };
}

describe('the PSI query, run in DuckDB on Parquet', () => {
  const training = records(10_000, 42);
  const baselines = FEATURES.map((field) => baselineOf(field, training));

  test('gives the textbook value for a known shift', async () => {
    // Half the training amounts below 50; in the window 70% are.
    const window = Array.from({ length: 1_000 }, (_, i) => ({ amount: i < 700 ? 10 : 90 }));
    const source = await parquetOf('known-shift', window);
    const result = await psi([{ feature: 'amount', edges: [50], expected: [0.5, 0.5] }], source);
    // (0.7 − 0.5) ln(0.7 / 0.5) + (0.3 − 0.5) ln(0.3 / 0.5)
    expect(result.get('amount')).toBeCloseTo(0.2 * Math.log(1.4) - 0.2 * Math.log(0.6), 6);
  });

  test('finds no drift in fresh data from the same distribution', async () => {
    const result = await psi(baselines, await parquetOf('same', records(5_000, 7)));
    expect([...result.keys()].sort()).toEqual(FEATURES.map((f) => f.name).sort());
    for (const [feature, value] of result) expect({ feature, stable: value < 0.1 }).toEqual({ feature, stable: true });
  });

  test.each<[DriftScenario, string[]]>([
    ['larger-amounts', ['amount']],
    ['online-at-night', ['channel', 'card_present', 'hour_of_day']],
    ['merchant-mix', ['merchant_category']],
  ])('flags %s above the alarm threshold on exactly %j', async (drift, drifted) => {
    const result = await psi(baselines, await parquetOf(drift, records(5_000, 8, drift)));
    const flagged = [...result].filter(([, value]) => value > PSI_DRIFT_THRESHOLD).map(([feature]) => feature);
    expect(flagged.sort()).toEqual([...drifted].sort());
  });

  test('counts a category the schema does not know in a bin of its own', async () => {
    const channel = FEATURES.find((f) => f.name === 'channel') as FieldSpec;
    expect(encodedExpression(channel)).toContain('ELSE -1');
    const window = [
      ...Array.from({ length: 700 }, () => ({ channel: 'online' })),
      ...Array.from({ length: 300 }, () => ({ channel: 'drone' })),
    ];
    const result = await psi([baselineOf(channel, training)], await parquetOf('unknown-category', window));
    expect(result.get('channel')).toBeGreaterThan(1);
  });

  test('gives no row for a window without records, not a PSI of nothing', async () => {
    const empty = await parquetOf('empty', [{ amount: 1 }]);
    const none = empty.replace('))', ') WHERE false)');
    expect([...(await psi(baselines, none)).keys()]).toEqual([]);
  });

  test('rejects a baseline that does not fit the schema or does not add up, naming the feature', () => {
    expect(() => psiQuery(TRANSACTION_SCHEMA, [{ feature: 'colour', edges: [], expected: [1] }], 't')).toThrow(
      "psiQuery: 'colour' is not a feature of the schema",
    );
    expect(() =>
      psiQuery(TRANSACTION_SCHEMA, [{ feature: 'amount', edges: [5, 1], expected: [0.2, 0.3, 0.5] }], 't'),
    ).toThrow("the baseline of 'amount' needs finite edges in ascending order");
    expect(() => psiQuery(TRANSACTION_SCHEMA, [{ feature: 'amount', edges: [5], expected: [0.2, 0.3] }], 't')).toThrow(
      "the baseline of 'amount' has shares that add up to 0.5, not 1",
    );
  });
});
