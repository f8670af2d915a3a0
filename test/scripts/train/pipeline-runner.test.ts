import { GetExecutionHistoryCommand, type HistoryEvent, SFNClient } from '@aws-sdk/client-sfn';
import { ToolError } from '../../../scripts/lib/cli';
import { describeOutcome, followExecution, parseReport } from '../../../scripts/train/pipeline-runner';
import {
  CHAMPION_KEPT_RUN,
  EXECUTION,
  FAILED_RUN,
  REJECTED_RUN,
  REPORT,
  serveHistory,
  sfn,
  SUCCESSFUL_RUN,
} from './runs';

/** Follows a run whose whole history is already there, writing nothing. */
function followFinished(events: HistoryEvent[]) {
  serveHistory(events, () => events.length);
  return followExecution(new SFNClient({}), EXECUTION, { pollMs: 1, sleep: async () => {}, write: () => {} });
}

beforeEach(() => {
  sfn.reset();
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

  test('reports a kept champion at the comparison, with both figures', async () => {
    const result = await followFinished(CHAMPION_KEPT_RUN);
    expect(result).toMatchObject({ status: 'FAILED', failedState: 'IsChallengerBetter', error: 'ChampionKept' });
    expect(describeOutcome(result, '', 0.75)[1]).toContain('against the champion mlpipe-sandbox-1000 at 0.92');
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
    expect(lines[4]).toBe('  Spot saving      none: on-demand training (training.useSpot is false), billed 96 s');
  });

  test('says the endpoint is unchanged, and how to approve, for a version that awaits approval', () => {
    const pending = { ...REPORT, approval: 'PendingManualApproval' as const, endpointConfigName: null };
    const lines = describeOutcome({ status: 'SUCCEEDED', report: pending, seconds: 843 }, '', 0.75);
    expect(lines.at(-1)).toBe(
      '  Endpoint         mlpipe-sandbox-fraud: unchanged; the version awaits approval (registry.approval is manual), ' +
        'and approving it rolls it out: npm run approve -- --stage <stage> --approve 3',
    );
  });

  test('shows the AUC against the gate, the spot saving and the endpoint status', () => {
    expect(describeOutcome({ status: 'SUCCEEDED', report: REPORT, seconds: 843 }, 'InService', 0.75)).toEqual([
      'Run SUCCEEDED in 14m 03s.',
      '  Training job     mlpipe-sandbox-1234',
      '  Validation AUC   0.9313 (quality gate: at least 0.75)',
      '  Last round       accuracy 0.9805, precision 0.5411, recall 0.7733, f1_binary 0.6367, auc 0.9313 (classes at probability 0.5)',
      '  Spot saving      71% (billed 96 s of 330 s of training)',
      '  Champion         mlpipe-sandbox-1000: AUC 0.9204, recall 0.7512 on the same 4012 validation records (batch transform)',
      '  Challenger       AUC 0.9313, recall 0.7733 on the same records: improvement 0.0109, at least 0 needed: challenger-wins',
      '  Model            s3://models/models/mlpipe-sandbox-1234/output/model.tar.gz',
      '  Registered       arn:aws:sagemaker:eu-west-1:123456789012:model-package/mlpipe-sandbox-models/3',
      '  Endpoint         mlpipe-sandbox-fraud: InService (config mlpipe-sandbox-1234)',
    ]);
  });
});

describe("reading the pipeline's report", () => {
  test('accepts a metric the job did not report as null, and shows it as n/a', () => {
    const metrics = { ...REPORT.validationMetrics, precision: null, f1_binary: null };
    const report = parseReport(JSON.stringify({ ...REPORT, validationMetrics: metrics }));
    expect(report.validationMetrics).toEqual(metrics);
    const lines = describeOutcome({ status: 'SUCCEEDED', report, seconds: 60 }, 'InService', 0.75);
    expect(lines[3]).toContain('precision n/a, recall 0.7733, f1_binary n/a');
  });

  test('rejects an output whose metrics are not one number or null per evaluation metric', () => {
    const withoutAuc = Object.fromEntries(Object.entries(REPORT.validationMetrics).filter(([name]) => name !== 'auc'));
    expect(() => parseReport(JSON.stringify({ ...REPORT, validationMetrics: withoutAuc }))).toThrow(
      /validationMetrics is not a metric per evaluation metric/,
    );
    expect(() => parseReport(JSON.stringify({ ...REPORT, validationMetrics: null }))).toThrow(ToolError);
  });
});
