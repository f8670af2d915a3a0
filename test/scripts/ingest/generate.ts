/** The producer's records for the ingest tests: fixed seed, start and fraud rate, 1 ms apart unless overridden. */
import type { FeatureSchema } from '../../../lib/schema/feature-schema';
import { generateRecords, type DriftScenario } from '../../../scripts/ingest/transactions';

export const OPTIONS = { seed: 42, fraudRate: 0.02, startTime: Date.UTC(2026, 10, 1), meanGapMs: 1 };

export const generate = (
  count: number,
  overrides: Partial<typeof OPTIONS> & { drift?: DriftScenario } = {},
  schema?: FeatureSchema,
) => [...generateRecords(count, { ...OPTIONS, ...overrides }, schema)];
