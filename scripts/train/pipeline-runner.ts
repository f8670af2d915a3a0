/**
 * Starts a training pipeline execution and follows it state by state, then reads the outcome: the report the
 * pipeline's `Report` state writes, or the state that failed and why.
 */
import {
  GetExecutionHistoryCommand,
  type HistoryEvent,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { EVAL_METRICS, FAILURE_HANDLING_STATES, type RunReport } from '../../lib/contract/training-run';
import { ToolError } from '../lib/cli';

export type { RunReport };

export type RunOutcome =
  | { readonly status: 'SUCCEEDED'; readonly report: RunReport; readonly seconds: number }
  | {
      readonly status: 'FAILED' | 'TIMED_OUT' | 'ABORTED';
      /** The state that was running when the run failed. */
      readonly failedState: string;
      readonly error: string;
      readonly cause: string;
      readonly seconds: number;
    };

export interface FollowOptions {
  readonly pollMs: number;
  readonly sleep: (ms: number) => Promise<void>;
  /** Receives one line per step of the run. */
  readonly write: (line: string) => void;
}

/** The states the pipeline enters only to fail or report a failure: the interesting state is the one before them. */
const FAILURE_HANDLING: ReadonlySet<string> = new Set(FAILURE_HANDLING_STATES);
const QUIET_POLLS_BEFORE_REMINDER = 6;
const FINAL_EVENTS = new Set(['ExecutionSucceeded', 'ExecutionFailed', 'ExecutionTimedOut', 'ExecutionAborted']);

/** Starts a run of the pipeline; the pipeline picks its own run id, so the input is empty. */
export async function startRun(sfn: SFNClient, stateMachineArn: string): Promise<string> {
  try {
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn, input: '{}' }));
    if (executionArn === undefined) throw new ToolError('Step Functions started no execution and gave no reason');
    return executionArn;
  } catch (error) {
    if (error instanceof Error && error.name === 'StateMachineDoesNotExist') {
      throw new ToolError(
        `State machine ${stateMachineArn} does not exist in this account and region: deploy the Training stack ` +
          '(npx cdk deploy --all), or check AWS_REGION',
      );
    }
    throw error;
  }
}

/**
 * Polls the execution's history and writes each state as it is first entered (a polling loop such as
 * WaitForEndpoint once, not every check), each failed attempt of a task (retries show up here), and a reminder of the
 * current state during a long quiet stretch such as training. Returns the outcome when the execution ends.
 */
export async function followExecution(
  sfn: SFNClient,
  executionArn: string,
  options: FollowOptions,
): Promise<RunOutcome> {
  const seen: HistoryEvent[] = [];
  let lastId = 0;
  let startedAt: Date | undefined;
  const entered = new Set<string>();
  let current: string | undefined;
  let quietPolls = 0;
  for (;;) {
    const fresh = await newEvents(sfn, executionArn, lastId);
    quietPolls = fresh.length === 0 ? quietPolls + 1 : 0;
    if (quietPolls > 0 && quietPolls % QUIET_POLLS_BEFORE_REMINDER === 0 && current !== undefined) {
      options.write(`        still in ${current}`);
    }
    for (const event of fresh) {
      seen.push(event);
      lastId = event.id ?? lastId;
      startedAt ??= event.timestamp;
      const at = elapsed(startedAt, event.timestamp);
      const state = event.stateEnteredEventDetails?.name;
      if (event.type?.endsWith('StateEntered') === true && state !== undefined) {
        current = state;
        if (!entered.has(state)) options.write(`[${at}] ${state}`);
        entered.add(state);
      }
      const failure = event.taskFailedEventDetails ?? event.lambdaFunctionFailedEventDetails;
      if (failure !== undefined) {
        options.write(`[${at}]   ${failure.error ?? 'Error'}: ${oneLine(failure.cause ?? '')}`);
      }
      if (event.type !== undefined && FINAL_EVENTS.has(event.type)) {
        return outcome(event, seen, elapsedSeconds(startedAt, event.timestamp));
      }
    }
    await options.sleep(options.pollMs);
  }
}

