import aslValidator from 'asl-validator';
import { evaluateTraining, type TrainingJobDescription } from '../../lambda/evaluate-training/evaluate';
import { modelFigures, compareWithChampion, type ScoredRecord } from '../../lambda/compare-champion/compare';
import { QUALITY_METRIC } from '../../lib/contract/training-run';
import { PIPELINE_STATE_MACHINE, stateMachineDefinition, synthPipeline } from '../helpers';
import { parseReport } from '../../scripts/train/pipeline-runner';
import { awsError, runLocally, type Handler, type Json, type LocalRun } from '../local-state-machine';

/**
 * The synthesized state machine, executed locally: every AWS call is answered by a mock, while Step Functions'
 * own semantics (paths, intrinsic functions, Choice rules, Retry and Catch) run as they would in the service.
 */
const { training, config } = synthPipeline({ stage: 'sandbox' });
const definition = stateMachineDefinition(training, PIPELINE_STATE_MACHINE);
const endpointName = config.serving.endpointName;
const prefix = config.namePrefix;
const STATE_MACHINE_ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:mlpipe-sandbox-training';
/** The execution the local runner runs as (test/local-state-machine.ts), which the single-run guard finds itself as. */
const EXECUTION_ARN = 'arn:aws:states:eu-west-1:123456789012:execution:x:run-1';

/** The champion's scores of the validation split: 11 of its 12 fraud/legitimate pairs are in order, an AUC of 11/12. */
const CHAMPION_SCORES: ScoredRecord[] = [
  ...[0.9, 0.8, 0.35].map((score) => ({ label: 1 as const, score })),
  ...[0.7, 0.2, 0.1, 0.05].map((score) => ({ label: 0 as const, score })),
];
/** The Lambda task's answer: the function's real comparison, on the scores the transform would have written. */
function compared(input: Record<string, unknown>, champion: ScoredRecord[], challenger = CHALLENGER_SCORES) {
  const payload = input.Payload as { championModel: string; challengerModel: string };
  return {
    StatusCode: 200,
    Payload: compareWithChampion(
      modelFigures(payload.challengerModel, challenger),
      modelFigures(payload.championModel, champion),
      config.qualityGate.minImprovement,
    ),
  };
}

/** The candidate's scores of the same records from the same transform: every pair in order, an AUC of 1. */
const CHALLENGER_SCORES: ScoredRecord[] = [
  ...[0.9, 0.8, 0.75].map((score) => ({ label: 1 as const, score })),
  ...[0.7, 0.2, 0.1, 0.05].map((score) => ({ label: 0 as const, score })),
];

/** An endpoint that serves a previous run's model: the champion. */
const SERVING = {
  FindChampion: () => ({
    EndpointName: 'e',
    EndpointConfigName: 'mlpipe-sandbox-previous',
    EndpointStatus: 'InService',
  }),
};

/** How Step Functions reports SageMaker throttling: the name is generic, the cause says what happened. */
const THROTTLED = 'Rate exceeded (Service: SageMaker, Status Code: 400, Error Code: ThrottlingException)';

/**
 * Answers for a healthy run; each scenario replaces the ones it is about, or makes a state's first call fail with
 * `failFirst` before it answers as in a healthy run.
 */
