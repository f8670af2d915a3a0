/**
 * Where records live in the raw zone of the data lake, shared by the writer (Firehose), the catalog (Glue table and
 * crawler) and the readers (Athena queries), so the three cannot disagree about a prefix or a partition key.
 */

/** Prefix of the raw events under the raw bucket; the Glue table's location. */
export const RAW_EVENTS_PREFIX = 'events/';

/** Prefix for records Firehose could not convert or deliver, kept apart so a crawler never reads them as data. */
export const RAW_ERRORS_PREFIX = 'errors/';

/**
 * Hive-style partition keys, coarsest first. Firehose fills them from the record's arrival time in UTC, which is why
 * they are strings: Hive-style values such as `month=07` keep their leading zero.
 */
export const RAW_PARTITION_KEYS = [
  { name: 'year', firehoseTimestampPattern: 'yyyy' },
  { name: 'month', firehoseTimestampPattern: 'MM' },
  { name: 'day', firehoseTimestampPattern: 'dd' },
  { name: 'hour', firehoseTimestampPattern: 'HH' },
] as const;

/** The Firehose S3 prefix that writes `events/year=2026/month=11/day=24/hour=21/`. */
export function firehoseDataPrefix(): string {
  const partitions = RAW_PARTITION_KEYS.map((k) => `${k.name}=!{timestamp:${k.firehoseTimestampPattern}}`).join('/');
  return `${RAW_EVENTS_PREFIX}${partitions}/`;
}

/**
 * The Firehose error prefix: failures grouped by error type (conversion vs delivery) and day, so a learner can see
 * at a glance why records were rejected.
 */
export function firehoseErrorPrefix(): string {
  return `${RAW_ERRORS_PREFIX}!{firehose:error-output-type}/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/`;
}

/** Prefix under the curated bucket where training exports are unloaded. */
export const TRAINING_EXPORTS_PREFIX = 'training-exports/';

/** Prefix under the Athena results bucket where the workgroup writes query results and UNLOAD manifests. */
export const ATHENA_RESULTS_PREFIX = 'query-results/';
