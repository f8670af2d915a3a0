/**
 * The inference log: one row per record the API scored, which the predict function sends to its own Firehose stream
 * and which lands as Parquet in the `predictions` table beside the raw events. The monitor reads it to measure drift
 * (the features as the model received them, against the training baseline) and realized quality (the score joined to
 * the label that arrives later in the events table, on the record id the client sent).
 *
 * A row holds the request's metadata, the features in the raw table's own types (category names, not their codes),
 * and the answer. Nothing a client sends outside the feature schema is kept: the predict function rejects it first.
 */
import { type FeatureSchema, type FieldType, featureFields, recordIdField } from './feature-schema';

/** Name of the Glue table of the inference log. */
export const PREDICTIONS_TABLE = 'predictions';

export interface LogColumn {
  readonly name: string;
  readonly type: FieldType;
  readonly description: string;
}

/** The columns around the features, by what they hold; the id column takes the schema's record id name. */
export const LOG_COLUMNS = {
  requestId: { name: 'request_id', type: 'string', description: "API Gateway's id of the request" },
  recordIndex: { name: 'record_index', type: 'int', description: 'Position of the record in its request, from 0' },
  predictedAt: { name: 'predicted_at', type: 'timestamp', description: 'When the function scored the record (UTC)' },
  modelName: {
    name: 'model_name',
    type: 'string',
    description: 'The SageMaker model (the training run) behind the endpoint when the function last described it',
  },
  score: { name: 'score', type: 'double', description: 'Probability of the positive class the model answered' },
  decision: { name: 'decision', type: 'boolean', description: 'Whether the score reached the decision threshold' },
  threshold: { name: 'decision_threshold', type: 'double', description: 'The threshold the decision used' },
} as const satisfies Record<string, LogColumn>;

/**
 * The inference log's columns, in table order: request metadata, the client's record id, the features in model
 * order, then the answer.
 * @throws Error when a feature or the record id has the name of a log column, the record id is not a string, or the
 *   schema's table is named like the log's
 */
export function inferenceLogColumns(schema: FeatureSchema): readonly LogColumn[] {
  const id = recordIdField(schema);
  const { requestId, recordIndex, predictedAt, modelName, score, decision, threshold } = LOG_COLUMNS;
  const columns: LogColumn[] = [
    requestId,
    recordIndex,
    { name: id.name, type: 'string', description: `${id.description}, when the client sent it (else null)` },
    predictedAt,
    modelName,
    ...featureFields(schema).map(({ name, type, description }) => ({ name, type, description })),
    score,
    decision,
    threshold,
  ];
  const reserved = new Set<string>(Object.values(LOG_COLUMNS).map((c) => c.name));
  const clashes = [id, ...featureFields(schema)].filter((f) => reserved.has(f.name)).map((f) => f.name);
  if (schema.tableName === PREDICTIONS_TABLE) {
    throw new Error(`FeatureSchema: tableName '${PREDICTIONS_TABLE}' is the inference log's table; pick another name`);
  }
  if (id.type !== 'string') {
    throw new Error(
      `FeatureSchema '${schema.tableName}': the record id '${id.name}' is ${id.type}; clients send it as text with a ` +
        'record and the inference log keeps it to join labels, so make it a string',
    );
  }
  if (clashes.length > 0) {
    throw new Error(
      `FeatureSchema '${schema.tableName}': ${clashes.join(', ')} ${clashes.length > 1 ? 'are names' : 'is a name'} ` +
        `of the inference log (lib/schema/inference-log.ts); rename the field`,
    );
  }
  return columns;
}

/** One scored record, as the predict function knows it. */
export interface ScoredRecord {
  /** The record the client sent, already checked against the feature schema. */
  readonly record: Readonly<Record<string, unknown>>;
  /** The client's record id, or undefined when it sent none. */
  readonly recordId: string | undefined;
  readonly score: number;
}

export interface LogContext {
  readonly requestId: string;
  /** Epoch milliseconds, the wire format of the table's timestamps (TIMESTAMP_WIRE_FORMAT). */
  readonly predictedAt: number;
  /** The model behind the endpoint, or null when the function could not tell. */
  readonly modelName: string | null;
  readonly threshold: number;
}

/**
 * The log rows of one request, as the JSON objects Firehose converts through the table's schema: exactly the
 * inference log's columns, in the raw table's types.
 */
export function inferenceLogRows(
  schema: FeatureSchema,
  context: LogContext,
  scored: readonly ScoredRecord[],
): Record<string, unknown>[] {
  const id = recordIdField(schema).name;
  const features = featureFields(schema).map((f) => f.name);
  const c = LOG_COLUMNS;
  return scored.map(({ record, recordId, score }, index) => {
    const row: Record<string, unknown> = {
      [c.requestId.name]: context.requestId,
      [c.recordIndex.name]: index,
      [id]: recordId ?? null,
      [c.predictedAt.name]: context.predictedAt,
      [c.modelName.name]: context.modelName,
    };
    for (const name of features) row[name] = record[name];
    row[c.score.name] = score;
    row[c.decision.name] = score >= context.threshold;
    row[c.threshold.name] = context.threshold;
    return row;
  });
}
