import { ACCOUNT, DeployedApp, REGION } from './deployed-app';
import { AccessChecker, type Call } from './access-check';
import { synthPipeline } from '../helpers';

/**
 * The access matrix: every call between the pipeline's services, and the calls that must never happen, decided by
 * a real IAM evaluator over the synthesized templates of each stage (identity, bucket, key, topic, function and
 * trust policies together, cross-stack imports resolved). A failing row names the call and the decisive
 * statements, or says that no statement allows it.
 */
const synthesized = { sandbox: synthPipeline({ stage: 'sandbox' }), prod: synthPipeline({ stage: 'prod' }) };

describe.each(['sandbox', 'prod'] as const)('the %s app', (stage) => {
  const { app: cdkApp, config } = synthesized[stage];
  const app = new DeployedApp(cdkApp);
  const checker = new AccessChecker(app);
  const calls = accessMatrix(app, config.namePrefix, config.serving.endpointName, stage);

  test('covers every call of the architecture and the forbidden ones', () => {
    expect(calls.length).toBeGreaterThanOrEqual(40);
    expect(calls.filter((c) => c.expect === 'denied').length).toBeGreaterThanOrEqual(15);
    expect(new Set(calls.map((c) => c.name)).size).toBe(calls.length);
  });

  test.each(calls.map((call) => [call.name, call] as const))('%s', async (_, call) => {
    const verdict = await checker.check(call);
    const outcome = verdict.allowed ? 'allowed' : 'denied';
    expect(
      `${call.expect === outcome ? call.expect : `${outcome}, expected ${call.expect}`}: ${verdict.explanation}`,
    ).toMatch(new RegExp(`^${call.expect}:`));
  });
});

