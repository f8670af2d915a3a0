/**
 * The client side of the inference API, as `npm run predict` uses it: read records from the command line or a file,
 * keep back what the model must not see (record id, event time, label), send the features in batches the API
 * accepts, and print each prediction next to the actual label when the input has one, so a learner sees how the
 * model does on data it was (or was not) trained on.
 *
 * Everything here takes its clients, URL and key as arguments; `scripts/predict.ts` only wires them up.
 */
import { GetApiKeyCommand, type APIGatewayClient } from '@aws-sdk/client-api-gateway';
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Prediction } from '../../lib/contract/inference-api';
import { type FeatureSchema, labelField } from '../../lib/schema/feature-schema';
import { STACK_OUTPUTS } from '../../lib/contract/stacks';
import { ToolError, UsageError } from './cli';
import { parseNdjson, readTextFile } from './ndjson';
import { readStackOutputs } from './stage';

// ---------------------------------------------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------------------------------------------

/** One record to score: the features the API gets, and what the client keeps back to show beside the answer. */
export interface InputRecord {
  /** Every field of the input except the schema's id, event-time and label fields (unknown keys stay, so the API names a typo). */
  readonly features: Readonly<Record<string, unknown>>;
  /** The actual label when the input carries it: true for fraud. */
  readonly label?: boolean;
  /** Where the record came from, for messages: `--record`, `events.ndjson line 3`, `batch.json records[2]`. */
  readonly source: string;
}

/** Where the records come from; exactly one per run. */
export type InputSource =
  | { readonly kind: 'json'; readonly text: string; readonly origin: string }
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'example'; readonly features: Readonly<Record<string, unknown>> };

const typeName = (value: unknown) => (value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value);
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Splits one input object into the features to send and the label to keep, by the roles the schema gives its fields. */
export function toInputRecord(
  schema: FeatureSchema,
  value: unknown,
  source: string,
  fail: (message: string) => Error,
): InputRecord {
  if (!isObject(value)) {
    throw fail(`${source} is ${typeName(value)}, not a record: pass a JSON object of named features`);
  }
  // Derived from the schema rather than listed, so a new id or timestamp column is stripped without a code change.
  const withheld = new Set(schema.fields.filter((field) => field.role !== 'feature').map((field) => field.name));
  const features = Object.fromEntries(Object.entries(value).filter(([name]) => !withheld.has(name)));
  const label = labelField(schema);
  const actual = value[label.name];
  if (actual === undefined || actual === null) return { features, source };
  // The label column is boolean or 0/1 (validateSchema insists on a binary classifier).
  if (actual === true || actual === 1) return { features, label: true, source };
  if (actual === false || actual === 0) return { features, label: false, source };
  throw fail(`${source}: '${label.name}' is ${JSON.stringify(actual)}; the label must be true/false or 1/0`);
}

/** The records of one JSON value: a record, `{"records": [...]}`, or an array of records. */
function recordsOfValue(
  schema: FeatureSchema,
  value: unknown,
  origin: string,
  fail: (message: string) => Error,
): InputRecord[] {
  let items: unknown[];
  let where: (index: number) => string;
  if (Array.isArray(value)) {
    items = value;
    where = (index) => `${origin} [${index}]`;
  } else if (isObject(value) && 'records' in value) {
    if (!Array.isArray(value.records)) {
      throw fail(`${origin}: 'records' is ${typeName(value.records)}; it must be an array of record objects`);
    }
    items = value.records;
    where = (index) => `${origin} records[${index}]`;
  } else {
    items = [value];
    where = () => origin;
  }
  return items.map((item, index) => toInputRecord(schema, item, where(index), fail));
}

/** The line of a JSON.parse error's position, when V8 reports one. */
function lineOfError(text: string, error: unknown): string {
  const position = /position (\d+)/.exec(error instanceof Error ? error.message : '');
  return position === null ? '' : ` line ${text.slice(0, Number(position[1])).split('\n').length}`;
}

