/**
 * Scoring records with the inference API: in batches the API accepts, one request at a time so the output keeps the
 * input order, each answer checked against what was sent; and the health check.
 */
import type { Prediction } from '../../lib/contract/inference-api';
import { ToolError } from '../lib/cli';
import { type ApiAnswer, type ApiTarget, callApi } from './http';
import type { InputRecord } from './input';
import { isObject } from './json';

export interface ScoredRecord {
  /** Position in the input, from 0. */
  readonly index: number;
  readonly record: InputRecord;
  readonly prediction: Prediction;
}

/** A request that did not succeed, with what is needed to explain it. */
export interface ApiFailure {
  readonly answer: ApiAnswer;
  /** The records the request carried, or none for `/health`. */
  readonly records: readonly { readonly index: number; readonly record: InputRecord }[];
  readonly total: number;
}

export interface BatchResult {
  readonly answer: ApiAnswer;
  readonly scored: readonly ScoredRecord[];
  readonly threshold: number;
}

export interface PredictRun {
  /** The records of the batches that succeeded, in input order. */
  readonly scored: readonly ScoredRecord[];
  readonly threshold?: number;
  /** The first request that failed; the batches after it are not sent. */
  readonly failure?: ApiFailure;
}

/** Consecutive slices of at most `size` items, in order. */
function inBatches<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1)
    throw new Error(`inBatches: size must be a whole number above 0, got ${size}`);
  const batches: T[][] = [];
  for (let start = 0; start < items.length; start += size) batches.push(items.slice(start, start + size));
  return batches;
}

const isPrediction = (value: unknown): value is Prediction =>
  isObject(value) && typeof value.fraudProbability === 'number' && typeof value.isFraud === 'boolean';

/** The predictions of a 2xx answer, checked against the number of records sent. */
function predictionsOf(
  answer: ApiAnswer,
  expected: number,
  url: URL,
): { predictions: Prediction[]; threshold: number } {
  const body = answer.json;
  if (
    isObject(body) &&
    Array.isArray(body.predictions) &&
    body.predictions.length === expected &&
    body.predictions.every(isPrediction) &&
    typeof body.threshold === 'number'
  ) {
    return { predictions: body.predictions, threshold: body.threshold };
  }
  throw new ToolError(
    `${url.href} answered ${answer.status} but not with ${expected} prediction(s): ${answer.text.slice(0, 200)}. ` +
      'Is --url the inference API (the ApiUrl output of the Serving stack)?',
  );
}

/**
 * Scores the records in batches of at most `maxBatchSize` (the API's limit), one request at a time so the output
 * keeps the input order. Stops at the first failed request: later batches would most likely fail the same way.
 * @param onBatch called after each successful batch, so a long file prints as it goes
 */
export async function predictRecords(
  target: ApiTarget,
  records: readonly InputRecord[],
  maxBatchSize: number,
  onBatch: (result: BatchResult) => void = () => undefined,
): Promise<PredictRun> {
  const scored: ScoredRecord[] = [];
  let threshold: number | undefined;
  const indexed = records.map((record, index) => ({ index, record }));
  for (const batch of inBatches(indexed, maxBatchSize)) {
    // A single record goes as itself, the shape the README's curl example uses; several as {"records": [...]}.
    const body = batch.length === 1 ? batch[0].record.features : { records: batch.map((r) => r.record.features) };
    const answer = await callApi(target, 'POST', 'predict', body);
    if (answer.status < 200 || answer.status > 299) {
      return { scored, threshold, failure: { answer, records: batch, total: records.length } };
    }
    const result = predictionsOf(answer, batch.length, new URL('predict', target.baseUrl));
    const batchScored = batch.map(({ index, record }, i) => ({ index, record, prediction: result.predictions[i] }));
    scored.push(...batchScored);
    threshold = result.threshold;
    onBatch({ answer, scored: batchScored, threshold: result.threshold });
  }
  return { scored, threshold };
}

/** GET /health: whether the API and the endpoint behind it are up. */
export async function checkHealth(
  target: ApiTarget,
): Promise<{ readonly answer: ApiAnswer; readonly failure?: ApiFailure }> {
  const answer = await callApi(target, 'GET', 'health');
  return answer.status >= 200 && answer.status <= 299
    ? { answer }
    : { answer, failure: { answer, records: [], total: 0 } };
}