/** Events after `lastId`, oldest first, read newest-first so a long run's history is not re-read on every poll. */
async function newEvents(sfn: SFNClient, executionArn: string, lastId: number): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await readHistoryPage(sfn, executionArn, nextToken);
    for (const event of page.events ?? []) {
      if ((event.id ?? 0) <= lastId) return events.reverse();
      events.push(event);
    }
    nextToken = page.nextToken;
  } while (nextToken !== undefined);
  return events.reverse();
}

async function readHistoryPage(sfn: SFNClient, executionArn: string, nextToken: string | undefined) {
  try {
    return await sfn.send(
      new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 100, nextToken }),
    );
  } catch (error) {
    if (error instanceof Error && error.name === 'ExecutionDoesNotExist') {
      throw new ToolError(`Execution ${executionArn} does not exist in this account and region`);
    }
    throw error;
  }
}

function outcome(final: HistoryEvent, history: readonly HistoryEvent[], seconds: number): RunOutcome {
  if (final.type === 'ExecutionSucceeded') {
    return { status: 'SUCCEEDED', report: parseReport(final.executionSucceededEventDetails?.output), seconds };
  }
  const details =
    final.executionFailedEventDetails ?? final.executionTimedOutEventDetails ?? final.executionAbortedEventDetails;
  const states = history
    .map((event) => event.stateEnteredEventDetails?.name)
    .filter((name): name is string => name !== undefined && !FAILURE_HANDLING.has(name));
  const failedState = states[states.length - 1] ?? 'none (the run failed before its first state)';
  const status =
    final.type === 'ExecutionTimedOut' ? 'TIMED_OUT' : final.type === 'ExecutionAborted' ? 'ABORTED' : 'FAILED';
  // The pipeline's final Fail state carries the error it caught and its cause (errorPath / causePath).
  return {
    status,
    failedState,
    error: details?.error ?? status,
    cause: details?.cause ?? 'no cause recorded',
    seconds,
  };
}

const isNumberOrNull = (value: unknown) => value === null || typeof value === 'number';
const FIELD_CHECKS = {
  string: (value: unknown) => typeof value === 'string',
  'string or null': (value: unknown) => value === null || typeof value === 'string',
  'approval status': (value: unknown) => value === 'Approved' || value === 'PendingManualApproval',
  number: (value: unknown) => typeof value === 'number',
  'number or null': isNumberOrNull,
  comparison: (value: unknown) => {
    const c = value as Record<string, unknown> | null;
    return (
      typeof c === 'object' &&
      c !== null &&
      ['first-model', 'challenger-wins', 'champion-kept'].includes(c.decision as string) &&
      typeof c.minImprovement === 'number' &&
      isNumberOrNull(c.improvement) &&
      (c.champion === null || typeof (c.champion as Record<string, unknown>).auc === 'number')
    );
  },
  'metric per evaluation metric': (value: unknown) =>
    typeof value === 'object' &&
    value !== null &&
    EVAL_METRICS.every((name) => isNumberOrNull((value as Record<string, unknown>)[name])),
} as const;

const REPORT_FIELDS: { readonly [K in keyof RunReport]: keyof typeof FIELD_CHECKS } = {
  trainingJobName: 'string',
  validationAuc: 'number',
  validationMetrics: 'metric per evaluation metric',
  modelArtifacts: 'string',
  billableSeconds: 'number',
  trainingSeconds: 'number',
  spotSavingPercent: 'number',
  comparison: 'comparison',
  modelPackageArn: 'string',
  approval: 'approval status',
  endpointName: 'string',
  endpointConfigName: 'string or null',
};

/** Reads the `Report` state's output; a field missing or of the wrong type means the runner and pipeline disagree. */
export function parseReport(output: string | undefined): RunReport {
  const report = JSON.parse(output ?? '{}') as Record<string, unknown>;
  const wrong = Object.entries(REPORT_FIELDS).filter(([field, kind]) => !FIELD_CHECKS[kind](report[field]));
  if (wrong.length > 0) {
    throw new ToolError(
      `The run succeeded but its output is not the pipeline's report (${wrong.map(([f, t]) => `${f} is not a ${t}`).join(', ')}); ` +
        'is --state-machine-arn the training pipeline, deployed from this version of the app?',
    );
  }
  return report as unknown as RunReport;
}