const parseMessage = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Reads a file as NDJSON (one record per line, what `npm run ingest -- --dry-run` writes) when it has several lines
 * and its first line is JSON by itself; otherwise as one JSON document (a record, `{"records": [...]}` or an array).
 */
export function recordsFromFile(schema: FeatureSchema, path: string): InputRecord[] {
  const text = readTextFile(path, '--file', 'a JSON or NDJSON file of records');
  const fail = (message: string) => new ToolError(message);
  const filled = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  if (filled.length === 0) throw new ToolError(`--file ${path} is empty; it must hold at least one record.`);

  const firstLineIsJson = (() => {
    try {
      JSON.parse(filled[0]);
      return true;
    } catch {
      return false;
    }
  })();
  if (filled.length > 1 && firstLineIsJson) {
    return parseNdjson(path, text).map(({ value, number }) =>
      toInputRecord(schema, value, `${path} line ${number}`, fail),
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ToolError(
      `${path}${lineOfError(text, error)} is not valid JSON (${parseMessage(error)}). ` +
        'Pass one JSON record, {"records": [...]}, or NDJSON with one record per line.',
    );
  }
  const records = recordsOfValue(schema, value, path, fail);
  if (records.length === 0) throw new ToolError(`${path} holds no records; 'records' is empty.`);
  return records;
}

/** The records of the run's input source, with ids, event times and labels set aside. */
export function readRecords(schema: FeatureSchema, source: InputSource): InputRecord[] {
  switch (source.kind) {
    case 'file':
      return recordsFromFile(schema, source.path);
    case 'example':
      return [toInputRecord(schema, source.features, '--example', (message) => new ToolError(message))];
    case 'json': {
      const fail = (message: string) => new UsageError(message);
      let value: unknown;
      try {
        value = JSON.parse(source.text);
      } catch (error) {
        throw fail(
          `${source.origin} is not valid JSON (${parseMessage(error)}). ` +
            `Quote the record for the shell: --record '{"amount": 42.5, ...}'`,
        );
      }
      const records = recordsOfValue(schema, value, source.origin, fail);
      if (records.length === 0) throw fail(`${source.origin} holds no records; 'records' is empty.`);
      return records;
    }
  }
}

/** Consecutive slices of at most `size` items, in order. */
function inBatches<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1)
    throw new Error(`inBatches: size must be a whole number above 0, got ${size}`);
  const batches: T[][] = [];
  for (let start = 0; start < items.length; start += size) batches.push(items.slice(start, start + size));
  return batches;
}

// ---------------------------------------------------------------------------------------------------------------
// Where the API is
// ---------------------------------------------------------------------------------------------------------------

/** The API's base URL, checked and ending in a slash so `predict` and `health` resolve below the stage. */
function apiBaseUrl(value: string, origin: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(
      `${origin} ${JSON.stringify(value)} is not a URL; pass the ApiUrl output, e.g. https://<id>.execute-api.<region>.amazonaws.com/v1/`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UsageError(`${origin} ${JSON.stringify(value)} must be an http(s) URL`);
  }
  if (!url.pathname.endsWith('/')) url.pathname = `${url.pathname}/`;
  url.search = '';
  url.hash = '';
  return url;
}

export interface ApiLocation {
  readonly baseUrl: URL;
  readonly apiKey: string;
}

/**
 * The API's URL and key: from `--url` / `--api-key` when given, otherwise from the Serving stack's outputs and
 * API Gateway (the key's value is never an output, only its id). Makes no AWS call when both are given.
 */
