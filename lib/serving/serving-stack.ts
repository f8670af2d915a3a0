import { CfnOutput, Duration, Size, Stack, StackProps } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { dataRemoval } from '../config/data-removal';
import type { StageConfig } from '../config/stage-config';
import type { FeatureSchema } from '../schema/feature-schema';
import { PREDICTION_ERRORS_PREFIX, PREDICTIONS_PREFIX } from '../schema/lake-layout';
import { ParquetDeliveryStream } from '../shared/parquet-delivery-stream';
import { InferenceApi } from './inference-api';
import { STACK_OUTPUTS } from '../contract/stacks';

export interface ServingStackProps extends StackProps {
  readonly config: StageConfig;
  readonly schema: FeatureSchema;
  readonly encryptionKey: kms.IKey;
  /** The raw zone, where the inference log lands beside the events. */
  readonly rawBucket: s3.IBucket;
  /** The inference log's Glue table, whose columns Firehose writes. */
  readonly predictionsTable: glue.ITable;
}

/**
 * Serving: the inference API, and its inference log (every scored record, through a second Firehose stream into the
 * lake's `predictions` table). It exists from the first deploy and answers 503 with a clear message until the
 * training pipeline has put a model behind the endpoint name it calls.
 */
export class ServingStack extends Stack {
  readonly inference: InferenceApi;
  readonly inferenceLog: ParquetDeliveryStream;

  constructor(scope: Construct, id: string, props: ServingStackProps) {
    super(scope, id, props);
    const { config } = props;
    const { removalPolicy } = dataRemoval(config.data);
    this.inferenceLog = new ParquetDeliveryStream(this, 'InferenceLog', {
      deliveryStreamName: `${config.namePrefix}-predictions`,
      purpose: 'scored records',
      rawBucket: props.rawBucket,
      dataPrefix: PREDICTIONS_PREFIX,
      errorPrefix: PREDICTION_ERRORS_PREFIX,
      table: props.predictionsTable,
      encryptionKey: props.encryptionKey,
      bufferSize: Size.mebibytes(config.inferenceLog.bufferSizeMiB),
      bufferInterval: Duration.seconds(config.inferenceLog.bufferIntervalSeconds),
      logRetention: config.logRetentionDays as logs.RetentionDays,
      logRemovalPolicy: removalPolicy,
    });
    this.inference = new InferenceApi(this, 'Inference', {
      namePrefix: config.namePrefix,
      schema: props.schema,
      endpointName: config.serving.endpointName,
      authorization: config.api.authorization,
      throttleRatePerSecond: config.api.throttleRatePerSecond,
      throttleBurst: config.api.throttleBurst,
      quotaPerDay: config.api.quotaPerDay,
      memorySize: config.api.lambdaMemoryMiB,
      decisionThreshold: config.api.decisionThreshold,
      maxBatchSize: config.api.maxBatchSize,
      inferenceLog: this.inferenceLog.deliveryStream,
      inferenceLogTimeout: Duration.millis(config.inferenceLog.sendTimeoutMs),
      encryptionKey: props.encryptionKey,
      logRetention: config.logRetentionDays as logs.RetentionDays,
      logRemovalPolicy: removalPolicy,
    });
    new CfnOutput(this, STACK_OUTPUTS.inferenceLogStreamName, {
      value: this.inferenceLog.deliveryStream.deliveryStreamName,
    });
    new CfnOutput(this, STACK_OUTPUTS.apiUrl, { value: this.inference.url });
    new CfnOutput(this, STACK_OUTPUTS.apiKeyId, {
      value: this.inference.apiKey.keyId,
      description: 'aws apigateway get-api-key --include-value --api-key <id> prints the key',
    });
  }
}
