import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { TRAINING_STATES } from '../contract/training-run';
import { PipelineNotification } from './pipeline-notification';
import { retryOrFail } from '../shared/retries';

export interface ModelQualityGateProps {
  /** Reads the finished job at `$.job` (see EvaluateTrainingFunction). */
  readonly evaluator: lambda.IFunction;
  /** Smallest validation AUC that may be deployed, from 0 to 1 (0.5 is a coin toss). */
  readonly minValidationAuc: number;
  /**
   * Smallest validation recall that may be deployed, from 0 to 1: the share of frauds the model flags at the
   * container's cut of 0.5 (CONTAINER_CLASS_CUT). 0 leaves recall out of the gate. @default 0
   */
  readonly minValidationRecall?: number;
  /** Where a rejected model is announced. */
  readonly notifications: sns.ITopic;
  /** Names the stage in the announcement's subject. */
  readonly namePrefix: string;
  /** Where an error of the evaluation goes: the pipeline's failure path. */
  readonly onFailure: sfn.IChainable;
}

/**
 * The gate step between training and rollout: evaluate the finished job, then pass on only a model whose validation
 * AUC, and recall when `minValidationRecall` is set, reach their floors. A model below one, or without the metric,
 * is announced and the run fails with
 * ModelBelowQualityGate; the endpoint keeps serving the previous model.
 *
 * Writes `$.training` (job name, artifact, metric, billed and trained seconds, spot saving). The step that follows an
 * approved model is given with `approveTo`, once it exists.
 */
export class ModelQualityGate extends Construct {
  /** The EvaluateModel state. */
  readonly startState: sfn.IChainable;
  private readonly decision: sfn.Choice;
  private readonly rejected: sfn.IChainable;
  private readonly minValidationAuc: number;
  private readonly minValidationRecall: number;
  private approved = false;

  constructor(scope: Construct, id: string, props: ModelQualityGateProps) {
    super(scope, id);
    const minAuc = props.minValidationAuc;
    if (!Number.isFinite(minAuc) || minAuc < 0 || minAuc > 1) {
      throw new Error(
        `ModelQualityGate ${this.node.path}: minValidationAuc ${minAuc} is not an AUC; pass a number from 0 to 1, ` +
          'for example 0.8',
      );
    }
    const minRecall = props.minValidationRecall ?? 0;
    if (!Number.isFinite(minRecall) || minRecall < 0 || minRecall > 1) {
      throw new Error(
        `ModelQualityGate ${this.node.path}: minValidationRecall ${minRecall} is not a recall; pass a number from 0 ` +
          'to 1, for example 0.5, or 0 to gate on AUC alone',
      );
    }
    this.minValidationAuc = minAuc;
    this.minValidationRecall = minRecall;
    const evaluate = new tasks.LambdaInvoke(this, 'EvaluateModel', {
      lambdaFunction: props.evaluator,
      payload: sfn.TaskInput.fromJsonPathAt('$.job'),
      retryOnServiceExceptions: false,
      resultSelector: {
        'jobName.$': '$.Payload.jobName',
        'modelArtifacts.$': '$.Payload.modelArtifacts',
        'metricName.$': '$.Payload.metricName',
        'metricValue.$': '$.Payload.metricValue',
        'validationMetrics.$': '$.Payload.validationMetrics',
        'billableSeconds.$': '$.Payload.billableSeconds',
        'trainingSeconds.$': '$.Payload.trainingSeconds',
        'spotSavingPercent.$': '$.Payload.spotSavingPercent',
      },
      resultPath: '$.training',
    });
    retryOrFail(evaluate, 'lambda', props.onFailure);
    this.rejected = new PipelineNotification(this, 'NotifyRejected', {
      stateName: TRAINING_STATES.notifyRejected,
      topic: props.notifications,
      subject: `ML pipeline ${props.namePrefix}: model rejected by the quality gate`,
      message: {
        execution: sfn.JsonPath.executionId,
        trainingJob: sfn.JsonPath.stringAt('$.training.jobName'),
        validationAuc: sfn.JsonPath.objectAt('$.training.metricValue'),
        validationRecall: sfn.JsonPath.objectAt('$.training.validationMetrics.recall'),
        minValidationAuc: minAuc,
        minValidationRecall: minRecall,
      },
      next: new sfn.Fail(this, 'ModelRejected', {
        stateName: TRAINING_STATES.modelRejected,
        error: 'ModelBelowQualityGate',
        cause:
          minRecall > 0
            ? `Validation AUC below ${minAuc} or recall below ${minRecall}; the endpoint keeps serving the previous model`
            : `Validation AUC below ${minAuc}; the endpoint keeps serving the previous model`,
      }),
    });
    // Choice rules are tried in order: a missing metric is rejected before it is compared.
    this.decision = new sfn.Choice(this, 'QualityGate', {
      comment:
        minRecall > 0
          ? `Deploy only when validation:auc >= ${minAuc} and validation:recall >= ${minRecall}`
          : `Deploy only when validation:auc >= ${minAuc}`,
    }).when(sfn.Condition.isNull('$.training.metricValue'), this.rejected);
    if (minRecall > 0) this.decision.when(sfn.Condition.isNull('$.training.validationMetrics.recall'), this.rejected);
    evaluate.next(this.decision);
    this.startState = evaluate;
  }

  /** Sends a model that reaches the threshold to `next`, and every other model to the rejection. Call it once. */
  approveTo(next: sfn.IChainable): void {
    if (this.approved) throw new Error(`ModelQualityGate ${this.node.path}: approveTo was already called`);
    this.approved = true;
    const floors = [sfn.Condition.numberGreaterThanEquals('$.training.metricValue', this.minValidationAuc)];
    if (this.minValidationRecall > 0) {
      floors.push(
        sfn.Condition.numberGreaterThanEquals('$.training.validationMetrics.recall', this.minValidationRecall),
      );
    }
    this.decision.when(floors.length === 1 ? floors[0] : sfn.Condition.and(...floors), next).otherwise(this.rejected);
  }
}
