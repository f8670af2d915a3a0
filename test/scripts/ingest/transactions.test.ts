import { type FeatureSchema, featureFields, TRANSACTION_SCHEMA } from '../../../lib/schema/feature-schema';
import { checkRecord } from '../../../lib/schema/record-validation';
import type { GeneratedRecord } from '../../../scripts/ingest/transactions';
import { generate } from './generate';

/** Area under the ROC curve of a score, by the rank-sum formula (ties count half). */
function auc(records: readonly GeneratedRecord[], score: (record: GeneratedRecord) => number): number {
  const positives = records.filter((r) => r.is_fraud).map(score);
  const negatives = records.filter((r) => !r.is_fraud).map(score);
  let wins = 0;
  for (const p of positives) for (const n of negatives) wins += p > n ? 1 : p === n ? 0.5 : 0;
  return wins / (positives.length * negatives.length);
}

describe('the synthetic transactions', () => {
  const records = generate(20_000);

  test('are the same for the same seed and differ for another', () => {
    expect(generate(50)).toEqual(records.slice(0, 50));
    expect(generate(50, { seed: 43 })).not.toEqual(records.slice(0, 50));
  });

  test('have every field of the feature schema, in schema order, with its type', () => {
    const names = TRANSACTION_SCHEMA.fields.map((f) => f.name);
    for (const record of records.slice(0, 200)) {
      expect(Object.keys(record)).toEqual(names);
      expect(typeof record.transaction_id).toBe('string');
      expect(Number.isInteger(record.event_time)).toBe(true);
      expect(typeof record.is_fraud).toBe('boolean');
    }
    expect(new Set(records.map((r) => r.transaction_id)).size).toBe(records.length);
  });

  test("pass the inference API's validation of every feature (types, ranges and categories)", () => {
    const featureNames = featureFields(TRANSACTION_SCHEMA).map((f) => f.name);
    const failures = records
      .map((record) => checkRecord(TRANSACTION_SCHEMA, Object.fromEntries(featureNames.map((n) => [n, record[n]]))))
      .filter((check) => !check.ok);
    expect(failures).toEqual([]);
  });

  test('have the requested class imbalance', () => {
    const share = records.filter((r) => r.is_fraud).length / records.length;
    expect(share).toBeGreaterThan(0.016);
    expect(share).toBeLessThan(0.024);
    const heavier = generate(5_000, { fraudRate: 0.2 }).filter((r) => r.is_fraud).length / 5_000;
    expect(heavier).toBeGreaterThan(0.18);
    expect(heavier).toBeLessThan(0.22);
  });

  test('carry a fraud signal a model can learn, without separating the classes perfectly', () => {
    const sample = records.slice(0, 6_000);
    const naive = (r: GeneratedRecord) =>
      Number(r.channel === 'online' || r.channel === 'phone') +
      Number((r.distance_from_home_km as number) > 100) +
      Number((r.minutes_since_last_transaction as number) < 60) +
      Number((r.transactions_last_24h as number) >= 5) +
      Number(['electronics', 'online_services', 'gambling', 'travel'].includes(r.merchant_category as string));
    const combined = auc(sample, naive);
    expect(combined).toBeGreaterThan(0.85);
    expect(combined).toBeLessThan(0.95);
    // No single feature gives the answer away.
    expect(auc(sample, (r) => r.amount as number)).toBeLessThan(0.85);
    expect(auc(sample, (r) => r.distance_from_home_km as number)).toBeLessThan(0.85);
  });

  test('follow a changed schema: new fields get values from their type, range and categories', () => {
    const schema: FeatureSchema = {
      ...TRANSACTION_SCHEMA,
      fields: [
        ...TRANSACTION_SCHEMA.fields.filter((f) => f.role !== 'label'),
        { name: 'device_score', type: 'int', role: 'feature', description: 'd', range: { min: 3, max: 7 } },
        { name: 'wallet', type: 'string', role: 'feature', description: 'w', categories: ['apple', 'google'] },
        { name: 'label', type: 'int', role: 'label', description: 'l' },
      ],
    };
    for (const record of generate(300, { fraudRate: 0.3 }, schema)) {
      expect(record.device_score).toBeGreaterThanOrEqual(3);
      expect(record.device_score).toBeLessThanOrEqual(7);
      expect(Number.isInteger(record.device_score)).toBe(true);
      expect(['apple', 'google']).toContain(record.wallet);
      expect([0, 1]).toContain(record.label);
    }
  });

  test('reject a schema whose categories the example behaviour cannot produce, naming the field', () => {
    const schema: FeatureSchema = {
      ...TRANSACTION_SCHEMA,
      fields: TRANSACTION_SCHEMA.fields.map((f) => (f.name === 'channel' ? { ...f, categories: ['atm'] } : f)),
    };
    expect(() => generate(20, {}, schema)).toThrow(/field 'channel' drew '\w+', which is not in the feature schema/);
  });
});