/** The rows, built from the deployed app so every name and ARN is the one the templates produce. */
function accessMatrix(app: DeployedApp, namePrefix: string, endpointName: string, stage: string): Call[] {
  const role = (path: string) => ({ role: app.at(path) });
  const arn = (path: string) => app.at(path).attribute('Arn');
  const bucket = (zone: string) => app.at(`DataLake/Storage/${zone}/Bucket`).attribute('Arn');
  const key = arn('DataLake/Encryption/Key');
  const topic = app.at('Training/Notifications').ref;
  // SNS asks KMS for the topic's data keys with the topic's ARN as encryption context.
  const forTopic = { 'kms:EncryptionContext:aws:sns:topicArn': topic };
  const glue = (resource: string) => `arn:aws:glue:${REGION}:${ACCOUNT}:${resource}`;
  const sagemaker = (resource: string) => `arn:aws:sagemaker:${REGION}:${ACCOUNT}:${resource}`;
  const database = app.at('DataLake/Catalog/Database').ref;
  const table = glue(`table/${database}/${app.at('DataLake/Catalog/RawEvents/Table').ref}`);
  const crawler = glue(`crawler/${app.at('DataLake/Catalog/Crawler').ref}`);
  const workgroup = `arn:aws:athena:${REGION}:${ACCOUNT}:workgroup/${app.at('DataLake/Queries/WorkGroup').ref}`;
  const viaS3 = { 'kms:ViaService': `s3.${REGION}.amazonaws.com`, 'kms:CallerAccount': ACCOUNT };

  const firehose = role('Ingest/Delivery/DeliveryRole');
  const logFirehose = role('Serving/InferenceLog/DeliveryRole');
  const deliveryStream = (path: string) => app.at(path).attribute('Arn');
  const eventsStream = deliveryStream('Ingest/Delivery/Stream');
  const predictionsStream = deliveryStream('Serving/InferenceLog/Stream');
  const predictionsTable = glue(`table/${database}/${app.at('DataLake/Catalog/Predictions/Table').ref}`);
  const predictionFile = `${bucket('Raw')}/predictions/year=2026/month=12/day=01/hour=12/predictions-1.parquet`;
  const monitor = role('Monitoring/DriftMonitor/StateMachine/Role');
  const schedulerRole = app
    .ofType('AWS::IAM::Role')
    .find((r) => r.path.startsWith('Monitoring/SchedulerRoleForTarget'));
  const lakeTable = (name: string) => glue(`table/${database}/${name}`);
  const stateMachineArn = (name: string) => `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${name}`;
  const crawlerRole = role('DataLake/Catalog/CrawlerRole');
  const pipeline = role('Training/Pipeline/StateMachine/Role');
  // With manual approval (prod), the approved-rollout workflow rolls models out, not the training run.
  const rollout = stage === 'prod' ? role('Training/Pipeline/ApprovedRollout/StateMachine/Role') : pipeline;
  const sagemakerRole = role('Training/Pipeline/SageMakerRole');
  const compare = role('Training/Pipeline/ChampionChallenger/CompareFunction/Role');
  const predict = role('Serving/Inference/PredictFunction/Role');
  // The clean-up's two handlers and the provider framework's entry point, which invokes them.
  const cleanupOnEvent = role('Training/SageMakerCleanup/OnEventHandler/Role');
  const cleanupIsComplete = role('Training/SageMakerCleanup/IsCompleteHandler/Role');
  const cleanupFramework = role('Training/SageMakerCleanup/FrameworkOnEventRole');
  const sagemakerRoleArn = arn('Training/Pipeline/SageMakerRole');
  const stateMachine = app.at('Training/Pipeline/StateMachine').ref;
  const predictFunction = arn('Serving/Inference/PredictFunction/Function');
  const restApi = app.at('Serving/Inference/Api').ref;
  const apiStage = app.at('Serving/Inference/Api/DeploymentStage.v1').ref;
  const method = (verbAndPath: string, api = restApi) =>
    `arn:aws:execute-api:${REGION}:${ACCOUNT}:${api}/${apiStage}/${verbAndPath}`;
  const image = app.at('Training/Pipeline/SageMakerRole/DefaultPolicy').properties.PolicyDocument as {
    Statement: { Action: string | string[]; Resource: string }[];
  };
  const imageRepository = image.Statement.find((s) => [s.Action].flat().includes('ecr:BatchGetImage'))!.Resource;
  const awsImageRepositoryPolicy = {
    why: "the repository belongs to the AWS account that publishes SageMaker's built-in algorithm images, which every account may pull",
    policy: {
      Statement: [
        {
          Effect: 'Allow',
          Principal: '*',
          Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'],
          Resource: imageRepository,
        },
      ],
    },
  };

  const calls: Call[] = [
    // Ingest: Firehose lands Parquet in the raw zone.
    {
      name: 'Firehose assumes its delivery role for this account',
      caller: { service: 'firehose.amazonaws.com' },
      action: 'sts:AssumeRole',
      resource: arn('Ingest/Delivery/DeliveryRole'),
      context: { 'sts:ExternalId': ACCOUNT },
      expect: 'allowed',
    },
    {
      name: "Firehose cannot assume the delivery role for another account's stream",
      caller: { service: 'firehose.amazonaws.com' },
      action: 'sts:AssumeRole',
      resource: arn('Ingest/Delivery/DeliveryRole'),
      context: { 'sts:ExternalId': '210987654321' },
      expect: 'denied',
    },
    {
      name: 'Firehose writes a Parquet file under events/ over TLS',
      caller: firehose,
      action: 's3:PutObject',
      resource: `${bucket('Raw')}/events/year=2026/month=12/day=01/hour=12/events-1.parquet`,
      expect: 'allowed',
    },
    {
      name: 'Firehose writes a failed record under errors/',
      caller: firehose,
      action: 's3:PutObject',
      resource: `${bucket('Raw')}/errors/format-conversion-failed/year=2026/month=12/day=01/part-1`,
      expect: 'allowed',
    },
    {
      name: 'Firehose cannot write to the raw zone without TLS',
      caller: firehose,
      action: 's3:PutObject',
      resource: `${bucket('Raw')}/events/year=2026/month=12/day=01/hour=12/events-1.parquet`,
      context: { 'aws:SecureTransport': 'false' },
      expect: 'denied',
    },
    {
      name: 'Firehose encrypts with the lake key through S3',
      caller: firehose,
      action: 'kms:GenerateDataKey',
      resource: key,
      context: viaS3,
      expect: 'allowed',
    },
    {
      name: 'Firehose reads the table versions for the Parquet schema',
      caller: firehose,
      action: 'glue:GetTableVersions',
      resource: table,
      expect: 'allowed',
    },
    {
      name: 'Firehose cannot delete raw events',
      caller: firehose,
      action: 's3:DeleteObject',
      resource: `${bucket('Raw')}/events/year=2026/month=12/day=01/hour=12/events-1.parquet`,
      expect: 'denied',
    },
    {
      name: 'Firehose cannot write outside events/ and errors/',
      caller: firehose,
      action: 's3:PutObject',
      resource: `${bucket('Raw')}/other/file`,
      expect: 'denied',
    },
    {
      name: 'Firehose cannot write to the curated zone',
      caller: firehose,
      action: 's3:PutObject',
      resource: `${bucket('Curated')}/training-exports/run/train/file`,
      expect: 'denied',
    },

    // Inference log: the serving stack's own Firehose stream lands every scored record under predictions/.
    {
      name: 'Firehose assumes the inference-log delivery role for this account',
      caller: { service: 'firehose.amazonaws.com' },
      action: 'sts:AssumeRole',
      resource: arn('Serving/InferenceLog/DeliveryRole'),
      context: { 'sts:ExternalId': ACCOUNT },
      expect: 'allowed',
    },
    {
      name: 'The inference-log stream writes a Parquet file under predictions/ over TLS',
      caller: logFirehose,
      action: 's3:PutObject',
      resource: predictionFile,
      expect: 'allowed',
    },
    {
      name: 'The inference-log stream writes a failed row under prediction-errors/',
      caller: logFirehose,
      action: 's3:PutObject',
      resource: `${bucket('Raw')}/prediction-errors/format-conversion-failed/year=2026/month=12/day=01/part-1`,
      expect: 'allowed',
    },
    {
      name: 'The inference-log stream reads the predictions table for the Parquet schema',
      caller: logFirehose,
      action: 'glue:GetTableVersions',
      resource: predictionsTable,
      expect: 'allowed',
    },
    {
      name: 'The inference-log stream encrypts with the lake key through S3',
      caller: logFirehose,
      action: 'kms:GenerateDataKey',
      resource: key,
      context: viaS3,
      expect: 'allowed',
    },
    ...[
      ['events', firehose],
      ['inference-log', logFirehose],
    ].map(([stream, caller]): Call => ({
      name: `The ${String(stream)} stream's role cannot use the lake key outside S3`,
      caller: caller as Call['caller'],
      action: 'kms:Decrypt',
      resource: key,
      context: { 'kms:CallerAccount': ACCOUNT },
      expect: 'denied',
    })),
    {
      name: 'The inference-log stream cannot write raw events',
      caller: logFirehose,
      action: 's3:PutObject',
      resource: `${bucket('Raw')}/events/year=2026/month=12/day=01/hour=12/events-1.parquet`,
      expect: 'denied',
    },
    {
      name: 'The inference-log stream cannot delete predictions',
      caller: logFirehose,
      action: 's3:DeleteObject',
      resource: predictionFile,
      expect: 'denied',
    },
    {
      name: 'The events stream cannot write the inference log',
      caller: firehose,
      action: 's3:PutObject',
      resource: predictionFile,
      expect: 'denied',
    },
    {
      name: 'The inference-log stream cannot write without TLS',
      caller: logFirehose,
      action: 's3:PutObject',
      resource: predictionFile,
      context: { 'aws:SecureTransport': 'false' },
      expect: 'denied',
    },

    // Catalog: the crawler registers partitions.
    {
      name: 'Glue assumes the crawler role',
      caller: { service: 'glue.amazonaws.com' },
      action: 'sts:AssumeRole',
      resource: arn('DataLake/Catalog/CrawlerRole'),
      expect: 'allowed',
    },
    {
      name: 'The crawler reads a raw Parquet file',
      caller: crawlerRole,
      action: 's3:GetObject',
      resource: `${bucket('Raw')}/events/year=2026/month=12/day=01/hour=12/events-1.parquet`,
      expect: 'allowed',
    },
    {
      name: 'The crawler lists the raw zone',
      caller: crawlerRole,
      action: 's3:ListBucket',
      resource: bucket('Raw'),
      expect: 'allowed',
    },
    {
      name: 'The crawler decrypts raw files with the lake key',
      caller: crawlerRole,
      action: 'kms:Decrypt',
      resource: key,
      context: viaS3,
      expect: 'allowed',
    },
    {
      name: 'The crawler registers new partitions',
      caller: crawlerRole,
      action: 'glue:BatchCreatePartition',
      resource: table,
      expect: 'allowed',
    },
    {
      name: 'The crawler cannot read the inference log, whose partitions are projected',
      caller: crawlerRole,
      action: 's3:GetObject',
      resource: predictionFile,
      expect: 'denied',
    },
    {
      name: 'The crawler cannot read failed inference-log rows',
      caller: crawlerRole,
      action: 's3:GetObject',
      resource: `${bucket('Raw')}/prediction-errors/format-conversion-failed/year=2026/month=12/day=01/part-1`,
      expect: 'denied',
    },
    {
      name: 'The crawler writes to its log group',
      caller: crawlerRole,
      action: 'logs:PutLogEvents',
      resource: `${arn('DataLake/Catalog/CrawlerLogs').replace(/:\*$/, '')}:log-stream:run-1`,
      expect: 'allowed',
    },
    {
      name: 'The crawler associates the lake key with its log group',
      caller: crawlerRole,
      action: 'logs:AssociateKmsKey',
      resource: arn('DataLake/Catalog/CrawlerLogs').replace(/:\*$/, ''),
      expect: 'allowed',
    },
    {
      name: 'The crawler cannot write to the raw zone',
      caller: crawlerRole,
      action: 's3:PutObject',
      resource: `${bucket('Raw')}/events/year=2026/month=12/day=01/hour=12/forged.parquet`,
      expect: 'denied',
    },
    {
      name: 'The crawler cannot read the curated zone',
      caller: crawlerRole,
      action: 's3:GetObject',
      resource: `${bucket('Curated')}/training-exports/run/train/file`,
      expect: 'denied',
    },

    // Training pipeline: Step Functions drives Glue, Athena, SageMaker, Lambda and SNS.
    {
      name: 'Step Functions assumes the pipeline role for the state machine',
      caller: { service: 'states.amazonaws.com', sourceArn: stateMachine, sourceAccount: ACCOUNT },
      action: 'sts:AssumeRole',
      resource: arn('Training/Pipeline/StateMachine/Role'),
      expect: 'allowed',
    },
    {
      name: "Step Functions cannot assume the pipeline role for another account's state machine",
      caller: {
        service: 'states.amazonaws.com',
        sourceArn: `arn:aws:states:${REGION}:210987654321:stateMachine:lookalike`,
        sourceAccount: '210987654321',
      },
      action: 'sts:AssumeRole',
      resource: arn('Training/Pipeline/StateMachine/Role'),
      expect: 'denied',
    },
    {
      name: 'The pipeline starts the crawler',
      caller: pipeline,
      action: 'glue:StartCrawler',
      resource: crawler,
      expect: 'allowed',
    },
    {
      name: 'The pipeline polls the crawler',
      caller: pipeline,
      action: 'glue:GetCrawler',
      resource: crawler,
      expect: 'allowed',
    },
    {
      name: 'The pipeline starts the export query in its workgroup',
      caller: pipeline,
      action: 'athena:StartQueryExecution',
      resource: workgroup,
      expect: 'allowed',
    },
    {
      name: 'The pipeline cannot run queries in another workgroup',
      caller: pipeline,
      action: 'athena:StartQueryExecution',
      resource: `arn:aws:athena:${REGION}:${ACCOUNT}:workgroup/primary`,
      expect: 'denied',
    },
    {
      name: 'Athena reads the raw table definition for the pipeline',
      caller: pipeline,
      action: 'glue:GetTable',
      resource: table,
      expect: 'allowed',
    },
    {
      name: 'Athena lists the raw partitions for the pipeline',
      caller: pipeline,
      action: 'glue:GetPartitions',
      resource: table,
      expect: 'allowed',
    },
    {
      name: 'Athena reads raw events for the pipeline',
      caller: pipeline,
      action: 's3:GetObject',
      resource: `${bucket('Raw')}/events/year=2026/month=12/day=01/hour=12/events-1.parquet`,
      expect: 'allowed',
    },
    {
      name: 'Athena writes the export for the pipeline',
      caller: pipeline,
      action: 's3:PutObject',
      resource: `${bucket('Curated')}/training-exports/${namePrefix}-run/train/part-1`,
      expect: 'allowed',
    },
    {
      name: "Athena writes the run's feature baseline next to its model for the pipeline",
      caller: pipeline,
      action: 's3:PutObject',
      resource: `${bucket('Models')}/models/${namePrefix}-run/baseline/part-1`,
      expect: 'allowed',
    },
    {
      name: 'Athena lists the models bucket for the pipeline, which UNLOAD checks is empty at the destination',
      caller: pipeline,
      action: 's3:ListBucket',
      resource: bucket('Models'),
      expect: 'allowed',
    },
    {
      name: 'The pipeline cannot overwrite a model artefact',
      caller: pipeline,
      action: 's3:PutObject',
      resource: `${bucket('Models')}/models/${namePrefix}-run/output/model.tar.gz`,
      expect: 'denied',
    },
    {
      name: 'Athena writes query results for the pipeline',
      caller: pipeline,
      action: 's3:PutObject',
      resource: `${bucket('AthenaResults')}/query-results/query-1.csv`,
      expect: 'allowed',
    },
    {
      name: 'Athena encrypts the export with the lake key for the pipeline',
      caller: pipeline,
      action: 'kms:GenerateDataKey',
      resource: key,
      context: viaS3,
      expect: 'allowed',
    },
    {
      name: 'The pipeline cannot delete raw events',
      caller: pipeline,
      action: 's3:DeleteObject',
      resource: `${bucket('Raw')}/events/year=2026/month=12/day=01/hour=12/events-1.parquet`,
      expect: 'denied',
    },
    {
      name: 'The pipeline cannot create or drop Glue tables',
      caller: pipeline,
      action: 'glue:DeleteTable',
      resource: table,
      expect: 'denied',
    },
    {
      name: 'The pipeline starts a training job',
      caller: pipeline,
      action: 'sagemaker:CreateTrainingJob',
      resource: sagemaker(`training-job/${namePrefix}-run`),
      expect: 'allowed',
    },
    {
      name: 'The pipeline passes the SageMaker role to SageMaker',
      caller: pipeline,
      action: 'iam:PassRole',
      resource: sagemakerRoleArn,
      context: { 'iam:PassedToService': 'sagemaker.amazonaws.com' },
      expect: 'allowed',
    },
    {
      name: 'The pipeline cannot pass the SageMaker role to another service',
      caller: pipeline,
      action: 'iam:PassRole',
      resource: sagemakerRoleArn,
      context: { 'iam:PassedToService': 'ec2.amazonaws.com' },
      expect: 'denied',
    },
    {
      name: 'The pipeline cannot pass any other role',
      caller: pipeline,
      action: 'iam:PassRole',
      resource: arn('Serving/Inference/PredictFunction/Role'),
      context: { 'iam:PassedToService': 'sagemaker.amazonaws.com' },
      expect: 'denied',
    },
    {
      name: 'The pipeline creates a model of this stage',
      caller: rollout,
      action: 'sagemaker:CreateModel',
      resource: sagemaker(`model/${namePrefix}-run`),
      expect: 'allowed',
    },
    {
      name: 'The pipeline creates an endpoint config of this stage',
      caller: rollout,
      action: 'sagemaker:CreateEndpointConfig',
      resource: sagemaker(`endpoint-config/${namePrefix}-run`),
      expect: 'allowed',
    },
    {
      name: 'The pipeline creates the configured endpoint',
      caller: rollout,
      action: 'sagemaker:CreateEndpoint',
      resource: sagemaker(`endpoint/${endpointName}`),
      expect: 'allowed',
    },
    {
      name: 'The pipeline updates the configured endpoint',
      caller: rollout,
      action: 'sagemaker:UpdateEndpoint',
      resource: sagemaker(`endpoint/${endpointName}`),
      expect: 'allowed',
    },
    {
      name: 'The pipeline cannot create any other endpoint',
      caller: pipeline,
      action: 'sagemaker:CreateEndpoint',
      resource: sagemaker('endpoint/someone-elses'),
      expect: 'denied',
    },
    {
      name: 'The pipeline lists the models it created',
      caller: rollout,
      action: 'sagemaker:ListModels',
      resource: '*',
      expect: 'allowed',
    },
    {
      name: 'The pipeline deletes an old model of this stage',
      caller: rollout,
      action: 'sagemaker:DeleteModel',
      resource: sagemaker(`model/${namePrefix}-old-run`),
      expect: 'allowed',
    },
    {
      name: 'The pipeline deletes an old endpoint config of this stage',
      caller: rollout,
      action: 'sagemaker:DeleteEndpointConfig',
      resource: sagemaker(`endpoint-config/${namePrefix}-old-run`),
      expect: 'allowed',
    },
    {
      name: "The pipeline cannot delete another application's models",
      caller: pipeline,
      action: 'sagemaker:DeleteModel',
      resource: sagemaker('model/other-app-model'),
      expect: 'denied',
    },
    {
      name: 'The pipeline invokes the evaluation function',
      caller: pipeline,
      action: 'lambda:InvokeFunction',
      resource: arn('Training/Pipeline/EvaluateTrainingFunction/Function'),
      expect: 'allowed',
    },
    {
      name: 'The pipeline cannot invoke the predict function',
      caller: pipeline,
      action: 'lambda:InvokeFunction',
      resource: predictFunction,
      expect: 'denied',
    },
    {
      name: 'The pipeline publishes a notification',
      caller: pipeline,
      action: 'sns:Publish',
      resource: topic,
      expect: 'allowed',
    },
    {
      name: 'The pipeline encrypts its notification with the lake key through SNS',
      caller: pipeline,
      action: 'kms:GenerateDataKey',
      resource: key,
      context: { 'kms:ViaService': `sns.${REGION}.amazonaws.com`, 'kms:CallerAccount': ACCOUNT },
      expect: 'allowed',
    },

    // SageMaker: the training job and the endpoint run as the SageMaker role.
    {
      name: 'SageMaker assumes its role',
      caller: { service: 'sagemaker.amazonaws.com' },
      action: 'sts:AssumeRole',
      resource: sagemakerRoleArn,
      expect: 'allowed',
    },
    {
      name: 'SageMaker reads the training export',
      caller: sagemakerRole,
      action: 's3:GetObject',
      resource: `${bucket('Curated')}/training-exports/${namePrefix}-run/train/part-1`,
      expect: 'allowed',
    },
    {
      name: 'SageMaker writes the model artifact',
      caller: sagemakerRole,
      action: 's3:PutObject',
      resource: `${bucket('Models')}/models/${namePrefix}-run/output/model.tar.gz`,
      expect: 'allowed',
    },
    {
      name: 'SageMaker reads the model artifact for the endpoint',
      caller: sagemakerRole,
      action: 's3:GetObject',
      resource: `${bucket('Models')}/models/${namePrefix}-run/output/model.tar.gz`,
      expect: 'allowed',
    },
    {
      name: 'SageMaker writes a spot checkpoint',
      caller: sagemakerRole,
      action: 's3:PutObject',
      resource: `${bucket('Checkpoints')}/${namePrefix}-run/xgboost-checkpoint.10`,
      expect: 'allowed',
    },
    {
      name: 'SageMaker reads a spot checkpoint to resume',
      caller: sagemakerRole,
      action: 's3:GetObject',
      resource: `${bucket('Checkpoints')}/${namePrefix}-run/xgboost-checkpoint.10`,
      expect: 'allowed',
    },
    {
      name: 'SageMaker decrypts the export with the lake key',
      caller: sagemakerRole,
      action: 'kms:Decrypt',
      resource: key,
      context: viaS3,
      expect: 'allowed',
    },
    {
      name: 'SageMaker encrypts the artifact with the lake key',
      caller: sagemakerRole,
      action: 'kms:GenerateDataKey',
      resource: key,
      context: viaS3,
      expect: 'allowed',
    },
    {
      name: 'SageMaker creates a grant for the volume encryption of its instance',
      caller: sagemakerRole,
      action: 'kms:CreateGrant',
      resource: key,
      context: { 'kms:GrantIsForAWSResource': 'true' },
      expect: 'allowed',
    },
    {
      name: 'The SageMaker role cannot create a grant for a principal of its choosing',
      caller: sagemakerRole,
      action: 'kms:CreateGrant',
      resource: key,
      context: { 'kms:GrantIsForAWSResource': 'false' },
      expect: 'denied',
    },
    {
      name: 'SageMaker logs in to ECR',
      caller: sagemakerRole,
      action: 'ecr:GetAuthorizationToken',
      resource: '*',
      expect: 'allowed',
    },
    {
      name: 'SageMaker pulls the pinned XGBoost image',
      caller: sagemakerRole,
      action: 'ecr:BatchGetImage',
      resource: imageRepository,
      assumedResourcePolicy: awsImageRepositoryPolicy,
      expect: 'allowed',
    },
    {
      name: 'The SageMaker role cannot pull images from another repository',
      caller: sagemakerRole,
      action: 'ecr:BatchGetImage',
      resource: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/anything`,
      expect: 'denied',
    },
    {
      name: 'The SageMaker role cannot read raw events',
      caller: sagemakerRole,
      action: 's3:GetObject',
      resource: `${bucket('Raw')}/events/year=2026/month=12/day=01/hour=12/events-1.parquet`,
      expect: 'denied',
    },
    {
      name: 'The SageMaker role cannot overwrite the training export',
      caller: sagemakerRole,
      action: 's3:PutObject',
      resource: `${bucket('Curated')}/training-exports/${namePrefix}-run/train/part-1`,
      expect: 'denied',
    },

    // Serving: API Gateway → predict function → endpoint.
    {
      name: 'API Gateway invokes the predict function for POST /predict',
      caller: { service: 'apigateway.amazonaws.com', sourceArn: method('POST/predict'), sourceAccount: ACCOUNT },
      action: 'lambda:InvokeFunction',
      resource: predictFunction,
      expect: 'allowed',
    },
    {
      name: 'API Gateway invokes the predict function for GET /health',
      caller: { service: 'apigateway.amazonaws.com', sourceArn: method('GET/health'), sourceAccount: ACCOUNT },
      action: 'lambda:InvokeFunction',
      resource: predictFunction,
      expect: 'allowed',
    },
    {
      name: 'API Gateway cannot invoke the predict function for another method of the API',
      caller: { service: 'apigateway.amazonaws.com', sourceArn: method('DELETE/predict'), sourceAccount: ACCOUNT },
      action: 'lambda:InvokeFunction',
      resource: predictFunction,
      expect: 'denied',
    },
    {
      name: 'API Gateway cannot invoke the predict function for another API',
      caller: {
        service: 'apigateway.amazonaws.com',
        sourceArn: method('POST/predict', 'otherapi01'),
        sourceAccount: ACCOUNT,
      },
      action: 'lambda:InvokeFunction',
      resource: predictFunction,
      expect: 'denied',
    },
    {
      name: 'The console cannot test-invoke the predict function',
      caller: {
        service: 'apigateway.amazonaws.com',
        sourceArn: `arn:aws:execute-api:${REGION}:${ACCOUNT}:${restApi}/test-invoke-stage/POST/predict`,
        sourceAccount: ACCOUNT,
      },
      action: 'lambda:InvokeFunction',
      resource: predictFunction,
      expect: 'denied',
    },
    {
      name: 'Lambda assumes the predict role',
      caller: { service: 'lambda.amazonaws.com' },
      action: 'sts:AssumeRole',
      resource: arn('Serving/Inference/PredictFunction/Role'),
      expect: 'allowed',
    },
    {
      name: 'The predict function invokes the configured endpoint',
      caller: predict,
      action: 'sagemaker:InvokeEndpoint',
      resource: sagemaker(`endpoint/${endpointName}`),
      expect: 'allowed',
    },
    {
      name: 'The predict function cannot invoke any other endpoint',
      caller: predict,
      action: 'sagemaker:InvokeEndpoint',
      resource: sagemaker('endpoint/someone-elses'),
      expect: 'denied',
    },
    {
      name: 'The predict function writes to its log group',
      caller: predict,
      action: 'logs:PutLogEvents',
      resource: `${arn('Serving/Inference/PredictFunction/Logs').replace(/:\*$/, '')}:log-stream:2026/12/01/abc`,
      expect: 'allowed',
    },
    {
      name: 'The predict function puts a batch of scored records to the inference-log stream',
      caller: predict,
      action: 'firehose:PutRecordBatch',
      resource: predictionsStream,
      expect: 'allowed',
    },
    {
      name: 'The predict function cannot put records to the events stream',
      caller: predict,
      action: 'firehose:PutRecordBatch',
      resource: eventsStream,
      expect: 'denied',
    },
    {
      name: 'The predict function cannot reconfigure or delete the inference-log stream',
      caller: predict,
      action: 'firehose:DeleteDeliveryStream',
      resource: predictionsStream,
      expect: 'denied',
    },
    {
      name: 'The predict function cannot write the inference log to S3 directly',
      caller: predict,
      action: 's3:PutObject',
      resource: predictionFile,
      expect: 'denied',
    },
    ...['Raw', 'Curated', 'Models', 'Checkpoints', 'AthenaResults'].map((zone): Call => ({
      name: `The predict function cannot read the ${zone} bucket`,
      caller: predict,
      action: 's3:GetObject',
      resource: `${bucket(zone)}/any/object`,
      expect: 'denied',
    })),

    // The monitor: Athena over the inference log, the events, the baselines and the monitoring table.
    {
      name: 'The monitor runs its queries in the workgroup',
      caller: monitor,
      action: 'athena:StartQueryExecution',
      resource: workgroup,
      expect: 'allowed',
    },
    {
      name: 'The monitor reads which model the endpoint serves',
      caller: monitor,
      action: 'sagemaker:DescribeEndpoint',
      resource: sagemaker(`endpoint/${endpointName}`),
      expect: 'allowed',
    },
    {
      name: 'The monitor cannot invoke the endpoint',
      caller: monitor,
      action: 'sagemaker:InvokeEndpoint',
      resource: sagemaker(`endpoint/${endpointName}`),
      expect: 'denied',
    },
    ...[
      ['an inference-log file', predictionFile],
      ['a raw events file', `${bucket('Raw')}/events/year=2026/month=12/day=01/hour=12/events-1.parquet`],
      ["a run's baseline", `${bucket('Models')}/models/${namePrefix}-run/baseline/part-1`],
    ].map(([what, resource]): Call => ({
      name: `Athena reads ${what} for the monitor`,
      caller: monitor,
      action: 's3:GetObject',
      resource,
      expect: 'allowed',
    })),
    {
      name: 'Athena writes the measures into the monitoring table for the monitor',
      caller: monitor,
      action: 's3:PutObject',
      resource: `${bucket('Curated')}/monitoring/20261202_080000_abc.parquet`,
      expect: 'allowed',
    },
    {
      name: 'The monitor cannot write the inference log',
      caller: monitor,
      action: 's3:PutObject',
      resource: predictionFile,
      expect: 'denied',
    },
    {
      name: 'The monitor cannot read a model artefact',
      caller: monitor,
      action: 's3:GetObject',
      resource: `${bucket('Models')}/models/${namePrefix}-run/output/model.tar.gz`,
      expect: 'denied',
    },
    {
      name: 'The monitor cannot delete its measures',
      caller: monitor,
      action: 's3:DeleteObject',
      resource: `${bucket('Curated')}/monitoring/20261202_080000_abc.parquet`,
      expect: 'denied',
    },
    {
      name: 'The monitor reads the baselines table',
      caller: monitor,
      action: 'glue:GetTable',
      resource: lakeTable('baselines'),
      expect: 'allowed',
    },
    ...['predictions', 'monitoring', 'transactions'].map((table): Call => ({
      name: `The monitor reads the ${table} table's definition`,
      caller: monitor,
      action: 'glue:GetTable',
      resource: lakeTable(table),
      expect: 'allowed',
    })),
    {
      name: "The monitor reads the raw events' partitions for the labels",
      caller: monitor,
      action: 'glue:GetPartitions',
      resource: lakeTable('transactions'),
      expect: 'allowed',
    },
    {
      name: 'The monitor reads its query results',
      caller: monitor,
      action: 'athena:GetQueryResults',
      resource: workgroup,
      expect: 'allowed',
    },
    {
      name: 'Athena reads a query result for the monitor',
      caller: monitor,
      action: 's3:GetObject',
      resource: `${bucket('AthenaResults')}/query-results/q-1.csv`,
      expect: 'allowed',
    },
    {
      name: 'The monitor cannot change a table',
      caller: monitor,
      action: 'glue:UpdateTable',
      resource: lakeTable('monitoring'),
      expect: 'denied',
    },
    {
      name: 'The monitor decrypts the lake through S3',
      caller: monitor,
      action: 'kms:Decrypt',
      resource: key,
      context: viaS3,
      expect: 'allowed',
    },
    {
      name: 'The monitor cannot use the lake key outside S3',
      caller: monitor,
      action: 'kms:Decrypt',
      resource: key,
      context: { 'kms:CallerAccount': ACCOUNT },
      expect: 'denied',
    },
    {
      name: 'The monitor publishes its measures in its namespace',
      caller: monitor,
      action: 'cloudwatch:PutMetricData',
      resource: '*',
      context: { 'cloudwatch:namespace': 'MlPipeline/Monitor' },
      expect: 'allowed',
    },
    {
      name: "The monitor cannot publish into the predict function's namespace, which other alarms watch",
      caller: monitor,
      action: 'cloudwatch:PutMetricData',
      resource: '*',
      context: { 'cloudwatch:namespace': 'MlPipeline' },
      expect: 'denied',
    },
    {
      name: 'EventBridge Scheduler starts the monitor',
      caller: { role: schedulerRole! },
      action: 'states:StartExecution',
      resource: stateMachineArn(`${namePrefix}-monitor`),
      expect: 'allowed',
    },
    {
      name: 'EventBridge Scheduler cannot start the training pipeline',
      caller: { role: schedulerRole! },
      action: 'states:StartExecution',
      resource: stateMachineArn(`${namePrefix}-training`),
      expect: 'denied',
    },

    ...(stage === 'sandbox'
      ? [
          {
            name: 'The retrain trigger starts the training pipeline',
            caller: role('Monitoring/RetrainTrigger/StateMachine/Role'),
            action: 'states:StartExecution',
            resource: stateMachineArn(`${namePrefix}-training`),
            expect: 'allowed',
          } as Call,
          {
            name: 'The retrain trigger sees whether a training run is in progress',
            caller: role('Monitoring/RetrainTrigger/StateMachine/Role'),
            action: 'states:ListExecutions',
            resource: stateMachineArn(`${namePrefix}-training`),
            expect: 'allowed',
          } as Call,
          {
            name: 'The retrain trigger cannot stop a training run',
            caller: role('Monitoring/RetrainTrigger/StateMachine/Role'),
            action: 'states:StopExecution',
            resource: `arn:aws:states:${REGION}:${ACCOUNT}:execution:${namePrefix}-training:run-1`,
            expect: 'denied',
          } as Call,
          {
            name: 'The retrain trigger cannot start the monitor or itself',
            caller: role('Monitoring/RetrainTrigger/StateMachine/Role'),
            action: 'states:StartExecution',
            resource: stateMachineArn(`${namePrefix}-monitor`),
            expect: 'denied',
          } as Call,
          {
            name: 'EventBridge starts the retrain trigger on an alarm',
            caller: role('Monitoring/RetrainTrigger/StateMachine/EventsRole'),
            action: 'states:StartExecution',
            resource: stateMachineArn(`${namePrefix}-retrain-trigger`),
            expect: 'allowed',
          } as Call,
        ]
      : []),

    // The model registry: every gated model becomes a version of the stage's group.
    {
      name: 'The pipeline registers a version in the stage model package group',
      caller: pipeline,
      action: 'sagemaker:CreateModelPackage',
      resource: sagemaker(`model-package/${namePrefix}-models/3`),
      expect: 'allowed',
    },
    {
      name: 'The pipeline cannot register into another group',
      caller: pipeline,
      action: 'sagemaker:CreateModelPackage',
      resource: sagemaker('model-package/someone-elses-models/1'),
      expect: 'denied',
    },
    {
      name: 'The pipeline reads a version of the stage group, to make a model from it once it is Completed',
      caller: pipeline,
      action: 'sagemaker:DescribeModelPackage',
      resource: sagemaker(`model-package/${namePrefix}-models/3`),
      expect: 'allowed',
    },
    {
      name: "The pipeline cannot read another group's versions",
      caller: pipeline,
      action: 'sagemaker:DescribeModelPackage',
      resource: sagemaker('model-package/someone-elses-models/1'),
      expect: 'denied',
    },
    {
      name: "The pipeline cannot change a version's approval",
      caller: pipeline,
      action: 'sagemaker:UpdateModelPackage',
      resource: sagemaker(`model-package/${namePrefix}-models/3`),
      expect: 'denied',
    },
    {
      name: "The pipeline writes a run's model-quality report next to its model",
      caller: pipeline,
      action: 's3:PutObject',
      resource: `${bucket('Models')}/models/${namePrefix}-run/model-metrics.json`,
      expect: 'allowed',
    },
    // Champion and challenger: the serving model scores the run's validation split in a batch transform.
    {
      name: "The pipeline starts a run's champion transform job",
      caller: pipeline,
      action: 'sagemaker:CreateTransformJob',
      resource: sagemaker(`transform-job/${namePrefix}-run`),
      expect: 'allowed',
    },
    {
      name: "The pipeline cannot start another stage's transform jobs",
      caller: pipeline,
      action: 'sagemaker:CreateTransformJob',
      resource: sagemaker('transform-job/someone-elses-run'),
      expect: 'denied',
    },
    {
      name: 'The pipeline reads which model the served endpoint config names',
      caller: pipeline,
      action: 'sagemaker:DescribeEndpointConfig',
      resource: sagemaker(`endpoint-config/${namePrefix}-previous`),
      expect: 'allowed',
    },
    {
      name: 'The transform, as the model role, reads the CSV validation split',
      caller: sagemakerRole,
      action: 's3:GetObject',
      resource: `${bucket('Curated')}/training-exports/${namePrefix}-run-scoring/part-0.gz`,
      expect: 'allowed',
    },
    {
      name: "The transform, as the model role, writes the champion's scores next to the run's model",
      caller: sagemakerRole,
      action: 's3:PutObject',
      resource: `${bucket('Models')}/models/${namePrefix}-run/champion-scores/part-0.gz.out`,
      expect: 'allowed',
    },
    {
      name: "The comparison function lists a run's champion scores",
      caller: compare,
      action: 's3:ListBucket',
      resource: bucket('Models'),
      context: { 's3:prefix': `models/${namePrefix}-run/champion-scores/` },
      expect: 'allowed',
    },
    {
      name: 'The comparison function cannot list the rest of the models bucket',
      caller: compare,
      action: 's3:ListBucket',
      resource: bucket('Models'),
      context: { 's3:prefix': 'models/' },
      expect: 'denied',
    },
    {
      name: "The comparison function reads a run's champion scores",
      caller: compare,
      action: 's3:GetObject',
      resource: `${bucket('Models')}/models/${namePrefix}-run/champion-scores/part-0.gz.out`,
      expect: 'allowed',
    },
    {
      name: "The comparison function reads a run's challenger scores",
      caller: compare,
      action: 's3:GetObject',
      resource: `${bucket('Models')}/models/${namePrefix}-run/challenger-scores/part-0.gz.out`,
      expect: 'allowed',
    },
    {
      name: 'The pipeline makes the candidate a model of its own for the transform, <run id>-c',
      caller: pipeline,
      action: 'sagemaker:CreateModel',
      resource: sagemaker(`model/${namePrefix}-run-c`),
      expect: 'allowed',
    },
    {
      name: 'The pipeline deletes the candidate model once both transforms are done',
      caller: pipeline,
      action: 'sagemaker:DeleteModel',
      resource: sagemaker(`model/${namePrefix}-run-c`),
      expect: 'allowed',
    },
    {
      name: "The pipeline cannot create another stage's models",
      caller: pipeline,
      action: 'sagemaker:CreateModel',
      resource: sagemaker('model/someone-elses-run'),
      expect: 'denied',
    },
    {
      name: 'The comparison function cannot read a model artefact',
      caller: compare,
      action: 's3:GetObject',
      resource: `${bucket('Models')}/models/${namePrefix}-run/output/model.tar.gz`,
      expect: 'denied',
    },
    {
      name: 'The comparison function cannot write to the models bucket',
      caller: compare,
      action: 's3:PutObject',
      resource: `${bucket('Models')}/models/${namePrefix}-run/champion-scores/forged.out`,
      expect: 'denied',
    },
    {
      name: 'The comparison function decrypts the scores through S3',
      caller: compare,
      action: 'kms:Decrypt',
      resource: key,
      context: viaS3,
      expect: 'allowed',
    },
    {
      name: 'The comparison function cannot use the lake key outside S3',
      caller: compare,
      action: 'kms:Decrypt',
      resource: key,
      context: { 'kms:CallerAccount': ACCOUNT },
      expect: 'denied',
    },
    {
      name: 'The clean-up deletes the versions of the stage group',
      caller: cleanupIsComplete,
      action: 'sagemaker:DeleteModelPackage',
      resource: sagemaker(`model-package/${namePrefix}-models/3`),
      expect: 'allowed',
    },
    {
      name: "The clean-up cannot delete another group's versions",
      caller: cleanupIsComplete,
      action: 'sagemaker:DeleteModelPackage',
      resource: sagemaker('model-package/someone-elses-models/1'),
      expect: 'denied',
    },

    ...(stage === 'prod'
      ? [
          {
            name: 'The training run cannot create a model an endpoint would serve where approval is manual',
            caller: pipeline,
            action: 'sagemaker:CreateModel',
            resource: sagemaker(`model/${namePrefix}-0b7e6a2c`),
            expect: 'denied',
          } as Call,
          {
            name: 'The training run cannot delete a model an endpoint would serve where approval is manual',
            caller: pipeline,
            action: 'sagemaker:DeleteModel',
            resource: sagemaker(`model/${namePrefix}-0b7e6a2c`),
            expect: 'denied',
          } as Call,
          {
            name: 'The approved rollout reads the approved version',
            caller: role('Training/Pipeline/ApprovedRollout/StateMachine/Role'),
            action: 'sagemaker:DescribeModelPackage',
            resource: sagemaker(`model-package/${namePrefix}-models/4`),
            expect: 'allowed',
          } as Call,
          {
            name: 'The approved rollout creates the model of the version it rolls out',
            caller: role('Training/Pipeline/ApprovedRollout/StateMachine/Role'),
            action: 'sagemaker:CreateModel',
            resource: sagemaker(`model/${namePrefix}-0b7e6a2c`),
            expect: 'allowed',
          } as Call,
          {
            name: 'The approved rollout cannot approve a version itself',
            caller: role('Training/Pipeline/ApprovedRollout/StateMachine/Role'),
            action: 'sagemaker:UpdateModelPackage',
            resource: sagemaker(`model-package/${namePrefix}-models/4`),
            expect: 'denied',
          } as Call,
          {
            name: 'The approved rollout sees whether a training run is in progress, to spare its candidate model',
            caller: role('Training/Pipeline/ApprovedRollout/StateMachine/Role'),
            action: 'states:ListExecutions',
            resource: stateMachineArn(`${namePrefix}-training`),
            expect: 'allowed',
          } as Call,
          {
            name: 'The approved rollout cannot stop a training run',
            caller: role('Training/Pipeline/ApprovedRollout/StateMachine/Role'),
            action: 'states:StopExecution',
            resource: `arn:aws:states:${REGION}:${ACCOUNT}:execution:${namePrefix}-training:run-1`,
            expect: 'denied',
          } as Call,
          {
            name: 'EventBridge starts the approved rollout',
            caller: role('Training/Pipeline/ApprovedRollout/StateMachine/EventsRole'),
            action: 'states:StartExecution',
            resource: stateMachineArn(`${namePrefix}-deploy-approved`),
            expect: 'allowed',
          } as Call,
        ]
      : []),

    // Clean-up on stack deletion: onEvent deletes the endpoint, isComplete waits for it and deletes the rest.
    {
      name: 'The clean-up deletes the configured endpoint',
      caller: cleanupOnEvent,
      action: 'sagemaker:DeleteEndpoint',
      resource: sagemaker(`endpoint/${endpointName}`),
      expect: 'allowed',
    },
    {
      name: 'The clean-up cannot delete another endpoint',
      caller: cleanupOnEvent,
      action: 'sagemaker:DeleteEndpoint',
      resource: sagemaker('endpoint/someone-elses'),
      expect: 'denied',
    },
    {
      name: 'The clean-up waits until the endpoint is gone',
      caller: cleanupIsComplete,
      action: 'sagemaker:DescribeEndpoint',
      resource: sagemaker(`endpoint/${endpointName}`),
      expect: 'allowed',
    },
    {
      name: "The clean-up deletes a model of this stage's runs",
      caller: cleanupIsComplete,
      action: 'sagemaker:DeleteModel',
      resource: sagemaker(`model/${namePrefix}-0b7e6a2c`),
      expect: 'allowed',
    },
    {
      name: "The clean-up cannot delete another stage's models",
      caller: cleanupIsComplete,
      action: 'sagemaker:DeleteModel',
      resource: sagemaker('model/someone-elses-model'),
      expect: 'denied',
    },
    {
      name: "The clean-up's event handler cannot delete models",
      caller: cleanupOnEvent,
      action: 'sagemaker:DeleteModel',
      resource: sagemaker(`model/${namePrefix}-0b7e6a2c`),
      expect: 'denied',
    },
    {
      name: 'The provider framework invokes the clean-up handler',
      caller: cleanupFramework,
      action: 'lambda:InvokeFunction',
      resource: arn('Training/SageMakerCleanup/OnEventHandler/Function'),
      expect: 'allowed',
    },
    {
      name: 'The provider framework cannot delete the endpoint itself',
      caller: cleanupFramework,
      action: 'sagemaker:DeleteEndpoint',
      resource: sagemaker(`endpoint/${endpointName}`),
      expect: 'denied',
    },
    {
      name: "The provider framework's entry point starts the waiter that polls isComplete",
      caller: cleanupFramework,
      action: 'states:StartExecution',
      resource: app.at('Training/SageMakerCleanup/Provider/waiter-state-machine').ref,
      expect: 'allowed',
    },
    {
      name: 'The waiter runs the framework step that invokes isComplete',
      caller: role('Training/SageMakerCleanup/Provider/waiter-state-machine/Role'),
      action: 'lambda:InvokeFunction',
      resource: arn('Training/SageMakerCleanup/Provider/framework-isComplete'),
      expect: 'allowed',
    },
    {
      name: 'The waiter runs the framework step that reports a timeout',
      caller: role('Training/SageMakerCleanup/Provider/waiter-state-machine/Role'),
      action: 'lambda:InvokeFunction',
      resource: arn('Training/SageMakerCleanup/Provider/framework-onTimeout'),
      expect: 'allowed',
    },
    {
      name: 'The framework step invokes the clean-up completion check',
      caller: role('Training/SageMakerCleanup/FrameworkIsCompleteRole'),
      action: 'lambda:InvokeFunction',
      resource: arn('Training/SageMakerCleanup/IsCompleteHandler/Function'),
      expect: 'allowed',
    },
    {
      name: 'The framework step cannot invoke the predict function',
      caller: role('Training/SageMakerCleanup/FrameworkIsCompleteRole'),
      action: 'lambda:InvokeFunction',
      resource: predictFunction,
      expect: 'denied',
    },

    // Alarms reach the notification topic.
    ...app.ofType('AWS::CloudWatch::Alarm').flatMap((alarm): Call[] => [
      {
        name: `CloudWatch publishes alarm ${alarm.ref} to the topic`,
        caller: { service: 'cloudwatch.amazonaws.com', sourceArn: alarm.attribute('Arn'), sourceAccount: ACCOUNT },
        action: 'sns:Publish',
        resource: topic,
        expect: 'allowed',
      },
      {
        name: `CloudWatch encrypts alarm ${alarm.ref} with the lake key`,
        caller: { service: 'cloudwatch.amazonaws.com', sourceArn: alarm.attribute('Arn'), sourceAccount: ACCOUNT },
        action: 'kms:GenerateDataKey',
        resource: key,
        context: forTopic,
        expect: 'allowed',
      },
    ]),
    {
      name: 'CloudWatch decrypts the data key for an alarm of this app',
      caller: {
        service: 'cloudwatch.amazonaws.com',
        sourceArn: `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:${namePrefix}-ApiLatency`,
        sourceAccount: ACCOUNT,
      },
      action: 'kms:Decrypt',
      resource: key,
      context: forTopic,
      expect: 'allowed',
    },
    {
      name: 'CloudWatch cannot use the key for an alarm of this app sent to another topic',
      caller: {
        service: 'cloudwatch.amazonaws.com',
        sourceArn: `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:${namePrefix}-ApiLatency`,
        sourceAccount: ACCOUNT,
      },
      action: 'kms:GenerateDataKey',
      resource: key,
      context: { 'kms:EncryptionContext:aws:sns:topicArn': `arn:aws:sns:${REGION}:${ACCOUNT}:someone-elses-topic` },
      expect: 'denied',
    },
    {
      name: 'CloudWatch cannot publish an alarm of another application to the topic',
      caller: {
        service: 'cloudwatch.amazonaws.com',
        sourceArn: `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:other-app-CpuHigh`,
        sourceAccount: ACCOUNT,
      },
      action: 'sns:Publish',
      resource: topic,
      expect: 'denied',
    },
    {
      name: "CloudWatch cannot use the key for another account's alarm",
      caller: {
        service: 'cloudwatch.amazonaws.com',
        sourceArn: `arn:aws:cloudwatch:${REGION}:210987654321:alarm:${namePrefix}-ApiLatency`,
        sourceAccount: '210987654321',
      },
      action: 'kms:GenerateDataKey',
      resource: key,
      context: forTopic,
      expect: 'denied',
    },

    // CloudWatch Logs encrypts each log group with the key, bound to that group by the encryption context.
    ...app.ofType('AWS::Logs::LogGroup').map((group): Call => ({
      name: `CloudWatch Logs encrypts log group ${group.ref}`,
      caller: { service: `logs.${REGION}.amazonaws.com` },
      action: 'kms:GenerateDataKey',
      resource: key,
      context: { 'kms:EncryptionContext:aws:logs:arn': group.attribute('Arn').replace(/:\*$/, '') },
      expect: 'allowed',
    })),
    {
      name: "CloudWatch Logs cannot use the key for another account's log group",
      caller: { service: `logs.${REGION}.amazonaws.com` },
      action: 'kms:GenerateDataKey',
      resource: key,
      context: { 'kms:EncryptionContext:aws:logs:arn': `arn:aws:logs:${REGION}:210987654321:log-group:stolen` },
      expect: 'denied',
    },
    {
      name: 'CloudWatch Logs cannot use the key without a log group context',
      caller: { service: `logs.${REGION}.amazonaws.com` },
      action: 'kms:GenerateDataKey',
      resource: key,
      expect: 'denied',
    },

    // Nobody outside the app reads the lake: no anonymous access, no plain HTTP, no other account.
    ...['Raw', 'Curated', 'Models', 'Checkpoints', 'AthenaResults'].flatMap((zone): Call[] => [
      {
        name: `The ${zone} bucket cannot be read anonymously`,
        caller: { anonymous: true },
        action: 's3:GetObject',
        resource: `${bucket(zone)}/any/object`,
        expect: 'denied',
      },
      {
        name: `The ${zone} bucket cannot be read without TLS, even by a role of the app`,
        caller: zone === 'Raw' ? crawlerRole : sagemakerRole,
        action: 's3:GetObject',
        resource:
          zone === 'Raw'
            ? `${bucket(zone)}/events/year=2026/month=12/day=01/hour=12/events-1.parquet`
            : `${bucket(zone)}/any/object`,
        context: { 'aws:SecureTransport': 'false' },
        expect: 'denied',
      },
    ]),
    {
      name: 'Another account cannot read raw events',
      caller: { arn: 'arn:aws:iam::210987654321:role/outsider' },
      action: 's3:GetObject',
      resource: `${bucket('Raw')}/events/year=2026/month=12/day=01/hour=12/events-1.parquet`,
      expect: 'denied',
    },
    {
      name: 'Another account cannot decrypt with the lake key',
      caller: { arn: 'arn:aws:iam::210987654321:role/outsider' },
      action: 'kms:Decrypt',
      resource: key,
      expect: 'denied',
    },
  ];
  return calls;
}

