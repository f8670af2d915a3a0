import aslValidator from 'asl-validator';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { evaluateTraining, type TrainingJobDescription } from '../../lambda/evaluate-training/evaluate';
import { QUALITY_METRIC } from '../../lib/training/training-pipeline';
import { stateMachineDefinition, synthPipeline } from '../helpers';
import { parseReport } from '../../scripts/lib/pipeline-runner';

/**
 * The synthesized state machine, executed locally: every AWS call is answered by a mock, while Step Functions'
 * own semantics (paths, intrinsic functions, Choice rules, Retry and Catch) run as they would in the service.
 */
const { training, config } = synthPipeline({ stage: 'sandbox' });
const definition = stateMachineDefinition(training);
const endpointName = config.serving.endpointName;

type Handler = (input: Record<string, unknown>) => unknown;
type Json = Record<string, unknown>;

/** An AWS error as Step Functions names it (for example `SageMaker.ThrottlingException`). */
function awsError(name: string, message = name): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

/** Answers for a healthy run; each scenario replaces the ones it is about. */
function serviceMocks(calls: Record<string, Json[]>, overrides: Record<string, Handler> = {}): Record<string, Handler> {
  let runId = '';
  let describeCount = 0;
  const defaults: Record<string, Handler> = {
    StartCrawler: () => ({}),
    GetCrawler: () => ({ Crawler: { Name: 'crawler', State: 'READY', LastCrawl: { Status: 'SUCCEEDED' } } }),
    ExportDatasets: () => ({ QueryExecution: { Status: { State: 'SUCCEEDED' } } }),
    TrainModel: (input) => ({
      TrainingJobName: input.TrainingJobName,
      TrainingJobStatus: 'Completed',
      ModelArtifacts: { S3ModelArtifacts: `s3://models/models/${String(input.TrainingJobName)}/output/model.tar.gz` },
      FinalMetricDataList: [
        { MetricName: 'train:auc', Value: 0.97 },
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
    NotifyFailure: () => ({ MessageId: 'm-1' }),
    NotifyRejected: () => ({ MessageId: 'm-2' }),
  };
  const handlers = { ...defaults, ...overrides };
  return Object.fromEntries(
    Object.entries(handlers).map(([state, handler]) => [
      state,
      async (input: unknown) => {
        (calls[state] ??= []).push(input as Json);
        return handler(input as Json);
      },
    ]),
  );
}

interface Execution {
  readonly calls: Record<string, Json[]>;
  readonly output?: Json;
  readonly error?: Error;
}

async function execute(overrides: Record<string, Handler> = {}): Promise<Execution> {
  const calls: Record<string, Json[]> = {};
  const machine = new StateMachine(definition as unknown as StateMachineDefinition, {
    validationOptions: { checkArn: false },
  });
  const zero = (states: string[]) => Object.fromEntries(states.map((s) => [s, 0]));
  const retrying = [
    'StartCrawler',
    'GetCrawler',
    'ExportDatasets',
    'TrainModel',
    'CreateModel',
    'CreateEndpointConfig',
    'FindEndpoint',
    'CreateEndpoint',
    'UpdateEndpoint',
    'DescribeEndpoint',
    'DeleteFailedEndpoint',
    'NotifyRejected',
  ];
  const run = machine.run(
    {},
    {
      overrides: {
        taskResourceLocalHandlers: serviceMocks(calls, overrides) as never,
        waitTimeOverrides: zero(['WaitForCrawler', 'WaitForEndpoint', 'WaitBeforeEndpointLookup']),
        retryIntervalOverrides: zero(retrying),
      },
      context: {
        Execution: { Id: 'arn:aws:states:eu-west-1:123456789012:execution:training:run-1', Name: 'run-1' },
      } as never,
    },
  );
  try {
    return { calls, output: (await run.result) as Json };
  } catch (error) {
    return { calls, error: error as Error };
  }
}

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
      modelArtifacts: `s3://models/models/${runId}/output/model.tar.gz`,
      billableSeconds: 240,
      trainingSeconds: 800,
      spotSavingPercent: 70,
      endpointName,
      endpointConfigName: runId,
    });
    // `npm run train` reads this output; it must still understand it.
    expect(parseReport(JSON.stringify(run.output))).toEqual(run.output);
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
    // The window survives Step Functions' string formatting: its quotes and the date patterns arrive intact.
    expect(exportSql).toContain(`>= date_format(current_date - INTERVAL '29' DAY, '%Y-%m-%d')`);
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
    for (const state of ['CreateModel', 'CreateEndpointConfig', 'FindEndpoint', 'CreateEndpoint', 'UpdateEndpoint']) {
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

  test('retries a throttled call and succeeds', async () => {
    let attempts = 0;
    const run = await execute({
      CreateModel: () => {
        attempts += 1;
        if (attempts === 1) throw awsError('SageMaker.ThrottlingException', 'Rate exceeded');
        return { ModelArn: 'arn:model' };
      },
    });
    expect(run.error).toBeUndefined();
    expect(called(run, 'CreateModel')).toBe(2);
    expect(called(run, 'NotifyFailure')).toBe(0);
  });

  test('publishes the failure and fails the execution when training keeps failing after its retries', async () => {
    const run = await execute({
      TrainModel: () => {
        throw awsError('SageMaker.ThrottlingException', 'Rate exceeded for CreateTrainingJob');
      },
    });
    expect(called(run, 'TrainModel')).toBe(7);
    expect(called(run, 'NotifyFailure')).toBe(1);
    expect(run.calls.NotifyFailure[0].Message).toMatchObject({
      execution: 'arn:aws:states:eu-west-1:123456789012:execution:training:run-1',
      error: 'SageMaker.ThrottlingException',
      cause: 'Rate exceeded for CreateTrainingJob',
    });
    expect(run.error?.message).toContain('Rate exceeded for CreateTrainingJob');
    // The execution fails with the caught error, not a generic one, so npm run train can show it.
    expect((run.error?.cause as Error | undefined)?.name).toBe('SageMaker.ThrottlingException');
    expect(called(run, 'CreateModel')).toBe(0);
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
        if (lookups === 1) return { EndpointStatus: 'Failed' };
        if (lookups === 2) return { EndpointStatus: 'Deleting' };
        throw awsError('SageMaker.AmazonSageMakerException', `Could not find endpoint "${endpointName}".`);
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
});
