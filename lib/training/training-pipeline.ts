import { Duration, type RemovalPolicy, type Size } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import {
  MODEL_OUTPUT_PREFIX,
  OWNER_TAG_KEY,
  TRAINING_STATES,
  ownerTagValue as ownerTagValueOf,
  trainingStateMachineName,
} from '../contract/training-run';
import type { FeatureSchema } from '../schema/feature-schema';
import { EncryptedLogGroup } from '../shared/encrypted-log-group';
import { executionLogs } from '../shared/execution-logs';
import { DatasetExport } from './dataset-export';
import type { EndpointCapacity } from './endpoint-capacity';
import { EndpointRollout } from './endpoint-rollout';
import { EvaluateTrainingFunction } from './evaluate-training-function';
import { createVolumeGrants, useLakeKey } from './lake-key-statements';
import { ModelQualityGate } from './model-quality-gate';
import { ModelRegistry } from './model-registry';
import { ChampionChallenger } from './champion-challenger';
import { ApprovedRollout } from './approved-rollout';
import { PartitionCrawl } from './partition-crawl';
import { PipelineNotification } from './pipeline-notification';
import { retryOrFail } from '../shared/retries';
import { RunReportState } from './run-report-state';
import { SageMakerExecutionRole } from './sagemaker-execution-role';
import { acknowledgeTrainingWildcards } from './training-wildcards';
import { SingleRunGuard } from '../shared/single-run-guard';
import { SpotTrainingJob } from './spot-training-job';
import { XgboostImage } from './xgboost-image';
import { xgboostHyperparameters, type XgboostHyperparameters } from '../contract/xgboost-hyperparameters';

export interface TrainingPipelineProps {
  /** Prefix of the state machine's name and of everything a run creates (`<namePrefix>-<uuid>`). */
  readonly namePrefix: string;
  /** The features and label the export selects. */
  readonly schema: FeatureSchema;
  /** The Glue database of the raw table. */
  readonly databaseName: string;
  /** The raw table the export reads. */
  readonly tableName: string;
  /** The crawler each run starts first. */
  readonly crawlerName: string;
  /** The Athena workgroup the export runs in. */
  readonly workgroupName: string;
  /** The raw zone the export reads. */
  readonly rawBucket: s3.IBucket;
  /** Where the training exports land. */
  readonly curatedBucket: s3.IBucket;
  /** The Athena workgroup's result bucket. */
  readonly athenaResultsBucket: s3.IBucket;
  /** Where training jobs write model artifacts and endpoints read them. */
  readonly modelsBucket: s3.IBucket;
  /** Where spot training jobs write their checkpoints. */
  readonly checkpointsBucket: s3.IBucket;
  /** The lake key: data, volumes, logs and notifications are encrypted with it. */
  readonly encryptionKey: kms.IKey;
  /** Where failures and rejected models are announced. */
  readonly notifications: sns.ITopic;
  /** How long the execution and function logs are kept. */
  readonly logRetention: logs.RetentionDays;
  /** What happens to the pipeline's log groups when its stack is deleted. */
  readonly removalPolicy: RemovalPolicy;
  /** Percent of records held out for validation. @default 20 */
  readonly validationPercent?: number;
  /** Days of raw partitions each run exports. @default Duration.days(30) */
  readonly exportWindow?: Duration;
  /** A SageMaker training instance type. @default 'ml.m5.xlarge' */
  readonly trainingInstanceType?: string;
  /** Instances per training job. @default 1 */
  readonly trainingInstanceCount?: number;
  /** Storage volume per training instance. @default Size.gibibytes(10) */
  readonly trainingVolumeSize?: Size;
  /** Longest training time. @default Duration.hours(1) */
  readonly maxRuntime?: Duration;
  /** Train on managed spot capacity. @default true */
  readonly spot?: boolean;
  /** Longest wait for spot capacity plus training. @default - twice `maxRuntime` */
  readonly maxWait?: Duration;
  /** The XGBoost hyperparameters; `objective` and `eval_metric` are fixed to binary:logistic and auc. */
  readonly hyperparameters: XgboostHyperparameters;
  /** Smallest validation AUC that may be deployed. */
  readonly minValidationAuc: number;
  /** Smallest validation recall (at the container's cut of 0.5) that may be deployed; 0 leaves it out. @default 0 */
  readonly minValidationRecall?: number;
  /** How far the candidate's AUC must be above the serving model's on the same split, from -1 to 1. @default 0 */
  readonly minImprovement?: number;
  /** The instance type of the champion's and the candidate's batch transforms. @default 'ml.m5.large' */
  readonly transformInstanceType?: string;
  /**
   * `automatic`: a gated model is registered Approved and rolled out in the run. `manual`: it is registered
   * PendingManualApproval and the run ends; approving the version rolls it out (approved-rollout.ts).
   * @default 'automatic'
   */
  readonly approval?: 'automatic' | 'manual';
  /** The stable endpoint name the API calls. */
  readonly endpointName: string;
  /** How the endpoint serves. */
  readonly endpointCapacity: EndpointCapacity;
  /** How long to wait between polls of the crawler and the endpoint. @default Duration.seconds(30) */
  readonly pollInterval?: Duration;
}

