import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BASELINE_COLUMNS, baselineQuery, baselineValues, psiQuery } from '../../lib/schema/drift-queries';
import { EXAMPLE_TRANSACTION_FEATURES, TRANSACTION_SCHEMA } from '../../lib/schema/feature-schema';
import { inferenceLogColumns } from '../../lib/schema/inference-log';
import {
  MONITOR_METRICS,
  MONITOR_PLACEHOLDERS,
  MONITORING_COLUMNS,
  monitoringInsertQuery,
  monitorRunQuery,
  realizedQualityQuery,
  scoreDriftQuery,
} from '../../lib/schema/monitoring-queries';
import { DUCKDB_TYPES } from '../../scripts/bench-lake/lake';
import { duckDbParquet } from './duckdb-parquet';

/**
 * The monitor's measuring SQL runs for real, in DuckDB, on Parquet written with the Glue types of the inference
 * log's and the raw table's columns, against reference computations written in TypeScript.
 */
const duck = duckDbParquet('monitoring-queries');

const LOG_COLUMNS = inferenceLogColumns(TRANSACTION_SCHEMA);

/** Writes rows as Parquet with the given Glue-typed columns, and returns the file as a query source. */
const parquetOf = (name: string, columns: readonly { name: string; type: string }[], rows: readonly object[]) =>
  duck.parquetOf(name, columns, rows);

/** Inference-log rows: a score, its decision at 0.5, the record id, and a time. */
const logRows = (scores: readonly number[], ids: readonly (string | null)[] = scores.map((_, i) => `t-${i}`)) =>
  scores.map((score, i) => ({
    request_id: `r-${i}`,
    record_index: 0,
    transaction_id: ids[i],
    // As DuckDB reads a timestamp from JSON; Firehose gets epoch milliseconds and writes the same Parquet type.
    predicted_at: new Date(1_764_000_000_000 + i * 1000).toISOString(),
    model_name: 'run-1',
    score,
    decision: score >= 0.5,
    decision_threshold: 0.5,
  }));

async function measures(query: string): Promise<Map<string, { value: number; records: number }>> {
  const reader = await duck.connection.runAndReadAll(query);
  return new Map(
    reader
      .getRowObjects()
      .map((row) => [String(row.metric), { value: Number(row.value), records: Number(row.records) }]),
  );
}

/** The Mann–Whitney AUC with ties counted half: the share of positive–negative pairs the score orders right. */
function referenceAuc(pairs: readonly { score: number; actual: boolean }[]): number {
  const positives = pairs.filter((p) => p.actual);
  const negatives = pairs.filter((p) => !p.actual);
  let wins = 0;
  for (const p of positives) for (const n of negatives) wins += p.score > n.score ? 1 : p.score === n.score ? 0.5 : 0;
  return wins / (positives.length * negatives.length);
}

