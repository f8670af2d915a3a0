import { Aws, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { sageMakerJobSyncStatements } from './sagemaker-job-sync';

export interface ChampionTransformJobProps {
  /** The job's name, a JSONPath or `States.Format` expression (unique per run and model). */
  readonly transformJobName: string;
  /** The model that scores, a JSONPath or `States.Format` expression. */
  readonly modelName: string;
  /** The run's validation split as CSV, label first (a `States.Format` expression over `$.run.id`). */
  readonly scoringSetUri: string;
  /** Where the scores go, an `s3://` prefix of the run. */
  readonly outputUri: string;
  readonly encryptionKey: kms.IKey;
  readonly instanceType: string;
  readonly ownerTag: { readonly key: string; readonly value: string };
  /** The run ids' prefix: the job is named after the run. */
  readonly namePrefix: string;
}

/**
 * A batch transform of the run's validation split (the champion's, or the candidate's), run by Step Functions' optimized `createTransformJob.sync` integration. CDK's
 * `SageMakerCreateTransformJob` cannot express `DataProcessing`, and would create a role with
 * AmazonSageMakerFullAccess; a transform job needs none (it runs as its model's execution role). The jobs are named
 * after the run, like the run's training job, model and endpoint config.
 */
export class ChampionTransformJob extends sfn.CustomState {
  /** Every transform job of this stage's runs. */
  readonly jobsArn: string;
  private readonly policyStatements: iam.PolicyStatement[];

  constructor(scope: Construct, id: string, props: ChampionTransformJobProps) {
    super(scope, id, {
      stateJson: {
        Type: 'Task',
        Comment: "A model scores the run's validation split: S3 in, S3 out",
        Resource: `arn:${Aws.PARTITION}:states:::sagemaker:createTransformJob.sync`,
        Parameters: sfn.FieldUtils.renderObject({
          TransformJobName: props.transformJobName,
          ModelName: props.modelName,
          // Many CSV lines per request, each answered by one line; 6 MB is the payload a request may carry.
          BatchStrategy: 'MultiRecord',
          MaxPayloadInMB: 6,
          TransformInput: {
            DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: props.scoringSetUri } },
            ContentType: 'text/csv',
            CompressionType: 'Gzip',
            SplitType: 'Line',
          },
          TransformOutput: {
            S3OutputPath: props.outputUri,
            Accept: 'text/csv',
            AssembleWith: 'Line',
            KmsKeyId: props.encryptionKey.keyArn,
          },
          TransformResources: {
            InstanceType: props.instanceType,
            InstanceCount: 1,
            VolumeKmsKeyId: props.encryptionKey.keyArn,
          },
          DataProcessing: { InputFilter: '$[1:]', JoinSource: 'Input', OutputFilter: '$[0,-1]' },
          Tags: [{ Key: props.ownerTag.key, Value: props.ownerTag.value }],
        }),
        ResultPath: null,
      },
    });
    const stack = Stack.of(this);
    const jobs = stack.formatArn({
      service: 'sagemaker',
      resource: 'transform-job',
      resourceName: `${props.namePrefix}-*`,
    });
    this.jobsArn = jobs;
    this.policyStatements = sageMakerJobSyncStatements(stack, 'Transform', jobs);
  }

  protected override whenBoundToGraph(graph: sfn.StateGraph): void {
    super.whenBoundToGraph(graph);
    for (const statement of this.policyStatements) graph.registerPolicyStatement(statement);
  }
}
