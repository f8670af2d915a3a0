import {
  EXAMPLE_TRANSACTION_FEATURES,
  TRANSACTION_SCHEMA,
  featureFields,
  labelField,
  recordIdField,
  validateSchema,
  type FeatureSchema,
  type FieldSpec,
} from '../../lib/schema/feature-schema';
import {
  encodedExpression,
  labelBalanceQuery,
  latestPartitionQuery,
  nullCountsQuery,
  scoringExportQuery,
  trainingExportQuery,
  exportSplitPrefix,
  partitionWindowPredicate,
} from '../../lib/schema/athena-queries';
import { checkRecord } from '../../lib/schema/record-validation';

const withFields = (fields: FieldSpec[]): FeatureSchema => ({ ...TRANSACTION_SCHEMA, fields });

describe('feature schema', () => {
  test('the running example is valid', () => {
    expect(validateSchema(TRANSACTION_SCHEMA)).toBe(TRANSACTION_SCHEMA);
  });

  test('orders the model features as the schema lists them and finds the label and record id', () => {
    expect(featureFields(TRANSACTION_SCHEMA).map((f) => f.name)).toEqual([
      'amount',
      'merchant_category',
      'channel',
      'card_present',
      'distance_from_home_km',
      'minutes_since_last_transaction',
      'transactions_last_24h',
      'hour_of_day',
    ]);
    expect(labelField(TRANSACTION_SCHEMA).name).toBe('is_fraud');
    expect(recordIdField(TRANSACTION_SCHEMA).name).toBe('transaction_id');
  });

  test('rejects a schema with two labels', () => {
    const fields = [
      ...TRANSACTION_SCHEMA.fields,
      { name: 'is_chargeback', type: 'boolean', role: 'label', description: '' } as const,
    ];
    expect(() => validateSchema(withFields(fields))).toThrow('needs exactly one label field, found 2');
  });

  test('rejects a string feature without categories, since the model cannot encode it', () => {
    const fields = [
      ...TRANSACTION_SCHEMA.fields,
      { name: 'city', type: 'string', role: 'feature', description: '' } as const,
    ];
    expect(() => validateSchema(withFields(fields))).toThrow(
      "field 'city' is a string feature without categories; list its known values so it can be encoded",
    );
  });

  test('rejects names that Hive would fold or Athena would need to quote', () => {
    const fields = [
      ...TRANSACTION_SCHEMA.fields,
      { name: 'CardType', type: 'double', role: 'feature', description: '' } as const,
    ];
    expect(() => validateSchema(withFields(fields))).toThrow("field 'CardType' must be lower snake_case");
  });

  test('rejects duplicate field names', () => {
    expect(() => validateSchema(withFields([...TRANSACTION_SCHEMA.fields, TRANSACTION_SCHEMA.fields[3]]))).toThrow(
      "field 'amount' is defined twice",
    );
  });

  test.each(['year', 'hour'])('rejects a field named %s, a partition column of the lake tables', (name) => {
    const fields = [...TRANSACTION_SCHEMA.fields, { name, type: 'int', role: 'feature', description: '' } as const];
    expect(() => validateSchema(withFields(fields))).toThrow(
      `field '${name}' has the name of a partition column of the lake's tables; rename the field`,
    );
  });
});

