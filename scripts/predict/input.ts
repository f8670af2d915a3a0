/**
 * The input of `npm run predict`: records from the command line or a file, split into what the API gets (the
 * features, and the record id, which the inference log keeps to join the label that arrives later) and what the
 * client keeps back (other ids, event time, label) to show beside each prediction.
 */
import { type FeatureSchema, labelField, recordIdField } from '../../lib/schema/feature-schema';
import { ToolError, UsageError } from '../lib/cli';
import { parseNdjson, readTextFile } from '../lib/ndjson';
import { errorMessage, isObject, typeName } from './json';

/** One record to score: what the API gets, and what the client keeps back to show beside the answer. */
export interface InputRecord {
  /**
   * Every field of the input except the schema's other id, event-time and label fields: the features and the record
   * id (unknown keys stay, so the API names a typo).
   */
  readonly features: Readonly<Record<string, unknown>>;
  /** The actual label when the input carries it: true for fraud. */
  readonly label?: boolean;
  /** Where the record came from, for messages: `--record`, `events.ndjson line 3`, `batch.json records[2]`. */
  readonly source: string;
}

/** Where the records come from; exactly one per run. */
export type InputSource =
  | { readonly kind: 'json'; readonly text: string; readonly origin: string }
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'example'; readonly features: Readonly<Record<string, unknown>> };

/** Splits one input object into the features to send and the label to keep, by the roles the schema gives its fields. */
export function toInputRecord(
  schema: FeatureSchema,
  value: unknown,
  source: string,
  fail: (message: string) => Error,
): InputRecord {
  if (!isObject(value)) {
    throw fail(`${source} is ${typeName(value)}, not a record: pass a JSON object of named features`);
  }
  // Derived from the schema rather than listed, so a new id or timestamp column is stripped without a code change.
  // The record id goes with the features: the API accepts it, and the inference log keeps it to join labels.
  const recordId = recordIdField(schema).name;
  const withheld = new Set(
    schema.fields.filter((field) => field.role !== 'feature' && field.name !== recordId).map((field) => field.name),
  );
  const features = Object.fromEntries(Object.entries(value).filter(([name]) => !withheld.has(name)));
  const label = labelField(schema);
  const actual = value[label.name];
  if (actual === undefined || actual === null) return { features, source };
  // The label column is boolean or 0/1 (validateSchema insists on a binary classifier).
  if (actual === true || actual === 1) return { features, label: true, source };
  if (actual === false || actual === 0) return { features, label: false, source };
  throw fail(`${source}: '${label.name}' is ${JSON.stringify(actual)}; the label must be true/false or 1/0`);
}

/** The records of one JSON value: a record, `{"records": [...]}`, or an array of records. */
function recordsOfValue(
  schema: FeatureSchema,
  value: unknown,
  origin: string,
  fail: (message: string) => Error,
): InputRecord[] {
  let items: unknown[];
  let where: (index: number) => string;
  if (Array.isArray(value)) {
    items = value;
    where = (index) => `${origin} [${index}]`;
  } else if (isObject(value) && 'records' in value) {
    if (!Array.isArray(value.records)) {
      throw fail(`${origin}: 'records' is ${typeName(value.records)}; it must be an array of record objects`);
    }
    items = value.records;
    where = (index) => `${origin} records[${index}]`;
  } else {
    items = [value];
    where = () => origin;
  }
  return items.map((item, index) => toInputRecord(schema, item, where(index), fail));
}

/** The line of a JSON.parse error's position, when V8 reports one. */
function lineOfError(text: string, error: unknown): string {
  const position = /position (\d+)/.exec(error instanceof Error ? error.message : '');
  return position === null ? '' : ` line ${text.slice(0, Number(position[1])).split('\n').length}`;
}

/**
 * Reads a file as NDJSON (one record per line, what `npm run ingest -- --dry-run` writes) when it has several lines
 * and its first line is JSON by itself; otherwise as one JSON document (a record, `{"records": [...]}` or an array).
 */
export function recordsFromFile(schema: FeatureSchema, path: string): InputRecord[] {
  const text = readTextFile(path, '--file', 'a JSON or NDJSON file of records');
  const fail = (message: string) => new ToolError(message);
  const filled = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  if (filled.length === 0) throw new ToolError(`--file ${path} is empty; it must hold at least one record.`);

  const firstLineIsJson = (() => {
    try {
      JSON.parse(filled[0]);
      return true;
    } catch {
      return false;
    }
  })();
  if (filled.length > 1 && firstLineIsJson) {
    return parseNdjson(path, text).map(({ value, number }) =>
      toInputRecord(schema, value, `${path} line ${number}`, fail),
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ToolError(
      `${path}${lineOfError(text, error)} is not valid JSON (${errorMessage(error)}). ` +
        'Pass one JSON record, {"records": [...]}, or NDJSON with one record per line.',
    );
  }
  const records = recordsOfValue(schema, value, path, fail);
  if (records.length === 0) throw new ToolError(`${path} holds no records; 'records' is empty.`);
  return records;
}

/** The records of the run's input source, with other ids, event times and labels set aside. */
export function readRecords(schema: FeatureSchema, source: InputSource): InputRecord[] {
  switch (source.kind) {
    case 'file':
      return recordsFromFile(schema, source.path);
    case 'example':
      return [toInputRecord(schema, source.features, '--example', (message) => new ToolError(message))];
    case 'json': {
      const fail = (message: string) => new UsageError(message);
      let value: unknown;
      try {
        value = JSON.parse(source.text);
      } catch (error) {
        throw fail(
          `${source.origin} is not valid JSON (${errorMessage(error)}). ` +
            `Quote the record for the shell: --record '{"amount": 42.5, ...}'`,
        );
      }
      const records = recordsOfValue(schema, value, source.origin, fail);
      if (records.length === 0) throw fail(`${source.origin} holds no records; 'records' is empty.`);
      return records;
    }
  }
}
