import { TRANSACTION_SCHEMA } from '../../lib/schema/feature-schema';
import { schemaFromJson, schemaToJson } from '../../lib/schema/schema-json';

describe('the feature schema as text', () => {
  test('keeps every field with its type, role, categories and range, without descriptions', () => {
    const back = schemaFromJson(schemaToJson(TRANSACTION_SCHEMA), 'TEST');
    expect(back.tableName).toBe(TRANSACTION_SCHEMA.tableName);
    expect(back.fields).toEqual(TRANSACTION_SCHEMA.fields.map((field) => ({ ...field, description: '' })));
  });

  test('is small enough for a Lambda environment', () => {
    expect(schemaToJson(TRANSACTION_SCHEMA).length).toBeLessThan(2048);
  });

  test('names the source when the text is not JSON', () => {
    expect(() => schemaFromJson('{', 'FEATURE_SCHEMA')).toThrow('FEATURE_SCHEMA is not JSON');
  });

  test('names the source when the text is not a schema', () => {
    expect(() => schemaFromJson('{"fields": 3}', 'FEATURE_SCHEMA')).toThrow(
      'FEATURE_SCHEMA must be a feature schema: an object with a tableName and a list of fields',
    );
  });

  test("reports the schema's own problem, such as a missing label", () => {
    const text = JSON.stringify({ tableName: 't', fields: [{ name: 'id', type: 'string', role: 'id' }] });
    expect(() => schemaFromJson(text, 'FEATURE_SCHEMA')).toThrow(
      "FEATURE_SCHEMA holds an invalid feature schema: FeatureSchema 't' needs exactly one label field",
    );
  });
});
