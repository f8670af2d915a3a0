/**
 * Training runs for the train tests, in Step Functions' history shape, and the SFN client mock that serves them: the
 * mock is made when this module loads, so each test file that imports it gets its own.
 */
import {
  GetExecutionHistoryCommand,
  type GetExecutionHistoryCommandInput,
  type HistoryEvent,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import type { RunReport } from '../../../scripts/train/pipeline-runner';

export const EXECUTION = 'arn:aws:states:eu-west-1:123456789012:execution:TrainingPipeline:run-1';
export const STATE_MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:TrainingPipeline';
export const REPORT: RunReport = {
  trainingJobName: 'mlpipe-sandbox-1234',
  validationAuc: 0.93125,
  validationMetrics: { accuracy: 0.9805, precision: 0.5411, recall: 0.7733, f1_binary: 0.6367, auc: 0.93125 },
  modelArtifacts: 's3://models/models/mlpipe-sandbox-1234/output/model.tar.gz',
  billableSeconds: 96,
  trainingSeconds: 330,
  spotSavingPercent: 70.9,
  comparison: {
    decision: 'challenger-wins',
    minImprovement: 0,
    challenger: { auc: 0.93125, recall: 0.7733 },
    champion: { modelName: 'mlpipe-sandbox-1000', auc: 0.9204, recall: 0.7512, precision: 0.5, records: 4012 },
    improvement: 0.01085,
  },
  modelPackageArn: 'arn:aws:sagemaker:eu-west-1:123456789012:model-package/mlpipe-sandbox-models/3',
  approval: 'Approved',
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

export const SUCCESSFUL_RUN = history(
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

export const FAILED_RUN = history(
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

export const REJECTED_RUN = history(
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

export const CHAMPION_KEPT_RUN = history(
  { type: 'ExecutionStarted' },
  entered('Task', 'CompareWithChampion'),
  entered('Choice', 'IsChallengerBetter'),
  entered('Task', 'NotifyChampionKept'),
  entered('Pass', 'ChampionKeptCause'),
  entered('Fail', 'ChampionKept'),
  {
    type: 'ExecutionFailed',
    executionFailedEventDetails: {
      error: 'ChampionKept',
      cause:
        'Validation AUC 0.9 against the champion mlpipe-sandbox-1000 at 0.92, improvement -0.02 below the minimum 0; the endpoint keeps serving the champion',
    },
  },
);

export const sfn = mockClient(SFNClient);

/**
 * Serves `events` as GetExecutionHistory does (newest first, in pages of `pageSize` with a next token), showing
 * only the first `visible()` events, so a test can let the run progress between polls.
 */
export function serveHistory(events: HistoryEvent[], visible: () => number, pageSize = 4) {
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
