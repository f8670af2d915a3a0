import { CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { dataRemoval } from '../config/data-removal';
import type { StageConfig } from '../config/stage-config';
import type { FeatureSchema } from '../schema/feature-schema';
import { InferenceApi } from './inference-api';
import { STACK_OUTPUTS } from '../contract/stacks';

export interface ServingStackProps extends StackProps {
  readonly config: StageConfig;
  readonly schema: FeatureSchema;
  readonly encryptionKey: kms.IKey;
}

/**
 * Serving: the inference API. It exists from the first deploy and answers 503 with a clear message until the
 * training pipeline has put a model behind the endpoint name it calls.
 */
export class ServingStack extends Stack {
  readonly inference: InferenceApi;

  constructor(scope: Construct, id: string, props: ServingStackProps) {
    super(scope, id, props);
    const { config } = props;
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
      encryptionKey: props.encryptionKey,
      logRetention: config.logRetentionDays as logs.RetentionDays,
      logRemovalPolicy: dataRemoval(config.data).removalPolicy,
    });
    new CfnOutput(this, STACK_OUTPUTS.apiUrl, { value: this.inference.url });
    new CfnOutput(this, STACK_OUTPUTS.apiKeyId, {
      value: this.inference.apiKey.keyId,
      description: 'aws apigateway get-api-key --include-value --api-key <id> prints the key',
    });
  }
}
