/**
 * The monitor's SQL over the inference log: feature drift (PSI against the serving model's training baseline),
 * prediction drift (the score distribution against an earlier reference window of the same model), and realized
 * quality where labels have arrived (predictions joined to the raw events on the record id). Every measure is a row
 * of (`metric`, `dimension`, `value`, `records`) in the `monitoring` table, and a CloudWatch metric.
 *
 * The measuring queries run in Athena (Trino) and, for the tests, in DuckDB, on any relation with the right
 * columns; the windows over partitions and the INSERT around them are Athena's alone.
 */
import { partitionWindowPredicate, tableRef } from './athena-queries';
import { BASELINE_RUN_COLUMN, BASELINES_TABLE, psiQuery } from './drift-queries';
import { type FeatureSchema, labelField, recordIdField } from './feature-schema';
import { LOG_COLUMNS, PREDICTIONS_TABLE, type LogColumn } from './inference-log';
import { RAW_PARTITION_KEYS } from './lake-layout';

/** Name of the Glue table that keeps every measure of every monitor run. */
export const MONITORING_TABLE = 'monitoring';

/** The monitoring table's columns, in order. */
export const MONITORING_COLUMNS: readonly LogColumn[] = [
  { name: 'measured_at', type: 'timestamp', description: 'When the monitor run measured (UTC)' },
  { name: 'monitor_run', type: 'string', description: "The monitor run's execution name" },
  { name: 'model_name', type: 'string', description: 'The model served and measured (its training run)' },
  { name: 'metric', type: 'string', description: 'What was measured (MONITOR_METRICS)' },
  { name: 'dimension', type: 'string', description: "The feature, for a feature's PSI; empty otherwise" },
  { name: 'value', type: 'double', description: 'The measure' },
  { name: 'records', type: 'int', description: 'How many records the measure is over' },
];

/** What the monitor measures: the `metric` column, and the CloudWatch metric name. */
export const MONITOR_METRICS = {
  featurePsi: 'FeaturePsi',
  scorePsi: 'ScorePsi',
  meanScore: 'MeanScore',
  positiveRate: 'PositiveRate',
  auc: 'RealizedAuc',
  recall: 'RealizedRecall',
  precision: 'RealizedPrecision',
  labelled: 'LabelledRecords',
  truePositives: 'TruePositives',
  falsePositives: 'FalsePositives',
  trueNegatives: 'TrueNegatives',
  falseNegatives: 'FalseNegatives',
} as const;

/** Edges of the score's bins for prediction drift: ten equal bins of the probability. */
export const SCORE_EDGES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9] as const;

/**
 * The score distribution of `current` against `reference`, both relations of inference-log rows: the score's PSI
 * over `SCORE_EDGES` (only when both windows hold `minRecords` or more), the mean score and the share decided
 * positive (when `current` has rows). An empty window gives no row. Each window is read once.
 */
