/**
 * The inference API's logic: check the request against the feature schema, send the records to the SageMaker
 * endpoint as CSV, and answer with a fraud probability and a decision per record. Every failure becomes a 4xx or a
 * mapped 5xx with a message that says what to do; nothing of the request's values is logged.
 */
import { InvokeEndpointCommand, type SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { DescribeEndpointCommand, type SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { Prediction } from '../../lib/contract/inference-api';
import type { FeatureSchema } from '../../lib/schema/feature-schema';
import type { ScoredRecord } from '../../lib/schema/inference-log';
import { checkRecord } from '../../lib/schema/record-validation';

export interface PredictSettings {
  readonly schema: FeatureSchema;
  readonly endpointName: string;
  /** Probability at or above which a record is classified as fraud. */
  readonly threshold: number;
  /** Most records in one request. */
  readonly maxBatchSize: number;
  /** Largest request body, in bytes. */
  readonly maxBodyBytes: number;
}

export interface ApiResponse {
  readonly statusCode: number;
  readonly headers: { readonly [name: string]: string };
  readonly body: string;
}

/** What happened, for logs and metrics: never the request's values. */
export interface Outcome {
  readonly statusCode: number;
  readonly records: number;
  readonly errorType?: string;
}

const UTF8_ENCODER = new TextEncoder();
const UTF8_DECODER = new TextDecoder();

const respond = (statusCode: number, body: unknown): ApiResponse => ({
  statusCode,
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  body: JSON.stringify(body),
});
const error = (statusCode: number, message: string, details?: string[]) =>
  respond(statusCode, details === undefined ? { message } : { message, details });

/** The records of a request body: one record object, or `{ "records": [ … ] }`. */
function recordsOf(body: unknown): unknown[] | string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return 'The body must be a JSON object: one record of named features, or {"records": [ … ]}';
  }
  if (!('records' in body)) return [body];
  const { records } = body as { records: unknown };
  if (!Array.isArray(records)) return "'records' must be an array of records";
  if (Object.keys(body).length > 1) return "A batch body has only the 'records' field";
  return records;
}

/** Parses XGBoost's CSV answer: one probability per record, separated by newlines or commas. */
export function parseProbabilities(text: string, expected: number): number[] | undefined {
  const values = text
    .split(/[\n,]/)
    .map((v) => v.trim())
    .filter((v) => v !== '')
    .map(Number);
  return values.length === expected && values.every((v) => Number.isFinite(v) && v >= 0 && v <= 1) ? values : undefined;
}

/** Maps a SageMaker runtime error to the status the client should see. */
export function mapInvokeError(err: unknown, endpointName: string): ApiResponse {
  const { name, message, $metadata } = err as {
    name?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
  };
  // Names first, status codes after: the runtime SDK gives ModelNotReadyException the status 429 too.
  // A missing endpoint is a ValidationError in the runtime API (ValidationException in the control-plane API).
  const validation = name === 'ValidationError' || name === 'ValidationException';
  if (validation && /endpoint .* not found/i.test(message ?? '')) {
    return error(
      503,
      `The model endpoint ${endpointName} is not deployed yet: run the training pipeline (npm run train).`,
    );
  }
  if (name === 'ModelNotReadyException' || name === 'ServiceUnavailable' || $metadata?.httpStatusCode === 503) {
    return error(503, 'The model endpoint is starting or busy; retry in a few seconds.');
  }
  if (name === 'ModelError' || $metadata?.httpStatusCode === 424) {
    return error(502, 'The model could not score these records (ModelError); check the endpoint logs.');
  }
  if (name === 'ThrottlingException' || $metadata?.httpStatusCode === 429) {
    return error(429, 'Too many requests to the model; retry with backoff.');
  }
  if (name === 'TimeoutError' || name === 'RequestTimeout' || /timed? ?out/i.test(message ?? '')) {
    return error(504, 'The model did not answer in time; retry, or send fewer records.');
  }
  return error(502, 'The model endpoint returned an unexpected error.');
}