/** `accuracy 0.9810, precision 0.5000, …`, with `n/a` for a metric the job did not report. */
export function formatMetrics(metrics: RunReport['validationMetrics']): string {
  return EVAL_METRICS.map((name) => `${name} ${metrics[name]?.toFixed(4) ?? 'n/a'}`).join(', ');
}

const elapsedSeconds = (from: Date | undefined, to: Date | undefined) =>
  from === undefined || to === undefined ? 0 : Math.round((to.getTime() - from.getTime()) / 1000);

/** Minutes and seconds since the run started, e.g. `03:07`. */
function elapsed(from: Date | undefined, to: Date | undefined): string {
  const total = elapsedSeconds(from, to);
  return `${String(Math.floor(total / 60)).padStart(2, '0')}:${String(total % 60).padStart(2, '0')}`;
}

const oneLine = (text: string) => text.replace(/\s+/g, ' ').slice(0, 300);

/** `14m 03s` */
export const duration = (seconds: number) =>
  seconds < 60 ? `${seconds}s` : `${Math.floor(seconds / 60)}m ${String(seconds % 60).padStart(2, '0')}s`;

/** The champion/challenger decision in two lines: both models' figures on the same split, and the rule. */
export function describeComparison(comparison: RunReport['comparison']): string[] {
  const { champion, challenger } = comparison;
  if (champion === null) {
    return ['  Champion         none: the endpoint served no model, so the floors alone decided (first model)'];
  }
  const recall = (value: number | null) => (value === null ? 'n/a' : value.toFixed(4));
  return [
    `  Champion         ${champion.modelName}: AUC ${champion.auc.toFixed(4)}, recall ${recall(champion.recall)} ` +
      `on the same ${champion.records} validation records (batch transform)`,
    `  Challenger       AUC ${challenger.auc.toFixed(4)}, recall ${recall(challenger.recall)} on the same records: improvement ` +
      `${comparison.improvement?.toFixed(4)}, at least ${comparison.minImprovement} needed: ${comparison.decision}`,
  ];
}

/** The lines that close a run: the report of a successful run, or where and why it failed. */
export function describeOutcome(
  result: RunOutcome,
  endpointStatus: string,
  minValidationAuc: number,
  useSpot = true,
): string[] {
  if (result.status !== 'SUCCEEDED') {
    return [
      `Run ${result.status} after ${duration(result.seconds)} in state ${result.failedState}.`,
      `  ${result.error}: ${result.cause}`,
    ];
  }
  const { report } = result;
  return [
    `Run SUCCEEDED in ${duration(result.seconds)}.`,
    `  Training job     ${report.trainingJobName}`,
    `  Validation AUC   ${report.validationAuc.toFixed(4)} (quality gate: at least ${minValidationAuc})`,
    `  Last round       ${formatMetrics(report.validationMetrics)} (classes at probability 0.5)`,
    useSpot
      ? `  Spot saving      ${Math.round(report.spotSavingPercent)}% (billed ${report.billableSeconds} s of ` +
        `${report.trainingSeconds} s of training)`
      : `  Spot saving      none: on-demand training (training.useSpot is false), billed ${report.billableSeconds} s`,
    ...describeComparison(report.comparison),
    `  Model            ${report.modelArtifacts}`,
    `  Registered       ${report.modelPackageArn}`,
    report.approval === 'PendingManualApproval'
      ? `  Endpoint         ${report.endpointName}: unchanged; the version awaits approval (registry.approval is ` +
        'manual), and approving it rolls it out: npm run approve -- --stage <stage> --approve ' +
        report.modelPackageArn.split('/').pop()
      : `  Endpoint         ${report.endpointName}: ${endpointStatus} (config ${report.endpointConfigName})`,
  ];
}