/** A seeded stream of numbers in [0, 1). */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe('realized quality, run in DuckDB on Parquet', () => {
  const eventColumns = TRANSACTION_SCHEMA.fields;
  const events = (labels: readonly (boolean | null)[]) =>
    labels.map((label, i) => ({ transaction_id: `t-${i}`, is_fraud: label }));

  test('gives the rank-based AUC of a reference computation, ties included, and the confusion matrix', async () => {
    const next = random(7);
    // Scores on a coarse grid, so many tie, across both classes.
    const truth = Array.from({ length: 400 }, () => next() < 0.2);
    const scores = truth.map((actual) => Math.round((actual ? 0.3 + 0.7 * next() : 0.7 * next()) * 20) / 20);
    const predictions = await parquetOf('quality-log', LOG_COLUMNS, logRows(scores));
    const labelled = await parquetOf('quality-events', eventColumns, events(truth));
    const result = await measures(realizedQualityQuery(TRANSACTION_SCHEMA, predictions, labelled));
    const pairs = scores.map((score, i) => ({ score, actual: truth[i] }));
    expect(result.get(MONITOR_METRICS.auc)?.value).toBeCloseTo(referenceAuc(pairs), 12);
    const tp = pairs.filter((p) => p.actual && p.score >= 0.5).length;
    const fp = pairs.filter((p) => !p.actual && p.score >= 0.5).length;
    const fn = pairs.filter((p) => p.actual && p.score < 0.5).length;
    expect(result.get(MONITOR_METRICS.truePositives)?.value).toBe(tp);
    expect(result.get(MONITOR_METRICS.falsePositives)?.value).toBe(fp);
    expect(result.get(MONITOR_METRICS.falseNegatives)?.value).toBe(fn);
    expect(result.get(MONITOR_METRICS.trueNegatives)?.value).toBe(400 - tp - fp - fn);
    expect(result.get(MONITOR_METRICS.recall)?.value).toBeCloseTo(tp / (tp + fn), 12);
    expect(result.get(MONITOR_METRICS.precision)?.value).toBeCloseTo(tp / (tp + fp), 12);
    expect(result.get(MONITOR_METRICS.labelled)).toEqual({ value: 400, records: 400 });
  });

  test('joins on the record id only: unlabelled and id-less predictions, and a rescored record, count once or not at all', async () => {
    // t-0 scored twice (the later score counts), t-1 has no label yet, one prediction came without an id.
    const rows = [
      ...logRows([0.1], ['t-0']),
      { ...logRows([0.9], ['t-0'])[0], predicted_at: new Date(1_764_000_999_999).toISOString() },
      ...logRows([0.8], ['t-1']),
      ...logRows([0.7], [null]),
      ...logRows([0.2], ['t-2']),
    ];
    const predictions = await parquetOf('join-log', LOG_COLUMNS, rows);
    const labelled = await parquetOf('join-events', eventColumns, [
      { transaction_id: 't-0', is_fraud: true },
      { transaction_id: 't-1', is_fraud: null },
      { transaction_id: 't-2', is_fraud: false },
      { transaction_id: 't-9', is_fraud: true },
    ]);
    const result = await measures(realizedQualityQuery(TRANSACTION_SCHEMA, predictions, labelled));
    expect(result.get(MONITOR_METRICS.labelled)?.value).toBe(2);
    expect(result.get(MONITOR_METRICS.truePositives)?.value).toBe(1);
    expect(result.get(MONITOR_METRICS.auc)?.value).toBe(1);
  });

  test('gives no row without labels, and no AUC while only one class is labelled', async () => {
    const predictions = await parquetOf('nolabel-log', LOG_COLUMNS, logRows([0.2, 0.9]));
    const none = await parquetOf('nolabel-events', eventColumns, events([null, null]));
    expect([...(await measures(realizedQualityQuery(TRANSACTION_SCHEMA, predictions, none))).keys()]).toEqual([]);
    const negativesOnly = await parquetOf('negatives-events', eventColumns, events([false, false]));
    const result = await measures(realizedQualityQuery(TRANSACTION_SCHEMA, predictions, negativesOnly));
    expect(result.has(MONITOR_METRICS.auc)).toBe(false);
    expect(result.has(MONITOR_METRICS.recall)).toBe(false);
    expect(result.get(MONITOR_METRICS.precision)?.value).toBe(0);
    expect(result.get(MONITOR_METRICS.falsePositives)?.value).toBe(1);
  });
});

