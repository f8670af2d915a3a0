/**
 * The feature schema: the single description of the event record that flows through the pipeline.
 *
 * Everything that needs to know the record's shape derives from this module: the Glue table columns (and through
 * them Firehose's JSON → Parquet conversion), the Athena queries that check and export the data, and in later stages
 * the synthetic producer and the inference handler's request validation. Change a field here and all of them change.
 *
 * The running example is a labelled card-transaction stream for fraud detection.
 */

import { RAW_PARTITION_KEYS } from './lake-layout';

/** The value types a field can have, named after their Glue/Hive column type. */
export type FieldType = 'string' | 'double' | 'int' | 'boolean' | 'timestamp';

/**
 * What a field is for.
 * - `id`: identifies a record; never a model input (it would leak identity, not signal).
 * - `eventTime`: when the event happened, for analysis; not a model input.
 * - `feature`: a model input, in the order the model sees it.
 * - `label`: the target the model learns to predict; exactly one per schema.
 */
export type FieldRole = 'id' | 'eventTime' | 'feature' | 'label';

export interface FieldSpec {
  /** Column and JSON key. Lower snake_case: Firehose's Hive JSON deserializer and Athena fold names to lower case. */
  readonly name: string;
  readonly type: FieldType;
  readonly role: FieldRole;
  readonly description: string;
  /**
   * For a categorical `string` feature: the known values. The model sees the value's position in this list
   * (ordinal encoding, which gradient-boosted trees split on as well as on one-hot columns) and -1 for any other value.
   * Append new categories at the end: reordering changes the codes of a trained model.
   */
  readonly categories?: readonly string[];
  /** For a numeric feature: the smallest and largest plausible values, inclusive. */
  readonly range?: { readonly min: number; readonly max: number };
}

export interface FeatureSchema {
  /** Name of the Glue table that holds the raw records. */
  readonly tableName: string;
  readonly description: string;
  /** Fields in column order: ids first, then features in model order, then the label. */
  readonly fields: readonly FieldSpec[];
}

/**
 * How a producer writes a `timestamp` field in JSON: milliseconds since the Unix epoch, a plain number.
 * Firehose's Hive JSON deserializer is configured with the matching `millis` parser.
 */
export const TIMESTAMP_WIRE_FORMAT = 'epoch-millis';

/** The running example: one card transaction, labelled after the fact as fraudulent or not. */
export const TRANSACTION_SCHEMA: FeatureSchema = {
  tableName: 'transactions',
  description: 'Card transactions labelled as fraudulent or legitimate',
  fields: [
    { name: 'transaction_id', type: 'string', role: 'id', description: 'Unique id of the transaction (UUID)' },
    { name: 'customer_id', type: 'string', role: 'id', description: 'Pseudonymous id of the card holder' },
    { name: 'event_time', type: 'timestamp', role: 'eventTime', description: 'When the card was charged (UTC)' },
    {
      name: 'amount',
      type: 'double',
      role: 'feature',
      description: 'Transaction amount in EUR',
      range: { min: 0, max: 100_000 },
    },
    {
      name: 'merchant_category',
      type: 'string',
      role: 'feature',
      description: 'Kind of merchant',
      categories: ['grocery', 'restaurant', 'fuel', 'travel', 'electronics', 'online_services', 'gambling', 'other'],
    },
    {
      name: 'channel',
      type: 'string',
      role: 'feature',
      description: 'How the card was used',
      categories: ['chip', 'contactless', 'online', 'phone'],
    },
    {
      name: 'card_present',
      type: 'boolean',
      role: 'feature',
      description: 'Whether the physical card was at the terminal',
    },
    {
      name: 'distance_from_home_km',
      type: 'double',
      role: 'feature',
      description: "Distance between the merchant and the card holder's home",
      range: { min: 0, max: 20_000 },
    },
    {
      name: 'minutes_since_last_transaction',
      type: 'double',
      role: 'feature',
      description: "Minutes since the card holder's previous transaction",
      range: { min: 0, max: 525_600 },
    },
    {
      name: 'transactions_last_24h',
      type: 'int',
      role: 'feature',
      description: 'Number of transactions on the card in the preceding 24 hours',
      range: { min: 0, max: 1_000 },
    },
    {
      name: 'hour_of_day',
      type: 'int',
      role: 'feature',
      description: 'Local hour of the transaction',
      range: { min: 0, max: 23 },
    },
    { name: 'is_fraud', type: 'boolean', role: 'label', description: 'Confirmed fraud (the target)' },
  ],
};

