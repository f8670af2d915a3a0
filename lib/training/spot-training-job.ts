import { Aws, Duration, Size, SizeRoundingBehavior, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { SAGEMAKER_INSTANCE_TYPE } from '../contract/service-limits';
import { sageMakerJobSyncStatements } from './sagemaker-job-sync';

/** One input channel of a training job: an S3 prefix the algorithm reads under a channel name. */
export interface TrainingChannel {
  /** The channel name the algorithm expects, e.g. `train` or `validation`. */
  readonly name: string;
  /** The S3 prefix, as an `s3://` URI; a JSONPath or `States.Format` expression is allowed. */
  readonly s3Uri: string;
  /** The MIME type of the channel's files. @default - the algorithm's default */
  readonly contentType?: string;
}

export interface SpotTrainingJobProps {
  /** The job's name, unique per run; a JSONPath such as `$.run.id` is allowed. */
  readonly trainingJobName: string;
  /** The role SageMaker assumes for the job; the state machine may pass it, to SageMaker only. */
  readonly role: iam.IRole;
  /** The algorithm's container image. */
  readonly imageUri: string;
  /** The input channels, read in File mode. */
  readonly channels: readonly TrainingChannel[];
  /** Where SageMaker writes the model artifact, as an `s3://` URI. */
  readonly outputUri: string;
  /** Encrypts the artifact and the instances' storage volumes. */
  readonly encryptionKey: kms.IKey;
  /**
   * S3 URI where the algorithm writes checkpoints, unique per job (a JSONPath or `States.Format` expression is
   * allowed). An interrupted spot job copies them back and resumes from its last checkpoint.
   */
  readonly checkpointUri: string;
  /** A SageMaker training instance type. @default 'ml.m5.xlarge' */
  readonly instanceType?: string;
  /** Instances per job. @default 1 */
  readonly instanceCount?: number;
  /** Storage volume per instance, in whole GiB. @default Size.gibibytes(10) */
  readonly volumeSize?: Size;
  /** Longest training time, in whole seconds. @default Duration.hours(1) */
  readonly maxRuntime?: Duration;
  /** Train on spare EC2 capacity at up to 90% off; SageMaker may interrupt and resume the job. @default true */
  readonly spot?: boolean;
  /** Longest wait for spot capacity plus training; must exceed `maxRuntime`. @default - twice `maxRuntime` */
  readonly maxWait?: Duration;
  /** The algorithm's hyperparameters. @default - none, the algorithm's defaults */
  readonly hyperparameters?: { readonly [name: string]: string };
  /** Tags on the job. @default - none */
  readonly tags?: { readonly [key: string]: string };
  /** Cut the training container off the network. @default true */
  readonly networkIsolation?: boolean;
  /** Where the job description goes in the state. @default '$' (it replaces the input) */
  readonly resultPath?: string;
}

/**
 * The train step: a SageMaker training job run by Step Functions' optimized `createTrainingJob.sync` integration,
 * with managed spot training, its maximum wait and checkpoints.
 *
 * CDK's `SageMakerCreateTrainingJob` cannot express `EnableManagedSpotTraining`, `MaxWaitTimeInSeconds` or
 * `CheckpointConfig`, so this is a `CustomState` carrying the whole request. It grants the state machine what the
 * `.sync` integration needs (Step Functions developer guide, "IAM policies for Amazon SageMaker AI"): create,
 * describe and stop the job and tag it, list tags, pass the job's role to SageMaker only, and manage the EventBridge
 * rule through which Step Functions learns that the job ended.
 */
export class SpotTrainingJob extends sfn.CustomState {
  /** Longest wait for spot capacity plus training, as the job's request states it (or would, with spot). */
  readonly maxWait: Duration;
  private readonly policyStatements: iam.PolicyStatement[];

  constructor(scope: Construct, id: string, props: SpotTrainingJobProps) {
    const settings = resolveSettings(id, props);
    const { spot, maxWait, maxRuntime } = settings;
    super(scope, id, {
      stateJson: {
        // Retry and Catch come from addRetry / addCatch; naming them first keeps the keys in the order of CDK's own
        // task states, which this state replaced without changing the rendered definition.
        Retry: undefined,
        Catch: undefined,
        Type: 'Task',
        ResultPath: props.resultPath,
        Resource: `arn:${Aws.PARTITION}:states:::sagemaker:createTrainingJob.sync`,
        Parameters: sfn.FieldUtils.renderObject({
          TrainingJobName: props.trainingJobName,
          EnableNetworkIsolation: props.networkIsolation ?? true,
          RoleArn: props.role.roleArn,
          AlgorithmSpecification: { TrainingInputMode: 'File', TrainingImage: props.imageUri },
          InputDataConfig: props.channels.map((channel) => ({
            ChannelName: channel.name,
            DataSource: { S3DataSource: { S3Uri: channel.s3Uri, S3DataType: 'S3Prefix' } },
            ContentType: channel.contentType,
          })),
          OutputDataConfig: { S3OutputPath: props.outputUri, KmsKeyId: props.encryptionKey.keyArn },
          ResourceConfig: {
            InstanceCount: settings.instanceCount,
            InstanceType: settings.instanceType,
            VolumeSizeInGB: settings.volumeSize.toGibibytes(),
            VolumeKmsKeyId: props.encryptionKey.keyArn,
          },
          StoppingCondition: {
            MaxRuntimeInSeconds: maxRuntime.toSeconds(),
            ...(spot ? { MaxWaitTimeInSeconds: maxWait.toSeconds() } : {}),
          },
          ...(props.hyperparameters === undefined ? {} : { HyperParameters: { ...props.hyperparameters } }),
          ...(props.tags === undefined
            ? {}
            : { Tags: Object.entries(props.tags).map(([key, value]) => ({ Key: key, Value: value })) }),
          CheckpointConfig: { S3Uri: props.checkpointUri },
          ...(spot ? { EnableManagedSpotTraining: true } : {}),
        }),
      },
    });
    this.maxWait = maxWait;
    this.policyStatements = syncIntegrationStatements(Stack.of(this), props);
  }

  /** Registers the integration's statements with the state machine that runs this state, as CDK's tasks do. */
  protected override whenBoundToGraph(graph: sfn.StateGraph): void {
    super.whenBoundToGraph(graph);
    for (const statement of this.policyStatements) graph.registerPolicyStatement(statement);
  }
}

/** The props with their defaults applied, validated; each error names the prop, its value and what to pass. */
function resolveSettings(id: string, props: SpotTrainingJobProps) {
  const fail = (message: string): never => {
    throw new Error(`SpotTrainingJob ${id}: ${message}`);
  };
  const instanceType = props.instanceType ?? 'ml.m5.xlarge';
  const instanceCount = props.instanceCount ?? 1;
  const volumeSize = props.volumeSize ?? Size.gibibytes(10);
  const maxRuntime = props.maxRuntime ?? Duration.hours(1);
  const spot = props.spot ?? true;
  const maxWait = props.maxWait ?? Duration.seconds(maxRuntime.toSeconds({ integral: false }) * 2);
  if (!Token.isUnresolved(instanceType) && !SAGEMAKER_INSTANCE_TYPE.test(instanceType)) {
    fail(`instanceType '${instanceType}' is not a SageMaker instance type; pass one such as 'ml.m5.xlarge'`);
  }
  if (!Number.isInteger(instanceCount) || instanceCount < 1) {
    fail(`instanceCount ${instanceCount} must be a whole number of at least 1`);
  }
  const gib = volumeSize.toGibibytes({ rounding: SizeRoundingBehavior.NONE });
  if (!Number.isInteger(gib) || gib < 1) {
    fail(`volumeSize (${gib} GiB) must be a whole number of GiB, at least 1; pass for example Size.gibibytes(10)`);
  }
  for (const [name, duration] of [
    ['maxRuntime', maxRuntime],
    ['maxWait', maxWait],
  ] as const) {
    const seconds = duration.toSeconds({ integral: false });
    if (!Number.isInteger(seconds) || seconds < 1) {
      fail(`${name} (${duration.toHumanString()}) must be a whole number of seconds, at least 1`);
    }
  }
  if (spot && maxWait.toSeconds() <= maxRuntime.toSeconds()) {
    fail(
      `maxWait (${maxWait.toSeconds()} s) must exceed maxRuntime (${maxRuntime.toSeconds()} s), since the wait ` +
        `covers spot capacity plus the training; pass a maxWait of at least ${maxRuntime.toSeconds() + 1} s`,
    );
  }
  if (props.channels.length === 0) fail('channels is empty; pass at least the training channel');
  for (const [name, uri] of [
    ['outputUri', props.outputUri],
    ['checkpointUri', props.checkpointUri],
    ...props.channels.map((channel) => [`channel ${channel.name}`, channel.s3Uri] as const),
  ] as const) {
    // A JSONPath expression is resolved at run time; anything else must already be an s3:// URI.
    if (!sfn.JsonPath.isEncodedJsonPath(uri) && !uri.startsWith('s3://')) {
      fail(`${name} '${uri}' is not an s3:// URI (SageMaker reads an https:// URL's host as the bucket)`);
    }
  }
  return { instanceType, instanceCount, volumeSize, maxRuntime, spot, maxWait };
}

/** What the state machine needs for `createTrainingJob.sync`, and passing the job's role to SageMaker only. */
function syncIntegrationStatements(stack: Stack, props: SpotTrainingJobProps): iam.PolicyStatement[] {
  const jobArn = stack.formatArn({
    service: 'sagemaker',
    resource: 'training-job',
    resourceName: sfn.JsonPath.isEncodedJsonPath(props.trainingJobName) ? '*' : `${props.trainingJobName}*`,
  });
  return [
    ...sageMakerJobSyncStatements(stack, 'Training', jobArn),
    new iam.PolicyStatement({
      actions: ['iam:PassRole'],
      resources: [props.role.roleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
    }),
  ];
}
