/**
 * What `npm run predict` prints: a line per scored record beside its actual label, a summary of how often the model
 * agrees with the labels, and for a failed request its status, details and what to do about it.
 */
import type { ApiAnswer } from './http';
import { isObject } from './json';
import type { ApiFailure, ScoredRecord } from './run';

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
