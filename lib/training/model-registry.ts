import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import {
  EVAL_METRICS,
  VERSION_METADATA as META,
  baselineKeyPrefix,
  modelMetricsKey,
  modelPackageGroupName,
} from '../contract/training-run';
import { objectArnFindingId, resourceFindingId } from '../shared/nag-findings';
import { retryOrFail } from '../shared/retries';

export interface ModelRegistryProps {
  /** Names the model package group, `<namePrefix>-models`. */
  readonly namePrefix: string;
  /** The built-in XGBoost image every version is served with. */
  readonly imageUri: string;
  /** Where the model artefacts, baselines and metrics reports live. */
  readonly modelsBucket: s3.IBucket;
  /** Days of data each run trains on, recorded with every version. */
  readonly exportWindowDays: number;
  /** The tag every pipeline-made SageMaker resource carries; the group carries it, and its versions with it. */
  readonly ownerTag: { readonly key: string; readonly value: string };
  /** Where an error goes: the pipeline's failure path. */
  readonly onFailure: sfn.IChainable;
  /** `Approved` to roll out at once, `PendingManualApproval` to wait for someone to approve. */
  readonly approvalStatus: 'Approved' | 'PendingManualApproval';
}

/**
 * The model registry: a SageMaker model package group that owns every version the pipeline trained and the gate
 * passed, each registered with its image and artefact, its validation metrics as a model-quality report in S3
 * (`models/<run id>/model-metrics.json`, the format SageMaker Studio shows), and its training job, export window and
 * baseline as metadata. A version is registered Approved, and the rollout that follows makes the model from it
 * (`ModelPackageName`) once SageMaker has completed it, or PendingManualApproval, and its approval starts the
 * rollout (approved-rollout.ts). The endpoint's model is also tagged with the version's ARN, so what serves is
 * traceable to its version.
 *
 * Expects `$.run.id`, `$.run.token`, `$.training` (the gate's evaluation) and `$.comparison` (champion-challenger.ts);
 * writes `$.registry.packageArn`.
 */
export class ModelRegistry extends Construct {
  readonly groupName: string;
  /** Every version of the group, `model-package/<group>/*`. */
  readonly packagesArn: string;
  private readonly modelsBucket: s3.IBucket;
  /** The group, which the clean-up must outlive: CloudFormation cannot delete a group that still has versions. */
  readonly group: sagemaker.CfnModelPackageGroup;
  /** BuildMetricsReport, WriteModelMetrics, RegisterModel, then the wait until the version is Completed. */
  readonly startState: sfn.IChainable;
  /** VersionReady, to chain the rollout after. */
  readonly endState: sfn.INextable;