describe('the drift scenarios', () => {
  const count = 10_000;
  const base = generate(count);
  const legitimate = (records: readonly GeneratedRecord[]) => records.filter((r) => !r.is_fraud);
  const share = (records: readonly GeneratedRecord[], test: (r: GeneratedRecord) => boolean) =>
    records.filter(test).length / records.length;
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

  test('larger-amounts triples the legitimate amounts and changes nothing else of any record', () => {
    const drifted = generate(count, { drift: 'larger-amounts' });
    const amounts = (records: readonly GeneratedRecord[]) => legitimate(records).map((r) => Number(r.amount));
    expect(median(amounts(drifted)) / median(amounts(base))).toBeGreaterThan(2.8);
    expect(median(amounts(drifted)) / median(amounts(base))).toBeLessThan(3.2);
    const withoutAmount = (record: GeneratedRecord) => ({ ...record, amount: 'drifted' });
    expect(drifted.map(withoutAmount)).toEqual(base.map(withoutAmount));
  });

  test('online-at-night moves legitimate spending online and into the night', () => {
    const drifted = legitimate(generate(count, { drift: 'online-at-night' }));
    const online = (r: GeneratedRecord) => r.channel === 'online';
    const night = (r: GeneratedRecord) => Number(r.hour_of_day) < 6;
    expect(share(legitimate(base), online)).toBeLessThan(0.25);
    expect(share(drifted, online)).toBeGreaterThan(0.5);
    expect(share(drifted, night)).toBeGreaterThan(share(legitimate(base), night) + 0.25);
    // card_present follows the channel, so it drifts with it.
    expect(share(drifted, (r) => r.card_present === true)).toBeLessThan(0.45);
  });

  test('merchant-mix moves legitimate spending from grocery to electronics and online services', () => {
    const drifted = legitimate(generate(count, { drift: 'merchant-mix' }));
    const grocery = (r: GeneratedRecord) => r.merchant_category === 'grocery';
    const digital = (r: GeneratedRecord) => ['electronics', 'online_services'].includes(String(r.merchant_category));
    expect(share(drifted, grocery)).toBeLessThan(share(legitimate(base), grocery) / 2);
    expect(share(drifted, digital)).toBeGreaterThan(share(legitimate(base), digital) + 0.25);
  });

  test.each(['larger-amounts', 'online-at-night', 'merchant-mix'] as const)(
    "%s keeps the labels' odds and every value inside the feature schema",
    (drift) => {
      const drifted = generate(count, { drift });
      expect(share(drifted, (r) => r.is_fraud === true)).toBeCloseTo(
        share(base, (r) => r.is_fraud === true),
        2,
      );
      const features = featureFields(TRANSACTION_SCHEMA).map((f) => f.name);
      for (const record of drifted.slice(0, 2_000)) {
        const check = checkRecord(TRANSACTION_SCHEMA, Object.fromEntries(features.map((f) => [f, record[f]])));
        expect(check.ok).toBe(true);
      }
    },
  );
});