export async function resolveApiLocation(
  clients: { readonly cloudFormation: CloudFormationClient; readonly apiGateway: APIGatewayClient },
  servingStackName: string,
  overrides: { readonly url?: string; readonly apiKey?: string },
): Promise<ApiLocation> {
  const keys = [
    ...(overrides.url === undefined ? [STACK_OUTPUTS.apiUrl] : []),
    ...(overrides.apiKey === undefined ? [STACK_OUTPUTS.apiKeyId] : []),
  ];
  const outputs: Partial<Record<string, string>> =
    keys.length === 0 ? {} : await readStackOutputs(clients.cloudFormation, servingStackName, keys);
  const baseUrl =
    overrides.url === undefined
      ? apiBaseUrl(outputs[STACK_OUTPUTS.apiUrl] ?? '', `Output ${STACK_OUTPUTS.apiUrl} of ${servingStackName}`)
      : apiBaseUrl(overrides.url, '--url');
  if (overrides.apiKey !== undefined) return { baseUrl, apiKey: overrides.apiKey };

  const keyId = outputs[STACK_OUTPUTS.apiKeyId] ?? '';
  let value: string | undefined;
  try {
    ({ value } = await clients.apiGateway.send(new GetApiKeyCommand({ apiKey: keyId, includeValue: true })));
  } catch (error) {
    const { name, message } = error as { name?: string; message?: string };
    if (name === 'NotFoundException') {
      throw new ToolError(
        `API key ${keyId} (output ${STACK_OUTPUTS.apiKeyId} of ${servingStackName}) no longer exists. ` +
          'Redeploy the Serving stack: npx cdk deploy --all',
      );
    }
    if (name === 'AccessDeniedException' || name === 'UnauthorizedException') {
      throw new ToolError(
        `Not allowed to read the value of API key ${keyId} (${message ?? name}). ` +
          `Use credentials with apigateway:GET on /apikeys/${keyId}, or pass the key with --api-key.`,
      );
    }
    throw error;
  }
  if (value === undefined || value === '') {
    throw new ToolError(`API Gateway returned no value for API key ${keyId}; pass the key with --api-key.`);
  }
  return { baseUrl, apiKey: value };
}

/** The region in an execute-api host name (`<id>.execute-api.<region>.amazonaws.com`), or undefined for other hosts. */
export function regionFromUrl(url: URL): string | undefined {
  return /^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(url.hostname)?.[1];
}

// ---------------------------------------------------------------------------------------------------------------
// Calling the API
// ---------------------------------------------------------------------------------------------------------------

export interface OutgoingRequest {
  readonly method: 'GET' | 'POST';
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

/** Returns the headers to send for a request, with whatever authentication it adds. */
export type RequestSigner = (request: OutgoingRequest) => Promise<Record<string, string>>;

type SignerCredentials = ConstructorParameters<typeof SignatureV4>[0]['credentials'];

/**
 * SigV4 for `api.authorization: iam`: API Gateway checks the signature of service `execute-api` over the method,
 * path, the signed headers (host and the API key among them) and the body.
 */
export function sigV4Signer(options: {
  readonly credentials: SignerCredentials;
  readonly region: string;
}): RequestSigner {
  const signer = new SignatureV4({
    service: 'execute-api',
    region: options.region,
    credentials: options.credentials,
    sha256: Sha256,
  });
  return async (request) => {
    const signed = await signer.sign({
      method: request.method,
      protocol: request.url.protocol,
      hostname: request.url.hostname,
      ...(request.url.port === '' ? {} : { port: Number(request.url.port) }),
      path: request.url.pathname,
      query: {},
      // fetch sets Host from the URL and ignores one passed in, so sign exactly the value it will send.
      headers: { ...request.headers, host: request.url.host },
      ...(request.body === undefined ? {} : { body: request.body }),
    });
    return Object.fromEntries(Object.entries(signed.headers).filter(([name]) => name.toLowerCase() !== 'host'));
  };
}

export interface ApiTarget extends ApiLocation {
  readonly signer?: RequestSigner;
  /** Longest wait for one answer; API Gateway itself gives up after 29 s. */
  readonly timeoutMs: number;
}

/** One HTTP answer: the status, and the body parsed as JSON when it is JSON. */
export interface ApiAnswer {
  readonly status: number;
  readonly statusText: string;
  /** The parsed JSON body, or undefined when the body is not JSON. */
  readonly json: unknown;
  readonly text: string;
}

/** Sends one request; a network failure or timeout is a ToolError, any HTTP status is an answer. */
async function callApi(
  target: ApiTarget,
  method: 'GET' | 'POST',
  path: 'predict' | 'health',
  body?: unknown,
): Promise<ApiAnswer> {
  const url = new URL(path, target.baseUrl);
  const text = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string> = {
    accept: 'application/json',
    'x-api-key': target.apiKey,
    ...(text === undefined ? {} : { 'content-type': 'application/json' }),
  };
  const request: OutgoingRequest = { method, url, headers, ...(text === undefined ? {} : { body: text }) };
  const sent = target.signer === undefined ? headers : await target.signer(request);
  let response: Response;
  try {
    response = await fetch(url, { method, headers: sent, body: text, signal: AbortSignal.timeout(target.timeoutMs) });
  } catch (error) {
    // By name, not instanceof: the DOMException fetch throws may come from another realm (e.g. under jest).
    const name = (error as { name?: unknown }).name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      throw new ToolError(
        `${method} ${url.href} did not answer within ${target.timeoutMs / 1000} s. ` +
          'Retry, send fewer records per request, or raise --timeout.',
      );
    }
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new ToolError(
      `Could not reach ${url.href} (${cause?.code ?? cause?.message ?? parseMessage(error)}). ` +
        'Check --url, or drop it to use the Serving stack output, and your network connection.',
    );
  }
  const answer = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(answer);
  } catch {
    json = undefined;
  }
  return { status: response.status, statusText: response.statusText, json, text: answer };
}

