import { ArnFormat, Duration, Size, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import type { DataRemoval } from '../config/data-removal';
import type { QualityGateConfig, ServingConfig, TrainingConfig } from '../config/stage-config';
import { EncryptedLogGroup } from '../shared/encrypted-log-group';
import { PipelineFunction } from '../shared/pipeline-function';
import { exportSplitPrefix, trainingExportQuery, type DatasetSplit } from '../schema/athena-queries';
import type { FeatureSchema } from '../schema/feature-schema';
import { ATHENA_RESULTS_PREFIX, RAW_EVENTS_PREFIX, TRAINING_EXPORTS_PREFIX } from '../schema/lake-layout';
import { objectArnFindingId, resourceFindingId } from '../shared/nag-findings';
import { EndpointRollout } from './endpoint-rollout';
import { MODEL_OUTPUT_PREFIX, OWNER_TAG_KEY, QUALITY_METRIC } from '../contract/training-run';
import { PipelineNotification } from './pipeline-notification';
import { retryTransient, type Integration } from './retries';
import { runResourceArn } from './run-names';
import { SingleRunGuard } from './single-run-guard';
import { SpotTrainingJob } from './spot-training-job';
import { XgboostImage } from './xgboost-image';

export interface TrainingPipelineProps {
  readonly namePrefix: string;
  readonly schema: FeatureSchema;
  readonly databaseName: string;
  readonly tableName: string;
  readonly crawlerName: string;
  readonly workgroupName: string;
  readonly rawBucket: s3.IBucket;
  readonly curatedBucket: s3.IBucket;
  readonly athenaResultsBucket: s3.IBucket;
  readonly modelsBucket: s3.IBucket;
  readonly checkpointsBucket: s3.IBucket;
  readonly encryptionKey: kms.IKey;
  readonly training: TrainingConfig;
  readonly qualityGate: QualityGateConfig;
  readonly serving: ServingConfig;
  /** Where failures and rejected models are announced. */
  readonly notifications: sns.ITopic;
  readonly logRetention: logs.RetentionDays;
  readonly removal: DataRemoval;
  /** How long to wait between polls of the crawler and the endpoint. @default 30 seconds */
  readonly pollInterval?: Duration;
}

/**
 * The training pipeline: a Step Functions standard workflow that turns the data lake into a served model.
 *
 * crawl → export train/validation Parquet with one Athena UNLOAD → XGBoost training on spot capacity with checkpoints →
 * quality gate on validation AUC → model → endpoint config → create or update the endpoint → wait for InService.
 *
 * Every service call retries throttling with exponential backoff and jitter; any failure is published to the
 * notification topic and ends the execution as failed. A model below the AUC threshold is never deployed.
 */
export class TrainingPipeline extends Construct {
  readonly stateMachine: sfn.IStateMachine;
  /** The role SageMaker assumes for training jobs and for hosting the model. */
  readonly sagemakerRole: iam.IRole;
  readonly ownerTagValue: string;

  private readonly props: TrainingPipelineProps;
  private readonly trainingRole: iam.IRole;
  private readonly image: XgboostImage;
  private readonly stack: Stack;
  private readonly stateMachineName: string;
  private readonly failure: sfn.IChainable;

  constructor(scope: Construct, id: string, props: TrainingPipelineProps) {
    super(scope, id);
    this.props = props;
    this.stack = Stack.of(this);
    this.ownerTagValue = `${props.namePrefix}-training-pipeline`;
    this.stateMachineName = `${props.namePrefix}-training`;
    this.image = new XgboostImage(this, 'XgboostImage');
    const sagemakerRole = this.createSageMakerRole();
    this.sagemakerRole = sagemakerRole;
    // The role's own policy states what training needs; the training task's broader generated grants are dropped.
    this.trainingRole = sagemakerRole.withoutPolicyUpdates();

    // A failure is announced, and the run then fails with the error it caught: `npm run train` and the console show
    // the real reason. If the announcement itself fails (SNS, KMS), the run still ends with the original error.
    this.failure = new PipelineNotification(this, 'NotifyFailure', {
      topic: props.notifications,
      subject: `ML pipeline ${props.namePrefix}: training run failed`,
      message: {
        execution: sfn.JsonPath.executionId,
        error: sfn.JsonPath.stringAt('$.failure.Error'),
        cause: sfn.JsonPath.stringAt('$.failure.Cause'),
      },
      next: new sfn.Fail(this, 'RunFailed', { errorPath: '$.failure.Error', causePath: '$.failure.Cause' }),
    });

    const definition = sfn.Chain.start(this.prepareRun())
      .next(
        new SingleRunGuard(this, 'SingleRun', {
          stateMachineName: this.stateMachineName,
          executionPath: '$.run.execution',
          onFailure: this.failure,
        }).chain,
      )
      .next(this.crawl())
      .next(this.exportDatasets())
      .next(this.train())
      .next(this.qualityGate(this.rollout()));

    const logGroup = new EncryptedLogGroup(this, 'ExecutionLogs', {
      encryptionKey: props.encryptionKey,
      retention: props.logRetention,
      removalPolicy: props.removal.removalPolicy,
    });
    const stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: this.stateMachineName,
      comment: 'Crawl, export, train on spot, gate on AUC, roll out to the endpoint',
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      stateMachineType: sfn.StateMachineType.STANDARD,
      tracingEnabled: true,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
      timeout: Duration.seconds(props.training.maxWaitSeconds + 6 * 3600),
    });
    this.stateMachine = stateMachine;
    this.grantDataAccess(stateMachine.role);
    this.acknowledgeScopedWildcards(sagemakerRole, stateMachine.role);
  }

  /** Each wildcard left in the two roles, with why it cannot be narrower. */
  private acknowledgeScopedWildcards(sagemakerRole: iam.IRole, stateMachineRole: iam.IRole): void {
    const { rawBucket, curatedBucket, athenaResultsBucket, modelsBucket, checkpointsBucket, namePrefix } = this.props;
    const exportsReason = `Training exports live under ${TRAINING_EXPORTS_PREFIX}<run id>/, a prefix that exists only once a run starts.`;
    Validations.of(sagemakerRole).acknowledge(
      { id: objectArnFindingId(sagemakerRole, curatedBucket, `${TRAINING_EXPORTS_PREFIX}*`), reason: exportsReason },
      {
        id: objectArnFindingId(sagemakerRole, modelsBucket, `${MODEL_OUTPUT_PREFIX}*`),
        reason: "SageMaker writes each job's artifact under models/<job name>/output/, named at run time.",
      },
      {
        id: objectArnFindingId(sagemakerRole, checkpointsBucket, '*'),
        reason: 'The checkpoints bucket holds only checkpoints, one prefix per training job named at run time.',
      },
      {
        id: resourceFindingId(sagemakerRole, this.sagemakerLogGroupsArn()),
        reason: 'SageMaker names its own log groups under /aws/sagemaker/ (TrainingJobs, Endpoints/<name>).',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'ecr:GetAuthorizationToken and cloudwatch:PutMetricData have no resource-level permissions; metrics are limited to the /aws/sagemaker/ namespaces by condition.',
      },
    );
    Validations.of(stateMachineRole).acknowledge(
      { id: objectArnFindingId(stateMachineRole, curatedBucket, `${TRAINING_EXPORTS_PREFIX}*`), reason: exportsReason },
      {
        id: objectArnFindingId(stateMachineRole, rawBucket, `${RAW_EVENTS_PREFIX}*`),
        reason: 'Athena reads every partition object under the raw events prefix for the export.',
      },
      {
        id: objectArnFindingId(stateMachineRole, athenaResultsBucket, `${ATHENA_RESULTS_PREFIX}*`),
        reason:
          "Athena writes each query's result and UNLOAD manifest under the workgroup result prefix, named per query.",
      },
      {
        id: resourceFindingId(
          stateMachineRole,
          this.stack.formatArn({ service: 'sagemaker', resource: 'training-job', resourceName: '*' }),
        ),
        reason:
          "CDK's training task scopes its job actions to training-job/*; jobs are named <namePrefix>-<uuid> at run time.",
      },
      ...(['model', 'endpoint-config'] as const).map((resource) => ({
        id: resourceFindingId(stateMachineRole, runResourceArn(this, resource, namePrefix)),
        reason: `Each run creates a ${resource} named <namePrefix>-<uuid>; the wildcard covers only this stage's runs.`,
      })),
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          "Log delivery, X-Ray tracing and sagemaker:ListModels / ListEndpointConfigs (the clean-up of old versions) have no resource-level permissions, and CDK's training task grants sagemaker:ListTags on all resources.",
      },
    );
  }

  private sagemakerLogGroupsArn(): string {
    return this.stack.formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: '/aws/sagemaker/*',
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  }

  /** A run id that names the training job, the model and the endpoint config, and prefixes the exports. */
  private prepareRun(): sfn.IChainable {
    return new sfn.Pass(this, 'PrepareRun', {
      comment: 'Names every artifact of this run after one id',
      parameters: {
        id: sfn.JsonPath.format(`${this.props.namePrefix}-{}`, sfn.JsonPath.uuid()),
        execution: sfn.JsonPath.executionId,
      },
      resultPath: '$.run',
    });
  }

  /** Start the crawler and wait until it is ready again; a crawler that is already running is waited for. */
  private crawl(): sfn.Chain {
    const crawlerArn = this.stack.formatArn({
      service: 'glue',
      resource: 'crawler',
      resourceName: this.props.crawlerName,
    });
    const start = this.retrying(
      new tasks.CallAwsService(this, 'StartCrawler', {
        service: 'glue',
        action: 'startCrawler',
        parameters: { Name: this.props.crawlerName },
        iamResources: [crawlerArn],
        resultPath: sfn.JsonPath.DISCARD,
      }),
      'glueSdk',
    );
    const wait = new sfn.Wait(this, 'WaitForCrawler', {
      time: sfn.WaitTime.duration(this.props.pollInterval ?? Duration.seconds(30)),
    });
    const getCrawler = this.retrying(
      new tasks.CallAwsService(this, 'GetCrawler', {
        service: 'glue',
        action: 'getCrawler',
        parameters: { Name: this.props.crawlerName },
        iamResources: [crawlerArn],
        // Only the crawler object: LastCrawl is absent until a crawler's first run ends, so it is tested, not selected.
        resultSelector: { 'state.$': '$.Crawler.State', 'details.$': '$.Crawler' },
        resultPath: '$.crawler',
      }),
      'glueSdk',
    );
    start.addCatch(wait, { errors: ['Glue.CrawlerRunningException'], resultPath: sfn.JsonPath.DISCARD });
    const crawled = new sfn.Pass(this, 'Crawled');
    const crawlFailed = new sfn.Pass(this, 'CrawlFailed', {
      parameters: {
        Error: 'CrawlFailed',
        Cause: `Crawler ${this.props.crawlerName} failed its last crawl; see its CloudWatch logs`,
      },
      resultPath: '$.failure',
    }).next(this.failure);
    // Choice rules are tried in order, so a path is only read once an earlier rule has shown it is present.
    const lastCrawlStatus = '$.crawler.details.LastCrawl.Status';
    const succeeded = new sfn.Choice(this, 'DidCrawlSucceed')
      .when(sfn.Condition.not(sfn.Condition.isPresent(lastCrawlStatus)), crawled)
      .when(sfn.Condition.stringEquals(lastCrawlStatus, 'FAILED'), crawlFailed)
      .otherwise(crawled);
    const ready = new sfn.Choice(this, 'IsCrawlerReady')
      .when(sfn.Condition.stringEquals('$.crawler.state', 'READY'), succeeded)
      .otherwise(wait);
    start.next(wait);
    wait.next(getCrawler).next(ready);
    return sfn.Chain.custom(start, [crawled], crawled);
  }

  /** Unload both splits in one scan of the export window, as Parquet under a prefix of this run. */
  private exportDatasets(): sfn.IChainable {
    // A raw `.sync` task state rather than CDK's AthenaStartQueryExecution, whose generated policy would let the
    // pipeline create and delete Glue tables and write to any bucket; grantDataAccess() states exactly what it needs.
    const exportQuery = trainingExportQuery(this.props.schema, {
      database: this.props.databaseName,
      destination: this.exportUri('{}'),
      validationPercent: this.props.training.validationPercent,
      windowDays: this.props.training.exportWindowDays,
    });
    const state = new sfn.CustomState(this, 'ExportDatasets', {
      stateJson: {
        Type: 'Task',
        Comment: `One UNLOAD of the last ${this.props.training.exportWindowDays} day(s): split=train/ and split=validation/`,
        Resource: `arn:${this.stack.partition}:states:::athena:startQueryExecution.sync`,
        Parameters: {
          ...sfn.FieldUtils.renderObject({
            QueryString: sfn.JsonPath.format(exportQuery, sfn.JsonPath.stringAt('$.run.id')),
          }),
          QueryExecutionContext: { Database: this.props.databaseName },
          WorkGroup: this.props.workgroupName,
        },
        ResultPath: null,
      },
    });
    return this.retrying(state, 'athena');
  }

  /** XGBoost on managed spot capacity, resuming from checkpoints after an interruption. */
  private train(): sfn.IChainable {
    const { training } = this.props;
    const channel = (split: DatasetSplit): tasks.Channel => ({
      channelName: split,
      // The built-in XGBoost reads Parquet with the label in the first column (see trainingExportQuery).
      contentType: 'application/x-parquet',
      dataSource: {
        s3DataSource: {
          s3DataType: tasks.S3DataType.S3_PREFIX,
          s3Location: tasks.S3Location.fromJsonExpression(
            sfn.JsonPath.format(this.exportUri('{}') + exportSplitPrefix(split), sfn.JsonPath.stringAt('$.run.id')),
          ),
        },
      },
    });
    const job = new SpotTrainingJob(this, 'TrainModel', {
      trainingJobName: sfn.JsonPath.stringAt('$.run.id'),
      role: this.trainingRole,
      algorithmSpecification: {
        trainingImage: tasks.DockerImage.fromRegistry(this.image.imageUri),
        trainingInputMode: tasks.InputMode.FILE,
      },
      inputDataConfig: [channel('train'), channel('validation')],
      outputDataConfig: {
        // An s3:// URI: CDK's S3Location.fromBucket renders an https:// URL, whose host SageMaker reads as the bucket.
        s3OutputLocation: new S3UriLocation(this.props.modelsBucket.s3UrlForObject(MODEL_OUTPUT_PREFIX)),
        encryptionKey: this.props.encryptionKey,
      },
      resourceConfig: {
        instanceType: new ec2.InstanceType(training.instanceType.replace(/^ml\./, '')),
        instanceCount: training.instanceCount,
        volumeSize: Size.gibibytes(training.volumeSizeGiB),
        volumeEncryptionKey: this.props.encryptionKey,
      },
      stoppingCondition: { maxRuntime: Duration.seconds(training.maxRuntimeSeconds) },
      useSpot: training.useSpot,
      maxWait: Duration.seconds(training.maxWaitSeconds),
      checkpointS3Uri: sfn.JsonPath.format(
        `s3://${this.props.checkpointsBucket.bucketName}/{}/`,
        sfn.JsonPath.stringAt('$.run.id'),
      ),
      enableNetworkIsolation: true,
      hyperparameters: {
        objective: 'binary:logistic',
        eval_metric: 'auc',
        num_round: String(training.hyperparameters.numRound),
        max_depth: String(training.hyperparameters.maxDepth),
        eta: String(training.hyperparameters.eta),
        subsample: String(training.hyperparameters.subsample),
        scale_pos_weight: String(training.hyperparameters.scalePosWeight),
      },
      tags: { [OWNER_TAG_KEY]: this.ownerTagValue },
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      resultPath: '$.job',
    });
    this.retrying(job, 'sagemakerJob');

    // The gate needs the validation metric and the report a ratio; JSONPath can neither divide nor treat a
    // missing metric as a value, so a small function reads the job description.
    const evaluator = new PipelineFunction(this, 'EvaluateTrainingFunction', {
      entry: 'evaluate-training',
      description: 'Reads validation:auc and the spot saving from a finished training job',
      environment: { METRIC_NAME: QUALITY_METRIC },
      encryptionKey: this.props.encryptionKey,
      logRetention: this.props.logRetention,
      logRemovalPolicy: this.props.removal.removalPolicy,
    });
    const evaluate = new tasks.LambdaInvoke(this, 'EvaluateModel', {
      lambdaFunction: evaluator.function,
      payload: sfn.TaskInput.fromJsonPathAt('$.job'),
      retryOnServiceExceptions: false,
      resultSelector: {
        'jobName.$': '$.Payload.jobName',
        'modelArtifacts.$': '$.Payload.modelArtifacts',
        'metricName.$': '$.Payload.metricName',
        'metricValue.$': '$.Payload.metricValue',
        'billableSeconds.$': '$.Payload.billableSeconds',
        'trainingSeconds.$': '$.Payload.trainingSeconds',
        'spotSavingPercent.$': '$.Payload.spotSavingPercent',
      },
      resultPath: '$.training',
    });
    this.retrying(evaluate, 'lambda');
    Validations.of(evaluator.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray tracing (xray:PutTraceSegments, PutTelemetryRecords) has no resource-level permissions.',
    });
    Validations.of(this).acknowledge({
      id: resourceFindingId(this, `${evaluator.function.functionArn}:*`),
      reason: 'LambdaInvoke grants invoking every version and alias of the one evaluation function.',
    });
    return sfn.Chain.start(job).next(evaluate);
  }

  /** Deploy only a model whose validation AUC reaches the threshold; otherwise announce it and stop. */
  private qualityGate(rollout: sfn.IChainable): sfn.IChainable {
    const minAuc = this.props.qualityGate.minValidationAuc;
    const rejected = new PipelineNotification(this, 'NotifyRejected', {
      topic: this.props.notifications,
      subject: `ML pipeline ${this.props.namePrefix}: model rejected by the quality gate`,
      message: {
        execution: sfn.JsonPath.executionId,
        trainingJob: sfn.JsonPath.stringAt('$.training.jobName'),
        validationAuc: sfn.JsonPath.objectAt('$.training.metricValue'),
        minValidationAuc: minAuc,
      },
      next: new sfn.Fail(this, 'ModelRejected', {
        error: 'ModelBelowQualityGate',
        cause: `Validation AUC below ${minAuc}; the endpoint keeps serving the previous model`,
      }),
    });
    return new sfn.Choice(this, 'QualityGate', { comment: `Deploy only when validation:auc >= ${minAuc}` })
      .when(sfn.Condition.isNull('$.training.metricValue'), rejected)
      .when(sfn.Condition.numberGreaterThanEquals('$.training.metricValue', minAuc), rollout)
      .otherwise(rejected);
  }

  /** The rollout of an approved model to the stable endpoint, ending in the run's report. */
  private rollout(): sfn.IChainable {
    const { serving, namePrefix } = this.props;
    const report = new sfn.Pass(this, 'Report', {
      comment: 'The execution output: what was trained, how well, where it lives, and what spot saved',
      parameters: {
        trainingJobName: sfn.JsonPath.stringAt('$.training.jobName'),
        validationAuc: sfn.JsonPath.numberAt('$.training.metricValue'),
        modelArtifacts: sfn.JsonPath.stringAt('$.training.modelArtifacts'),
        billableSeconds: sfn.JsonPath.numberAt('$.training.billableSeconds'),
        trainingSeconds: sfn.JsonPath.numberAt('$.training.trainingSeconds'),
        spotSavingPercent: sfn.JsonPath.numberAt('$.training.spotSavingPercent'),
        endpointName: serving.endpointName,
        endpointConfigName: sfn.JsonPath.stringAt('$.endpoint.EndpointConfigName'),
      },
    });
    const rollout = new EndpointRollout(this, 'Rollout', {
      namePrefix,
      endpointName: serving.endpointName,
      capacity:
        serving.mode === 'serverless'
          ? { serverless: { memoryMiB: serving.serverlessMemoryMiB, maxConcurrency: serving.serverlessMaxConcurrency } }
          : { instances: { instanceType: serving.instanceType, count: serving.initialInstanceCount } },
      imageUri: this.image.imageUri,
      sagemakerRole: this.sagemakerRole,
      encryptionKey: this.props.encryptionKey,
      ownerTag: { key: OWNER_TAG_KEY, value: this.ownerTagValue },
      onFailure: this.failure,
      notifications: this.props.notifications,
      onSuccess: report,
      pollInterval: this.props.pollInterval,
    });
    return rollout.startState;
  }

  /** Retries the integration's transient errors (see retries.ts), then catches every error into the failure path. */
  private retrying<T extends sfn.TaskStateBase | sfn.CustomState>(task: T, integration: Integration): T {
    this.catchInto(retryTransient(task, integration));
    return task;
  }

  private catchInto(state: sfn.TaskStateBase | sfn.CustomState): void {
    state.addCatch(this.failure, { errors: [sfn.Errors.ALL], resultPath: '$.failure' });
  }

  /** The run's export destination; UNLOAD writes one `split=<name>/` prefix per split under it. */
  private exportUri(runId: string): string {
    return `s3://${this.props.curatedBucket.bucketName}/${TRAINING_EXPORTS_PREFIX}${runId}/`;
  }

  /**
   * SageMaker's role for training and hosting: read this pipeline's training exports, write model artifacts and
   * checkpoints, use the key, pull the algorithm image, write its own logs and metrics. Nothing else.
   */
  private createSageMakerRole(): iam.Role {
    const { curatedBucket, modelsBucket, checkpointsBucket, encryptionKey } = this.props;
    const role = new iam.Role(this, 'SageMakerRole', {
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com'),
      description: 'SageMaker training jobs and endpoints of the ML pipeline',
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ListTrainingInputsAndCheckpoints',
        actions: ['s3:ListBucket', 's3:GetBucketLocation'],
        resources: [curatedBucket.bucketArn, checkpointsBucket.bucketArn, modelsBucket.bucketArn],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadTrainingExports',
        actions: ['s3:GetObject'],
        resources: [curatedBucket.arnForObjects(`${TRAINING_EXPORTS_PREFIX}*`)],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'WriteModelsAndCheckpoints',
        // Endpoints read the artifact back; checkpoints are read when an interrupted spot job resumes.
        actions: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'],
        resources: [modelsBucket.arnForObjects(`${MODEL_OUTPUT_PREFIX}*`), checkpointsBucket.arnForObjects('*')],
      }),
    );
    role.addToPolicy(useLakeKey(encryptionKey));
    role.addToPolicy(grantForVolumeEncryption(encryptionKey));
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'PullAlgorithmImage',
        actions: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
        resources: [this.image.repositoryArn],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({ sid: 'EcrLogin', actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }),
    );
    const sagemakerLogs = this.sagemakerLogGroupsArn();
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'WriteJobAndEndpointLogs',
        actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
        resources: [sagemakerLogs],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'PublishMetrics',
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringLike: { 'cloudwatch:namespace': '/aws/sagemaker/*' } },
      }),
    );
    return role;
  }

  /** What Athena, running as the state machine, needs to read the raw table and write the exports. */
  private grantDataAccess(role: iam.IRole): void {
    const { rawBucket, curatedBucket, athenaResultsBucket, encryptionKey, databaseName, tableName, workgroupName } =
      this.props;
    const workgroupArn = this.stack.formatArn({
      service: 'athena',
      resource: 'workgroup',
      resourceName: workgroupName,
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'RunExportQueries',
        actions: ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:StopQueryExecution'],
        resources: [workgroupArn],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ListQueryBuckets',
        actions: ['s3:ListBucket', 's3:GetBucketLocation'],
        resources: [rawBucket.bucketArn, curatedBucket.bucketArn, athenaResultsBucket.bucketArn],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadRawEvents',
        actions: ['s3:GetObject'],
        resources: [rawBucket.arnForObjects(`${RAW_EVENTS_PREFIX}*`)],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteExportsAndResults',
        actions: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
        resources: [
          curatedBucket.arnForObjects(`${TRAINING_EXPORTS_PREFIX}*`),
          athenaResultsBucket.arnForObjects(`${ATHENA_RESULTS_PREFIX}*`),
        ],
      }),
    );
    role.addToPrincipalPolicy(useLakeKey(encryptionKey));
    role.addToPrincipalPolicy(grantForVolumeEncryption(encryptionKey));
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadTrainingTable',
        actions: [
          'glue:GetDatabase',
          'glue:GetTable',
          'glue:GetPartition',
          'glue:GetPartitions',
          'glue:BatchGetPartition',
        ],
        resources: [
          this.stack.formatArn({ service: 'glue', resource: 'catalog' }),
          this.stack.formatArn({ service: 'glue', resource: 'database', resourceName: databaseName }),
          this.stack.formatArn({ service: 'glue', resource: 'table', resourceName: `${databaseName}/${tableName}` }),
        ],
      }),
    );
  }
}

/**
 * SageMaker encrypts training and hosting volumes with the key through a grant it creates for the instance; the key
 * policy allows grants only for AWS resources, and so does this statement.
 */
function grantForVolumeEncryption(key: kms.IKey): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'CreateVolumeGrants',
    actions: ['kms:CreateGrant'],
    resources: [key.keyArn],
    conditions: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
  });
}

/** An S3 location given as an `s3://` URI (possibly with tokens), granting nothing: the role's policy is explicit. */
class S3UriLocation extends tasks.S3Location {
  constructor(private readonly uri: string) {
    super();
  }

  bind(): tasks.S3LocationConfig {
    return { uri: this.uri };
  }
}

/**
 * Use of the lake key for SSE-KMS objects: Athena and SageMaker read and write encrypted data, and SNS encrypts the
 * notifications with the same key.
 */
function useLakeKey(key: kms.IKey): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'UseLakeKey',
    actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
    resources: [key.keyArn],
  });
}