describe('a row of the access matrix', () => {
  // A second view of the synthesized sandbox app: this one has a grant removed below.
  const { app: cdkApp, config } = synthesized.sandbox;
  const app = new DeployedApp(cdkApp);
  const checker = new AccessChecker(app);
  const row = (name: string) =>
    accessMatrix(app, config.namePrefix, config.serving.endpointName, 'sandbox').find((c) => c.name === name)!;

  test('fails with "no statement allows it" once the grant it relies on is removed', async () => {
    const call = row('SageMaker reads the training export');
    expect((await checker.check(call)).allowed).toBe(true);
    const policy = app.at('Training/Pipeline/SageMakerRole/DefaultPolicy').properties.PolicyDocument as {
      Statement: { Sid?: string }[];
    };
    policy.Statement.splice(
      policy.Statement.findIndex((s) => s.Sid === 'ReadTrainingExports'),
      1,
    );
    const verdict = await checker.check(call);
    expect(verdict).toEqual({ allowed: false, explanation: expect.stringMatching(/^no statement allows it/) });
  });

  test('names the statements that decide a call', async () => {
    const write = await checker.check(row('Firehose writes a Parquet file under events/ over TLS'));
    expect(write.explanation).toBe(
      'allowed by identity Ingest/Delivery/DeliveryRole/DefaultPolicy/Resource statement WriteRawObjects',
    );
    const plainHttp = await checker.check(row('Firehose cannot write to the raw zone without TLS'));
    expect(plainHttp.explanation).toMatch(/^explicitly denied by resource policy statement #1/);
  });
});
