/**
 * The inference API's contract between the CDK app, the predict function and the client (`npm run predict`): where
 * the API lives, what a request and a prediction look like, the request limits, and the names of the metrics the
 * function publishes, which the app's alarms watch. No aws-cdk-lib here: the function bundles this module.
 */

/** The one deployment stage of the API; part of its URL and of its metrics' dimensions. */
export const API_STAGE_NAME = 'v1';

/** The API's name, which its CloudWatch metrics use as a dimension. */
export const apiName = (namePrefix: string) => `${namePrefix}-inference`;

/** Largest request body the predict function accepts; API Gateway itself allows 10 MB. */
export const MAX_BODY_BYTES = 256 * 1024;

/** The answer for one record, in request order. */
export interface Prediction {
  readonly fraudProbability: number;
  readonly isFraud: boolean;
}

/** CloudWatch namespace of the predict function's own metrics (Powertools' POWERTOOLS_METRICS_NAMESPACE). */
export const PREDICT_METRICS_NAMESPACE = 'MlPipeline';

/** The function's service name (Powertools' POWERTOOLS_SERVICE_NAME), one per stage: its metrics' dimension. */
export const predictServiceName = (namePrefix: string) => `${namePrefix}-predict`;

/** Counted once for every 5xx the function answers itself, which Lambda's Errors metric never sees. */
export const SERVER_ERRORS_METRIC = 'ServerErrors';

/** Inference-log rows Firehose accepted, per request the function scored. */
export const INFERENCE_LOG_SENT_METRIC = 'InferenceLogRecords';

/**
 * Inference-log rows that were not sent (the stream failed, throttled, or did not answer within the budget); an
 * alarm watches it, since those rows are missing from the drift and quality measures.
 */
export const INFERENCE_LOG_FAILED_METRIC = 'InferenceLogFailedRecords';