describe('Athena queries derived from the schema', () => {
  const database = 'lake';
  const exportSql = (options: { validationPercent?: number; windowDays?: number } = {}) =>
    trainingExportQuery(TRANSACTION_SCHEMA, {
      database,
      destination: 's3://curated/exports/run-1/',
      validationPercent: options.validationPercent ?? 20,
      windowDays: options.windowDays ?? 30,
    });

  test("the champion's scoring set is the export's validation split, as CSV with the same columns in the same order", () => {
    const scoring = scoringExportQuery(TRANSACTION_SCHEMA, {
      database,
      destination: 's3://curated/exports/run-1-scoring/',
      validationPercent: 20,
      windowDays: 30,
    });
    const training = exportSql();
    // The same encoded columns: the SELECT list of the Parquet export without its split column.
    const columns = (sql: string) => sql.split('\n').filter((line) => /^ {4}.* AS "[a-z_]+",?$/.test(line));
    expect(columns(scoring).map((c) => c.replace(/,$/, ''))).toEqual(
      columns(training)
        .map((c) => c.replace(/,$/, ''))
        .filter((c) => !c.endsWith('AS "split"')),
    );
    // The same records: the export's window and null filter, and the split expression's validation side.
    const where = (sql: string) => sql.slice(sql.indexOf('  WHERE'), sql.indexOf(')\nTO'));
    expect(where(scoring).startsWith(where(training))).toBe(true);
    expect(scoring).toContain("THEN 'train' ELSE 'validation' END = 'validation'");
    expect(scoring).toContain(
      "TO 's3://curated/exports/run-1-scoring/'\nWITH (format = 'TEXTFILE', field_delimiter = ',')",
    );
    expect(() =>
      scoringExportQuery(TRANSACTION_SCHEMA, {
        database,
        destination: 's3://x/no-slash',
        validationPercent: 20,
        windowDays: 1,
      }),
    ).toThrow(/must be an s3:\/\/ URI ending in '\/'/);
  });

  test('exports the label first, then every feature in model order, then the split', () => {
    const sql = exportSql();
    const order = ['is_fraud', ...featureFields(TRANSACTION_SCHEMA).map((f) => f.name), 'split'].map((name) =>
      sql.indexOf(`AS "${name}"`),
    );
    expect(order.every((position) => position > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(sql).not.toContain('AS "transaction_id"');
    expect(sql).not.toContain('AS "event_time"');
  });

  test('writes both splits as Parquet partitions of one UNLOAD', () => {
    const sql = exportSql();
    expect(sql).toMatch(/^-- .*\nUNLOAD \(/);
    expect(sql.match(/UNLOAD/g)).toHaveLength(1);
    expect(sql).toContain("TO 's3://curated/exports/run-1/'");
    expect(sql).toContain("WITH (format = 'PARQUET', compression = 'SNAPPY', partitioned_by = ARRAY['split'])");
    expect(exportSplitPrefix('train')).toBe('split=train/');
    expect(exportSplitPrefix('validation')).toBe('split=validation/');
  });

  test('splits deterministically by a hash of the record id', () => {
    expect(exportSql()).toContain(
      `CASE WHEN crc32(to_utf8("transaction_id")) % 100 < 80 THEN 'train' ELSE 'validation' END AS "split"`,
    );
    expect(exportSql({ validationPercent: 35 })).toContain('% 100 < 65 THEN');
  });

  test('reads only the partitions of the export window, by the partition columns alone', () => {
    const sql = exportSql({ windowDays: 7 });
    expect(sql).toContain(`WHERE "year" >= date_format(current_date - INTERVAL '6' DAY, '%Y')`);
    expect(sql).toContain(
      `AND concat("year", '-', "month", '-', "day") >= date_format(current_date - INTERVAL '6' DAY, '%Y-%m-%d')`,
    );
    expect(partitionWindowPredicate(1)).toContain("INTERVAL '0' DAY");
    expect(() => partitionWindowPredicate(0)).toThrow('days 0 must be a whole number of at least 1');
  });

  test('encodes booleans as 0/1 and categories as their position, -1 when unknown', () => {
    const [, merchant, , cardPresent] = featureFields(TRANSACTION_SCHEMA);
    expect(encodedExpression(cardPresent)).toBe('CAST("card_present" AS INTEGER)');
    expect(encodedExpression(merchant)).toBe(
      `CASE "merchant_category" WHEN 'grocery' THEN 0 WHEN 'restaurant' THEN 1 WHEN 'fuel' THEN 2 WHEN 'travel' THEN 3 ` +
        `WHEN 'electronics' THEN 4 WHEN 'online_services' THEN 5 WHEN 'gambling' THEN 6 WHEN 'other' THEN 7 ELSE -1 END`,
    );
    expect(encodedExpression(featureFields(TRANSACTION_SCHEMA)[0])).toBe('"amount"');
  });

  test('leaves out records with a null in any exported column', () => {
    const sql = exportSql();
    for (const name of ['is_fraud', ...featureFields(TRANSACTION_SCHEMA).map((f) => f.name)]) {
      expect(sql).toContain(`"${name}" IS NOT NULL`);
    }
  });

  test('rejects a destination that is not an S3 prefix and an impossible split', () => {
    expect(() =>
      trainingExportQuery(TRANSACTION_SCHEMA, {
        database,
        destination: 's3://b/x',
        validationPercent: 20,
        windowDays: 30,
      }),
    ).toThrow("destination 's3://b/x' must be an s3:// URI ending in '/'");
    expect(() =>
      trainingExportQuery(TRANSACTION_SCHEMA, {
        database,
        destination: 's3://b/x/',
        validationPercent: 100,
        windowDays: 30,
      }),
    ).toThrow('validationPercent 100 must be between 0 and 100');
  });

  test('reads only the newest partition through the $partitions table', () => {
    const sql = latestPartitionQuery(TRANSACTION_SCHEMA, database);
    expect(sql).toContain('FROM "lake"."transactions$partitions"');
    expect(sql).toContain('ORDER BY "year" DESC, "month" DESC, "day" DESC, "hour" DESC');
    expect(sql).toContain('JOIN latest USING ("year", "month", "day", "hour")');
  });

  test('counts nulls for every schema field and shows the label balance', () => {
    const nulls = nullCountsQuery(TRANSACTION_SCHEMA, database);
    for (const field of TRANSACTION_SCHEMA.fields) {
      expect(nulls).toContain(`count_if("${field.name}" IS NULL) AS "${field.name}_nulls"`);
    }
    expect(labelBalanceQuery(TRANSACTION_SCHEMA, database)).toContain('GROUP BY "is_fraud"');
    // A double literal keeps two decimals of a rare class's share; Trino's decimal 100.0 would keep one.
    expect(labelBalanceQuery(TRANSACTION_SCHEMA, database)).toContain('round(100.0E0 * count(*)');
  });

  test('quotes identifiers and literals so a name or category cannot break the SQL', () => {
    const field: FieldSpec = {
      name: 'tier',
      type: 'string',
      role: 'feature',
      description: '',
      categories: ["o'brien"],
    };
    expect(encodedExpression(field)).toBe(`CASE "tier" WHEN 'o''brien' THEN 0 ELSE -1 END`);
  });
});

describe('the example transaction', () => {
  test('is a valid request record for the running example, encoded in model order', () => {
    expect(checkRecord(TRANSACTION_SCHEMA, EXAMPLE_TRANSACTION_FEATURES)).toEqual({
      ok: true,
      row: [42.5, 3, 2, 0, 900, 3, 7, 3],
    });
  });
});
