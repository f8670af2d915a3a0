/**
 * Reads a finished SageMaker training job (the output of DescribeTrainingJob) into what the pipeline's quality gate
 * and report need: the gate's metric, every evaluation metric, and the spot saving. Step Functions' JSONPath cannot divide, and a
 * metric missing from the job must be a decision, not a crash.
 */

import { EVAL_METRICS, type EvalMetrics } from '../../lib/contract/training-run';

export interface TrainingJobDescription {
  readonly TrainingJobName: string;
  readonly ModelArtifacts?: { readonly S3ModelArtifacts?: string };
  readonly FinalMetricDataList?: readonly { readonly MetricName?: string; readonly Value?: number }[];
  readonly BillableTimeInSeconds?: number;
  readonly TrainingTimeInSeconds?: number;
}

export interface TrainingEvaluation {
  readonly jobName: string;
  readonly modelArtifacts: string;
  readonly metricName: string;
  /** The final value of the metric, or null when the job did not report it (the gate then rejects the model). */
  readonly metricValue: number | null;
  /** Every evaluation metric's final value on the validation channel (the job's last round). */
  readonly validationMetrics: EvalMetrics;
  readonly billableSeconds: number;
  readonly trainingSeconds: number;
  /** `1 - billable / training` as a percentage: what managed spot training saved against on-demand. */
  readonly spotSavingPercent: number;
}

/** The job description lacks something every completed job has; the pipeline reports it as a failure. */
export class IncompleteTrainingJobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IncompleteTrainingJob';
  }
}

export function evaluateTraining(job: TrainingJobDescription, metricName: string): TrainingEvaluation {
  const modelArtifacts = job.ModelArtifacts?.S3ModelArtifacts;
  if (typeof job.TrainingJobName !== 'string' || modelArtifacts === undefined) {
    throw new IncompleteTrainingJobError(
      `Training job ${String(job.TrainingJobName)} has no model artifacts; was it completed?`,
    );
  }
  const finalValue = (name: string) => {
    const metric = job.FinalMetricDataList?.find((m) => m.MetricName === name);
    return typeof metric?.Value === 'number' && Number.isFinite(metric.Value) ? metric.Value : null;
  };
  const validationMetrics = Object.fromEntries(
    EVAL_METRICS.map((name) => [name, finalValue(`validation:${name}`)]),
  ) as unknown as EvalMetrics;
  const trainingSeconds = job.TrainingTimeInSeconds ?? 0;
  const billableSeconds = job.BillableTimeInSeconds ?? trainingSeconds;
  const spotSavingPercent =
    trainingSeconds > 0 ? Math.round((1 - billableSeconds / trainingSeconds) * 10_000) / 100 : 0;
  return {
    jobName: job.TrainingJobName,
    modelArtifacts,
    metricName,
    metricValue: finalValue(metricName),
    validationMetrics,
    billableSeconds,
    trainingSeconds,
    spotSavingPercent,
  };
}