export function scoreDriftQuery(current: string, reference: string, minRecords = 1): string {
  const score = quoteIdentifier(LOG_COLUMNS.score.name);
  const decision = quoteIdentifier(LOG_COLUMNS.decision.name);
  const bin = `CASE ${SCORE_EDGES.map((edge, index) => `WHEN ${score} < ${sqlNumber(edge)} THEN ${index}`).join(' ')} ELSE ${SCORE_EDGES.length} END`;
  const bins = Array.from({ length: SCORE_EDGES.length + 1 }, (_, index) => `(${index})`).join(', ');
  const floor = sqlNumber(1e-4);
  const actual = `GREATEST(CAST(cn AS DOUBLE) / ctot, ${floor})`;
  const expected = `GREATEST(CAST(rn AS DOUBLE) / rtot, ${floor})`;
  const m = MONITOR_METRICS;
  return [
    'WITH c AS (',
    `  SELECT ${bin} AS bin, COUNT(*) AS n, SUM(${score}) AS s, SUM(CAST(${decision} AS INTEGER)) AS p`,
    `  FROM ${current} AS w WHERE ${score} IS NOT NULL GROUP BY 1`,
    '), r AS (',
    `  SELECT ${bin} AS bin, COUNT(*) AS n FROM ${reference} AS w WHERE ${score} IS NOT NULL GROUP BY 1`,
    '), j AS (',
    '  SELECT COALESCE(c.n, 0) AS cn, COALESCE(c.s, 0) AS cs, COALESCE(c.p, 0) AS cp, COALESCE(r.n, 0) AS rn',
    `  FROM (VALUES ${bins}) AS b(bin) LEFT JOIN c ON c.bin = b.bin LEFT JOIN r ON r.bin = b.bin`,
    '), w AS (',
    '  SELECT cn, cs, cp, rn, SUM(cn) OVER () AS ctot, SUM(rn) OVER () AS rtot FROM j',
    '), agg AS (',
    '  SELECT MAX(ctot) AS ctot, MAX(rtot) AS rtot, SUM(cs) AS s, SUM(cp) AS p,',
    // Shares only once both windows are large enough: Trino's GREATEST rejects the NaN of 0 / 0.
    `         SUM(CASE WHEN ctot >= ${minRecords} AND rtot >= ${minRecords} THEN (${actual} - ${expected}) * LN(${actual} / ${expected}) END) AS psi`,
    '  FROM w',
    ')',
    'SELECT metric, dimension, value, records FROM (',
    `  SELECT m.metric, '' AS dimension, CASE m.metric WHEN '${m.scorePsi}' THEN psi`,
    `    WHEN '${m.meanScore}' THEN CASE WHEN ctot > 0 THEN s / ctot END`,
    `    WHEN '${m.positiveRate}' THEN CASE WHEN ctot > 0 THEN CAST(p AS DOUBLE) / ctot END END AS value,`,
    '    CAST(ctot AS INTEGER) AS records',
    `  FROM agg CROSS JOIN (VALUES ('${m.scorePsi}'), ('${m.meanScore}'), ('${m.positiveRate}')) AS m(metric)`,
    ') AS measures WHERE value IS NOT NULL',
  ].join('\n');
}

/**
 * Realized quality: `predictions` (inference-log rows) joined to `events` (raw records, whose label has arrived) on
 * the record id. A record scored more than once counts once, with its latest score. Rows: the labelled count and the
 * confusion matrix at the logged decision (when any prediction is labelled); recall (with `minPositives` labelled
 * positives or more), precision (with as many decided positive), and the AUC, rank-based (Mann–Whitney, ties given
 * their mean rank), with `minPositives` of each class. No label, no row: a single missed fraud is no recall of 0.
 * Each relation is read once.
 */
