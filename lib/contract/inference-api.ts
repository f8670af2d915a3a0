/**
 * The inference API's contract between the CDK app and the predict function: the names of the metrics the
 * function publishes, which the app's alarms watch. No aws-cdk-lib here: the function bundles this module.
 */

/** CloudWatch namespace of the predict function's own metrics (Powertools' POWERTOOLS_METRICS_NAMESPACE). */
export const PREDICT_METRICS_NAMESPACE = 'MlPipeline';

/** The function's service name (Powertools' POWERTOOLS_SERVICE_NAME), one per stage: its metrics' dimension. */
export const predictServiceName = (namePrefix: string) => `${namePrefix}-predict`;

/** Counted once for every 5xx the function answers itself, which Lambda's Errors metric never sees. */
export const SERVER_ERRORS_METRIC = 'ServerErrors';
