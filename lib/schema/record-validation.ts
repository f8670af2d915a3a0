/**
 * Checks a record of named features against the feature schema and encodes it as the model's CSV row, the same way
 * the training export encodes it in SQL (see `encodedExpression` in athena-queries.ts): categories by their position
 * in the schema's list, booleans as 0/1, numbers as they are.
 */
import { type FeatureSchema, type FieldSpec, featureFields, recordIdField } from './feature-schema';

export type RecordCheck =
  | {
      readonly ok: true;
      /** The model's CSV row. */
      readonly row: number[];
      /** The record id the client sent (not a model input; the inference log keeps it), or undefined. */
      readonly recordId: string | undefined;
    }
  | { readonly ok: false; readonly problems: string[] };

/**
 * Longest record id a client may send with a record. The producer's are UUIDs (36 characters); the bound keeps a
 * log row small.
 */
export const RECORD_ID_MAX_LENGTH = 128;

const typeName = (value: unknown) => (value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value);

/** The encoded value of one field, or a problem that names the field and says what is wrong. */
function encodeField(field: FieldSpec, value: unknown): number | string {
  const where = `'${field.name}'`;
  if (value === undefined) return `${where} is missing`;
  if (field.categories !== undefined) {
    if (typeof value !== 'string') return `${where} must be a string, got ${typeName(value)}`;
    const index = field.categories.indexOf(value);
    return index >= 0 ? index : `${where} must be one of ${field.categories.join(', ')}; got '${value.slice(0, 40)}'`;
  }
  if (field.type === 'boolean') {
    return typeof value === 'boolean' ? (value ? 1 : 0) : `${where} must be true or false, got ${typeName(value)}`;
  }
  if (typeof value !== 'number') return `${where} must be a number, got ${typeName(value)}`;
  if (!Number.isFinite(value)) return `${where} must be a finite number`;
  if (field.type === 'int' && !Number.isInteger(value)) return `${where} must be a whole number, got ${value}`;
  if (field.range !== undefined && (value < field.range.min || value > field.range.max)) {
    return `${where} must be between ${field.range.min} and ${field.range.max}, got ${value}`;
  }
  return value;
}

/** The optional record id, or a problem that names it and says what is wrong. */
function checkRecordId(name: string, value: unknown): { id: string | undefined } | string {
  if (value === undefined) return { id: undefined };
  if (typeof value !== 'string') return `'${name}' must be a string, got ${typeName(value)}`;
  if (value.length === 0 || value.length > RECORD_ID_MAX_LENGTH) {
    return `'${name}' must be 1 to ${RECORD_ID_MAX_LENGTH} characters, got ${value.length}`;
  }
  return { id: value };
}

/**
 * Validates one record: every feature present and well-typed, optionally the record id (the schema's first id
 * field, e.g. `transaction_id`, which the inference log keeps to join labels later), no other field.
 */
export function checkRecord(schema: FeatureSchema, record: unknown): RecordCheck {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    return { ok: false, problems: [`a record must be a JSON object of named features, got ${typeName(record)}`] };
  }
  const features = featureFields(schema);
  const idName = recordIdField(schema).name;
  const known = new Set([idName, ...features.map((f) => f.name)]);
  const problems = Object.keys(record)
    .filter((name) => !known.has(name))
    .map((name) => `'${name.slice(0, 40)}' is not a feature of the model`);
  const id = checkRecordId(idName, (record as Record<string, unknown>)[idName]);
  if (typeof id === 'string') problems.push(id);
  const row: number[] = [];
  for (const field of features) {
    const encoded = encodeField(field, (record as Record<string, unknown>)[field.name]);
    if (typeof encoded === 'string') problems.push(encoded);
    else row.push(encoded);
  }
  return problems.length > 0 || typeof id === 'string' ? { ok: false, problems } : { ok: true, row, recordId: id.id };
}

/** A JSON Schema (draft 4, as API Gateway models use) of one record, derived from the feature schema. */
export function recordJsonSchema(schema: FeatureSchema): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const field of featureFields(schema)) {
    if (field.categories !== undefined) properties[field.name] = { type: 'string', enum: [...field.categories] };
    else if (field.type === 'boolean') properties[field.name] = { type: 'boolean' };
    else {
      properties[field.name] = {
        type: field.type === 'int' ? 'integer' : 'number',
        ...(field.range !== undefined ? { minimum: field.range.min, maximum: field.range.max } : {}),
      };
    }
  }
  properties[recordIdField(schema).name] = { type: 'string', minLength: 1, maxLength: RECORD_ID_MAX_LENGTH };
  return {
    type: 'object',
    properties,
    required: featureFields(schema).map((f) => f.name),
    additionalProperties: false,
  };
}