/**
 * The training pipeline: a Step Functions standard workflow that turns the data lake into a served model, composed
 * of one construct per step.
 *
 * guard against a concurrent run → crawl (partition-crawl.ts) → export train/validation Parquet with one Athena
 * UNLOAD, and the training split's feature baseline next to the model with another (dataset-export.ts) → XGBoost training on spot capacity with checkpoints (spot-training-job.ts) → quality
 * gate on validation AUC and recall (model-quality-gate.ts) → the serving model scores the same validation split in a
 * batch transform, and the candidate must beat it (champion-challenger.ts) → register (model-registry.ts) → model, endpoint config, create or update the endpoint, wait for
 * InService (endpoint-rollout.ts) → report.
 *
 * Every service call retries its transient errors with exponential backoff and jitter (retries.ts); any failure is
 * published to the notification topic and ends the execution as failed. A model below the threshold is never
 * deployed.
 */
export class TrainingPipeline extends Construct {
  readonly stateMachine: sfn.IStateMachine;
  /** The role SageMaker assumes for training jobs and for hosting the model. */
  readonly sagemakerRole: iam.IRole;
  /** The owner tag's value on everything the pipeline creates in SageMaker. */
  readonly ownerTagValue: string;
  /** The model package group every deployed version is registered in. */
  readonly registry: ModelRegistry;
  /** With manual approval: the workflow that rolls a version out when it is approved. */
  readonly approvedRollout?: ApprovedRollout;

