import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { EncryptedLogGroup } from '../shared/encrypted-log-group';
import { PipelineFunction } from '../shared/pipeline-function';
import type { FeatureSchema } from '../schema/feature-schema';
import { recordJsonSchema } from '../schema/record-validation';
import { schemaToJson } from '../schema/schema-json';
import { PUT_RECORD_BATCH_LIMITS } from '../contract/service-limits';
import {
  API_STAGE_NAME,
  INFERENCE_LOG_FAILED_METRIC,
  INFERENCE_LOG_SENT_METRIC,
  MAX_BODY_BYTES,
  PREDICT_METRICS_NAMESPACE,
  SERVER_ERRORS_METRIC,
  apiName,
  predictServiceName,
} from '../contract/inference-api';

export interface InferenceApiProps {
  /** Prefix of the API's name, its usage plan and the function's metrics service. */
  readonly namePrefix: string;
  /** The features a request carries; the request model and the function's validation derive from it. */
  readonly schema: FeatureSchema;
  /** The SageMaker endpoint the function calls. */
  readonly endpointName: string;
  /**
   * `iam`: callers sign with SigV4 and need execute-api:Invoke; `apiKey`: the API key alone. Both send the key.
   * @default 'iam'
   */
  readonly authorization?: 'iam' | 'apiKey';
  /** Steady requests per second, for the stage and per API key. @default 10 */
  readonly throttleRatePerSecond?: number;
  /** Requests above the steady rate in a burst. @default 20 */
  readonly throttleBurst?: number;
  /** Requests per API key per day. @default 10000 */
  readonly quotaPerDay?: number;
  /** Memory of the predict function, in MiB. @default 512 */
  readonly memorySize?: number;
  /** Fraud probability at or above which a record is flagged, above 0 up to 1. @default 0.5 */
  readonly decisionThreshold?: number;
  /** Most records in one request. @default 100 */
  readonly maxBatchSize?: number;
  /** The Firehose stream the function sends every scored record to (the inference log). */
  readonly inferenceLog: firehose.IDeliveryStream;
  /** How long the invocation may spend sending log rows after its answer, 100 ms to 3 s. @default 1 s */
  readonly inferenceLogTimeout?: Duration;
  /** The key of the function's and the API's log groups. */
  readonly encryptionKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  /** What happens to the function's and the access log groups when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/**
 * Serving: a regional REST API (`POST /predict`, `GET /health`) in front of a Lambda function that calls the
 * SageMaker endpoint. API Gateway validates the body against a JSON Schema derived from the feature schema, every
 * method needs an API key (and SigV4 with `authorization: iam`), a usage plan throttles and caps each key, and the
 * stage writes JSON access logs and X-Ray traces.
 */
export class InferenceApi extends Construct {
  readonly api: apigateway.IRestApi;
  readonly url: string;
  /** The key callers send in `x-api-key`. */
  readonly apiKey: apigateway.IApiKey;
  readonly predictFunction: lambda.IFunction;
  private readonly serviceName: string;

  constructor(scope: Construct, id: string, props: InferenceApiProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const config = {
      authorization: props.authorization ?? 'iam',
      throttleRatePerSecond: props.throttleRatePerSecond ?? 10,
      throttleBurst: props.throttleBurst ?? 20,
      quotaPerDay: props.quotaPerDay ?? 10_000,
      decisionThreshold: props.decisionThreshold ?? 0.5,
      maxBatchSize: props.maxBatchSize ?? 100,
      inferenceLogTimeoutMs: (props.inferenceLogTimeout ?? Duration.seconds(1)).toMilliseconds(),
    };
    if (!(config.decisionThreshold > 0 && config.decisionThreshold <= 1)) {
      throw new Error(
        `InferenceApi: decisionThreshold is ${config.decisionThreshold}; it is a fraud probability, pass a number above 0 up to 1`,
      );
    }
    if (
      !Number.isInteger(config.maxBatchSize) ||
      config.maxBatchSize < 1 ||
      config.maxBatchSize > PUT_RECORD_BATCH_LIMITS.records
    ) {
      throw new Error(
        `InferenceApi: maxBatchSize is ${config.maxBatchSize}; pass a whole number from 1 to ` +
          `${PUT_RECORD_BATCH_LIMITS.records}, the records one PutRecordBatch call takes (one call logs a request)`,
      );
    }
    const timeoutMs = config.inferenceLogTimeoutMs;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 3_000) {
      throw new Error(
        `InferenceApi: inferenceLogTimeout is ${timeoutMs} ms; pass 100 ms to 3 s, which keeps two 10 s model ` +
          "attempts and the log inside the function's 25 s timeout",
      );
    }
    const logRemovalPolicy = props.logRemovalPolicy ?? RemovalPolicy.RETAIN;