/**
 * The model inputs of one suspicious transaction (a night-time online purchase far from home), as a client sends
 * them to the inference API. Used by the README's curl example, the tests and the benchmark.
 */
export const EXAMPLE_TRANSACTION_FEATURES: Readonly<Record<string, string | number | boolean>> = {
  amount: 42.5,
  merchant_category: 'travel',
  channel: 'online',
  card_present: false,
  distance_from_home_km: 900,
  minutes_since_last_transaction: 3,
  transactions_last_24h: 7,
  hour_of_day: 3,
};

const NAME_PATTERN = /^[a-z][a-z0-9_]*$/;

/** Names the lake's tables use for their partition columns, so no field may take them. */
const PARTITION_COLUMN_NAMES: readonly string[] = RAW_PARTITION_KEYS.map((key) => key.name);

/**
 * Checks a schema's internal consistency; returns it unchanged when valid so callers can validate inline.
 * Throws with a message naming the field and the rule it breaks.
 */
export function validateSchema(schema: FeatureSchema): FeatureSchema {
  const problems: string[] = [];
  const where = (field: FieldSpec) => `FeatureSchema '${schema.tableName}': field '${field.name}'`;
  if (!NAME_PATTERN.test(schema.tableName)) {
    problems.push(`FeatureSchema: tableName '${schema.tableName}' must be lower snake_case (a-z, 0-9, _)`);
  }
  const seen = new Set<string>();
  for (const field of schema.fields) {
    if (!NAME_PATTERN.test(field.name)) {
      problems.push(`${where(field)} must be lower snake_case (a-z, 0-9, _), starting with a letter`);
    }
    if (seen.has(field.name)) problems.push(`${where(field)} is defined twice; field names must be unique`);
    if (PARTITION_COLUMN_NAMES.includes(field.name)) {
      problems.push(`${where(field)} has the name of a partition column of the lake's tables; rename the field`);
    }
    seen.add(field.name);
    if (field.categories !== undefined) {
      if (field.type !== 'string' || field.role !== 'feature') {
        problems.push(`${where(field)} has categories, which only a string feature can have`);
      } else if (field.categories.length === 0 || new Set(field.categories).size !== field.categories.length) {
        problems.push(`${where(field)} needs a non-empty list of distinct categories`);
      }
    } else if (field.role === 'feature' && field.type === 'string') {
      problems.push(
        `${where(field)} is a string feature without categories; list its known values so it can be encoded`,
      );
    }
    if (field.role === 'feature' && field.type === 'timestamp') {
      problems.push(`${where(field)} is a timestamp feature; derive a numeric feature from it instead`);
    }
    if (field.range !== undefined) {
      if (field.type !== 'double' && field.type !== 'int') {
        problems.push(`${where(field)} has a range, which only a numeric field can have`);
      } else if (!(field.range.min <= field.range.max)) {
        problems.push(`${where(field)} has range min ${field.range.min} above max ${field.range.max}`);
      }
    }
  }
  const labels = schema.fields.filter((f) => f.role === 'label');
  if (labels.length !== 1) {
    problems.push(`FeatureSchema '${schema.tableName}' needs exactly one label field, found ${labels.length}`);
  } else if (labels[0].type !== 'boolean' && labels[0].type !== 'int') {
    problems.push(`${where(labels[0])} is the label of a binary classifier and must be boolean or int`);
  }
  if (!schema.fields.some((f) => f.role === 'feature')) {
    problems.push(`FeatureSchema '${schema.tableName}' has no feature fields`);
  }
  if (!schema.fields.some((f) => f.role === 'id')) {
    problems.push(`FeatureSchema '${schema.tableName}' needs an id field: the train/validation split hashes it`);
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return schema;
}

/** The model's input fields, in the order of the CSV columns the model is trained on and invoked with. */
export function featureFields(schema: FeatureSchema): readonly FieldSpec[] {
  return schema.fields.filter((f) => f.role === 'feature');
}

/** The single label field. */
export function labelField(schema: FeatureSchema): FieldSpec {
  const label = schema.fields.find((f) => f.role === 'label');
  if (label === undefined) throw new Error(`FeatureSchema '${schema.tableName}' has no label field`);
  return label;
}

/** The record id that the deterministic train/validation split hashes: the first `id` field. */
export function recordIdField(schema: FeatureSchema): FieldSpec {
  const id = schema.fields.find((f) => f.role === 'id');
  if (id === undefined) throw new Error(`FeatureSchema '${schema.tableName}' has no id field`);
  return id;
}
