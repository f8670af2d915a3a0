import { join } from 'node:path';
import { encodedExpression } from '../../lib/schema/athena-queries';
import {
  BASELINE_COLUMNS,
  baselineQuery,
  baselineUnloadQuery,
  baselineValues,
  categoricalEdges,
  NUMERIC_BINS,
  PSI_DRIFT_THRESHOLD,
  psiQuery,
  type FeatureBaseline,
} from '../../lib/schema/drift-queries';
import { featureFields, TRANSACTION_SCHEMA, type FieldSpec } from '../../lib/schema/feature-schema';
import { checkRecord } from '../../lib/schema/record-validation';
import { generateRecords, type DriftScenario, type GeneratedRecord } from '../../scripts/ingest/transactions';
import { duckDbParquet } from './duckdb-parquet';

/**
 * The PSI query runs for real, in DuckDB, on Parquet files written with the Glue types of the schema's columns (as
 * Firehose writes them), from the producer's records.
 */
const duck = duckDbParquet('drift-queries');

const FEATURES = featureFields(TRANSACTION_SCHEMA);

/** Writes records as a Parquet file with the schema's feature types and returns it as a query source. */
const parquetOf = (name: string, records: readonly object[]) => duck.parquetOf(name, FEATURES, records);

/** PSI per feature of `source` against a baseline: written-out baselines, or a relation of baseline rows. */
async function psi(baseline: readonly FeatureBaseline[] | string, source: string): Promise<Map<string, number>> {
  const relation = typeof baseline === 'string' ? baseline : baselineValues(TRANSACTION_SCHEMA, baseline);
  const reader = await duck.connection.runAndReadAll(psiQuery(TRANSACTION_SCHEMA, relation, source));
  return new Map(reader.getRowObjects().map((row) => [String(row.feature), Number(row.psi)]));
}

/** Runs the baseline query on `source` into a Parquet file, as the pipeline's UNLOAD does, and returns it as a relation. */
async function baselineTable(name: string, source: string): Promise<string> {
  const parquet = join(duck.dir, `${name}-baseline.parquet`);
  await duck.connection.run(`COPY (${baselineQuery(TRANSACTION_SCHEMA, source)}) TO '${parquet}' (FORMAT PARQUET)`);
  return `(SELECT * FROM read_parquet('${parquet}')) AS baseline`;
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

/**
 * The reference computation of a baseline: a bin per category (and boolean value), and for a number the first value
 * of each of ten equal groups after the first, as SQL's ntile(10) forms them (the first n mod 10 groups one larger).
 */
function baselineOf(field: FieldSpec, training: readonly GeneratedRecord[]): FeatureBaseline {
  const values = training.map((record) => encoded(field, record)).sort((a, b) => a - b);
  const size = Math.floor(values.length / NUMERIC_BINS);
  const larger = values.length % NUMERIC_BINS;
  const groupStart = (group: number) => group * size + Math.min(group, larger);
  const edges =
    field.categories !== undefined
      ? categoricalEdges(field.categories.length)
      : field.type === 'boolean'
        ? [0.5]
        : [...new Set([1, 2, 3, 4, 5, 6, 7, 8, 9].map((group) => values[groupStart(group)]))];
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const value of values) counts[edges.filter((edge) => value >= edge).length]++;
  return { feature: field.name, edges, expected: counts.map((count) => count / values.length) };
}