export function realizedQualityQuery(
  schema: FeatureSchema,
  predictions: string,
  events: string,
  minPositives = 1,
): string {
  const id = quoteIdentifier(recordIdField(schema).name);
  const label = quoteIdentifier(labelField(schema).name);
  const score = quoteIdentifier(LOG_COLUMNS.score.name);
  const decision = quoteIdentifier(LOG_COLUMNS.decision.name);
  const order = [LOG_COLUMNS.predictedAt, LOG_COLUMNS.requestId, LOG_COLUMNS.recordIndex]
    .map((c) => `${quoteIdentifier(c.name)} DESC`)
    .join(', ');
  const m = MONITOR_METRICS;
  const enough = (count: string) => `${count} >= ${minPositives}`;
  const values: [string, string][] = [
    [m.labelled, 'CAST(labelled AS DOUBLE)'],
    [m.truePositives, 'CAST(tp AS DOUBLE)'],
    [m.falsePositives, 'CAST(fp AS DOUBLE)'],
    [m.trueNegatives, 'CAST(tn AS DOUBLE)'],
    [m.falseNegatives, 'CAST(fn AS DOUBLE)'],
    [m.recall, `CASE WHEN ${enough('positives')} THEN CAST(tp AS DOUBLE) / positives END`],
    [m.precision, `CASE WHEN ${enough('tp + fp')} THEN CAST(tp AS DOUBLE) / (tp + fp) END`],
    [
      m.auc,
      `CASE WHEN ${enough('positives')} AND ${enough('negatives')} THEN ` +
        '(positive_ranks - positives * (positives + 1) / 2.0E0) / (CAST(positives AS DOUBLE) * negatives) END',
    ],
  ];
  return [
    'WITH latest AS (',
    `  SELECT ${id} AS id, ${score} AS score, CAST(${decision} AS INTEGER) AS decided,`,
    // The latest score of a record; rows of one request share their time, so its id and position break ties.
    `         ROW_NUMBER() OVER (PARTITION BY ${id} ORDER BY ${order}) AS nth`,
    `  FROM ${predictions} AS p WHERE ${id} IS NOT NULL AND ${score} IS NOT NULL`,
    '), labels AS (',
    // One label per record, should the events carry a record twice.
    `  SELECT ${id} AS id, MAX(CAST(${label} AS INTEGER)) AS actual FROM ${events} AS e WHERE ${label} IS NOT NULL GROUP BY ${id}`,
    '), ranked AS (',
    // The mean rank of a run of equal scores: its first rank plus half the others.
    '  SELECT l.actual, p.decided,',
    '         RANK() OVER (ORDER BY p.score) + (COUNT(*) OVER (PARTITION BY p.score) - 1) / 2.0E0 AS rank',
    '  FROM latest p JOIN labels l ON l.id = p.id WHERE p.nth = 1',
    '), q AS (',
    '  SELECT COUNT(*) AS labelled,',
    '         SUM(CASE WHEN actual = 1 AND decided = 1 THEN 1 ELSE 0 END) AS tp,',
    '         SUM(CASE WHEN actual = 0 AND decided = 1 THEN 1 ELSE 0 END) AS fp,',
    '         SUM(CASE WHEN actual = 0 AND decided = 0 THEN 1 ELSE 0 END) AS tn,',
    '         SUM(CASE WHEN actual = 1 AND decided = 0 THEN 1 ELSE 0 END) AS fn,',
    '         SUM(actual) AS positives, COUNT(*) - SUM(actual) AS negatives,',
    '         SUM(CASE WHEN actual = 1 THEN rank ELSE 0 END) AS positive_ranks',
    '  FROM ranked',
    ')',
    'SELECT metric, dimension, value, records FROM (',
    `  SELECT m.metric, '' AS dimension, CASE m.metric ${values.map(([metric, value]) => `WHEN '${metric}' THEN ${value}`).join('\n    ')} END AS value,`,
    '    CAST(labelled AS INTEGER) AS records',
    `  FROM q CROSS JOIN (VALUES ${values.map(([metric]) => `('${metric}')`).join(', ')}) AS m(metric)`,
    '  WHERE labelled > 0',
    ') AS measures WHERE value IS NOT NULL',
  ].join('\n');
}

/** Settings of one monitor run's windows. */
export interface MonitorWindows {
  /** Glue database of the lake's tables. */
  readonly database: string;
  /** Hours of the inference log that drift is measured over, counted back from the hour the run starts. */
  readonly windowHours: number;
  /** Days before the window that the score distribution is compared with. */
  readonly referenceDays: number;
  /** Days of predictions, and of raw events, joined for realized quality. */
  readonly labelWindowDays: number;
  /** Fewest records in a window (both windows, for the score) before its PSI is measured. */
  readonly minRecords: number;
  /** Fewest labelled positives (and negatives, for the AUC) before recall, precision and AUC are measured. */
  readonly minPositives: number;
}

/** Placeholders the monitor's state machine fills with `States.Format`: the serving model and the monitor run. */
export const MONITOR_PLACEHOLDERS = { model: '__MODEL_NAME__', run: '__MONITOR_RUN__' } as const;

/**
 * One Athena statement that measures everything for the model in service and inserts the rows into the monitoring
 * table. The model's name and the monitor run's name are `MONITOR_PLACEHOLDERS`, which the state machine fills in.
 */