// ---------------------------------------------------------------------------------------------------------------
// Predicting
// ---------------------------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------------------------------

const verdict = (fraud: boolean) => (fraud ? 'fraud' : 'legit');

/** One line per record: its number from 1, the probability, the decision and, when known, the actual label. */
export function formatScored({ index, record, prediction }: ScoredRecord): string {
  const line = [
    `record ${String(index + 1).padEnd(5)}`,
    `fraud probability ${prediction.fraudProbability.toFixed(3)}`,
    prediction.isFraud ? 'FLAGGED    ' : 'not flagged',
  ];
  if (record.label !== undefined) {
    const agrees = record.label === prediction.isFraud;
    const why = agrees ? 'agrees' : record.label ? 'missed fraud' : 'false alarm';
    line.push(`actual ${verdict(record.label)}  ${agrees ? '✓' : '✗'} ${why}`);
  }
  return line.join('  ');
}

const percent = (part: number, whole: number) => `${Math.round((100 * part) / whole)}%`;

/** Count, flagged and, for labelled records, how often the model agrees with the label and how it errs. */
export function formatSummary(scored: readonly ScoredRecord[], threshold: number | undefined): string {
  const flagged = scored.filter((s) => s.prediction.isFraud).length;
  const at = threshold === undefined ? '' : ` (threshold ${threshold})`;
  const lines = [`${scored.length} record(s), ${flagged} flagged as fraud${at}.`];
  const labelled = scored.filter((s) => s.record.label !== undefined);
  if (labelled.length > 0) {
    const agree = labelled.filter((s) => s.record.label === s.prediction.isFraud).length;
    const missed = labelled.filter((s) => s.record.label === true && !s.prediction.isFraud).length;
    const falseAlarms = labelled.filter((s) => s.record.label === false && s.prediction.isFraud).length;
    const frauds = labelled.filter((s) => s.record.label === true).length;
    lines.push(
      `${labelled.length} labelled (${frauds} actual fraud): prediction agrees with the label for ${agree} ` +
        `(${percent(agree, labelled.length)}); ${missed} missed fraud, ${falseAlarms} false alarm(s).`,
    );
  }
  return lines.join('\n');
}

