/** The lake's saved Athena queries as the stage runs them, with the training export's window from the stage config. */
import { STAGE_DEFAULTS } from '../../lib/config/stage-config';
import {
  labelBalanceQuery,
  latestPartitionQuery,
  nullCountsQuery,
  trainingExportQuery,
} from '../../lib/schema/athena-queries';
import { type FeatureSchema, TRANSACTION_SCHEMA } from '../../lib/schema/feature-schema';

export interface SavedQuery {
  readonly name: string;
  readonly sql: string;
}

const DATABASE = 'bench';

/** Every saved query, with the sandbox's training settings (`training.exportWindowDays`, `validationPercent`). */
export function savedQueries(
  schema: FeatureSchema = TRANSACTION_SCHEMA,
  training = STAGE_DEFAULTS.sandbox.training,
): SavedQuery[] {
  return [
    { name: 'latest partition', sql: latestPartitionQuery(schema, DATABASE) },
    { name: 'null counts', sql: nullCountsQuery(schema, DATABASE) },
    { name: 'label balance', sql: labelBalanceQuery(schema, DATABASE) },
    {
      name: `training export (${training.exportWindowDays} days)`,
      sql: trainingExportQuery(schema, {
        database: DATABASE,
        destination: 's3://bench/training-exports/',
        validationPercent: training.validationPercent,
        windowDays: training.exportWindowDays,
      }),
    },
  ];
}
