import { type RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { QUALITY_METRIC } from '../contract/training-run';
import { PipelineFunction } from '../shared/pipeline-function';

export interface EvaluateTrainingFunctionProps {
  /** Encrypts the function's log group. */
  readonly encryptionKey: kms.IKey;
  /** How long the function's logs are kept. */
  readonly logRetention: logs.RetentionDays;
  /** What happens to the function's log group when its stack is deleted. */
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The function the quality gate asks about a finished training job: its validation metric and the spot saving. The
 * gate needs the metric and the report a ratio; JSONPath can neither divide nor treat a missing metric as a value.
 */
export class EvaluateTrainingFunction extends PipelineFunction {
  constructor(scope: Construct, id: string, props: EvaluateTrainingFunctionProps) {
    super(scope, id, {
      entry: 'evaluate-training',
      description: 'Reads validation:auc and the spot saving from a finished training job',
      environment: { METRIC_NAME: QUALITY_METRIC },
      encryptionKey: props.encryptionKey,
      logRetention: props.logRetention,
      logRemovalPolicy: props.removalPolicy,
    });
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray tracing (xray:PutTraceSegments, PutTelemetryRecords) has no resource-level permissions.',
    });
  }
}