export async function predict(
  runtime: SageMakerRuntimeClient,
  settings: PredictSettings,
  rawBody: string | null,
): Promise<{ response: ApiResponse; outcome: Outcome; scored?: readonly ScoredRecord[] }> {
  const done = (response: ApiResponse, records: number, errorType?: string) => ({
    response,
    outcome: { statusCode: response.statusCode, records, ...(errorType === undefined ? {} : { errorType }) },
  });
  if (rawBody === null || rawBody === '') return done(error(400, 'The request has no body; send JSON.'), 0, 'NoBody');
  if (Buffer.byteLength(rawBody) > settings.maxBodyBytes) {
    return done(
      error(413, `The body is larger than ${settings.maxBodyBytes} bytes; send fewer records.`),
      0,
      'BodyTooLarge',
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(rawBody);
  } catch {
    return done(error(400, 'The body is not valid JSON.'), 0, 'MalformedJson');
  }
  const records = recordsOf(body);
  if (typeof records === 'string') return done(error(400, records), 0, 'BadShape');
  if (records.length === 0) return done(error(400, "'records' is empty; send at least one record."), 0, 'BadShape');
  if (records.length > settings.maxBatchSize) {
    return done(
      error(413, `A batch holds at most ${settings.maxBatchSize} records; this one has ${records.length}.`),
      records.length,
      'BatchTooLarge',
    );
  }
  const rows: number[][] = [];
  const recordIds: (string | undefined)[] = [];
  const problems: string[] = [];
  records.forEach((record, index) => {
    const check = checkRecord(settings.schema, record);
    if (check.ok) {
      rows.push(check.row);
      recordIds.push(check.recordId);
    } else problems.push(...check.problems.map((p) => (records.length > 1 ? `record ${index}: ${p}` : p)));
  });
  if (problems.length > 0) {
    return done(
      error(400, 'The request does not match the model features.', problems.slice(0, 20)),
      records.length,
      'InvalidRecord',
    );
  }

  let answer: string;
  try {
    const result = await runtime.send(
      new InvokeEndpointCommand({
        EndpointName: settings.endpointName,
        ContentType: 'text/csv',
        Accept: 'text/csv',
        Body: UTF8_ENCODER.encode(rows.map((row) => row.join(',')).join('\n')),
      }),
    );
    answer = UTF8_DECODER.decode(result.Body);
  } catch (err) {
    const mapped = mapInvokeError(err, settings.endpointName);
    return done(mapped, records.length, (err as { name?: string }).name ?? 'Unknown');
  }
  const probabilities = parseProbabilities(answer, rows.length);
  if (probabilities === undefined) {
    return done(error(502, 'The model answered in an unexpected format.'), records.length, 'BadModelOutput');
  }
  const predictions: Prediction[] = probabilities.map((p) => ({
    fraudProbability: p,
    isFraud: p >= settings.threshold,
  }));
  // Every record passed checkRecord, so each is an object of exactly the schema's fields.
  const scored = probabilities.map((score, i) => ({
    record: records[i] as Record<string, unknown>,
    recordId: recordIds[i],
    score,
  }));
  return { ...done(respond(200, { predictions, threshold: settings.threshold }), records.length), scored };
}

/** GET /health: whether the endpoint exists and is InService. */
export async function health(sagemaker: SageMakerClient, endpointName: string): Promise<ApiResponse> {
  try {
    const endpoint = await sagemaker.send(new DescribeEndpointCommand({ EndpointName: endpointName }));
    const status = endpoint.EndpointStatus ?? 'Unknown';
    return respond(status === 'InService' ? 200 : 503, { endpointName, status });
  } catch (err) {
    const { name, message } = err as { name?: string; message?: string };
    if (name === 'ValidationException' && /could not find endpoint/i.test(message ?? '')) {
      return respond(503, {
        endpointName,
        status: 'NotDeployed',
        message: 'Run the training pipeline (npm run train) to deploy a model.',
      });
    }
    return respond(502, { endpointName, status: 'Unknown', message: 'Could not read the endpoint status.' });
  }
}
