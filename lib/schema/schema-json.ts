/**
 * The feature schema as text, so a function deployed by the app checks records against the schema the app was
 * built with (the API's request model and the Glue table come from the same schema), not one bundled separately.
 * Descriptions are dropped: a Lambda's environment holds at most 4 KB in all.
 */
import { validateSchema, type FeatureSchema, type FieldSpec } from './feature-schema';

/** The schema without its descriptions, as compact JSON. */
export function schemaToJson(schema: FeatureSchema): string {
  return JSON.stringify({
    tableName: schema.tableName,
    fields: schema.fields.map(({ name, type, role, categories, range }) => ({ name, type, role, categories, range })),
  });
}

/**
 * The schema from {@link schemaToJson}'s text, validated.
 * @param source where the text came from, for the error message (e.g. "FEATURE_SCHEMA")
 * @throws Error naming the source and the problem
 */
export function schemaFromJson(text: string, source: string): FeatureSchema {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`${source} is not JSON; it must be the feature schema the app writes with schemaToJson`, {
      cause: error,
    });
  }
  const candidate = parsed as { tableName?: unknown; fields?: unknown };
  if (typeof candidate?.tableName !== 'string' || !Array.isArray(candidate.fields)) {
    throw new Error(`${source} must be a feature schema: an object with a tableName and a list of fields`);
  }
  const schema: FeatureSchema = {
    tableName: candidate.tableName,
    description: '',
    fields: (candidate.fields as FieldSpec[]).map((field) => ({ ...field, description: '' })),
  };
  try {
    return validateSchema(schema);
  } catch (error) {
    throw new Error(`${source} holds an invalid feature schema: ${(error as Error).message}`, { cause: error });
  }
}