describe('sparse windows, run in DuckDB on Parquet', () => {
  test('give no PSI below the fewest records, and no recall or AUC below the fewest labelled frauds', async () => {
    const window = await parquetOf('sparse-log', LOG_COLUMNS, logRows([0.1, 0.2, 0.9, 0.8, 0.7]));
    const drift = await measures(scoreDriftQuery(window, window, 6));
    expect([...drift.keys()].sort()).toEqual([MONITOR_METRICS.meanScore, MONITOR_METRICS.positiveRate].sort());
    expect((await measures(scoreDriftQuery(window, window, 5))).has(MONITOR_METRICS.scorePsi)).toBe(true);
    const labels = await parquetOf(
      'sparse-events',
      TRANSACTION_SCHEMA.fields,
      [false, false, true, true, false].map((is_fraud, i) => ({ transaction_id: `t-${i}`, is_fraud })),
    );
    const quality = await measures(realizedQualityQuery(TRANSACTION_SCHEMA, window, labels, 3));
    expect(quality.has(MONITOR_METRICS.recall)).toBe(false);
    expect(quality.has(MONITOR_METRICS.auc)).toBe(false);
    expect(quality.has(MONITOR_METRICS.precision)).toBe(true); // 3 decided positive
    expect(quality.get(MONITOR_METRICS.labelled)?.value).toBe(5);
    const enough = await measures(realizedQualityQuery(TRANSACTION_SCHEMA, window, labels, 2));
    expect(enough.get(MONITOR_METRICS.recall)?.value).toBe(1);
    expect(enough.get(MONITOR_METRICS.auc)?.value).toBe(1);
  });

  test('read each relation once, since Trino re-runs a WITH query at every reference', () => {
    const times = (sql: string, relation: string) => sql.split(relation).length - 1;
    expect(times(scoreDriftQuery('CUR', 'REF'), 'CUR')).toBe(1);
    expect(times(scoreDriftQuery('CUR', 'REF'), 'REF')).toBe(1);
    expect(times(realizedQualityQuery(TRANSACTION_SCHEMA, 'PRED', 'EVENTS'), 'PRED')).toBe(1);
    expect(times(realizedQualityQuery(TRANSACTION_SCHEMA, 'PRED', 'EVENTS'), 'EVENTS')).toBe(1);
    expect(times(psiQuery(TRANSACTION_SCHEMA, 'BASE', 'WINDOW'), 'WINDOW')).toBe(1);
    // The baseline reads its training records twice: for the quantiles, and to count the bins.
    expect(times(baselineQuery(TRANSACTION_SCHEMA, 'TRAINING'), 'TRAINING')).toBe(2);
  });
});

describe('prediction drift, run in DuckDB on Parquet', () => {
  const scores = (count: number, seed: number, shift = 0) => {
    const next = random(seed);
    return Array.from({ length: count }, () => Math.min(0.999, next() ** 3 + shift));
  };

  test('finds no drift between two samples of one distribution, and a shifted score above the alarm', async () => {
    const reference = await parquetOf('scores-reference', LOG_COLUMNS, logRows(scores(5_000, 1)));
    const same = await parquetOf('scores-same', LOG_COLUMNS, logRows(scores(2_000, 2)));
    const shifted = await parquetOf('scores-shifted', LOG_COLUMNS, logRows(scores(2_000, 3, 0.25)));
    const stable = await measures(scoreDriftQuery(same, reference));
    expect(stable.get(MONITOR_METRICS.scorePsi)?.value).toBeLessThan(0.05);
    expect(stable.get(MONITOR_METRICS.scorePsi)?.records).toBe(2_000);
    const drifted = await measures(scoreDriftQuery(shifted, reference));
    expect(drifted.get(MONITOR_METRICS.scorePsi)?.value).toBeGreaterThan(0.2);
  });

  test('gives the mean score and the share decided positive of the window', async () => {
    const window = await parquetOf('scores-mean', LOG_COLUMNS, logRows([0.1, 0.6, 0.8, 0.3]));
    const result = await measures(scoreDriftQuery(window, window));
    expect(result.get(MONITOR_METRICS.meanScore)?.value).toBeCloseTo(0.45, 12);
    expect(result.get(MONITOR_METRICS.positiveRate)?.value).toBeCloseTo(0.5, 12);
    expect(result.get(MONITOR_METRICS.scorePsi)?.value).toBeCloseTo(0, 12);
  });

  test('gives no row for an empty window, and no PSI without a reference', async () => {
    const window = await parquetOf('scores-window', LOG_COLUMNS, logRows([0.4, 0.6]));
    const empty = window.replace('))', ') WHERE false)');
    expect([...(await measures(scoreDriftQuery(empty, window))).keys()]).toEqual([]);
    expect([...(await measures(scoreDriftQuery(window, empty))).keys()].sort()).toEqual(
      [MONITOR_METRICS.meanScore, MONITOR_METRICS.positiveRate].sort(),
    );
  });
});

const windows = {
  database: 'lake',
  windowHours: 24,
  referenceDays: 7,
  labelWindowDays: 3,
  minRecords: 10,
  minPositives: 5,
};

