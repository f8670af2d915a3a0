// Wiring only: read the environment once, build clients and Powertools once; the logic is in predict.ts.
import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import { FirehoseClient } from '@aws-sdk/client-firehose';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { schemaFromJson } from '../../lib/schema/schema-json';
import { inferenceLogRows } from '../../lib/schema/inference-log';
import {
  INFERENCE_LOG_FAILED_METRIC,
  INFERENCE_LOG_SENT_METRIC,
  SERVER_ERRORS_METRIC,
} from '../../lib/contract/inference-api';
import { sendInferenceLog } from './inference-log';
import { ModelIdentity } from './model-identity';
import { health, predict, type ApiResponse } from './predict';
import { lastWrite, writeAnswer } from './response-stream';

function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
}

const settings = {
  // The schema the app was built with, so the function accepts exactly what the API's request model accepts.
  schema: schemaFromJson(requireEnv('FEATURE_SCHEMA'), 'FEATURE_SCHEMA'),
  endpointName: requireEnv('ENDPOINT_NAME'),
  threshold: Number(requireEnv('DECISION_THRESHOLD')),
  maxBatchSize: Number(requireEnv('MAX_BATCH_SIZE')),
  maxBodyBytes: Number(requireEnv('MAX_BODY_BYTES')),
  inferenceLogStream: requireEnv('INFERENCE_LOG_STREAM'),
  inferenceLogTimeoutMs: Number(requireEnv('INFERENCE_LOG_TIMEOUT_MS')),
};
// Powertools read their service name (a stage's own, e.g. mlpipe-sandbox-predict) and the metrics namespace from
// POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE, which the construct sets.
const logger = new Logger();
const metrics = new Metrics();
// No Powertools Tracer: the X-Ray SDK under it tracks every promise of the process through async hooks, which cost
// a quarter of the handler's time per request and 120 KiB of bundle (npm run bench). Lambda's active tracing still
// records each invocation, and the SDK passes the trace header on to SageMaker; the endpoint's own ModelLatency and
// OverheadLatency metrics time the model.
// Stay well under API Gateway's 29 s: one retry, each attempt cut off after 10 s unless INVOKE_TIMEOUT_MS says less.
const requestTimeout = Number(process.env.INVOKE_TIMEOUT_MS ?? '10000');
const runtime = new SageMakerRuntimeClient({
  maxAttempts: 2,
  // Without throwOnRequestTimeout the SDK only logs a warning and keeps waiting.
  requestHandler: { requestTimeout, connectionTimeout: 2_000, throwOnRequestTimeout: true },
});
const sagemaker = new SageMakerClient({ maxAttempts: 2 });
// The log's budget bounds each attempt and, through an abort signal, the call as a whole.
const firehose = new FirehoseClient({
  maxAttempts: 2,
  requestHandler: {
    requestTimeout: settings.inferenceLogTimeoutMs,
    connectionTimeout: settings.inferenceLogTimeoutMs,
    throwOnRequestTimeout: true,
  },
});
const identity = new ModelIdentity(sagemaker, settings.endpointName);
/** How long a new environment's first request waits for the model's name before logging it as null. */
const MODEL_NAME_WAIT_MS = 250;

const notFound: ApiResponse = {
  statusCode: 404,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ message: 'Use POST /predict or GET /health' }),
};

/** A request's answer, and the work that follows it once the answer has gone. */
interface Handled {
  readonly response: ApiResponse;
  readonly afterAnswer?: () => Promise<void>;
}

