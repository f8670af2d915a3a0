import { Duration, type RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { SAGEMAKER_INSTANCE_TYPE, hasInstanceStore } from '../contract/service-limits';
import { TRAINING_STATES, challengerScoresPrefix, championScoresPrefix } from '../contract/training-run';
import { resourceFindingId } from '../shared/nag-findings';
import { retryOrFail, retryTransient } from '../shared/retries';
import { CompareChampionFunction } from './compare-champion-function';
import { ChampionTransformJob } from './champion-transform-job';
import { MissingEndpointCatch } from './missing-endpoint-catch';
import { PipelineNotification } from './pipeline-notification';
import { runResourceArn } from './run-names';

export interface ChampionChallengerProps {
  /** Names the stage in the announcement's subject. */
  readonly namePrefix: string;
  /** The endpoint whose model is the champion. */
  readonly endpointName: string;
  /** The run's validation split as CSV, label first (DatasetExport.scoringSetUri). */
  readonly scoringSetUri: string;
  /** Where the champion's scores land, next to the run's model. */
  readonly modelsBucket: s3.IBucket;
  /** Encrypts the transform's output and its instance's volume. */
  readonly encryptionKey: kms.IKey;
  /** The instance type of the two batch transforms, an `ml.*` type. */
  readonly transformInstanceType: string;
  /**
   * How far the candidate's validation AUC must be above the champion's, from -1 to 1: 0 asks for at least as good,
   * a negative value tolerates a slightly worse model (fresher data), a positive one asks for a real gain.
   */
  readonly minImprovement: number;
  /** The built-in XGBoost image the candidate is scored with, as it will be served. */
  readonly imageUri: string;
  /** The role SageMaker assumes for the candidate's model (and its transform). */
  readonly sagemakerRole: iam.IRole;
  /** The tag every pipeline-made SageMaker resource carries. */
  readonly ownerTag: { readonly key: string; readonly value: string };
  /** Where a kept champion is announced. */
  readonly notifications: sns.ITopic;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** Where an error goes: the pipeline's failure path. */
  readonly onFailure: sfn.IChainable;
  /** The step after a first model or a winning challenger: the registry. */
  readonly next: sfn.IChainable;
  /** How long to wait before looking the endpoint up again after throttling. @default Duration.seconds(30) */
  readonly pollInterval?: Duration;
}

/**
 * Champion and challenger on the same data: the model the endpoint serves now (the champion) scores the new
 * validation split in a SageMaker batch transform job (S3 in, S3 out: the exam's batch inference), and the candidate
 * replaces it only if its validation AUC is at least `minImprovement` above the champion's AUC on those scores.
 *
 * FindChampion → DescribeChampionConfig → ScoreChampion (createTransformJob.sync) → CompareWithChampion (a Lambda
 * function: rank-based AUC, recall, precision, decision) → IsChallengerBetter. Without an endpoint, or with a Failed
 * one, nothing serves and there is no champion: the model meets the floors alone (`first-model`). A kept champion is announced and the run fails with
 * ChampionKept; the endpoint keeps serving it. Expects `$.run.id` and `$.training`; writes `$.comparison`
 * (ModelComparison in lib/contract/training-run.ts).
 *
 * The transform joins each output line to its input and keeps the label and the score (`InputFilter` `$[1:]`,
 * `JoinSource` Input, `OutputFilter` `$[0,-1]`; SageMaker developer guide, "Associate Prediction Results with Input
 * Records"), so the model sees only the features and the function reads `<label>,<score>` lines.
 */
export class ChampionChallenger extends Construct {
  /** FindChampion. */
  readonly startState: sfn.IChainable;
  private readonly transformJobsArn: string;
  private readonly compareFunctionArn: string;
  private readonly challengerModelsArn: string;

  constructor(scope: Construct, id: string, props: ChampionChallengerProps) {
    super(scope, id);
    const owner = `ChampionChallenger ${this.node.path}`;
    if (!(props.minImprovement >= -1 && props.minImprovement <= 1)) {
      throw new Error(
        `${owner}: minImprovement ${props.minImprovement} must be an AUC difference from -1 to 1, for example 0 ` +
          '(the challenger must be at least as good) or -0.01 (it may be slightly worse)',
      );
    }
    if (
      !Token.isUnresolved(props.transformInstanceType) &&
      !SAGEMAKER_INSTANCE_TYPE.test(props.transformInstanceType)
    ) {
      throw new Error(
        `${owner}: transformInstanceType '${props.transformInstanceType}' is not a SageMaker instance type; pass ` +
          "one such as 'ml.m5.large'",
      );
    }
    // Instance store takes no KMS volume key, which the job sets (contract/service-limits.ts).
    if (hasInstanceStore(props.transformInstanceType)) {
      throw new Error(
        `${owner}: transformInstanceType '${props.transformInstanceType}' has local storage, for which SageMaker ` +
          "refuses the volume key the job encrypts with; pick a type without local storage, such as 'ml.m5.large'",
      );
    }
    const stack = Stack.of(this);
    const endpointArn = stack.formatArn({
      service: 'sagemaker',
      resource: 'endpoint',
      resourceName: props.endpointName,
    });
    const runId = sfn.JsonPath.stringAt('$.run.id');
    const challenger = {
      auc: sfn.JsonPath.numberAt('$.training.metricValue'),
      recall: sfn.JsonPath.objectAt('$.training.validationMetrics.recall'),
    };

    const findChampion = new tasks.CallAwsService(this, 'FindChampion', {
      comment: 'The champion is the model the endpoint serves now; without an endpoint this is the first model',
      service: 'sagemaker',
      action: 'describeEndpoint',
      parameters: { EndpointName: props.endpointName },
      iamResources: [endpointArn],
      resultSelector: { 'configName.$': '$.EndpointConfigName', 'status.$': '$.EndpointStatus' },
      resultPath: '$.championEndpoint',
    });
    const describeConfig = new tasks.CallAwsService(this, 'DescribeChampionConfig', {
      service: 'sagemaker',
      action: 'describeEndpointConfig',
      parameters: { EndpointConfigName: sfn.JsonPath.stringAt('$.championEndpoint.configName') },
      // The endpoint serves a config one of this stage's runs created.
      iamResources: [runResourceArn(this, 'endpoint-config', props.namePrefix)],
      resultSelector: { 'modelName.$': '$.ProductionVariants[0].ModelName' },
      resultPath: '$.champion',
    });
    retryOrFail(describeConfig, 'sagemakerSdk', props.onFailure);

    // The candidate becomes a model of its own for the transform, `<run id>-c`, from its artefact: it is not yet a
    // registered version. The run deletes it on every path after this; a rollout's clean-up takes what a stopped run
    // left, while no run is in progress (old-versions-cleanup.ts).
    const challengerModel = sfn.JsonPath.format('{}-c', runId);
    // Only candidate models: a run id ends in hex digits, never in `-c`, so where approval is manual the training
    // run still cannot create a model an endpoint would serve.
    const modelArns = stack.formatArn({
      service: 'sagemaker',
      resource: 'model',
      resourceName: `${props.namePrefix}-*-c`,
    });
    this.challengerModelsArn = modelArns;
    const createChallenger = new tasks.CallAwsService(this, 'CreateChallengerModel', {
      service: 'sagemaker',
      action: 'createModel',
      parameters: {
        ModelName: challengerModel,
        ExecutionRoleArn: props.sagemakerRole.roleArn,
        EnableNetworkIsolation: true,
        PrimaryContainer: { Image: props.imageUri, ModelDataUrl: sfn.JsonPath.stringAt('$.training.modelArtifacts') },
        Tags: [{ Key: props.ownerTag.key, Value: props.ownerTag.value }],
      },
      iamResources: [modelArns],
      additionalIamStatements: [
        new iam.PolicyStatement({ actions: ['sagemaker:AddTags'], resources: [modelArns] }),
        new iam.PolicyStatement({
          actions: ['iam:PassRole'],
          resources: [props.sagemakerRole.roleArn],
          conditions: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
        }),
      ],
      resultPath: sfn.JsonPath.DISCARD,
    });

    // Both models score the same CSV at the same time, each in a job of its own named after the run.
    const bucket = props.modelsBucket.bucketName;
    const transformProps = {
      scoringSetUri: props.scoringSetUri,
      encryptionKey: props.encryptionKey,
      instanceType: props.transformInstanceType,
      ownerTag: props.ownerTag,
      namePrefix: props.namePrefix,
    };
    const scoreChampion = new ChampionTransformJob(this, 'ScoreChampion', {
      ...transformProps,
      transformJobName: runId,
      modelName: sfn.JsonPath.stringAt('$.champion.modelName'),
      outputUri: sfn.JsonPath.format(`s3://${bucket}/${championScoresPrefix('{}')}`, runId),
    });
    const scoreChallenger = new ChampionTransformJob(this, 'ScoreChallenger', {
      ...transformProps,
      transformJobName: challengerModel,
      modelName: challengerModel,
      outputUri: sfn.JsonPath.format(`s3://${bucket}/${challengerScoresPrefix('{}')}`, runId),
    });
    // A Catch inside a branch cannot leave it: the branches retry, the Parallel state catches.
    retryTransient(scoreChampion, 'sagemakerJob');
    retryTransient(scoreChallenger, 'sagemakerJob');
    const scoreBoth = new sfn.Parallel(this, 'ScoreBothModels', {
      comment: 'The champion and the candidate score the same validation records in two batch transform jobs',
      resultPath: sfn.JsonPath.DISCARD,
    })
      .branch(scoreChampion)
      .branch(scoreChallenger);
    // The candidate's deletion, in two places: after the comparison, and after a failure once it may exist.
    const deleteCandidate: tasks.CallAwsServiceProps = {
      service: 'sagemaker',
      action: 'deleteModel',
      parameters: { ModelName: challengerModel },
      iamResources: [modelArns],
      resultPath: sfn.JsonPath.DISCARD,
    };
    // A run that fails once its candidate may exist deletes it, then fails as before: an approved rollout's clean-up
    // spares candidate models while a run is in progress (old-versions-cleanup.ts).
    const deleteAfterFailure = new tasks.CallAwsService(this, 'DeleteChallengerAfterFailure', deleteCandidate);
    retryTransient(deleteAfterFailure, 'sagemakerSdk');
    deleteAfterFailure.addCatch(props.onFailure, { errors: [sfn.Errors.ALL], resultPath: '$.challengerCleanup' });
    deleteAfterFailure.next(props.onFailure);
    scoreBoth.addCatch(deleteAfterFailure, { errors: [sfn.Errors.ALL], resultPath: '$.failure' });
    // Also after CreateModel: a retry of a call whose answer was lost finds the model already there.
    retryOrFail(createChallenger, 'sagemakerSdk', deleteAfterFailure);
    this.transformJobsArn = scoreChampion.jobsArn;

    const compareFunction = new CompareChampionFunction(this, 'CompareFunction', {
      modelsBucket: props.modelsBucket,
      encryptionKey: props.encryptionKey,
      minImprovement: props.minImprovement,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    const compare = new tasks.LambdaInvoke(this, 'CompareWithChampion', {
      lambdaFunction: compareFunction.function,
      payload: sfn.TaskInput.fromObject({
        runId,
        championModel: sfn.JsonPath.stringAt('$.champion.modelName'),
        challengerModel,
      }),
      retryOnServiceExceptions: false,
      resultSelector: Object.fromEntries(
        ['decision', 'minImprovement', 'challenger', 'champion', 'improvement'].map((field) => [
          `${field}.$`,
          `$.Payload.${field}`,
        ]),
      ),
      resultPath: '$.comparison',
    });
    retryOrFail(compare, 'lambda', deleteAfterFailure);

    // The candidate model served only the transform: it goes whatever the decision. A failure to delete it does not
    // undo the decision: the model costs nothing, and a rollout's clean-up takes it while no run is in progress.
    const deleteChallenger = new tasks.CallAwsService(this, 'DeleteChallengerModel', deleteCandidate);
    retryTransient(deleteChallenger, 'sagemakerSdk');

    const kept = new PipelineNotification(this, 'NotifyChampionKept', {
      stateName: TRAINING_STATES.notifyChampionKept,
      topic: props.notifications,
      subject: `ML pipeline ${props.namePrefix}: the champion beat the new model`,
      message: {
        execution: sfn.JsonPath.executionId,
        comparison: sfn.JsonPath.objectAt('$.comparison'),
      },
      next: new sfn.Pass(this, 'ChampionKeptCause', {
        stateName: TRAINING_STATES.championKeptCause,
        parameters: {
          cause: sfn.JsonPath.format(
            'Challenger AUC {} against the champion {} at {} on the same records, improvement {} below the minimum {}; the endpoint keeps serving the champion',
            sfn.JsonPath.stringAt('$.comparison.challenger.auc'),
            sfn.JsonPath.stringAt('$.comparison.champion.modelName'),
            sfn.JsonPath.stringAt('$.comparison.champion.auc'),
            sfn.JsonPath.stringAt('$.comparison.improvement'),
            sfn.JsonPath.stringAt('$.comparison.minImprovement'),
          ),
        },
        resultPath: '$.kept',
      }).next(
        new sfn.Fail(this, 'ChampionKept', {
          stateName: TRAINING_STATES.championKept,
          error: 'ChampionKept',
          causePath: '$.kept.cause',
        }),
      ),
    });
    const decide = new sfn.Choice(this, 'IsChallengerBetter');
    deleteChallenger.addCatch(decide, { errors: [sfn.Errors.ALL], resultPath: '$.challengerCleanup' });
    compare
      .next(deleteChallenger)
      .next(
        decide.when(sfn.Condition.stringEquals('$.comparison.decision', 'challenger-wins'), props.next).otherwise(kept),
      );

    // No endpoint, no champion (missing-endpoint-catch.ts).
    const firstModel = new sfn.Pass(this, 'NoChampion', {
      comment: 'Nothing serves (no endpoint, or a Failed one): the floors alone decide',
      parameters: {
        decision: 'first-model',
        minImprovement: props.minImprovement,
        challenger,
        // A literal null would be dropped from the rendered state; the intrinsic keeps the field, as null.
        'champion.$': "States.StringToJson('null')",
        'improvement.$': "States.StringToJson('null')",
      },
      resultPath: '$.comparison',
    });
    firstModel.next(props.next);
    new MissingEndpointCatch(this, 'ChampionLookup', {
      lookup: findChampion,
      stateNames: { choice: 'IsThereAChampion', wait: 'WaitBeforeChampionLookup', failed: 'ChampionLookupFailed' },
      onMissing: firstModel,
      onFailure: props.onFailure,
      pollInterval: props.pollInterval,
    });
    // A Failed endpoint serves nothing: its model is no champion (and may be why it failed), and the rollout replaces
    // the endpoint. Any other status has a model that served or will.
    findChampion.next(
      new sfn.Choice(this, 'DoesTheEndpointServe')
        .when(sfn.Condition.stringEquals('$.championEndpoint.status', 'Failed'), firstModel)
        .otherwise(describeConfig),
    );
    describeConfig.next(createChallenger).next(scoreBoth).next(compare);
    this.startState = findChampion;
    this.compareFunctionArn = compareFunction.function.functionArn;
  }

  /** The wildcard the transform's generated grant leaves in `role` (the state machine's), with why. */
  acknowledgeWildcards(role: iam.IRole): void {
    Validations.of(role).acknowledge(
      {
        id: resourceFindingId(role, this.transformJobsArn),
        reason: "Each run's champion transform job is named after the run, <namePrefix>-<uuid>, at run time.",
      },
      {
        id: resourceFindingId(role, this.challengerModelsArn),
        reason: "Each run's candidate model is named after the run, <namePrefix>-<uuid>-c, at run time.",
      },
      {
        id: resourceFindingId(role, `${this.compareFunctionArn}:*`),
        reason: 'LambdaInvoke grants invoking every version and alias of the one comparison function.',
      },
    );
  }
}
