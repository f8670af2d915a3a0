/**
 * The training job's two channels for the model benchmark, from the producer's records: the label first, then the
 * features as the model reads them, split on each record id's CRC32 as the export splits (lib/schema/athena-queries.ts,
 * `splitExpression`: `crc32(to_utf8(id)) % 100`, Trino's CRC-32 being zlib's).
 */
import { crc32 } from 'node:zlib';
import { featureFields, labelField, recordIdField, type FeatureSchema } from '../../lib/schema/feature-schema';
import { checkRecord } from '../../lib/schema/record-validation';

export interface Channels {
  readonly train: readonly (readonly number[])[];
  readonly validation: readonly (readonly number[])[];
}

/** The side of the split a record id lands on, as the export's SQL decides it. */
export const splitOf = (id: string, validationPercent: number): 'train' | 'validation' =>
  crc32(Buffer.from(id, 'utf8')) % 100 < 100 - validationPercent ? 'train' : 'validation';

/**
 * Encodes each record with the encoding the API's records get before the model (categories by their position,
 * booleans as 0/1; lib/schema/record-validation.ts), which is the export's too (test/schema/feature-schema.test.ts).
 * @throws naming the record, if one does not pass the schema (the producer's always do)
 */
export function channelsOf(
  schema: FeatureSchema,
  records: Iterable<Readonly<Record<string, unknown>>>,
  validationPercent: number,
): Channels {
  const label = labelField(schema).name;
  const id = recordIdField(schema).name;
  const features = featureFields(schema).map((f) => f.name);
  const train: number[][] = [];
  const validation: number[][] = [];
  let index = 0;
  for (const record of records) {
    const checked = checkRecord(schema, Object.fromEntries([id, ...features].map((name) => [name, record[name]])));
    if (!checked.ok) throw new Error(`record ${index}: ${checked.problems.join('; ')}`);
    const row = [Number(Boolean(record[label])), ...checked.row];
    (splitOf(String(record[id]), validationPercent) === 'train' ? train : validation).push(row);
    index++;
  }
  return { train, validation };
}