describe("the monitor run's statements", () => {
  const insert = monitoringInsertQuery(TRANSACTION_SCHEMA, windows);

  test("measure the serving model's log against its own baseline, in bounded windows, into the monitoring table", () => {
    expect(insert).toContain('INSERT INTO "lake"."monitoring"');
    expect(insert).toContain(`"model_name" = '${MONITOR_PLACEHOLDERS.model}'`);
    expect(insert).toContain(`FROM "lake"."baselines" WHERE "run" = '${MONITOR_PLACEHOLDERS.model}'`);
    expect(insert).toContain(`'${MONITOR_PLACEHOLDERS.run}'`);
    // Every read of the inference log (one per feature and measure) bounds its projected partitions.
    const reads = insert.split('FROM "lake"."predictions"').slice(1);
    expect(reads.length).toBeGreaterThan(3);
    for (const read of reads)
      expect(read.slice(0, 60)).toMatch(/^ WHERE "year" >= date_format\(current_(timestamp|date)/);
    expect(insert).toContain("current_timestamp - INTERVAL '24' HOUR, '%Y%m%d%H'");
    expect(insert).toContain("current_timestamp - INTERVAL '192' HOUR");
    expect(insert).toContain("current_date - INTERVAL '2' DAY");
    // Step Functions' States.Format treats braces as placeholders; the statement has none of its own.
    expect(insert).not.toMatch(/[{}]/);
    expect(monitorRunQuery('lake')).toContain(`WHERE "monitor_run" = '${MONITOR_PLACEHOLDERS.run}'`);
  });

  test.each([
    [{ windowHours: 0 }, 'windowHours 0 must be a whole number from 1 to 744'],
    [{ referenceDays: 1.5 }, 'referenceDays 1.5 must be a whole number from 1 to 90'],
    [{ labelWindowDays: 91 }, 'labelWindowDays 91 must be a whole number from 1 to 90'],
  ])('reject the windows %j', (override, message) => {
    expect(() => monitoringInsertQuery(TRANSACTION_SCHEMA, { ...windows, ...override })).toThrow(message);
  });
});

describe('the whole monitor statement, run in DuckDB on tables shaped like the Glue ones', () => {
  // DuckDB lacks Trino's date_format; strftime reads the same %Y, %m, %d and %H.
  beforeAll(async () => {
    // Athena's session runs in UTC, as Firehose's partition values are.
    await duck.connection.run("SET TimeZone = 'UTC'");
    await duck.connection.run('CREATE MACRO date_format(t, f) AS strftime(t, f)');
    await duck.connection.run('CREATE SCHEMA lake');
    const table = async (name: string, columns: readonly { name: string; type: string }[], partitions: string[]) => {
      const all = [
        ...columns.map((c) => `"${c.name}" ${DUCKDB_TYPES[c.type as keyof typeof DUCKDB_TYPES]}`),
        ...partitions.map((p) => `"${p}" VARCHAR`),
      ];
      await duck.connection.run(`CREATE TABLE lake."${name}" (${all.join(', ')})`);
    };
    const hourly = ['year', 'month', 'day', 'hour'];
    await table('predictions', LOG_COLUMNS, hourly);
    await table('transactions', TRANSACTION_SCHEMA.fields, hourly);
    await table('baselines', BASELINE_COLUMNS, ['run']);
    await table('monitoring', MONITORING_COLUMNS, []);
  });

  /** Inserts rows into a table, taking its partition values from `at`. */
  async function insertRows(name: string, rows: readonly Record<string, unknown>[], at: Date) {
    const partitions = {
      year: String(at.getUTCFullYear()),
      month: String(at.getUTCMonth() + 1).padStart(2, '0'),
      day: String(at.getUTCDate()).padStart(2, '0'),
      hour: String(at.getUTCHours()).padStart(2, '0'),
    };
    const json = join(duck.dir, `${name}-${at.getTime()}-${rows.length}.json`);
    writeFileSync(json, rows.map((row) => `${JSON.stringify({ ...row, ...partitions })}\n`).join(''));
    await duck.connection.run(`INSERT INTO lake."${name}" BY NAME SELECT * FROM read_json_auto('${json}')`);
  }

  test('writes the drift, score and quality rows of the serving model only, from its windows only', async () => {
    const now = Date.now();
    const hoursAgo = (hours: number) => new Date(now - hours * 3_600_000);
    const features = { ...EXAMPLE_TRANSACTION_FEATURES };
    const scored = (n: number, model: string, score: number, at: Date) =>
      logRows(
        Array.from({ length: n }, () => score),
        Array.from({ length: n }, (_, i) => `${model}-${at.getTime()}-${i}`),
      ).map((row) => ({ ...row, ...features, model_name: model, predicted_at: at.toISOString() }));
    // The serving model's window (1 hour ago), its reference (2 days ago), another model's rows, and rows too old.
    const window = scored(50, 'run-1', 0.9, hoursAgo(1));
    await insertRows('predictions', window, hoursAgo(1));
    await insertRows('predictions', scored(50, 'run-1', 0.1, hoursAgo(48)), hoursAgo(48));
    await insertRows('predictions', scored(30, 'run-0', 0.5, hoursAgo(1)), hoursAgo(1));
    await insertRows('predictions', scored(30, 'run-1', 0.3, hoursAgo(24 * 30)), hoursAgo(24 * 30));
    // Labels for the window's first 20 records: 10 fraud, 10 not.
    await insertRows(
      'transactions',
      window.slice(0, 20).map((row, i) => ({ transaction_id: row.transaction_id, is_fraud: i < 10 })),
      hoursAgo(1),
    );
    // The model's baseline: every amount below 50 in training; the window's are 42.5, so no drift there.
    for (const [feature, edges, expected] of [
      ['amount', [50], [1, 0]],
      ['hour_of_day', [12], [0, 1]],
    ] as const) {
      await duck.connection.run(
        `INSERT INTO lake.baselines SELECT * FROM ${baselineValues(TRANSACTION_SCHEMA, [{ feature, edges, expected }]).replace('AS baseline(', 'AS b(')}` +
          ` CROSS JOIN (SELECT 'run-1' AS run)`,
      );
    }
    const fill = (sql: string) =>
      sql.replaceAll(MONITOR_PLACEHOLDERS.model, 'run-1').replaceAll(MONITOR_PLACEHOLDERS.run, 'monitor-1');
    await duck.connection.run(fill(monitoringInsertQuery(TRANSACTION_SCHEMA, windows)));
    const rows = (await duck.connection.runAndReadAll(fill(monitorRunQuery('lake')))).getRowObjects();
    const byMetric = (metric: string, dimension = '') =>
      rows.find((row) => row.metric === metric && row.dimension === dimension);
    expect(Number(byMetric(MONITOR_METRICS.featurePsi, 'amount')?.value)).toBeCloseTo(0, 6);
    // Every window hour_of_day is 3, all below the baseline's only bin: as far from it as the floor allows.
    expect(Number(byMetric(MONITOR_METRICS.featurePsi, 'hour_of_day')?.value)).toBeGreaterThan(5);
    expect(byMetric(MONITOR_METRICS.featurePsi, 'channel')).toBeUndefined(); // no baseline, no measure
    expect(Number(byMetric(MONITOR_METRICS.meanScore)?.value)).toBeCloseTo(0.9, 12);
    expect(Number(byMetric(MONITOR_METRICS.meanScore)?.records)).toBe(50);
    expect(Number(byMetric(MONITOR_METRICS.scorePsi)?.value)).toBeGreaterThan(1);
    expect(Number(byMetric(MONITOR_METRICS.labelled)?.value)).toBe(20);
    expect(Number(byMetric(MONITOR_METRICS.recall)?.value)).toBe(1);
    expect(Number(byMetric(MONITOR_METRICS.precision)?.value)).toBe(0.5);
    const stored = (
      await duck.connection.runAndReadAll('SELECT DISTINCT monitor_run, model_name FROM lake.monitoring')
    ).getRowObjects();
    expect(stored).toEqual([{ monitor_run: 'monitor-1', model_name: 'run-1' }]);
  });
});
