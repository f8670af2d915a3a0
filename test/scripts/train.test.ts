import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeEndpointCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import {
  GetExecutionHistoryCommand,
  type GetExecutionHistoryCommandInput,
  type HistoryEvent,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { main } from '../../scripts/train';
import { ToolError } from '../../scripts/lib/cli';
import { describeOutcome, followExecution, type RunReport, startRun } from '../../scripts/lib/pipeline-runner';

const EXECUTION = 'arn:aws:states:eu-west-1:123456789012:execution:TrainingPipeline:run-1';
const STATE_MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:TrainingPipeline';
const REPORT: RunReport = {
  trainingJobName: 'mlpipe-sandbox-1234',
  validationAuc: 0.93125,
  modelArtifacts: 's3://models/models/mlpipe-sandbox-1234/output/model.tar.gz',
  billableSeconds: 96,
  trainingSeconds: 330,
  spotSavingPercent: 70.9,
  endpointName: 'mlpipe-sandbox-fraud',
  endpointConfigName: 'mlpipe-sandbox-1234',
};

/** A history in Step Functions' shape: ids from 1, a timestamp a few seconds apart. */
function history(...steps: (Omit<HistoryEvent, 'id' | 'timestamp' | 'type'> & { type: string })[]): HistoryEvent[] {
  const start = Date.UTC(2026, 10, 27, 10, 0, 0);
  return steps.map(
    (step, index) => ({ ...step, id: index + 1, timestamp: new Date(start + index * 7_000) }) as HistoryEvent,
  );
}
const entered = (type: string, name: string) => ({ type: `${type}StateEntered`, stateEnteredEventDetails: { name } });
const taskFailed = (error: string, cause: string) => ({
  type: 'TaskFailed',
  taskFailedEventDetails: { error, cause, resource: 'createTrainingJob.sync', resourceType: 'sagemaker' },
});

const SUCCESSFUL_RUN = history(
  { type: 'ExecutionStarted' },
  entered('Pass', 'PrepareRun'),
  entered('Task', 'StartCrawler'),
  entered('Wait', 'WaitForCrawler'),
  entered('Task', 'GetCrawler'),
  entered('Choice', 'IsCrawlerReady'),
  entered('Wait', 'WaitForCrawler'),
  entered('Task', 'GetCrawler'),
  entered('Choice', 'IsCrawlerReady'),
  entered('Task', 'ExportDatasets'),
  entered('Task', 'TrainModel'),
  taskFailed('SageMaker.AmazonSageMakerException', 'Rate exceeded'),
  entered('Task', 'EvaluateModel'),
  entered('Choice', 'QualityGate'),
  entered('Task', 'CreateModel'),
  entered('Pass', 'Report'),
  { type: 'ExecutionSucceeded', executionSucceededEventDetails: { output: JSON.stringify(REPORT) } },
);

const FAILED_RUN = history(
  { type: 'ExecutionStarted' },
  entered('Pass', 'PrepareRun'),
  entered('Task', 'TrainModel'),
  taskFailed(
    'SageMaker.AmazonSageMakerException',
    'ResourceLimitExceeded: ml.m5.xlarge for spot training job usage is 0',
  ),
  entered('Task', 'NotifyFailure'),
  entered('Fail', 'RunFailed'),
  {
    type: 'ExecutionFailed',
    executionFailedEventDetails: {
      error: 'SageMaker.AmazonSageMakerException',
      cause: 'ResourceLimitExceeded: ml.m5.xlarge for spot training job usage is 0',
    },
  },
);

const REJECTED_RUN = history(
  { type: 'ExecutionStarted' },
  entered('Task', 'EvaluateModel'),
  entered('Choice', 'QualityGate'),
  entered('Task', 'NotifyRejected'),
  entered('Fail', 'ModelRejected'),
  {
    type: 'ExecutionFailed',
    executionFailedEventDetails: {
      error: 'ModelBelowQualityGate',
      cause: 'Validation AUC below 0.75; the endpoint keeps serving the previous model',
    },
  },
);

const sfn = mockClient(SFNClient);
const cloudFormation = mockClient(CloudFormationClient);
const sagemaker = mockClient(SageMakerClient);

/**
 * Serves `events` as GetExecutionHistory does (newest first, in pages of `pageSize` with a next token), showing
 * only the first `visible()` events, so a test can let the run progress between polls.
 */
function serveHistory(events: HistoryEvent[], visible: () => number, pageSize = 4) {
  const pages: GetExecutionHistoryCommandInput[] = [];
  sfn.on(GetExecutionHistoryCommand).callsFake((input: GetExecutionHistoryCommandInput) => {
    pages.push(input);
    expect(input.reverseOrder).toBe(true);
    const newestFirst = events.slice(0, visible()).reverse();
    const offset = Number(input.nextToken ?? 0);
    const page = newestFirst.slice(offset, offset + pageSize);
    return { events: page, nextToken: offset + pageSize < newestFirst.length ? String(offset + pageSize) : undefined };
  });
  return pages;
}

/** Follows a run whose whole history is already there, writing nothing. */
function followFinished(events: HistoryEvent[]) {
  serveHistory(events, () => events.length);
  return followExecution(new SFNClient({}), EXECUTION, { pollMs: 1, sleep: async () => {}, write: () => {} });
}

beforeEach(() => {
  sfn.reset();
  cloudFormation.reset();
  sagemaker.reset();
});

describe('following a run', () => {
  test('writes each state once, in order, with retried failures, and returns the report', async () => {
    let polls = 1;
    const pages = serveHistory(SUCCESSFUL_RUN, () => [5, 11, 11, SUCCESSFUL_RUN.length][Math.min(polls, 4) - 1]);
    const lines: string[] = [];
    const result = await followExecution(new SFNClient({}), EXECUTION, {
      pollMs: 10_000,
      sleep: async () => {
        polls++;
      },
      write: (line) => lines.push(line),
    });

    expect(result).toEqual({ status: 'SUCCEEDED', report: REPORT, seconds: 112 });
    expect(lines).toEqual([
      '[00:07] PrepareRun',
      '[00:14] StartCrawler',
      '[00:21] WaitForCrawler',
      '[00:28] GetCrawler',
      '[00:35] IsCrawlerReady',
      '[01:03] ExportDatasets',
      '[01:10] TrainModel',
      '[01:17]   SageMaker.AmazonSageMakerException: Rate exceeded',
      '[01:24] EvaluateModel',
      '[01:31] QualityGate',
      '[01:38] CreateModel',
      '[01:45] Report',
    ]);
    // Later polls stop reading at the last event already seen instead of re-reading the whole history.
    expect(pages.length).toBeLessThan(12);
  });

  test('reminds which state is running during a long quiet stretch', async () => {
    let polls = 1;
    serveHistory(SUCCESSFUL_RUN, () => (polls < 8 ? 11 : SUCCESSFUL_RUN.length));
    const lines: string[] = [];
    await followExecution(new SFNClient({}), EXECUTION, {
      pollMs: 10_000,
      sleep: async () => {
        polls++;
      },
      write: (line) => lines.push(line),
    });
    expect(lines.filter((line) => line.includes('still in TrainModel'))).toHaveLength(1);
  });

  test('names the state that failed and the error the pipeline caught', async () => {
    const result = await followFinished(FAILED_RUN);
    expect(result).toEqual({
      status: 'FAILED',
      failedState: 'TrainModel',
      error: 'SageMaker.AmazonSageMakerException',
      cause: 'ResourceLimitExceeded: ml.m5.xlarge for spot training job usage is 0',
      seconds: 42,
    });
    expect(describeOutcome(result, '', 0.75)).toEqual([
      'Run FAILED after 42s in state TrainModel.',
      '  SageMaker.AmazonSageMakerException: ResourceLimitExceeded: ml.m5.xlarge for spot training job usage is 0',
    ]);
  });

  test('reports a model the quality gate rejected as a failure at the gate', async () => {
    const result = await followFinished(REJECTED_RUN);
    expect(result).toMatchObject({ status: 'FAILED', failedState: 'QualityGate', error: 'ModelBelowQualityGate' });
  });

  test('explains an execution that does not exist', async () => {
    sfn
      .on(GetExecutionHistoryCommand)
      .rejects(Object.assign(new Error('Execution Does Not Exist'), { name: 'ExecutionDoesNotExist' }));
    await expect(
      followExecution(new SFNClient({}), EXECUTION, { pollMs: 1, sleep: async () => {}, write: () => {} }),
    ).rejects.toThrow(new ToolError(`Execution ${EXECUTION} does not exist in this account and region`));
  });
});

describe('the run summary', () => {
  test('says training ran on demand instead of a 0% spot saving', () => {
    const lines = describeOutcome(
      { status: 'SUCCEEDED', report: { ...REPORT, spotSavingPercent: 0 }, seconds: 60 },
      'InService',
      0.75,
      false,
    );
    expect(lines[3]).toBe('  Spot saving      none: on-demand training (training.useSpot is false), billed 96 s');
  });

  test('shows the AUC against the gate, the spot saving and the endpoint status', () => {
    expect(describeOutcome({ status: 'SUCCEEDED', report: REPORT, seconds: 843 }, 'InService', 0.75)).toEqual([
      'Run SUCCEEDED in 14m 03s.',
      '  Training job     mlpipe-sandbox-1234',
      '  Validation AUC   0.9313 (quality gate: at least 0.75)',
      '  Spot saving      71% (billed 96 s of 330 s of training)',
      '  Model            s3://models/models/mlpipe-sandbox-1234/output/model.tar.gz',
      '  Endpoint         mlpipe-sandbox-fraud: InService (config mlpipe-sandbox-1234)',
    ]);
  });
});

describe('npm run train', () => {
  let stdout: jest.SpyInstance;
  beforeEach(() => {
    stdout = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  });
  afterEach(() => stdout.mockRestore());
  const printed = () => stdout.mock.calls.map(([text]) => String(text)).join('');

  test('starts the pipeline named by the stack output, follows it, and exits 0 with the endpoint status', async () => {
    cloudFormation.on(DescribeStacksCommand, { StackName: 'mlpipe-sandbox-training' }).resolves({
      Stacks: [
        {
          StackName: 'mlpipe-sandbox-training',
          CreationTime: new Date(),
          StackStatus: 'CREATE_COMPLETE',
          Outputs: [{ OutputKey: 'StateMachineArn', OutputValue: STATE_MACHINE }],
        },
      ],
    });
    sfn
      .on(StartExecutionCommand, { stateMachineArn: STATE_MACHINE, input: '{}' })
      .resolves({ executionArn: EXECUTION, startDate: new Date() });
    serveHistory(SUCCESSFUL_RUN, () => SUCCESSFUL_RUN.length);
    sagemaker
      .on(DescribeEndpointCommand, { EndpointName: 'mlpipe-sandbox-fraud' })
      .resolves({ EndpointStatus: 'InService' } as never);

    expect(await main([])).toBe(0);
    expect(printed()).toContain(`Started ${EXECUTION}`);
    expect(printed()).toContain('Endpoint         mlpipe-sandbox-fraud: InService');
    expect(printed()).toContain('Next: npm run predict -- --example');
  });

  test('exits 1 with the failed state when the run fails', async () => {
    serveHistory(FAILED_RUN, () => FAILED_RUN.length);
    expect(await main(['--follow', EXECUTION])).toBe(1);
    expect(printed()).toContain('Run FAILED after 42s in state TrainModel.');
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  test('says to deploy when the Training stack is missing', async () => {
    cloudFormation
      .on(DescribeStacksCommand)
      .rejects(
        Object.assign(new Error('Stack with id mlpipe-sandbox-training does not exist'), { name: 'ValidationError' }),
      );
    await expect(main([])).rejects.toThrow(/Stack mlpipe-sandbox-training is not deployed .* npx cdk deploy --all/);
  });

  test('explains a state machine that does not exist', async () => {
    sfn
      .on(StartExecutionCommand)
      .rejects(Object.assign(new Error('State Machine Does Not Exist'), { name: 'StateMachineDoesNotExist' }));
    await expect(startRun(new SFNClient({}), STATE_MACHINE)).rejects.toThrow(
      /does not exist in this account and region: deploy the Training stack/,
    );
  });

  test('refuses --follow together with options for starting a run', async () => {
    await expect(main(['--follow', EXECUTION, '--detach'])).rejects.toThrow(/does not combine with --detach/);
  });

  test('--help describes the options and the exit codes', async () => {
    expect(await main(['--help'])).toBe(0);
    expect(printed()).toMatch(/^Usage: npm run train -- \[options\]/);
    for (const flag of ['--follow', '--state-machine-arn', '--poll-seconds', '--detach', '--stage', 'Exit codes']) {
      expect(printed()).toContain(flag);
    }
  });
});
