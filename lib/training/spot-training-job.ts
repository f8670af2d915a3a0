import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';

export interface SpotTrainingJobProps extends tasks.SageMakerCreateTrainingJobProps {
  /** Train on spare EC2 capacity at up to 90% off; SageMaker may interrupt and resume the job. */
  readonly useSpot: boolean;
  /** Longest wait for spot capacity plus training; must exceed `stoppingCondition.maxRuntime`. */
  readonly maxWait: Duration;
  /**
   * S3 URI where the algorithm writes checkpoints, unique per job (a JSONPath or `States.Format` expression is
   * allowed). An interrupted spot job copies them back and resumes from its last boosting round.
   */
  readonly checkpointS3Uri: string;
}

/**
 * Step Functions task that runs a SageMaker training job with managed spot training and checkpoints.
 *
 * CDK's `SageMakerCreateTrainingJob` cannot express `EnableManagedSpotTraining`, `MaxWaitTimeInSeconds` or
 * `CheckpointConfig`. This subclass adds them to the rendered task, so it keeps everything the base class does:
 * the `.sync` integration, the generated IAM policy (including `iam:PassRole` for the job's role), Retry and Catch.
 */
export class SpotTrainingJob extends tasks.SageMakerCreateTrainingJob {
  private readonly spot: Pick<SpotTrainingJobProps, 'useSpot' | 'maxWait' | 'checkpointS3Uri'>;

  constructor(scope: Construct, id: string, props: SpotTrainingJobProps) {
    super(scope, id, props);
    const maxRuntime = props.stoppingCondition?.maxRuntime ?? Duration.hours(1);
    if (props.useSpot && props.maxWait.toSeconds() <= maxRuntime.toSeconds()) {
      throw new Error(
        `SpotTrainingJob: maxWait (${props.maxWait.toSeconds()} s) must exceed maxRuntime (${maxRuntime.toSeconds()} s); ` +
          'raise training.maxWaitSeconds in the stage config',
      );
    }
    this.spot = { useSpot: props.useSpot, maxWait: props.maxWait, checkpointS3Uri: props.checkpointS3Uri };
  }

  protected override _renderTask(topLevelQueryLanguage?: sfn.QueryLanguage): { [key: string]: unknown } {
    const task = super._renderTask(topLevelQueryLanguage) as { Parameters?: { [key: string]: unknown } };
    const parameters = task.Parameters;
    if (parameters === undefined) {
      throw new Error(`SpotTrainingJob ${this.node.path}: only JSONPath state machines are supported`);
    }
    const stoppingCondition = parameters.StoppingCondition as { [key: string]: unknown };
    return {
      ...task,
      Parameters: {
        ...parameters,
        ...sfn.FieldUtils.renderObject({ CheckpointConfig: { S3Uri: this.spot.checkpointS3Uri } }),
        ...(this.spot.useSpot
          ? {
              EnableManagedSpotTraining: true,
              StoppingCondition: { ...stoppingCondition, MaxWaitTimeInSeconds: this.spot.maxWait.toSeconds() },
            }
          : {}),
      },
    };
  }
}