    const environment = {
      ENDPOINT_NAME: props.endpointName,
      FEATURE_SCHEMA: schemaToJson(props.schema),
      DECISION_THRESHOLD: String(config.decisionThreshold),
      MAX_BATCH_SIZE: String(config.maxBatchSize),
      MAX_BODY_BYTES: String(MAX_BODY_BYTES),
      INFERENCE_LOG_STREAM: props.inferenceLog.deliveryStreamName,
      INFERENCE_LOG_TIMEOUT_MS: String(timeoutMs),
      POWERTOOLS_SERVICE_NAME: predictServiceName(props.namePrefix),
      POWERTOOLS_METRICS_NAMESPACE: PREDICT_METRICS_NAMESPACE,
    };
    const handler = new PipelineFunction(this, 'PredictFunction', {
      entry: 'predict',
      description: 'Validates prediction requests, calls the SageMaker endpoint and logs each scored record',
      environment,
      // Under API Gateway's 29 s integration limit, with room for one retried 10 s invocation.
      timeout: Duration.seconds(25),
      memorySize: props.memorySize ?? 512,
      encryptionKey: props.encryptionKey,
      logRetention: props.logRetention,
      logRemovalPolicy,
    });
    const endpointArn = stack.formatArn({
      service: 'sagemaker',
      resource: 'endpoint',
      resourceName: props.endpointName,
    });
    handler.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'InvokeAndDescribeTheEndpoint',
        actions: ['sagemaker:InvokeEndpoint', 'sagemaker:DescribeEndpoint'],
        resources: [endpointArn],
      }),
    );
    // PutRecord and PutRecordBatch on this one stream; Firehose encrypts with the lake key under its own role.
    props.inferenceLog.grantPutRecords(handler.role);
    Validations.of(handler.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray tracing (xray:PutTraceSegments, PutTelemetryRecords) has no resource-level permissions.',
    });

    const accessLogs = new EncryptedLogGroup(this, 'AccessLogs', {
      encryptionKey: props.encryptionKey,
      retention: props.logRetention,
      removalPolicy: logRemovalPolicy,
    });
    const api = new apigateway.RestApi(this, 'Api', {
      restApiName: apiName(props.namePrefix),
      description: 'Fraud scoring API in front of the SageMaker endpoint',
      endpointConfiguration: { types: [apigateway.EndpointType.REGIONAL] },
      // Execution logging needs the account's API Gateway CloudWatch role; this creates it (kept on delete, since
      // it is an account-wide setting other APIs may rely on).
      cloudWatchRole: true,
      deployOptions: {
        stageName: API_STAGE_NAME,
        tracingEnabled: true,
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: true,
        throttlingRateLimit: config.throttleRatePerSecond,
        throttlingBurstLimit: config.throttleBurst,
        accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
        // Who called, what happened and why it failed; never the body.
        accessLogFormat: apigateway.AccessLogFormat.custom(
          JSON.stringify({
            requestId: apigateway.AccessLogField.contextRequestId(),
            requestTime: apigateway.AccessLogField.contextRequestTime(),
            ip: apigateway.AccessLogField.contextIdentitySourceIp(),
            apiKeyId: apigateway.AccessLogField.contextIdentityApiKeyId(),
            httpMethod: apigateway.AccessLogField.contextHttpMethod(),
            resourcePath: apigateway.AccessLogField.contextResourcePath(),
            status: apigateway.AccessLogField.contextStatus(),
            responseLength: apigateway.AccessLogField.contextResponseLength(),
            responseLatency: apigateway.AccessLogField.contextResponseLatency(),
            integrationStatus: apigateway.AccessLogField.contextIntegrationStatus(),
            integrationLatency: apigateway.AccessLogField.contextIntegrationLatency(),
            // STREAM's (API Gateway, "Troubleshoot response streaming"): the function's Duration runs past the answer.
            responseTransferMode: '$context.integration.responseTransferMode',
            timeToAllHeaders: '$context.integration.timeToAllHeaders',
            timeToFirstContent: '$context.integration.timeToFirstContent',
            error: apigateway.AccessLogField.contextErrorMessage(),
            validationError: apigateway.AccessLogField.contextErrorValidationErrorString(),
          }),
        ),
      },
      disableExecuteApiEndpoint: false,
    });
    // API Gateway writes execution logs to a group it names after the API and stage, and creates it without retention
    // when it does not exist. Creating it before the stage gives it the stage's retention, the key and removal policy.
    const executionLogs = new EncryptedLogGroup(this, 'ExecutionLogs', {
      logGroupName: `API-Gateway-Execution-Logs_${api.restApiId}/${API_STAGE_NAME}`,
      encryptionKey: props.encryptionKey,
      retention: props.logRetention,
    });
    api.deploymentStage.node.addDependency(executionLogs);

    const recordSchema = recordJsonSchema(props.schema) as apigateway.JsonSchema;
    const requestModel = api.addModel('PredictRequest', {
      contentType: 'application/json',
      modelName: 'PredictRequest',
      description: 'One record of named features, or {"records": [...]}; generated from the feature schema',
      schema: {
        schema: apigateway.JsonSchemaVersion.DRAFT4,
        title: 'PredictRequest',
        oneOf: [
          recordSchema,
          {
            type: apigateway.JsonSchemaType.OBJECT,
            properties: {
              records: {
                type: apigateway.JsonSchemaType.ARRAY,
                items: recordSchema,
                minItems: 1,
                maxItems: config.maxBatchSize,
              },
            },
            required: ['records'],
            additionalProperties: false,
          },
        ],
      },
    });
    // A body that fails the model is answered by API Gateway itself; this makes that answer say which rule failed.
    api.addGatewayResponse('InvalidBody', {
      type: apigateway.ResponseType.BAD_REQUEST_BODY,
      templates: {
        'application/json':
          '{"message": "The request does not match the model features.", "details": ["$util.escapeJavaScript($context.error.validationErrorString)"]}',
      },
    });
    const validator = api.addRequestValidator('BodyValidator', {
      requestValidatorName: 'validate-body',
      validateRequestBody: true,
      validateRequestParameters: true,
    });

    // No console test-invoke permission: every call goes through the stage, its API key and its usage plan.
    // STREAM (InvokeWithResponseStream): the answer ends with the stream, before the inference log is sent
    // (lambda/predict/index.ts). STREAM lacks a stage cache, content encoding and VTL response templates: unused here.
    const integration = new apigateway.LambdaIntegration(handler.function, {
      proxy: true,
      allowTestInvoke: false,
      responseTransferMode: apigateway.ResponseTransferMode.STREAM,
    });

    const authorizationType =
      config.authorization === 'iam' ? apigateway.AuthorizationType.IAM : apigateway.AuthorizationType.NONE;
    const methodOptions = { apiKeyRequired: true, authorizationType };
    api.root.addResource('predict').addMethod('POST', integration, {
      ...methodOptions,
      requestValidator: validator,
      requestModels: { 'application/json': requestModel },
    });
    api.root.addResource('health').addMethod('GET', integration, methodOptions);

    const plan = api.addUsagePlan('UsagePlan', {
      name: apiName(props.namePrefix),
      throttle: { rateLimit: config.throttleRatePerSecond, burstLimit: config.throttleBurst },
      quota: { limit: config.quotaPerDay, period: apigateway.Period.DAY },
      apiStages: [{ api, stage: api.deploymentStage }],
    });
    const key = api.addApiKey('ApiKey', { description: 'Key for the fraud scoring API' });
    plan.addApiKey(key);

    for (const method of api.methods) {
      // The permission CDK adds for each method names its execute-api ARN as SourceArn, built with Fn::Join,
      // which the rule cannot read statically.
      Validations.of(method).acknowledge({
        id: 'cdk-validator-cfnguard::lambda_function_public_access_prohibited_check',
        reason: "Only API Gateway may invoke the function, and only for this method's execute-api ARN (SourceArn).",
      });
    }
    if (config.authorization === 'apiKey') {
      for (const method of api.methods) {
        Validations.of(method).acknowledge(
          {
            id: 'AwsSolutions-APIG4',
            reason:
              'Callers authenticate with an API key tied to a usage plan; set api.authorization to iam for SigV4.',
          },
          {
            id: 'AwsSolutions-COG4',
            reason: 'This API serves machine clients with API keys (or SigV4), not Cognito users.',
          },
        );
      }
    } else {
      for (const method of api.methods) {
        Validations.of(method).acknowledge({
          id: 'AwsSolutions-COG4',
          reason: 'Callers sign requests with SigV4 (IAM authorization); there are no Cognito users.',
        });
      }
    }
    Validations.of(api.deploymentStage).acknowledge({
      id: 'AwsSolutions-APIG3',
      reason:
        'No WAF web ACL: a web ACL bills monthly even when idle; API keys, the usage plan and stage throttling bound the traffic. Add one before exposing the API publicly.',
    });

    const cloudWatchRole = api.node.tryFindChild('CloudWatchRole');
    if (cloudWatchRole !== undefined) {
      Validations.of(cloudWatchRole).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason: "API Gateway's account-wide logging role; AWS maintains this policy for exactly that service role.",
      });
    }

    this.api = api;
    this.predictFunction = handler.function;
    this.serviceName = predictServiceName(props.namePrefix);
    this.url = api.url;
    this.apiKey = key;
  }

  /**
   * The 5xx answers the predict function gives itself (endpoint missing, model error, timeout), which Lambda's
   * Errors metric does not count because the function returns them instead of throwing.
   */
  metricServerErrors(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.functionMetric(SERVER_ERRORS_METRIC, props);
  }

  /** Inference-log rows the function sent (`sent`) or could not send (`failed`: missing from the lake). */
  metricInferenceLog(rows: 'sent' | 'failed', props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.functionMetric(rows === 'sent' ? INFERENCE_LOG_SENT_METRIC : INFERENCE_LOG_FAILED_METRIC, props);
  }

  private functionMetric(metricName: string, props: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: PREDICT_METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service: this.serviceName },
      statistic: 'Sum',
      ...props,
    });
  }
}