  constructor(scope: Construct, id: string, props: TrainingPipelineProps) {
    super(scope, id);
    const { namePrefix, encryptionKey, notifications, pollInterval } = props;
    const ownerTagValue = ownerTagValueOf(namePrefix);
    const stateMachineName = trainingStateMachineName(namePrefix);
    this.ownerTagValue = ownerTagValue;
    const image = new XgboostImage(this, 'XgboostImage');
    const sagemakerRole = new SageMakerExecutionRole(this, 'SageMakerRole', {
      curatedBucket: props.curatedBucket,
      modelsBucket: props.modelsBucket,
      checkpointsBucket: props.checkpointsBucket,
      encryptionKey,
      imageRepositoryArn: image.repositoryArn,
    });
    this.sagemakerRole = sagemakerRole;

    // A failure is announced, and the run then fails with the error it caught: `npm run train` and the console show
    // the real reason. If the announcement itself fails (SNS, KMS), the run still ends with the original error.
    const failure = new PipelineNotification(this, 'NotifyFailure', {
      stateName: TRAINING_STATES.notifyFailure,
      topic: notifications,
      subject: `ML pipeline ${namePrefix}: training run failed`,
      message: {
        execution: sfn.JsonPath.executionId,
        error: sfn.JsonPath.stringAt('$.failure.Error'),
        cause: sfn.JsonPath.stringAt('$.failure.Cause'),
      },
      next: new sfn.Fail(this, 'RunFailed', {
        stateName: TRAINING_STATES.runFailed,
        errorPath: '$.failure.Error',
        causePath: '$.failure.Cause',
      }),
    });

    // The steps are built in the order they run: each hands its errors to the failure path in that order, which is
    // the order the rendered definition lists the states in.
    const prepareRun = new sfn.Pass(this, 'PrepareRun', {
      comment: 'Names every artifact of this run after one id',
      parameters: {
        id: sfn.JsonPath.format(`${namePrefix}-{}`, sfn.JsonPath.uuid()),
        // An idempotency token of the run (at most 36 characters, so not the id itself).
        token: sfn.JsonPath.uuid(),
        execution: sfn.JsonPath.executionId,
      },
      resultPath: '$.run',
    });
    const guard = new SingleRunGuard(this, 'SingleRun', {
      stateMachineName,
      executionPath: '$.run.execution',
      onFailure: failure,
    });
    const crawl = new PartitionCrawl(this, 'Crawl', {
      crawlerName: props.crawlerName,
      onFailure: failure,
      pollInterval,
    });
    const datasets = new DatasetExport(this, 'Export', {
      schema: props.schema,
      databaseName: props.databaseName,
      tableName: props.tableName,
      workgroupName: props.workgroupName,
      rawBucket: props.rawBucket,
      curatedBucket: props.curatedBucket,
      athenaResultsBucket: props.athenaResultsBucket,
      modelsBucket: props.modelsBucket,
      onFailure: failure,
      validationPercent: props.validationPercent,
      window: props.exportWindow,
    });
    const runId = sfn.JsonPath.stringAt('$.run.id');
    const train = new SpotTrainingJob(this, 'TrainModel', {
      trainingJobName: runId,
      role: sagemakerRole,
      imageUri: image.imageUri,
      // The built-in XGBoost reads Parquet with the label in the first column (see trainingExportQuery).
      channels: (['train', 'validation'] as const).map((split) => ({
        name: split,
        s3Uri: datasets.splitUri(split),
        contentType: 'application/x-parquet',
      })),
      // An s3:// URI: SageMaker reads an https:// URL's host as the bucket.
      outputUri: props.modelsBucket.s3UrlForObject(MODEL_OUTPUT_PREFIX),
      encryptionKey,
      checkpointUri: sfn.JsonPath.format(`s3://${props.checkpointsBucket.bucketName}/{}/`, runId),
      instanceType: props.trainingInstanceType,
      instanceCount: props.trainingInstanceCount,
      volumeSize: props.trainingVolumeSize,
      maxRuntime: props.maxRuntime,
      spot: props.spot,
      maxWait: props.maxWait,
      hyperparameters: xgboostHyperparameters(`TrainingPipeline ${this.node.path}`, props.hyperparameters),
      tags: { [OWNER_TAG_KEY]: ownerTagValue },
      resultPath: '$.job',
    });
    retryOrFail(train, 'sagemakerJob', failure);
    const evaluator = new EvaluateTrainingFunction(this, 'EvaluateTrainingFunction', {
      encryptionKey,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    const gate = new ModelQualityGate(this, 'Gate', {
      evaluator: evaluator.function,
      minValidationAuc: props.minValidationAuc,
      minValidationRecall: props.minValidationRecall,
      notifications,
      namePrefix,
      onFailure: failure,
    });
    const manual = props.approval === 'manual';
    const registry = new ModelRegistry(this, 'Registry', {
      namePrefix,
      imageUri: image.imageUri,
      modelsBucket: props.modelsBucket,
      exportWindowDays: (props.exportWindow ?? Duration.days(30)).toDays(),
      ownerTag: { key: OWNER_TAG_KEY, value: ownerTagValue },
      onFailure: failure,
      approvalStatus: manual ? 'PendingManualApproval' : 'Approved',
    });
    this.registry = registry;
    const challenge = new ChampionChallenger(this, 'ChampionChallenger', {
      namePrefix,
      endpointName: props.endpointName,
      scoringSetUri: datasets.scoringSetUri(),
      modelsBucket: props.modelsBucket,
      encryptionKey,
      transformInstanceType: props.transformInstanceType ?? 'ml.m5.large',
      imageUri: image.imageUri,
      sagemakerRole,
      minImprovement: props.minImprovement ?? 0,
      ownerTag: { key: OWNER_TAG_KEY, value: ownerTagValue },
      notifications,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      onFailure: failure,
      next: registry.startState,
      pollInterval,
    });
    gate.approveTo(challenge.startState);
    if (manual) {
      // The endpoint keeps serving; approving the version starts its rollout.
      registry.endState.next(
        new RunReportState(this, 'Report', { endpointName: props.endpointName, approval: 'PendingManualApproval' }),
      );
      this.approvedRollout = new ApprovedRollout(this, 'ApprovedRollout', {
        namePrefix,
        registry,
        endpointName: props.endpointName,
        capacity: props.endpointCapacity,
        sagemakerRole,
        encryptionKey,
        ownerTag: { key: OWNER_TAG_KEY, value: ownerTagValue },
        notifications,
        logRetention: props.logRetention,
        removalPolicy: props.removalPolicy,
        pollInterval,
      });
    } else {
      const rollout = new EndpointRollout(this, 'Rollout', {
        namePrefix,
        endpointName: props.endpointName,
        capacity: props.endpointCapacity,
        modelPackagesArn: registry.packagesArn,
        sagemakerRole,
        encryptionKey,
        ownerTag: { key: OWNER_TAG_KEY, value: ownerTagValue },
        onFailure: failure,
        notifications,
        onSuccess: new RunReportState(this, 'Report', { endpointName: props.endpointName }),
        pollInterval,
      });
      registry.endState.next(rollout.startState);
    }

    const stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName,
      comment: 'Crawl, export, train on spot, gate on AUC and recall, challenge the champion, register, roll out',
      definitionBody: sfn.DefinitionBody.fromChainable(
        sfn.Chain.start(prepareRun)
          .next(guard.chain)
          .next(crawl.chain)
          .next(datasets.startState)
          .next(train)
          .next(gate.startState),
      ),
      stateMachineType: sfn.StateMachineType.STANDARD,
      tracingEnabled: true,
      logs: executionLogs(
        new EncryptedLogGroup(this, 'ExecutionLogs', {
          encryptionKey,
          retention: props.logRetention,
          removalPolicy: props.removalPolicy,
        }),
      ),
      timeout: train.maxWait.plus(Duration.hours(6)),
    });
    this.stateMachine = stateMachine;
    // Beyond the grants the states generate: Athena runs the export as the state machine, and SageMaker encrypts
    // the volumes of the jobs and endpoints the state machine creates through grants made with its credentials.
    datasets.grantExportQueries(stateMachine.role);
    stateMachine.role.addToPrincipalPolicy(useLakeKey(encryptionKey));
    stateMachine.role.addToPrincipalPolicy(createVolumeGrants(encryptionKey));
    datasets.grantCatalogRead(stateMachine.role);
    acknowledgeTrainingWildcards(this, stateMachine.role, namePrefix, evaluator.function.functionArn);
    registry.acknowledgeWildcards(stateMachine.role);
    challenge.acknowledgeWildcards(stateMachine.role);
  }
}
