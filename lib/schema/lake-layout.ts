/**
 * Where records live in the raw zone of the data lake, shared by the writer (Firehose), the catalog (Glue table and
 * crawler) and the readers (Athena queries), so the three cannot disagree about a prefix or a partition key.
 */

/** Prefix of the raw events under the raw bucket; the Glue table's location. */
export const RAW_EVENTS_PREFIX = 'events/';

/** Prefix for records Firehose could not convert, kept apart so a crawler never reads them as data. */
export const RAW_ERRORS_PREFIX = 'errors/';

/**
 * Prefix of the inference log under the raw bucket: every record the API scored, with its score and decision
 * (lib/schema/inference-log.ts); the `predictions` table's location. It sits beside the events so the monitor can
 * join predictions to the labels that arrive later, partition by partition.
 */
export const PREDICTIONS_PREFIX = 'predictions/';

/** Prefix for inference-log records Firehose could not convert; its own, so each stream writes only its own. */
export const PREDICTION_ERRORS_PREFIX = 'prediction-errors/';

/**
 * Hive-style partition keys, coarsest first. Firehose fills them from the record's arrival time in UTC, which is why
 * they are strings: Hive-style values such as `month=07` keep their leading zero.
 */
export const RAW_PARTITION_KEYS = [
  { name: 'year', firehoseTimestampPattern: 'yyyy', values: { min: 2025, max: 2099, digits: 4 } },
  { name: 'month', firehoseTimestampPattern: 'MM', values: { min: 1, max: 12, digits: 2 } },
  { name: 'day', firehoseTimestampPattern: 'dd', values: { min: 1, max: 31, digits: 2 } },
  { name: 'hour', firehoseTimestampPattern: 'HH', values: { min: 0, max: 23, digits: 2 } },
] as const;

/**
 * The S3 location of one hourly partition under `dataPrefix`, with `${<key>}` placeholders: the template Athena's
 * partition projection fills from a query's partition values (`storage.location.template`).
 */
export function projectedPartitionTemplate(dataPrefix: string): string {
  return `${dataPrefix}${RAW_PARTITION_KEYS.map((k) => `${k.name}=\${${k.name}}`).join('/')}/`;
}

/** The Firehose S3 prefix that writes e.g. `events/year=2026/month=11/day=24/hour=21/` under `dataPrefix`. */
export function firehoseDataPrefix(dataPrefix: string): string {
  const partitions = RAW_PARTITION_KEYS.map((k) => `${k.name}=!{timestamp:${k.firehoseTimestampPattern}}`).join('/');
  return `${dataPrefix}${partitions}/`;
}

/**
 * The Firehose error prefix under `errorPrefix`: failures grouped by error type (conversion vs delivery) and day,
 * so a learner can see at a glance why records were rejected.
 */
export function firehoseErrorPrefix(errorPrefix: string): string {
  return `${errorPrefix}!{firehose:error-output-type}/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/`;
}

/** Prefix under the curated bucket of the `monitoring` table: every measure of every monitor run. */
export const MONITORING_PREFIX = 'monitoring/';

/** Prefix under the curated bucket where training exports are unloaded. */
export const TRAINING_EXPORTS_PREFIX = 'training-exports/';

/** Prefix under the Athena results bucket where the workgroup writes query results and UNLOAD manifests. */
export const ATHENA_RESULTS_PREFIX = 'query-results/';