function serviceMocks(
  overrides: Record<string, Handler> = {},
  failFirst: Record<string, Error> = {},
): Record<string, Handler> {
  const attempts: Record<string, number> = {};
  let runId = '';
  let describeCount = 0;
  let versionLooks = 0;
  const versions = (kind: 'EndpointConfig' | 'Model') => ({
    [`${kind}s`]: [
      runId,
      `${prefix}-previous`,
      `${prefix}-older`,
      `other-${prefix}-lookalike`,
      // A candidate model that a stopped run left.
      ...(kind === 'Model' ? [`${prefix}-0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9-c`] : []),
    ].map((name) => ({ [`${kind}Name`]: name })),
  });
  const defaults: Record<string, Handler> = {
    FindRunningRuns: () => ({ Executions: [{ ExecutionArn: EXECUTION_ARN, Status: 'RUNNING' }] }),
    StartCrawler: () => ({}),
    GetCrawler: () => ({ Crawler: { Name: 'crawler', State: 'READY', LastCrawl: { Status: 'SUCCEEDED' } } }),
    ExportDatasets: () => ({ QueryExecution: { Status: { State: 'SUCCEEDED' } } }),
    WriteBaseline: () => ({ QueryExecution: { Status: { State: 'SUCCEEDED' } } }),
    ExportScoringSet: () => ({ QueryExecution: { Status: { State: 'SUCCEEDED' } } }),
    FindChampion: () => {
      throw awsError('SageMaker.SageMakerException', `Could not find endpoint "${endpointName}".`);
    },
    DescribeChampionConfig: (input) => ({
      EndpointConfigName: input.EndpointConfigName,
      ProductionVariants: [{ VariantName: 'primary', ModelName: `${prefix}-champion` }],
    }),
    CreateChallengerModel: () => ({ ModelArn: 'arn:challenger-model' }),
    DeleteChallengerModel: () => ({}),
    DeleteChallengerAfterFailure: () => ({}),
    ScoreChampion: (input) => ({ TransformJobName: input.TransformJobName, TransformJobStatus: 'Completed' }),
    ScoreChallenger: (input) => ({ TransformJobName: input.TransformJobName, TransformJobStatus: 'Completed' }),
    CompareWithChampion: (input) => compared(input, CHAMPION_SCORES),
    NotifyChampionKept: () => ({ MessageId: 'm-4' }),
    WriteModelMetrics: () => ({ ETag: '"abc"' }),
    // SageMaker checks a new version before it is Completed: the first look finds it in progress.
    DescribeVersion: () => ({ ModelPackageStatus: (versionLooks += 1) === 1 ? 'InProgress' : 'Completed' }),
    RegisterModel: () => ({
      ModelPackageArn: `arn:aws:sagemaker:eu-west-1:123456789012:model-package/${prefix}-models/3`,
    }),
    TrainModel: (input) => ({
      TrainingJobName: input.TrainingJobName,
      TrainingJobStatus: 'Completed',
      ModelArtifacts: { S3ModelArtifacts: `s3://models/models/${String(input.TrainingJobName)}/output/model.tar.gz` },
      FinalMetricDataList: [
        { MetricName: 'validation:accuracy', Value: 0.98 },
        { MetricName: 'validation:precision', Value: 0.55 },
        { MetricName: 'validation:recall', Value: 0.78 },
        { MetricName: 'validation:f1_binary', Value: 0.65 },
        { MetricName: 'validation:auc', Value: 0.93 },
      ],
      BillableTimeInSeconds: 240,
      TrainingTimeInSeconds: 800,
    }),
    // The Lambda task runs the function's real logic on the job description the state machine passes it.
    EvaluateModel: (input) => ({
      StatusCode: 200,
      Payload: evaluateTraining(input.Payload as TrainingJobDescription, QUALITY_METRIC),
    }),
    CreateModel: () => ({ ModelArn: 'arn:model' }),
    CreateEndpointConfig: (input) => {
      runId = String(input.EndpointConfigName);
      return { EndpointConfigArn: 'arn:endpoint-config' };
    },
    FindEndpoint: () => {
      throw awsError('SageMaker.SageMakerException', `Could not find endpoint "${endpointName}".`);
    },
    CreateEndpoint: () => ({ EndpointArn: 'arn:endpoint' }),
    UpdateEndpoint: () => ({ EndpointArn: 'arn:endpoint' }),
    DescribeEndpoint: () => {
      describeCount += 1;
      return {
        EndpointName: endpointName,
        EndpointArn: 'arn:endpoint',
        EndpointConfigName: runId,
        EndpointStatus: describeCount === 1 ? 'Creating' : 'InService',
      };
    },
    DeleteFailedEndpoint: () => ({}),
    ListEndpointConfigs: () => versions('EndpointConfig'),
    ListModels: () => versions('Model'),
    DeleteEndpointConfig: () => ({}),
    DeleteModel: () => ({}),
    NotifyFailure: () => ({ MessageId: 'm-1' }),
    NotifyRejected: () => ({ MessageId: 'm-2' }),
    NotifyCleanupFailed: () => ({ MessageId: 'm-3' }),
  };
  const handlers = { ...defaults, ...overrides };
  return Object.fromEntries(
    Object.entries(handlers).map(([state, handler]) => [
      state,
      (input: Json) => {
        attempts[state] = (attempts[state] ?? 0) + 1;
        if (failFirst[state] !== undefined && attempts[state] === 1) throw failFirst[state];
        return handler(input);
      },
    ]),
  );
}

type Execution = LocalRun;

/** A run of the synthesized definition with the healthy-run answers, `overrides` and `failFirst` applied. */
const execute = (overrides: Record<string, Handler> = {}, failFirst: Record<string, Error> = {}): Promise<Execution> =>
  runLocally(definition, {}, serviceMocks(overrides, failFirst), {
    stateMachineArn: STATE_MACHINE_ARN,
  });

const called = (execution: Execution, state: string) => execution.calls[state]?.length ?? 0;

describe('the training state machine definition', () => {
  test('is valid Amazon States Language', () => {
    const { isValid, errors } = aslValidator(definition);
    expect(errors).toEqual([]);
    expect(isValid).toBe(true);
  });
});