/** Answers one request; the inference log is left for afterAnswer, so it costs the client no time. */
async function handle(event: APIGatewayProxyEvent, context: Context | undefined): Promise<Handled> {
  if (context !== undefined) logger.addContext(context);
  const route = `${event.httpMethod} ${event.resource}`;
  try {
    if (route === 'GET /health') return { response: await health(sagemaker, settings.endpointName) };
    if (route !== 'POST /predict') return { response: notFound };
    // A proxy event without a body key (a test console, a hand-made event) is a request without a body.
    const raw = event.body ?? null;
    const body = event.isBase64Encoded && raw !== null ? Buffer.from(raw, 'base64').toString('utf8') : raw;
    identity.refresh();
    const { response, outcome, scored } = await predict(runtime, settings, body);
    // The outcome carries counts and an error type, never the request's values: those go to the inference log only.
    logger.info('predict', { ...outcome });
    metrics.addMetric('Records', MetricUnit.Count, outcome.records);
    if (outcome.errorType !== undefined) metrics.addMetric(`Rejected${outcome.statusCode}`, MetricUnit.Count, 1);
    // Lambda's Errors metric sees only a function that throws; the 5xx this handler answers itself are counted here.
    if (response.statusCode >= 500) metrics.addMetric(SERVER_ERRORS_METRIC, MetricUnit.Count, 1);
    if (scored === undefined) return { response };
    // Taken now: the request's id and the time it was scored, not the time it was logged. The id is API Gateway's,
    // which the client sees as x-amzn-RequestId; a hand-made event has none.
    const requestId = event.requestContext?.requestId ?? context?.awsRequestId ?? randomUUID();
    const predictedAt = Date.now();
    const afterAnswer = async () => {
      const logContext = {
        requestId,
        predictedAt,
        modelName: await identity.current(MODEL_NAME_WAIT_MS),
        threshold: settings.threshold,
      };
      try {
        const rows = inferenceLogRows(settings.schema, logContext, scored);
        const log = await sendInferenceLog(firehose, settings.inferenceLogStream, rows, settings.inferenceLogTimeoutMs);
        metrics.addMetric(INFERENCE_LOG_SENT_METRIC, MetricUnit.Count, log.sent);
        metrics.addMetric(INFERENCE_LOG_FAILED_METRIC, MetricUnit.Count, log.failed);
        if (log.failed > 0) logger.warn('inference log records not sent', { ...log });
      } catch (err) {
        // sendInferenceLog counts its own failures; this is anything else, and still no record goes uncounted.
        logger.error('inference log failed', { error: (err as Error).name });
        metrics.addMetric(INFERENCE_LOG_FAILED_METRIC, MetricUnit.Count, scored.length);
      }
    };
    return { response, afterAnswer };
  } catch (err) {
    logger.error('unexpected failure', { error: (err as Error).name });
    metrics.addMetric(SERVER_ERRORS_METRIC, MetricUnit.Count, 1);
    return {
      response: {
        statusCode: 502,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ message: 'Unexpected error' }),
      },
    };
  }
}

/**
 * API Gateway invokes this function in STREAM mode (InvokeWithResponseStream; lib/serving/inference-api.ts), so the
 * client has its answer once the stream ends, while the invocation goes on until the handler returns. The inference
 * log is sent in that time: inside the invocation, so Lambda does not freeze it half-sent, and after the answer, so
 * it adds nothing to the client's latency (npm run bench). The output is API Gateway's streaming format, a JSON
 * prelude with the status and headers, 8 NUL bytes, then the body, which HttpResponseStream.from writes.
 */
export const handler = awslambda.streamifyResponse<APIGatewayProxyEvent>(async (event, responseStream, context) => {
  const { response, afterAnswer } = await handle(event, context);
  const stream = writeAnswer(responseStream, response);
  // The answer is out before the log's work starts, so none of it delays the answer.
  const error = await lastWrite(stream);
  // The client may be gone; the prediction was made all the same, and its log still goes out.
  if (error !== undefined) logger.warn('response stream failed', { error: error.name, message: error.message });
  if (afterAnswer !== undefined) await afterAnswer();
  // Health checks and rejected routes store no metrics; publishing nothing would log a warning.
  try {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  } catch (err) {
    // After the answer a throw would only fail the invocation's trailers, unseen; the log says it instead.
    logger.error('metrics not published', { error: (err as Error).name });
  }
});