export function monitoringInsertQuery(schema: FeatureSchema, windows: MonitorWindows): string {
  checkWindows(windows);
  const { database, windowHours, referenceDays, labelWindowDays, minRecords, minPositives } = windows;
  const model = quoteLiteral(MONITOR_PLACEHOLDERS.model);
  const predictions = `${quoteIdentifier(database)}.${quoteIdentifier(PREDICTIONS_TABLE)}`;
  const ofModel = `${quoteIdentifier(LOG_COLUMNS.modelName.name)} = ${model}`;
  const hoursBack = (hours: number) => `current_timestamp - INTERVAL '${hours}' HOUR`;
  const current = `(SELECT * FROM ${predictions} WHERE ${hourWindowPredicate(hoursBack(windowHours))} AND ${ofModel})`;
  const reference = [
    `(SELECT * FROM ${predictions} WHERE ${hourWindowPredicate(hoursBack(windowHours + referenceDays * 24))}`,
    `  AND ${hourKey()} < date_format(${hoursBack(windowHours)}, '%Y%m%d%H') AND ${ofModel})`,
  ].join('\n');
  const baseline = `(SELECT * FROM ${quoteIdentifier(database)}.${quoteIdentifier(BASELINES_TABLE)} WHERE ${quoteIdentifier(BASELINE_RUN_COLUMN)} = ${model})`;
  const labelled = `(SELECT * FROM ${predictions} WHERE ${partitionWindowPredicate(labelWindowDays)} AND ${ofModel})`;
  const events = `(SELECT * FROM ${tableRef(database, schema)} WHERE ${partitionWindowPredicate(labelWindowDays)})`;
  return [
    `-- Drift over the last ${windowHours} hour(s), the score against the ${referenceDays} day(s) before, and realized quality over ${labelWindowDays} day(s).`,
    `INSERT INTO ${quoteIdentifier(database)}.${quoteIdentifier(MONITORING_TABLE)}`,
    // The table's timestamp has no time zone; Athena's session runs in UTC.
    `SELECT CAST(current_timestamp AS TIMESTAMP), ${quoteLiteral(MONITOR_PLACEHOLDERS.run)}, ${model}, metric, dimension, value, records FROM (`,
    `SELECT '${MONITOR_METRICS.featurePsi}' AS metric, feature AS dimension, psi AS value, CAST(records AS INTEGER) AS records FROM (`,
    psiQuery(schema, baseline, current, minRecords),
    ') AS psi',
    'UNION ALL',
    `SELECT * FROM (\n${scoreDriftQuery(current, reference, minRecords)}\n) AS scores`,
    'UNION ALL',
    `SELECT * FROM (\n${realizedQualityQuery(schema, labelled, events, minPositives)}\n) AS quality`,
    ') AS measures',
  ].join('\n');
}

/** The measures of one monitor run, for the metrics the state machine publishes. */
export function monitorRunQuery(database: string): string {
  const columns = ['metric', 'dimension', 'value', 'records'].map(quoteIdentifier).join(', ');
  return [
    "-- This monitor run's measures.",
    `SELECT ${columns} FROM ${quoteIdentifier(database)}.${quoteIdentifier(MONITORING_TABLE)}`,
    `WHERE "monitor_run" = ${quoteLiteral(MONITOR_PLACEHOLDERS.run)}`,
  ].join('\n');
}

/** The hourly partition key of a predictions row, `yyyyMMddHH`, from its partition columns. */
function hourKey(): string {
  return `concat(${RAW_PARTITION_KEYS.map((k) => quoteIdentifier(k.name)).join(', ')})`;
}

/**
 * True for the hourly partitions from `since` (a timestamp expression) on. The `year` bounds, above and below, are
 * plain ranges that narrow partition projection's candidates to a year or two before the hours are compared.
 */
function hourWindowPredicate(since: string): string {
  const year = quoteIdentifier('year');
  return [
    `${year} >= date_format(${since}, '%Y') AND ${year} <= date_format(current_timestamp, '%Y')`,
    `${hourKey()} >= date_format(${since}, '%Y%m%d%H')`,
  ].join(' AND ');
}

function checkWindows({ windowHours, referenceDays, labelWindowDays, minRecords, minPositives }: MonitorWindows): void {
  const whole = (name: string, value: number, max: number) => {
    if (!Number.isInteger(value) || value < 1 || value > max) {
      throw new Error(`monitoringInsertQuery: ${name} ${value} must be a whole number from 1 to ${max}`);
    }
  };
  whole('windowHours', windowHours, 24 * 31);
  whole('referenceDays', referenceDays, 90);
  whole('labelWindowDays', labelWindowDays, 90);
  whole('minRecords', minRecords, 1_000_000);
  whole('minPositives', minPositives, 1_000_000);
}

function sqlNumber(value: number): string {
  return value.toExponential().toUpperCase();
}

const quoteIdentifier = (name: string) => `"${name.replace(/"/g, '""')}"`;
const quoteLiteral = (value: string) => `'${value.replace(/'/g, "''")}'`;
