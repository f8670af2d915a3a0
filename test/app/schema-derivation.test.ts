import { TRANSACTION_SCHEMA, type FeatureSchema } from '../../lib/schema/feature-schema';
import { synthPipeline, templateText } from '../helpers';

/**
 * The schema is the single source of truth: changing it must change the Glue table (and with it Firehose's Parquet
 * conversion) and the saved Athena queries, with no other edit.
 */
describe('one feature schema drives the catalog and the queries', () => {
  const changed: FeatureSchema = {
    ...TRANSACTION_SCHEMA,
    fields: [
      ...TRANSACTION_SCHEMA.fields.filter((f) => f.name !== 'hour_of_day' && f.role !== 'label'),
      { name: 'merchant_risk_score', type: 'double', role: 'feature', description: 'Risk score of the merchant' },
      { name: 'is_chargeback', type: 'int', role: 'label', description: 'Charged back by the card holder' },
    ],
  };
  const { dataLake } = synthPipeline({ schema: changed });
  const columns = Object.values(dataLake.findResources('AWS::Glue::Table'))[0].Properties.TableInput.StorageDescriptor
    .Columns as { Name: string; Type: string }[];
  const queries = Object.fromEntries(
    Object.values(dataLake.findResources('AWS::Athena::NamedQuery')).map((q) => [
      (q.Properties.Name as string).replace('mlpipe-sandbox-analytics-', ''),
      templateText(q.Properties.QueryString),
    ]),
  );

  test('the Glue table gains the new columns and loses the removed one', () => {
    expect(columns).toContainEqual(expect.objectContaining({ Name: 'merchant_risk_score', Type: 'double' }));
    expect(columns).toContainEqual(expect.objectContaining({ Name: 'is_chargeback', Type: 'int' }));
    expect(columns.map((c) => c.Name)).not.toContain('hour_of_day');
    expect(columns.map((c) => c.Name)).not.toContain('is_fraud');
  });

  test('the export queries put the new label first and the new feature last', () => {
    for (const name of ['ExportTrainingData']) {
      const sql = queries[name];
      expect(sql.indexOf('AS "is_chargeback"')).toBeGreaterThan(0);
      expect(sql.indexOf('AS "is_chargeback"')).toBeLessThan(sql.indexOf('AS "amount"'));
      expect(sql.indexOf('AS "merchant_risk_score"')).toBeGreaterThan(sql.indexOf('AS "transactions_last_24h"'));
      expect(sql).not.toContain('hour_of_day');
    }
  });

  test('the data-quality queries follow the new fields and label', () => {
    expect(queries.NullCounts).toContain('"merchant_risk_score_nulls"');
    expect(queries.NullCounts).not.toContain('hour_of_day');
    expect(queries.LabelBalance).toContain('GROUP BY "is_chargeback"');
  });

  test('an invalid schema fails synthesis with the field named', () => {
    const broken: FeatureSchema = {
      ...TRANSACTION_SCHEMA,
      fields: TRANSACTION_SCHEMA.fields.filter((f) => f.role !== 'label'),
    };
    expect(() => synthPipeline({ schema: broken })).toThrow(
      "FeatureSchema 'transactions' needs exactly one label field, found 0",
    );
  });
});