describe('a local execution of the training pipeline', () => {
  test('creates the endpoint on the first run and reports the model', async () => {
    const run = await execute();
    expect(run.error).toBeUndefined();
    expect(called(run, 'CreateEndpoint')).toBe(1);
    expect(called(run, 'UpdateEndpoint')).toBe(0);
    expect(called(run, 'DescribeEndpoint')).toBe(2);
    const runId = String(run.calls.CreateEndpointConfig[0].EndpointConfigName);
    expect(runId).toMatch(/^mlpipe-sandbox-[0-9a-f-]{36}$/);
    expect(run.output).toEqual({
      trainingJobName: runId,
      validationAuc: 0.93,
      validationMetrics: { accuracy: 0.98, precision: 0.55, recall: 0.78, f1_binary: 0.65, auc: 0.93 },
      modelArtifacts: `s3://models/models/${runId}/output/model.tar.gz`,
      billableSeconds: 240,
      trainingSeconds: 800,
      spotSavingPercent: 70,
      comparison: {
        decision: 'first-model',
        minImprovement: 0,
        challenger: { auc: 0.93, recall: 0.78 },
        champion: null,
        improvement: null,
      },
      modelPackageArn: `arn:aws:sagemaker:eu-west-1:123456789012:model-package/${prefix}-models/3`,
      approval: 'Approved',
      endpointName,
      endpointConfigName: runId,
    });
    // Without an endpoint there is no champion to score.
    expect(called(run, 'ScoreChampion')).toBe(0);
    // `npm run train` reads this output; it must still understand it.
    expect(parseReport(JSON.stringify(run.output))).toEqual(run.output);
  });

  test('registers the gated model as an approved version with its metrics, job, window and baseline, and tags the deployed model with it', async () => {
    const run = await execute();
    const runId = String(run.calls.TrainModel[0].TrainingJobName);
    const metrics = run.calls.WriteModelMetrics[0];
    expect(metrics).toMatchObject({ Key: `models/${runId}/model-metrics.json`, ContentType: 'application/json' });
    expect(JSON.parse(String(metrics.Body))).toEqual({
      binary_classification_metrics: {
        accuracy: { value: 0.98, standard_deviation: 'NaN' },
        precision: { value: 0.55, standard_deviation: 'NaN' },
        recall: { value: 0.78, standard_deviation: 'NaN' },
        f1: { value: 0.65, standard_deviation: 'NaN' },
        auc: { value: expect.any(Number), standard_deviation: 'NaN' },
      },
    });
    const registered = run.calls.RegisterModel[0] as Json & {
      InferenceSpecification: { Containers: Json[] };
      ModelMetrics: { ModelQuality: { Statistics: Json } };
      CustomerMetadataProperties: Json;
    };
    expect(registered).toMatchObject({
      ModelPackageGroupName: `${prefix}-models`,
      ClientToken: expect.stringMatching(/^[0-9a-f-]{36}$/),
      ModelApprovalStatus: 'Approved',
      InferenceSpecification: { SupportedContentTypes: ['text/csv'], SupportedResponseMIMETypes: ['text/csv'] },
    });
    expect(registered.InferenceSpecification.Containers[0].ModelDataUrl).toBe(
      `s3://models/models/${runId}/output/model.tar.gz`,
    );
    expect(String(registered.ModelMetrics.ModelQuality.Statistics.S3Uri)).toMatch(
      new RegExp(`/models/${runId}/model-metrics.json$`),
    );
    expect(registered.CustomerMetadataProperties).toMatchObject({
      trainingJob: runId,
      exportWindowDays: String(config.training.exportWindowDays),
      baseline: expect.stringMatching(new RegExp(`/models/${runId}/baseline/$`)),
      validationAuc: '0.93',
      validationRecall: '0.78',
      challenge: 'first-model',
      // A first model is compared with no one: its AUC is the job's.
      comparedAuc: '0.93',
      improvementOverChampion: 'null',
    });
    const packageArn = `arn:aws:sagemaker:eu-west-1:123456789012:model-package/${prefix}-models/3`;
    // The model is made from the version, once SageMaker has completed it.
    expect(called(run, 'DescribeVersion')).toBe(2);
    expect(run.calls.DescribeVersion[0]).toEqual({ ModelPackageName: packageArn });
    expect(run.calls.CreateModel[0].PrimaryContainer).toEqual({ ModelPackageName: packageArn });
    expect(run.calls.CreateModel[0].Tags).toContainEqual({ Key: 'ml-pipeline:model-package', Value: packageArn });
    expect(run.output).toMatchObject({ modelPackageArn: packageArn });
  });

  test('names every artifact of a run after one id and exports to a prefix of that run', async () => {
    const run = await execute();
    const runId = String(run.calls.TrainModel[0].TrainingJobName);
    expect(run.calls.CreateModel[0].ModelName).toBe(runId);
    expect(run.calls.CreateEndpoint[0]).toMatchObject({ EndpointName: endpointName, EndpointConfigName: runId });
    expect(called(run, 'ExportDatasets')).toBe(1);
    const exportSql = String(run.calls.ExportDatasets[0].QueryString);
    expect(exportSql).toContain(`TO 's3://TOKEN_`);
    expect(exportSql).toContain(`/training-exports/${runId}/'`);
    expect(exportSql).toContain("partitioned_by = ARRAY['split']");
    // The window ends on the day the execution started, whenever the query runs; it survives Step Functions' string
    // formatting, quotes and date patterns intact.
    const lastDay = /date\(from_iso8601_timestamp\('(\d{4}-\d\d-\d\dT[\d:.]+Z)'\)\)/.exec(exportSql)?.[1];
    expect(lastDay).toBeDefined();
    expect(exportSql).toContain(
      `>= date_format(date(from_iso8601_timestamp('${lastDay}')) - INTERVAL '29' DAY, '%Y-%m-%d')`,
    );
    // ...and ends before the hour it started, whose partition is still filling.
    const hourBound = `concat("year", "month", "day", "hour") < date_format(from_iso8601_timestamp('${lastDay}'), '%Y%m%d%H')`;
    expect(exportSql).toContain(hourBound);
    // The baseline of the same records lands next to the run's model, before training starts.
    expect(called(run, 'WriteBaseline')).toBe(1);
    const baselineSql = String(run.calls.WriteBaseline[0].QueryString);
    expect(baselineSql).toContain(`/models/${runId}/baseline/'`);
    expect(baselineSql).toContain(
      `>= date_format(date(from_iso8601_timestamp('${lastDay}')) - INTERVAL '29' DAY, '%Y-%m-%d')`,
    );
    // So does the CSV of the validation split the champion scores.
    expect(String(run.calls.ExportScoringSet[0].QueryString)).toContain(
      `>= date_format(date(from_iso8601_timestamp('${lastDay}')) - INTERVAL '29' DAY, '%Y-%m-%d')`,
    );
    for (const sql of [baselineSql, String(run.calls.ExportScoringSet[0].QueryString)])
      expect(sql).toContain(hourBound);
    expect(String(run.calls.ExportScoringSet[0].QueryString)).toContain(`/training-exports/${runId}-scoring/'`);
    expect(baselineSql).toContain('ntile(10) OVER (PARTITION BY feature ORDER BY value)');
    const channels = run.calls.TrainModel[0].InputDataConfig as {
      ChannelName: string;
      ContentType: string;
      DataSource: { S3DataSource: { S3Uri: string } };
    }[];
    expect(
      channels.map((c) => [c.ChannelName, c.ContentType, c.DataSource.S3DataSource.S3Uri.split('/').slice(-4)]),
    ).toEqual([
      ['train', 'application/x-parquet', ['training-exports', runId, 'split=train', '']],
      ['validation', 'application/x-parquet', ['training-exports', runId, 'split=validation', '']],
    ]);
    expect(run.calls.TrainModel[0]).toMatchObject({
      EnableManagedSpotTraining: true,
      StoppingCondition: { MaxRuntimeInSeconds: 3600, MaxWaitTimeInSeconds: 7200 },
    });
    expect(JSON.stringify(run.calls.TrainModel[0].CheckpointConfig)).toContain(`/${runId}/`);
  });

  test('updates the existing endpoint in place on a later run', async () => {
    const run = await execute({ FindEndpoint: () => ({ EndpointName: endpointName, EndpointStatus: 'InService' }) });
    expect(run.error).toBeUndefined();
    expect(called(run, 'UpdateEndpoint')).toBe(1);
    expect(called(run, 'CreateEndpoint')).toBe(0);
  });

  test('fails rather than creating a second endpoint when the lookup fails for another reason', async () => {
    const run = await execute({
      FindEndpoint: () => {
        throw awsError('SageMaker.SageMakerException', 'User is not authorized to perform sagemaker:DescribeEndpoint');
      },
    });
    expect(called(run, 'CreateEndpoint')).toBe(0);
    expect(called(run, 'NotifyFailure')).toBe(1);
    expect(run.error?.message).toContain('not authorized');
  });

  test('rejects a model below the AUC threshold without touching the endpoint', async () => {
    const run = await execute({
      TrainModel: (input) => ({
        TrainingJobName: input.TrainingJobName,
        ModelArtifacts: { S3ModelArtifacts: 's3://models/model.tar.gz' },
        FinalMetricDataList: [{ MetricName: 'validation:auc', Value: 0.61 }],
        BillableTimeInSeconds: 100,
        TrainingTimeInSeconds: 100,
      }),
    });
    expect(run.error?.message).toMatch(/ModelBelowQualityGate|Validation AUC below 0.75/);
    expect(called(run, 'NotifyRejected')).toBe(1);
    expect(run.calls.NotifyRejected[0].Message).toMatchObject({ validationAuc: 0.61, minValidationAuc: 0.75 });
    for (const state of [
      'WriteModelMetrics',
      'RegisterModel',
      'CreateModel',
      'CreateEndpointConfig',
      'FindEndpoint',
      'CreateEndpoint',
      'UpdateEndpoint',
    ]) {
      expect({ state, calls: called(run, state) }).toEqual({ state, calls: 0 });
    }
  });

  test('rejects a model whose job reported no validation AUC', async () => {
    const run = await execute({
      TrainModel: (input) => ({
        TrainingJobName: input.TrainingJobName,
        ModelArtifacts: { S3ModelArtifacts: 's3://models/model.tar.gz' },
        FinalMetricDataList: [{ MetricName: 'train:auc', Value: 0.99 }],
        BillableTimeInSeconds: 100,
        TrainingTimeInSeconds: 100,
      }),
    });
    expect(called(run, 'NotifyRejected')).toBe(1);
    expect(called(run, 'CreateModel')).toBe(0);
  });

  test.each([
    ['TrainModel', 'SageMaker.AmazonSageMakerException'],
    ['CreateModel', 'SageMaker.SageMakerException'],
    ['CreateEndpointConfig', 'SageMaker.SageMakerException'],
    ['CreateEndpoint', 'SageMaker.SageMakerException'],
    ['DescribeEndpoint', 'SageMaker.SageMakerException'],
  ])('retries SageMaker throttling of %s, reported as %s', async (state, error) => {
    const run = await execute({}, { [state]: awsError(error, THROTTLED) });
    expect(run.error).toBeUndefined();
    expect(called(run, state)).toBe(state === 'DescribeEndpoint' ? 3 : 2);
    expect(called(run, 'NotifyFailure')).toBe(0);
  });

  test('scores the serving model on the same validation split and rolls out a challenger that beats it', async () => {
    const run = await execute(SERVING);
    expect(run.error).toBeUndefined();
    const runId = String(run.calls.TrainModel[0].TrainingJobName);
    // The champion is the model of the config the endpoint serves.
    expect(run.calls.DescribeChampionConfig[0]).toEqual({ EndpointConfigName: `${prefix}-previous` });
    // The same records, as CSV with the label first: a sibling of the Parquet export of this run.
    const scoringSql = String(run.calls.ExportScoringSet[0].QueryString);
    expect(scoringSql).toContain(`/training-exports/${runId}-scoring/'`);
    expect(scoringSql).toContain("format = 'TEXTFILE', field_delimiter = ','");
    expect(scoringSql).toContain("= 'validation'");
    const transform = run.calls.ScoreChampion[0] as Json & {
      TransformInput: { DataSource: { S3DataSource: { S3Uri: string } } };
      TransformOutput: { S3OutputPath: string };
    };
    expect(transform).toMatchObject({
      TransformJobName: runId,
      ModelName: `${prefix}-champion`,
      TransformInput: { ContentType: 'text/csv', CompressionType: 'Gzip', SplitType: 'Line' },
      TransformOutput: { Accept: 'text/csv', AssembleWith: 'Line' },
      // The model sees the features only; the output keeps the label and the score.
      DataProcessing: { InputFilter: '$[1:]', JoinSource: 'Input', OutputFilter: '$[0,-1]' },
      Tags: [{ Key: 'ml-pipeline:owner', Value: `${prefix}-training-pipeline` }],
    });
    expect(transform.TransformInput.DataSource.S3DataSource.S3Uri).toMatch(
      new RegExp(`/training-exports/${runId}-scoring/$`),
    );
    expect(transform.TransformOutput.S3OutputPath).toMatch(new RegExp(`/models/${runId}/champion-scores/$`));
    // The candidate is made a model from its artefact, and scores the same CSV in a job of its own.
    const challengerModel = `${runId}-c`;
    expect(run.calls.CreateChallengerModel[0]).toMatchObject({
      ModelName: challengerModel,
      EnableNetworkIsolation: true,
      PrimaryContainer: { ModelDataUrl: `s3://models/models/${runId}/output/model.tar.gz` },
      Tags: [{ Key: 'ml-pipeline:owner', Value: `${prefix}-training-pipeline` }],
    });
    const challengerTransform = run.calls.ScoreChallenger[0] as Json & {
      TransformInput: { DataSource: { S3DataSource: { S3Uri: string } } };
      TransformOutput: { S3OutputPath: string };
    };
    expect(challengerTransform).toMatchObject({
      TransformJobName: challengerModel,
      ModelName: challengerModel,
      DataProcessing: transform.DataProcessing as Json,
    });
    expect(challengerTransform.TransformInput).toEqual(transform.TransformInput);
    expect(challengerTransform.TransformOutput.S3OutputPath).toMatch(
      new RegExp(`/models/${runId}/challenger-scores/$`),
    );
    expect(run.calls.CompareWithChampion[0].Payload).toEqual({
      runId,
      championModel: `${prefix}-champion`,
      challengerModel,
    });
    // The candidate model served the transform only.
    expect(run.calls.DeleteChallengerModel).toEqual([{ ModelName: challengerModel }]);
    // Both figures from the transforms of the same records, not the job's last round.
    expect(run.output?.comparison).toEqual({
      decision: 'challenger-wins',
      minImprovement: 0,
      challenger: { auc: 1, recall: 1 },
      champion: { modelName: `${prefix}-champion`, auc: 0.916667, recall: 0.666667, precision: 0.666667, records: 7 },
      improvement: 0.083333,
    });
    expect(run.calls.RegisterModel[0].CustomerMetadataProperties).toMatchObject({
      challenge: 'challenger-wins',
      // The candidate's transform AUC, from which the champion's is the improvement below (1 - 0.083333).
      comparedAuc: '1',
      improvementOverChampion: '0.083333',
    });
    expect(called(run, 'CreateModel')).toBe(1);
    expect(parseReport(JSON.stringify(run.output))).toEqual(run.output);
  });

  test('keeps the champion when the challenger does not beat it, registering and deploying nothing', async () => {
    const run = await execute({
      ...SERVING,
      CompareWithChampion: (input) =>
        compared(
          input,
          [
            { label: 1, score: 0.9 },
            { label: 0, score: 0.1 },
          ],
          CHAMPION_SCORES,
        ),
    });
    expect(run.error?.message).toMatch(/ChampionKept|against the champion/);
    expect(run.error?.message).toContain(
      `Challenger AUC 0.916667 against the champion ${prefix}-champion at 1 on the same records`,
    );
    expect(called(run, 'NotifyChampionKept')).toBe(1);
    expect(run.calls.NotifyChampionKept[0].Message).toMatchObject({
      comparison: { decision: 'champion-kept', improvement: -0.083333 },
    });
    expect(called(run, 'DeleteChallengerModel')).toBe(1);
    for (const state of ['WriteModelMetrics', 'RegisterModel', 'CreateModel', 'CreateEndpointConfig', 'FindEndpoint']) {
      expect(called(run, state)).toBe(0);
    }
  });

  test('takes no champion from an endpoint that failed, whose model never served', async () => {
    const run = await execute({
      FindChampion: () => ({ EndpointName: 'e', EndpointConfigName: `${prefix}-broken`, EndpointStatus: 'Failed' }),
    });
    expect(called(run, 'DescribeChampionConfig')).toBe(0);
    expect(called(run, 'ScoreChampion')).toBe(0);
    expect(run.calls.RegisterModel[0].CustomerMetadataProperties).toMatchObject({ challenge: 'first-model' });
  });

  test('goes on to the decision when the candidate model cannot be deleted', async () => {
    const run = await execute({
      ...SERVING,
      DeleteChallengerModel: () => {
        throw awsError('SageMaker.SageMakerException', 'User is not authorized to perform sagemaker:DeleteModel');
      },
    });
    expect(run.error).toBeUndefined();
    expect(called(run, 'RegisterModel')).toBe(1);
  });

  test('fails, deploying nothing, when a transform job fails', async () => {
    const run = await execute({
      ...SERVING,
      ScoreChallenger: () => {
        throw awsError('SageMaker.AmazonSageMakerException', 'ClientError: the model container failed');
      },
    });
    expect(run.error?.message).toContain('the model container failed');
    expect(called(run, 'NotifyFailure')).toBe(1);
    expect(called(run, 'CompareWithChampion')).toBe(0);
    expect(called(run, 'RegisterModel')).toBe(0);
    // The run deletes its own candidate, since the rollouts' clean-up spares candidates.
    expect(run.calls.DeleteChallengerAfterFailure).toEqual([
      { ModelName: `${run.calls.CreateChallengerModel[0].ModelName}` },
    ]);
    expect(called(run, 'DeleteChallengerModel')).toBe(0);
  });

  test('deletes the candidate model when its creation fails, in case a lost answer hid that it was made', async () => {
    const run = await execute({
      ...SERVING,
      CreateChallengerModel: () => {
        throw awsError('SageMaker.SageMakerException', 'Cannot create already existing model');
      },
    });
    expect(called(run, 'DeleteChallengerAfterFailure')).toBeGreaterThan(0);
    expect(called(run, 'ScoreChampion')).toBe(0);
    expect(called(run, 'NotifyFailure')).toBe(1);
    expect(run.error?.message).toContain('already existing model');
  });

  test('still fails with the comparison error when its candidate cannot be deleted after it', async () => {
    const run = await execute({
      ...SERVING,
      CompareWithChampion: () => {
        throw awsError('Lambda.Unknown', 'the outputs do not hold the same records');
      },
      DeleteChallengerAfterFailure: () => {
        throw awsError('SageMaker.SageMakerException', 'User is not authorized to perform sagemaker:DeleteModel');
      },
    });
    expect(called(run, 'DeleteChallengerAfterFailure')).toBeGreaterThan(0);
    expect(called(run, 'NotifyFailure')).toBe(1);
    expect(run.error?.message).toContain('the outputs do not hold the same records');
    expect(called(run, 'RegisterModel')).toBe(0);
  });

  test('fails when the champion cannot be looked up for a reason other than a missing endpoint', async () => {
    const run = await execute({
      FindChampion: () => {
        throw awsError('SageMaker.SageMakerException', 'User is not authorized to perform sagemaker:DescribeEndpoint');
      },
    });
    expect(called(run, 'ScoreChampion')).toBe(0);
    expect(called(run, 'RegisterModel')).toBe(0);
    expect(called(run, 'NotifyFailure')).toBe(1);
    expect(run.error?.message).toContain('not authorized');
  });

  test('rejects a model below the recall floor even with a good AUC', async () => {
    const run = await execute({
      TrainModel: (input) => ({
        TrainingJobName: input.TrainingJobName,
        ModelArtifacts: { S3ModelArtifacts: 's3://models/model.tar.gz' },
        FinalMetricDataList: [
          { MetricName: 'validation:recall', Value: 0.3 },
          { MetricName: 'validation:auc', Value: 0.95 },
        ],
        BillableTimeInSeconds: 100,
        TrainingTimeInSeconds: 100,
      }),
    });
    expect(run.error?.message).toMatch(/recall below 0.5/);
    expect(run.calls.NotifyRejected[0].Message).toMatchObject({ validationRecall: 0.3, minValidationRecall: 0.5 });
    expect(called(run, 'FindChampion')).toBe(0);
  });

  test('fails, deploying nothing, when SageMaker does not complete the registered version', async () => {
    const run = await execute({ DescribeVersion: () => ({ ModelPackageStatus: 'Failed' }) });
    expect(run.error?.message).toMatch(/ModelPackageNotCompleted|is Failed, not Completed/);
    expect(called(run, 'CreateModel')).toBe(0);
    expect(called(run, 'NotifyFailure')).toBe(1);
  });

  test('gives up on a SageMaker error after a few attempts, failing with that error', async () => {
    const run = await execute({
      CreateModel: () => {
        throw awsError(
          'SageMaker.SageMakerException',
          'Could not access model data at s3://models/x (Service: SageMaker, Status Code: 400)',
        );
      },
    });
    expect(called(run, 'CreateModel')).toBe(4);
    expect(called(run, 'NotifyFailure')).toBe(1);
    expect((run.error?.cause as Error | undefined)?.name).toBe('SageMaker.SageMakerException');
    expect(run.error?.message).toContain('Could not access model data');
  });

  test('waits out a throttled endpoint lookup instead of failing or creating a second endpoint', async () => {
    let lookups = 0;
    const run = await execute({
      FindEndpoint: () => {
        lookups += 1;
        if (lookups === 1) throw awsError('SageMaker.SageMakerException', THROTTLED);
        throw awsError('SageMaker.SageMakerException', `Could not find endpoint "${endpointName}".`);
      },
    });
    expect(run.error).toBeUndefined();
    expect(called(run, 'FindEndpoint')).toBe(2);
    expect(called(run, 'CreateEndpoint')).toBe(1);
  });

  test.each(['Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.ServiceException'])(
    'retries the evaluation function on %s',
    async (error) => {
      const run = await execute({}, { EvaluateModel: awsError(error, 'Lambda is unavailable') });
      expect(run.error).toBeUndefined();
      expect(called(run, 'EvaluateModel')).toBe(2);
    },
  );

  test('refuses to start while an older run is in progress, and changes nothing', async () => {
    const run = await execute({
      FindRunningRuns: () => ({
        Executions: [
          { ExecutionArn: EXECUTION_ARN, Status: 'RUNNING' },
          { ExecutionArn: `${EXECUTION_ARN}-earlier`, Status: 'RUNNING' },
        ],
      }),
    });
    expect((run.error?.cause as Error | undefined)?.name).toBe('RunAlreadyInProgress');
    expect(run.error?.message).toContain('An older run of mlpipe-sandbox-training is in progress');
    expect(run.calls.FindRunningRuns[0]).toEqual({
      StateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:mlpipe-sandbox-training',
      StatusFilter: 'RUNNING',
      MaxResults: 100,
    });
    for (const state of ['StartCrawler', 'ExportDatasets', 'TrainModel', 'CreateModel']) {
      expect({ state, calls: called(run, state) }).toEqual({ state, calls: 0 });
    }
    expect(called(run, 'NotifyFailure')).toBe(1);
  });

  test('lets the older of two overlapping runs go on', async () => {
    const run = await execute({
      FindRunningRuns: () => ({
        Executions: [
          { ExecutionArn: `${EXECUTION_ARN}-later`, Status: 'RUNNING' },
          { ExecutionArn: EXECUTION_ARN, Status: 'RUNNING' },
        ],
      }),
    });
    expect(run.error).toBeUndefined();
    expect(called(run, 'StartCrawler')).toBe(1);
  });

  test('goes on when the list of running executions does not show this run yet', async () => {
    const run = await execute({ FindRunningRuns: () => ({ Executions: [] }) });
    expect(run.error).toBeUndefined();
  });

  test('publishes the failure and fails the execution when training keeps failing after its retries', async () => {
    const run = await execute({
      TrainModel: () => {
        throw awsError('SageMaker.AmazonSageMakerException', 'Rate exceeded for CreateTrainingJob');
      },
    });
    expect(called(run, 'TrainModel')).toBe(4);
    expect(called(run, 'NotifyFailure')).toBe(1);
    expect(run.calls.NotifyFailure[0].Message).toMatchObject({
      execution: EXECUTION_ARN,
      error: 'SageMaker.AmazonSageMakerException',
      cause: 'Rate exceeded for CreateTrainingJob',
    });
    expect(run.error?.message).toContain('Rate exceeded for CreateTrainingJob');
    // The execution fails with the caught error, not a generic one, so npm run train can show it.
    expect((run.error?.cause as Error | undefined)?.name).toBe('SageMaker.AmazonSageMakerException');
    expect(called(run, 'CreateModel')).toBe(0);
  });

  test('ends with the original error when the failure notification cannot be sent', async () => {
    const run = await execute({
      CreateModel: () => {
        throw awsError(
          'SageMaker.ResourceLimitExceededException',
          'The account-level service limit for models is 1000',
        );
      },
      NotifyFailure: () => {
        throw awsError('SNS.KMSAccessDeniedException', 'User is not authorized to use the key');
      },
    });
    expect(called(run, 'NotifyFailure')).toBe(1);
    expect((run.error?.cause as Error | undefined)?.name).toBe('SageMaker.ResourceLimitExceededException');
    expect(run.error?.message).toContain('service limit for models');
  });

  test('retries a throttled failure notification', async () => {
    const run = await execute(
      {
        CreateModel: () => {
          throw awsError('SageMaker.ResourceLimitExceededException', 'limit');
        },
      },
      { NotifyFailure: awsError('SNS.KMSThrottlingException', 'Rate exceeded') },
    );
    expect(called(run, 'NotifyFailure')).toBe(2);
    expect((run.error?.cause as Error | undefined)?.name).toBe('SageMaker.ResourceLimitExceededException');
  });

  test('does not retry a training job that failed on its own', async () => {
    const run = await execute({
      TrainModel: () => {
        throw awsError('States.TaskFailed', 'ClientError: no data in the training channel');
      },
    });
    expect(called(run, 'TrainModel')).toBe(1);
    expect(called(run, 'NotifyFailure')).toBe(1);
  });

  test('waits for a crawler that is already running instead of failing', async () => {
    let polls = 0;
    const run = await execute({
      StartCrawler: () => {
        throw awsError('Glue.CrawlerRunningException', 'Crawler with name crawler has already started');
      },
      GetCrawler: () => {
        polls += 1;
        return polls < 3
          ? { Crawler: { State: polls === 1 ? 'RUNNING' : 'STOPPING' } }
          : { Crawler: { State: 'READY', LastCrawl: { Status: 'SUCCEEDED' } } };
      },
    });
    expect(run.error).toBeUndefined();
    expect(called(run, 'StartCrawler')).toBe(1);
    expect(called(run, 'GetCrawler')).toBe(3);
    expect(called(run, 'ExportDatasets')).toBe(1);
  });

  test('stops before exporting when the crawl failed', async () => {
    const run = await execute({
      GetCrawler: () => ({
        Crawler: { State: 'READY', LastCrawl: { Status: 'FAILED', ErrorMessage: 'Access denied' } },
      }),
    });
    expect(called(run, 'NotifyFailure')).toBe(1);
    expect(called(run, 'ExportDatasets')).toBe(0);
    expect(run.error?.message).toContain('failed its last crawl');
  });

  test('deletes an endpoint left Failed by an earlier run and creates it again', async () => {
    let lookups = 0;
    const run = await execute({
      FindEndpoint: () => {
        lookups += 1;
        if (lookups === 1) return { EndpointStatus: 'Failed', FailureReason: 'Image could not be pulled' };
        if (lookups === 2) return { EndpointStatus: 'Deleting' };
        throw awsError('SageMaker.SageMakerException', `Could not find endpoint "${endpointName}".`);
      },
    });
    expect(run.error).toBeUndefined();
    expect(called(run, 'DeleteFailedEndpoint')).toBe(1);
    expect(called(run, 'FindEndpoint')).toBe(3);
    expect(called(run, 'CreateEndpoint')).toBe(1);
    expect(called(run, 'UpdateEndpoint')).toBe(0);
  });

  test('waits for an endpoint that another run is still updating before updating it', async () => {
    let lookups = 0;
    const run = await execute({
      FindEndpoint: () => {
        lookups += 1;
        return { EndpointStatus: lookups === 1 ? 'Updating' : 'InService' };
      },
    });
    expect(run.error).toBeUndefined();
    expect(called(run, 'FindEndpoint')).toBe(2);
    expect(called(run, 'UpdateEndpoint')).toBe(1);
  });

  test('fails when an update rolls back to the previous endpoint config', async () => {
    const run = await execute({
      FindEndpoint: () => ({ EndpointStatus: 'InService' }),
      DescribeEndpoint: () => ({
        EndpointStatus: 'InService',
        EndpointConfigName: 'previous-config',
        EndpointArn: 'arn',
      }),
    });
    expect(called(run, 'NotifyFailure')).toBe(1);
    expect(run.calls.NotifyFailure[0].Message).toMatchObject({ error: 'EndpointUpdateRolledBack' });
  });

  test.each(['OutOfService', 'UpdateRollbackFailed'])(
    'fails with the reason, instead of waiting forever, when the endpoint to update is %s',
    async (status) => {
      const run = await execute({ FindEndpoint: () => ({ EndpointStatus: status, EndpointConfigName: 'previous' }) });
      expect(called(run, 'FindEndpoint')).toBe(1);
      expect(called(run, 'UpdateEndpoint')).toBe(0);
      expect((run.error?.cause as Error | undefined)?.name).toBe('EndpointUnusable');
      expect(run.error?.message).toContain(
        `Endpoint ${endpointName} is ${status} and cannot take a new model until it is fixed or deleted: SageMaker gave no reason`,
      );
    },
  );

  test.each(['Failed', 'UpdateRollbackFailed', 'OutOfService'])(
    'fails with the reason when the endpoint ends %s after the rollout',
    async (status) => {
      const run = await execute({
        DescribeEndpoint: () => ({
          EndpointStatus: status,
          FailureReason: 'Model container failed the ping health check',
        }),
      });
      expect(called(run, 'DescribeEndpoint')).toBe(1);
      expect(called(run, 'NotifyFailure')).toBe(1);
      expect(run.error?.message).toContain(
        `Endpoint ${endpointName} is ${status} and does not serve: Model container failed the ping health check`,
      );
    },
  );

  test('deletes the models and endpoint configs older than the previous version after a rollout', async () => {
    const run = await execute({
      FindEndpoint: () => ({ EndpointStatus: 'InService', EndpointConfigName: `${prefix}-previous` }),
    });
    expect(run.error).toBeUndefined();
    expect(run.calls.ListEndpointConfigs[0]).toEqual({
      NameContains: `${prefix}-`,
      SortBy: 'CreationTime',
      SortOrder: 'Descending',
      MaxResults: 100,
    });
    expect(run.calls.DeleteEndpointConfig).toEqual([{ EndpointConfigName: `${prefix}-older` }]);
    // And a candidate a stopped run left: no other run overlaps the pipeline's own (SingleRunGuard).
    expect(run.calls.DeleteModel).toEqual([
      { ModelName: `${prefix}-older` },
      { ModelName: `${prefix}-0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9-c` },
    ]);
  });

  test('keeps only the new version on a first rollout', async () => {
    const run = await execute();
    expect(run.calls.DeleteEndpointConfig.map((c) => c.EndpointConfigName)).toEqual([
      `${prefix}-previous`,
      `${prefix}-older`,
    ]);
  });

  test('announces a failed clean-up and still reports the deployed model', async () => {
    const run = await execute({
      DeleteModel: () => {
        throw awsError('SageMaker.SageMakerException', 'Cannot delete model: access denied');
      },
    });
    expect(run.error).toBeUndefined();
    expect(run.output).toMatchObject({ endpointName });
    expect(called(run, 'NotifyCleanupFailed')).toBe(1);
    expect(run.calls.NotifyCleanupFailed[0].Message).toMatchObject({ error: 'SageMaker.SageMakerException' });
  });
});