  constructor(scope: Construct, id: string, props: ModelRegistryProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.groupName = modelPackageGroupName(props.namePrefix);
    const group = new sagemaker.CfnModelPackageGroup(this, 'Group', {
      modelPackageGroupName: this.groupName,
      // Create-only in CloudFormation: with the fixed name, changing this text would fail the update.
      modelPackageGroupDescription: 'Every fraud model the training pipeline trained and its quality gate passed',
      tags: [{ key: props.ownerTag.key, value: props.ownerTag.value }],
    });
    // The group goes with the stack in every stage, its versions deleted first by the clean-up: a kept group's fixed
    // name would block the next deploy. What the versions point to (artefacts, reports, baselines) stays in the
    // models bucket where the stage keeps its data.
    group.applyRemovalPolicy(RemovalPolicy.DESTROY);
    const runId = sfn.JsonPath.stringAt('$.run.id');
    const bucket = props.modelsBucket.bucketName;
    const metricsKey = sfn.JsonPath.format(modelMetricsKey('{}'), runId);

    // SageMaker's model-quality statistics for a binary classifier; a metric the job did not report is null.
    const report = new sfn.Pass(this, 'BuildMetricsReport', {
      parameters: {
        binary_classification_metrics: Object.fromEntries(
          EVAL_METRICS.map((metric) => [
            metric === 'f1_binary' ? 'f1' : metric,
            { 'value.$': `$.training.validationMetrics.${metric}`, standard_deviation: 'NaN' },
          ]),
        ),
      },
      resultPath: '$.metricsReport',
    });
    const writeMetrics = new tasks.CallAwsService(this, 'WriteModelMetrics', {
      service: 's3',
      action: 'putObject',
      parameters: {
        Bucket: bucket,
        Key: metricsKey,
        ContentType: 'application/json',
        Body: sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt('$.metricsReport')),
      },
      iamResources: [props.modelsBucket.arnForObjects(modelMetricsKey('*'))],
      iamAction: 's3:PutObject',
      resultPath: sfn.JsonPath.DISCARD,
    });
    const packages = stack.formatArn({
      service: 'sagemaker',
      resource: 'model-package',
      resourceName: `${this.groupName}/*`,
    });
    const register = new tasks.CallAwsService(this, 'RegisterModel', {
      service: 'sagemaker',
      action: 'createModelPackage',
      parameters: {
        ModelPackageGroupName: this.groupName,
        ModelPackageDescription: sfn.JsonPath.format('Training run {}', runId),
        InferenceSpecification: {
          Containers: [{ Image: props.imageUri, ModelDataUrl: sfn.JsonPath.stringAt('$.training.modelArtifacts') }],
          // What the API sends and reads (lambda/predict): one CSV row per record, one probability per line.
          SupportedContentTypes: ['text/csv'],
          SupportedResponseMIMETypes: ['text/csv'],
        },
        ModelApprovalStatus: props.approvalStatus,
        ModelMetrics: {
          ModelQuality: {
            Statistics: {
              ContentType: 'application/json',
              S3Uri: sfn.JsonPath.format(`s3://${bucket}/${modelMetricsKey('{}')}`, runId),
            },
          },
        },
        CustomerMetadataProperties: {
          [META.trainingJob]: sfn.JsonPath.stringAt('$.training.jobName'),
          exportWindowDays: String(props.exportWindowDays),
          baseline: sfn.JsonPath.format(`s3://${bucket}/${baselineKeyPrefix('{}')}`, runId),
          // What `npm run approve` shows next to the champion's: metadata values are strings, a null prints 'null'.
          [META.validationAuc]: sfn.JsonPath.format('{}', sfn.JsonPath.stringAt('$.training.metricValue')),
          [META.validationRecall]: sfn.JsonPath.format(
            '{}',
            sfn.JsonPath.stringAt('$.training.validationMetrics.recall'),
          ),
          [META.challenge]: sfn.JsonPath.stringAt('$.comparison.decision'),
          [META.comparedAuc]: sfn.JsonPath.format('{}', sfn.JsonPath.stringAt('$.comparison.challenger.auc')),
          [META.improvementOverChampion]: sfn.JsonPath.format('{}', sfn.JsonPath.stringAt('$.comparison.improvement')),
        },
        // A version takes its group's tags; CreateModelPackage refuses Tags with a group name.
        // Retried after a 5xx, the same token cannot register a second version.
        ClientToken: sfn.JsonPath.stringAt('$.run.token'),
      },
      iamResources: [packages],
      resultSelector: { 'packageArn.$': '$.ModelPackageArn' },
      resultPath: '$.registry',
    });
    retryOrFail(writeMetrics, 's3', props.onFailure);
    retryOrFail(register, 'sagemakerSdk', props.onFailure);

    // A version is Pending, then InProgress, until SageMaker has checked it; a model is created from a Completed one.
    const describe = new tasks.CallAwsService(this, 'DescribeVersion', {
      service: 'sagemaker',
      action: 'describeModelPackage',
      parameters: { ModelPackageName: sfn.JsonPath.stringAt('$.registry.packageArn') },
      iamResources: [packages],
      resultSelector: { 'status.$': '$.ModelPackageStatus' },
      resultPath: '$.registry.version',
    });
    retryOrFail(describe, 'sagemakerSdk', props.onFailure);
    const ready = new sfn.Pass(this, 'VersionReady', { comment: 'The version is Completed' });
    const wait = new sfn.Wait(this, 'WaitForVersion', { time: sfn.WaitTime.duration(Duration.seconds(5)) });
    wait.next(describe);
    describe.next(
      new sfn.Choice(this, 'IsVersionCompleted')
        .when(sfn.Condition.stringEquals('$.registry.version.status', 'Completed'), ready)
        .when(
          sfn.Condition.or(
            sfn.Condition.stringEquals('$.registry.version.status', 'Pending'),
            sfn.Condition.stringEquals('$.registry.version.status', 'InProgress'),
          ),
          wait,
        )
        .otherwise(
          new sfn.Pass(this, 'VersionFailed', {
            parameters: {
              Error: 'ModelPackageNotCompleted',
              Cause: sfn.JsonPath.format(
                'Model package version {} is {}, not Completed; see it in the registry',
                sfn.JsonPath.stringAt('$.registry.packageArn'),
                sfn.JsonPath.stringAt('$.registry.version.status'),
              ),
            },
            resultPath: '$.failure',
          }).next(props.onFailure),
        ),
    );
    this.startState = report.next(writeMetrics).next(register).next(describe);
    this.endState = ready;
    this.group = group;
    this.packagesArn = packages;
    this.modelsBucket = props.modelsBucket;
  }

  /** The two wildcards the registry's states leave in `role` (the state machine's), with why. */
  acknowledgeWildcards(role: iam.IRole): void {
    Validations.of(role).acknowledge(
      {
        id: resourceFindingId(role, this.packagesArn),
        reason: 'SageMaker numbers the versions of the one model package group as they are registered.',
      },
      {
        id: objectArnFindingId(role, this.modelsBucket, modelMetricsKey('*')),
        reason: "Each run's metrics report lives next to its model, under models/<run id>/, named at run time.",
      },
    );
  }
}