/** What to do about each status, following the README's table of the API's errors. */
const HINTS: Readonly<Record<number, string>> = {
  400: 'Fix the fields the details name; `npm run predict -- --example` sends a valid record.',
  403:
    'Wrong or missing API key, wrong stage, or (with api.authorization iam) a bad signature; API Gateway also answers ' +
    '403 for a path it does not have. Drop --url/--api-key to read both from the Serving stack, and pass the ' +
    '--stage it was deployed with.',
  404: 'The URL does not point at the API stage (…/v1/). Use the ApiUrl output of the Serving stack, or drop --url.',
  413:
    'The request is too large: over 256 KiB, or more records than the deployed api.maxBatchSize. Check that --stage ' +
    'matches the deployed stage, or send fewer records.',
  429:
    "Too many requests for the usage plan's rate or daily quota (api.throttleRatePerSecond, api.quotaPerDay), or " +
    'SageMaker is throttling. Retry later, with backoff.',
  502: "The model failed on these records or answered in an unexpected format. Check the endpoint's CloudWatch logs.",
  503:
    'No model is deployed yet: run the training pipeline with `npm run train`. If it has just finished, the ' +
    'serverless endpoint may still be starting: retry in a minute.',
  504: 'The model did not answer in time. Retry, or send fewer records per request.',
};

function hintFor(status: number): string {
  return (
    HINTS[status] ??
    (status >= 500
      ? "The API failed unexpectedly. Retry, and check the predict function's CloudWatch logs."
      : 'The API rejected the request; see the error above.')
  );
}

/**
 * The API numbers records within one request ("record 3: …", and not at all for a single record); renumber them
 * over the whole input and add where each came from, so the user can find the line to fix.
 */
function locateDetail(detail: string, failure: ApiFailure): string {
  const at = (position: number) => {
    const entry = failure.records[position];
    return entry === undefined ? undefined : `record ${entry.index + 1} (${entry.record.source})`;
  };
  const numbered = /^record (\d+): (.*)$/s.exec(detail);
  if (numbered !== null) {
    const where = at(Number(numbered[1]));
    return where === undefined ? detail : `${where}: ${numbered[2]}`;
  }
  return failure.records.length === 1 ? `${at(0)}: ${detail}` : detail;
}

/** Status, error, details and the hint for a failed request. */
export function formatFailure(failure: ApiFailure): string {
  const { answer, records } = failure;
  const body = isObject(answer.json) ? answer.json : {};
  // The predict function and API Gateway's own answers say `message`; accept `error` too.
  const error = [body.error, body.message].find((value): value is string => typeof value === 'string');
  const endpoint =
    typeof body.endpointName === 'string' && typeof body.status === 'string'
      ? `endpoint ${body.endpointName} is ${body.status}`
      : undefined;
  const first = records[0]?.index ?? 0;
  const what =
    records.length === 0
      ? ''
      : records.length === 1
        ? ` for record ${first + 1} of ${failure.total}`
        : ` for records ${first + 1}-${first + records.length} of ${failure.total}`;
  const lines = [`The API answered ${answer.status}${answer.statusText === '' ? '' : ` ${answer.statusText}`}${what}.`];
  if (endpoint !== undefined) lines.push(`  ${endpoint}`);
  if (error !== undefined) lines.push(`  error: ${error}`);
  else if (endpoint === undefined && answer.text.trim() !== '') lines.push(`  body: ${answer.text.slice(0, 300)}`);
  const details = Array.isArray(body.details) ? body.details.filter((d): d is string => typeof d === 'string') : [];
  lines.push(...details.map((detail) => `  - ${locateDetail(detail, failure)}`));
  lines.push(`What to do: ${hintFor(answer.status)}`);
  return lines.join('\n');
}

/** The health answer in one line. */
export function formatHealth(answer: ApiAnswer): string {
  const body = isObject(answer.json) ? answer.json : {};
  const endpoint = typeof body.endpointName === 'string' ? ` ${body.endpointName}` : '';
  const status = typeof body.status === 'string' ? body.status : answer.text.slice(0, 200);
  return `The API is up; endpoint${endpoint} is ${status}.`;
}