describe('the baseline query, run in DuckDB on Parquet', () => {
  const training = records(10_003, 42);

  test('bins every feature as the reference computation does, with the same shares', async () => {
    const source = await parquetOf('baseline-training', training);
    const reader = await duck.connection.runAndReadAll(baselineQuery(TRANSACTION_SCHEMA, source));
    const rows = reader.getRowObjects().map((row) => ({
      feature: String(row.feature),
      bin: Number(row.bin),
      lower: row.lower_edge === null ? null : Number(row.lower_edge),
      upper: row.upper_edge === null ? null : Number(row.upper_edge),
      expected: Number(row.expected),
    }));
    expect(reader.columnNames()).toEqual(BASELINE_COLUMNS.map((c) => c.name));
    for (const field of FEATURES) {
      const bins = rows.filter((row) => row.feature === field.name).sort((a, b) => a.bin - b.bin);
      const reference = baselineOf(field, training);
      expect({ feature: field.name, edges: bins.slice(1).map((b) => b.lower) }).toEqual({
        feature: field.name,
        edges: reference.edges,
      });
      expect(bins.map((b) => b.bin)).toEqual(reference.expected.map((_, i) => i));
      expect(bins[0].lower).toBeNull();
      expect(bins[bins.length - 1].upper).toBeNull();
      bins.forEach((b, i) => expect(b.expected).toBeCloseTo(reference.expected[i], 12));
      if (field.categories === undefined && field.type !== 'boolean') {
        expect(bins.length).toBeLessThanOrEqual(NUMERIC_BINS);
      }
    }
  });

  test('gives no rows for no training records', async () => {
    const source = (await parquetOf('baseline-empty', training.slice(0, 1))).replace('))', ') WHERE false)');
    const reader = await duck.connection.runAndReadAll(baselineQuery(TRANSACTION_SCHEMA, source));
    expect(reader.getRowObjects()).toEqual([]);
  });

  test("unloads the training channel's records: the export window, the train split, no nulls", () => {
    const query = baselineUnloadQuery(TRANSACTION_SCHEMA, {
      database: 'lake',
      destination: 's3://models/models/run-1/baseline/',
      validationPercent: 20,
      windowDays: 30,
    });
    expect(query).toMatch(/^UNLOAD \(SELECT \* FROM \($/m);
    expect(query).toContain(`FROM "lake"."transactions"`);
    expect(query).toContain("% 100 < 80 THEN 'train' ELSE 'validation' END = 'train'");
    expect(query).toContain('"is_fraud" IS NOT NULL');
    expect(query).toContain("TO 's3://models/models/run-1/baseline/'");
    expect(() =>
      baselineUnloadQuery(TRANSACTION_SCHEMA, {
        ...{ database: 'lake', validationPercent: 20, windowDays: 1 },
        destination: 's3://x',
      }),
    ).toThrow("baselineUnloadQuery: destination 's3://x' must be an s3:// URI ending in '/'");
  });
});

describe('the PSI query, run in DuckDB on Parquet', () => {
  const training = records(10_000, 42);
  const baselines = FEATURES.map((field) => baselineOf(field, training));
  let trainingBaseline: string;
  beforeAll(async () => {
    trainingBaseline = await baselineTable('psi-training', await parquetOf('psi-training', training));
  });

  test("reads the baseline query's own rows as it reads the written-out baseline", async () => {
    const window = await parquetOf('psi-window', records(5_000, 8, 'merchant-mix'));
    const fromTable = await psi(trainingBaseline, window);
    const fromValues = await psi(baselines, window);
    expect([...fromTable.keys()].sort()).toEqual(FEATURES.map((f) => f.name).sort());
    for (const [feature, value] of fromValues) expect(fromTable.get(feature)).toBeCloseTo(value, 9);
  });

  test('gives the textbook value for a known shift', async () => {
    // Half the training amounts below 50; in the window 70% are.
    const window = Array.from({ length: 1_000 }, (_, i) => ({ amount: i < 700 ? 10 : 90 }));
    const source = await parquetOf('known-shift', window);
    const result = await psi([{ feature: 'amount', edges: [50], expected: [0.5, 0.5] }], source);
    // (0.7 − 0.5) ln(0.7 / 0.5) + (0.3 − 0.5) ln(0.3 / 0.5)
    expect(result.get('amount')).toBeCloseTo(0.2 * Math.log(1.4) - 0.2 * Math.log(0.6), 6);
  });

  test('finds no drift in fresh data from the same distribution', async () => {
    const result = await psi(trainingBaseline, await parquetOf('same', records(5_000, 7)));
    expect([...result.keys()].sort()).toEqual(FEATURES.map((f) => f.name).sort());
    for (const [feature, value] of result) expect({ feature, stable: value < 0.1 }).toEqual({ feature, stable: true });
  });

  test.each<[DriftScenario, string[]]>([
    ['larger-amounts', ['amount']],
    ['online-at-night', ['channel', 'card_present', 'hour_of_day']],
    ['merchant-mix', ['merchant_category']],
  ])('flags %s above the alarm threshold on exactly %j', async (drift, drifted) => {
    const result = await psi(trainingBaseline, await parquetOf(drift, records(5_000, 8, drift)));
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

  test('gives no row for a feature with fewer values in the window than the fewest records asked', async () => {
    const window = await parquetOf('sparse-psi', records(50, 9));
    const rows = async (minRecords: number) =>
      (
        await duck.connection.runAndReadAll(psiQuery(TRANSACTION_SCHEMA, trainingBaseline, window, minRecords))
      ).getRowObjects();
    expect(await rows(51)).toEqual([]);
    expect((await rows(50)).map((row) => Number(row.records))).toEqual(FEATURES.map(() => 50));
  });

  test('gives no row for a window without records, not a PSI of nothing', async () => {
    const empty = await parquetOf('empty', [{ amount: 1 }]);
    const none = empty.replace('))', ') WHERE false)');
    expect([...(await psi(baselines, none)).keys()]).toEqual([]);
  });

  test('rejects a written-out baseline that does not fit the schema or does not add up, naming the feature', () => {
    expect(() => baselineValues(TRANSACTION_SCHEMA, [{ feature: 'colour', edges: [], expected: [1] }])).toThrow(
      "baselineValues: 'colour' is not a feature of the schema",
    );
    expect(() =>
      baselineValues(TRANSACTION_SCHEMA, [{ feature: 'amount', edges: [5, 1], expected: [0.2, 0.3, 0.5] }]),
    ).toThrow("the baseline of 'amount' needs finite edges in ascending order");
    expect(() => baselineValues(TRANSACTION_SCHEMA, [{ feature: 'amount', edges: [5], expected: [0.2, 0.3] }])).toThrow(
      "the baseline of 'amount' has shares that add up to 0.5, not 1",
    );
  });
});
