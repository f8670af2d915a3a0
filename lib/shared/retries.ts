import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';

/**
 * Which errors of each task integration are worth retrying, under the names Step Functions gives them.
 *
 * - AWS SDK integrations (`aws-sdk:<service>:<action>`) name an error `Service.ExceptionName` after the SDK's
 *   exception class (Step Functions developer guide, "AWS SDK service integrations"). An error the service does not
 *   model arrives as the SDK's base exception of that service: SageMaker models no throttling or validation error at
 *   all (its API declares only ResourceLimitExceeded, ResourceInUse, ResourceNotFound and Conflict), so "Rate
 *   exceeded" and a bad request both arrive as `SageMaker.SageMakerException`; Glue models no throttling either.
 * - Optimized integrations report SageMaker's unmodelled errors, throttling included, as
 *   `SageMaker.AmazonSageMakerException`, with "Rate exceeded" only in the cause (aws-step-functions-data-science-
 *   sdk-python #162 and #191; the developer guide's createTrainingJob.sync example retries exactly that name).
 * - Lambda: the developer guide's best practice retries ServiceException, AWSLambdaException, SdkClientException
 *   and ClientExecutionTimeoutException; TooManyRequestsException is Lambda's throttling.
 *
 * A name that also carries validation errors is retried only a few times: a bad request fails the same way again,
 * and the run then ends with the original error.
 */
export type Integration =
  'sagemakerJob' | 'sagemakerSdk' | 'glueSdk' | 'athena' | 'lambda' | 'sns' | 'stepFunctionsSdk' | 'cloudwatch' | 's3';

interface RetryRule {
  readonly errors: readonly string[];
  readonly maxAttempts: number;
}

/** Throttling and transient faults the service models by name: safe to retry several times. */
const TRANSIENT_ATTEMPTS = 6;
/** Base exception names, which carry throttling and validation errors alike. */
const AMBIGUOUS_ATTEMPTS = 3;

export const RETRY_RULES: { readonly [I in Integration]: readonly RetryRule[] } = {
  sagemakerJob: [{ errors: ['SageMaker.AmazonSageMakerException'], maxAttempts: AMBIGUOUS_ATTEMPTS }],
  sagemakerSdk: [
    // Both spellings: the SDK base class, and the optimized integrations' name for the same unmodelled errors.
    { errors: ['SageMaker.SageMakerException', 'SageMaker.AmazonSageMakerException'], maxAttempts: AMBIGUOUS_ATTEMPTS },
  ],
  glueSdk: [
    { errors: ['Glue.OperationTimeoutException', 'Glue.InternalServiceException'], maxAttempts: TRANSIENT_ATTEMPTS },
    { errors: ['Glue.GlueException'], maxAttempts: AMBIGUOUS_ATTEMPTS },
  ],
  // Only the refusal to start a query: a partitioned UNLOAD that failed half-way leaves its files, and a second run
  // into the same destination would add to them (Athena's UNLOAD: "Athena does not attempt to delete orphaned data").
  athena: [{ errors: ['Athena.TooManyRequestsException'], maxAttempts: TRANSIENT_ATTEMPTS }],
  lambda: [
    {
      errors: [
        'Lambda.ServiceException',
        'Lambda.AWSLambdaException',
        'Lambda.SdkClientException',
        'Lambda.ClientExecutionTimeoutException',
        'Lambda.TooManyRequestsException',
      ],
      maxAttempts: TRANSIENT_ATTEMPTS,
    },
  ],
  sns: [
    // Publish models these; KMS throttling matters because the topic is encrypted with the lake key.
    {
      errors: ['SNS.InternalErrorException', 'SNS.KMSThrottlingException', 'SNS.ThrottledException'],
      maxAttempts: TRANSIENT_ATTEMPTS,
    },
    { errors: ['SNS.AmazonSNSException', 'SNS.SnsException'], maxAttempts: AMBIGUOUS_ATTEMPTS },
  ],
  stepFunctionsSdk: [{ errors: ['Sfn.SfnException'], maxAttempts: AMBIGUOUS_ATTEMPTS }],
  // S3's throttling (SlowDown) and internal errors are unmodelled and arrive as the base class.
  s3: [{ errors: ['S3.S3Exception'], maxAttempts: AMBIGUOUS_ATTEMPTS }],
  // PutMetricData models its internal fault; its throttling (Throttling) is unmodelled and arrives as the base class.
  cloudwatch: [
    { errors: ['CloudWatch.InternalServiceException'], maxAttempts: TRANSIENT_ATTEMPTS },
    { errors: ['CloudWatch.CloudWatchException'], maxAttempts: AMBIGUOUS_ATTEMPTS },
  ],
};

/** Adds the integration's retry rules to a task: exponential backoff from 2 s, full jitter, at most a minute apart. */
export function retryTransient<T extends sfn.TaskStateBase | sfn.CustomState>(task: T, integration: Integration): T {
  for (const rule of RETRY_RULES[integration]) {
    task.addRetry({
      errors: [...rule.errors],
      interval: Duration.seconds(2),
      backoffRate: 2,
      maxAttempts: rule.maxAttempts,
      maxDelay: Duration.seconds(60),
      jitterStrategy: sfn.JitterType.FULL,
    });
  }
  return task;
}

/**
 * Retries the integration's transient errors, then sends every error that is left to `onFailure` with the error
 * under `$.failure`: the pipeline's failure path announces it and fails the run with it.
 */
export function retryOrFail<T extends sfn.TaskStateBase | sfn.CustomState>(
  task: T,
  integration: Integration,
  onFailure: sfn.IChainable,
): T {
  retryTransient(task, integration).addCatch(onFailure, { errors: [sfn.Errors.ALL], resultPath: '$.failure' });
  return task;
}
