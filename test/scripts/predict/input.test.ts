import {
  EXAMPLE_TRANSACTION_FEATURES,
  featureFields,
  labelField,
  TRANSACTION_SCHEMA,
  type FeatureSchema,
} from '../../../lib/schema/feature-schema';
import { ToolError, UsageError } from '../../../scripts/lib/cli';
import { readRecords, recordsFromFile, toInputRecord } from '../../../scripts/predict/input';
import { event, useTempFiles } from './records';

const files = useTempFiles();

describe('reading records', () => {
  test('a full event keeps the model features and the record id, and sets its label aside', () => {
    const [record] = readRecords(TRANSACTION_SCHEMA, {
      kind: 'json',
      text: JSON.stringify(event(1, 80, true)),
      origin: '--record',
    });
    expect(Object.keys(record.features).sort()).toEqual(
      [...featureFields(TRANSACTION_SCHEMA).map((f) => f.name), 'transaction_id'].sort(),
    );
    expect(record.features).not.toHaveProperty('customer_id');
    expect(record.label).toBe(true);
  });

  test('the withheld fields follow the schema, so a new id column is stripped and an unknown key is kept', () => {
    const schema: FeatureSchema = {
      ...TRANSACTION_SCHEMA,
      fields: [...TRANSACTION_SCHEMA.fields, { name: 'merchant_id', type: 'string', role: 'id', description: 'x' }],
    };
    const fail = (message: string) => new Error(message);
    const record = toInputRecord(schema, { ...event(1, 10, false), merchant_id: 'm-1', amout: 3 }, 'test', fail);
    expect(record.features).not.toHaveProperty('merchant_id');
    expect(record.features).toHaveProperty('amout', 3);
    expect(toInputRecord(TRANSACTION_SCHEMA, { merchant_id: 'm-1' }, 'test', fail).features).toHaveProperty(
      'merchant_id',
    );
  });

  test('a label of 1 or 0 counts as fraud or not, and any other value is an error naming the record', () => {
    const fail = (message: string) => new UsageError(message);
    const label = labelField(TRANSACTION_SCHEMA).name;
    expect(toInputRecord(TRANSACTION_SCHEMA, { amount: 1, [label]: 1 }, 'x', fail).label).toBe(true);
    expect(toInputRecord(TRANSACTION_SCHEMA, { amount: 1, [label]: 0 }, 'x', fail).label).toBe(false);
    expect(toInputRecord(TRANSACTION_SCHEMA, { amount: 1 }, 'x', fail).label).toBeUndefined();
    expect(() => toInputRecord(TRANSACTION_SCHEMA, { [label]: 'yes' }, 'events.ndjson line 4', fail)).toThrow(
      `events.ndjson line 4: '${label}' is "yes"; the label must be true/false or 1/0`,
    );
  });

  test('a JSON file of {"records": [...]} and a pretty-printed single record are both read', () => {
    const batch = files.write('batch.json', JSON.stringify({ records: [event(1, 10, false), event(2, 20, true)] }));
    const single = files.write('single.json', JSON.stringify(EXAMPLE_TRANSACTION_FEATURES, null, 2));
    expect(recordsFromFile(TRANSACTION_SCHEMA, batch).map((r) => [r.features.amount, r.label, r.source])).toEqual([
      [10, false, `${batch} records[0]`],
      [20, true, `${batch} records[1]`],
    ]);
    expect(recordsFromFile(TRANSACTION_SCHEMA, single)).toEqual([
      { features: EXAMPLE_TRANSACTION_FEATURES, source: single },
    ]);
  });

  test('a malformed NDJSON line is an error naming the file and the line', () => {
    const path = files.write('broken.ndjson', `${JSON.stringify(event(1, 10, false))}\n{"amount": 12,\n`);
    expect(() => recordsFromFile(TRANSACTION_SCHEMA, path)).toThrow(ToolError);
    expect(() => recordsFromFile(TRANSACTION_SCHEMA, path)).toThrow(`${path} line 2 is not valid JSON`);
  });

  test('an NDJSON line that is not an object is an error naming its line, blank lines counted', () => {
    const path = files.write('array.ndjson', `${JSON.stringify(event(1, 10, false))}\n\n[1, 2]\n`);
    expect(() => recordsFromFile(TRANSACTION_SCHEMA, path)).toThrow(`${path} line 3 is array, not a record`);
  });

  test('a missing file is a ToolError that names the file', () => {
    const path = files.path('no-such.ndjson');
    expect(() => recordsFromFile(TRANSACTION_SCHEMA, path)).toThrow(
      new ToolError(`Cannot read --file ${path}: no such file. Pass the path of a JSON or NDJSON file of records.`),
    );
  });

  test('a --record that is not JSON is a usage error that says how to quote it', () => {
    expect(() => readRecords(TRANSACTION_SCHEMA, { kind: 'json', text: '{amount: 1}', origin: '--record' })).toThrow(
      UsageError,
    );
    expect(() => readRecords(TRANSACTION_SCHEMA, { kind: 'json', text: '{amount: 1}', origin: '--record' })).toThrow(
      /--record is not valid JSON .*Quote the record/,
    );
  });
});
