import { featureFields, TRANSACTION_SCHEMA, type FeatureSchema } from '../../lib/schema/feature-schema';
import { inferenceLogColumns, inferenceLogRows, PREDICTIONS_TABLE } from '../../lib/schema/inference-log';
import { checkRecord } from '../../lib/schema/record-validation';

const withFields = (edit: (fields: FeatureSchema['fields']) => FeatureSchema['fields']): FeatureSchema => ({
  ...TRANSACTION_SCHEMA,
  fields: edit(TRANSACTION_SCHEMA.fields),
});

describe('the inference log columns', () => {
  test('are the request metadata, the record id, the features in model order with their types, then the answer', () => {
    const columns = inferenceLogColumns(TRANSACTION_SCHEMA);
    expect(columns.map((c) => c.name)).toEqual([
      'request_id',
      'record_index',
      'transaction_id',
      'predicted_at',
      'model_name',
      ...featureFields(TRANSACTION_SCHEMA).map((f) => f.name),
      'score',
      'decision',
      'decision_threshold',
    ]);
    for (const feature of featureFields(TRANSACTION_SCHEMA)) {
      expect(columns.find((c) => c.name === feature.name)?.type).toBe(feature.type);
    }
  });

  test('hold no label and no other id: nothing outside the features the client sent', () => {
    const names = inferenceLogColumns(TRANSACTION_SCHEMA).map((c) => c.name);
    expect(names).not.toContain('is_fraud');
    expect(names).not.toContain('customer_id');
    expect(names).not.toContain('event_time');
  });

  test.each([
    [
      'a feature named like a log column',
      withFields((fields) => fields.map((f) => (f.name === 'amount' ? { ...f, name: 'score' } : f))),
      "FeatureSchema 'transactions': score is a name of the inference log (lib/schema/inference-log.ts); rename the field",
    ],
    [
      'a record id that is not a string',
      withFields((fields) => fields.map((f) => (f.name === 'transaction_id' ? { ...f, type: 'int' as const } : f))),
      "the record id 'transaction_id' is int",
    ],
    [
      'a schema whose table is the log table',
      { ...TRANSACTION_SCHEMA, tableName: PREDICTIONS_TABLE },
      "tableName 'predictions' is the inference log's table",
    ],
  ])('refuse %s, with what to change', (_, schema, message) => {
    expect(() => inferenceLogColumns(schema)).toThrow(message);
  });
});

describe('the inference log rows', () => {
  test('carry the features as sent, the id when sent, and the decision against the threshold', () => {
    const record = {
      amount: 10,
      merchant_category: 'fuel',
      channel: 'chip',
      card_present: true,
      distance_from_home_km: 1,
      minutes_since_last_transaction: 60,
      transactions_last_24h: 2,
      hour_of_day: 9,
    };
    const check = checkRecord(TRANSACTION_SCHEMA, { ...record, transaction_id: 't-1' });
    expect(check).toMatchObject({ ok: true, recordId: 't-1' });
    const rows = inferenceLogRows(
      TRANSACTION_SCHEMA,
      { requestId: 'req', predictedAt: 1_764_000_000_000, modelName: null, threshold: 0.3 },
      [
        { record: { ...record, transaction_id: 't-1' }, recordId: 't-1', score: 0.3 },
        { record, recordId: undefined, score: 0.29 },
      ],
    );
    expect(rows).toEqual([
      {
        request_id: 'req',
        record_index: 0,
        transaction_id: 't-1',
        predicted_at: 1_764_000_000_000,
        model_name: null,
        ...record,
        score: 0.3,
        decision: true,
        decision_threshold: 0.3,
      },
      expect.objectContaining({ record_index: 1, transaction_id: null, score: 0.29, decision: false }),
    ]);
    for (const row of rows) {
      expect(Object.keys(row)).toEqual(inferenceLogColumns(TRANSACTION_SCHEMA).map((c) => c.name));
    }
  });
});
