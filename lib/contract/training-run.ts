/**
 * The training run's contract between the state machine (lib/training), the Lambdas it calls and the runner
 * (`npm run train`): the tag that marks what a run creates, the metric the gate reads, the endpoint's variant, the
 * names of the states the runner interprets, and the report a successful run outputs. No aws-cdk-lib here.
 */

/** Tag key on every model and endpoint config a run creates; the clean-up deletes only what carries it. */
export const OWNER_TAG_KEY = 'ml-pipeline:owner';

/** The training job's final metric that the quality gate compares with its minimum. */
export const QUALITY_METRIC = 'validation:auc';

/** The one production variant of the endpoint; the endpoint metrics are published per variant. */
export const ENDPOINT_VARIANT_NAME = 'primary';

/** The key prefix of model artefacts in the models bucket. */
export const MODEL_OUTPUT_PREFIX = 'models/';

/**
 * The states the pipeline enters only to report or end a failure: the runner names the state before them as the one
 * that failed. The state machine's test checks each exists.
 */
export const FAILURE_HANDLING_STATES = ['NotifyFailure', 'RunFailed', 'NotifyRejected', 'ModelRejected'] as const;

/** The state whose output is the execution's output, a {@link RunReport}. */
export const REPORT_STATE = 'Report';

/** What a successful run outputs (the `Report` state). */
export interface RunReport {
  readonly trainingJobName: string;
  readonly validationAuc: number;
  readonly modelArtifacts: string;
  readonly billableSeconds: number;
  readonly trainingSeconds: number;
  readonly spotSavingPercent: number;
  readonly endpointName: string;
  readonly endpointConfigName: string;
}
