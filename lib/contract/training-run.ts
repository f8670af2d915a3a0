/**
 * The training run's contract between the state machine (lib/training), the Lambdas it calls and the runner
 * (`npm run train`): the tag that marks what a run creates, the metric the gate reads, the endpoint's variant, the
 * names of the states the runner interprets, and the report a successful run outputs. No aws-cdk-lib here.
 */

/** The training pipeline's state machine name, which the retrain trigger starts by name. */
export const trainingStateMachineName = (namePrefix: string) => `${namePrefix}-training`;

/** The stage's model package group, which holds a version per gated model (lib/training/model-registry.ts). */
export const modelPackageGroupName = (namePrefix: string) => `${namePrefix}-models`;

/** With manual approval: the workflow an approved version starts, which rolls it out (approved-rollout.ts). */
export const approvedRolloutStateMachineName = (namePrefix: string) => `${namePrefix}-deploy-approved`;

/**
 * The metadata of a version that `npm run approve` shows: the values are strings, a missing figure is `null`; see
 * model-registry.ts.
 */
export const VERSION_METADATA = {
  trainingJob: 'trainingJob',
  validationAuc: 'validationAuc',
  validationRecall: 'validationRecall',
  challenge: 'challenge',
  /**
   * The candidate's AUC as the comparison measured it (its batch transform, on the same records as the champion's;
   * the job's metric for a first model). The champion's is this minus improvementOverChampion; validationAuc, the
   * job's last round, is a lower bound of it.
   */
  comparedAuc: 'comparedAuc',
  improvementOverChampion: 'improvementOverChampion',
} as const;

/** Tag key on every model and endpoint config a run creates; the clean-up deletes only what carries it. */
export const OWNER_TAG_KEY = 'ml-pipeline:owner';

/** Tag key on every model a run deploys: the ARN of the model package version it was created from. */
export const MODEL_PACKAGE_TAG_KEY = 'ml-pipeline:model-package';

/** The owner tag's value: the stage's pipeline, so one stage's clean-up never touches another's resources. */
export const ownerTagValue = (namePrefix: string) => `${namePrefix}-training-pipeline`;

/** The training job's final metric that the quality gate compares with its minimum. */
export const QUALITY_METRIC = 'validation:auc';

/**
 * The metrics the built-in XGBoost container computes on both channels each round (`eval_metric`), reported as
 * `train:<name>` and `validation:<name>`. Besides XGBoost's own `auc`, the container adds its own
 * (aws/sagemaker-xgboost-container 1.7-1, `metrics/custom_metrics.py`): scikit-learn's accuracy, precision, recall
 * and `f1_binary` on the fraud class, with the class taken as log-odds above 0, that is a probability above 0.5
 * whatever the API's decision threshold. Early stopping follows the last metric (`algorithm_mode/train.py`), so AUC,
 * the gate's metric, goes last.
 */
export const EVAL_METRICS = ['accuracy', 'precision', 'recall', 'f1_binary', 'auc'] as const;
// The container publishes `validation:<name>` only (its metric definitions, algorithm_mode/metrics.py, match each
// round's log line), so a job's final metrics are those of its last round. With early stopping that is the round
// `earlyStoppingRounds` after the best one, while the saved model is the best round's: the reported AUC is a lower
// bound of the deployed model's, and the gate that reads it never passes a worse model.
export type EvalMetric = (typeof EVAL_METRICS)[number];

/** A final metric per evaluation metric, or null when the job did not report it. */
export type EvalMetrics = { readonly [M in EvalMetric]: number | null };

/** The one production variant of the endpoint; the endpoint metrics are published per variant. */
export const ENDPOINT_VARIANT_NAME = 'primary';

/** The key prefix of model artefacts in the models bucket. */
export const MODEL_OUTPUT_PREFIX = 'models/';

/**
 * Where a run's feature baseline lives in the models bucket: next to its model artefact (`models/<run id>/output/`),
 * so the two are kept, and found, together. The `baselines` table projects one partition per run onto it.
 */
export const baselineKeyPrefix = (runId: string) => `${MODEL_OUTPUT_PREFIX}${runId}/baseline/`;

/**
 * Where the batch transform writes the champion's scores of a run's validation split, next to the run's model: one
 * `<label>,<score>` line per record (the transform joins its input and keeps the first and last column).
 */
export const championScoresPrefix = (runId: string) => `${MODEL_OUTPUT_PREFIX}${runId}/champion-scores/`;

/** Where the same transform writes the candidate's scores of the same split, in the same form. */
export const challengerScoresPrefix = (runId: string) => `${MODEL_OUTPUT_PREFIX}${runId}/challenger-scores/`;

/**
 * The probability above which the built-in container's accuracy, precision and recall count a record as fraud
 * (log-odds above 0, see EVAL_METRICS). The champion's recall and precision are measured at the same cut, so the two
 * models are compared alike; the API's decision threshold (api.decisionThreshold) is a serving choice and may differ.
 */
export const CONTAINER_CLASS_CUT = 0.5;

/** The champion's figures on the new validation split, from the batch transform of its model. */
export interface ChampionFigures {
  /** The model the endpoint was serving when the run compared. */
  readonly modelName: string;
  /** The rank-based AUC of its scores. */
  readonly auc: number;
  /** Recall and precision at {@link CONTAINER_CLASS_CUT}; precision is null when it flags no record. */
  readonly recall: number;
  readonly precision: number | null;
  /** The records it scored. */
  readonly records: number;
}

/**
 * How the candidate fared against the model now serving, on the same validation split. With a champion, both
 * models' figures come from the same batch transform of the same records; for a `first-model`, the candidate's are
 * its training job's (last round). `first-model`: nothing serves yet, and the floors alone decided. `challenger-wins`: its AUC beats the champion's by at least
 * `minImprovement`. `champion-kept`: it does not, and the endpoint keeps the champion.
 */
export interface ModelComparison {
  readonly decision: 'first-model' | 'challenger-wins' | 'champion-kept';
  readonly minImprovement: number;
  readonly challenger: { readonly auc: number; readonly recall: number | null };
  readonly champion: ChampionFigures | null;
  /** The challenger's AUC minus the champion's, or null for the first model. */
  readonly improvement: number | null;
}

/** Where a run's model-quality report, registered with its model package version, lives in the models bucket. */
export const modelMetricsKey = (runId: string) => `${MODEL_OUTPUT_PREFIX}${runId}/model-metrics.json`;

/** The names of the states the runner reads: the state machine gives its states these names. */
export const TRAINING_STATES = {
  /** Announces an error of any step, then ends the run in `runFailed`. */
  notifyFailure: 'NotifyFailure',
  runFailed: 'RunFailed',
  /** Announces a model below the quality gate, then ends the run in `modelRejected`. */
  notifyRejected: 'NotifyRejected',
  modelRejected: 'ModelRejected',
  /** Announces a candidate that does not beat the champion by `minImprovement`, words the cause, ends in `championKept`. */
  notifyChampionKept: 'NotifyChampionKept',
  championKeptCause: 'ChampionKeptCause',
  championKept: 'ChampionKept',
  /** Its output is the execution's output, a {@link RunReport}. */
  report: 'Report',
} as const;

/** The states the pipeline enters only to report or end a failure: the runner names the state before them. */
export const FAILURE_HANDLING_STATES = [
  TRAINING_STATES.notifyFailure,
  TRAINING_STATES.runFailed,
  TRAINING_STATES.notifyRejected,
  TRAINING_STATES.modelRejected,
  TRAINING_STATES.notifyChampionKept,
  TRAINING_STATES.championKeptCause,
  TRAINING_STATES.championKept,
] as const;

/** The state whose output is the execution's output, a {@link RunReport}. */
export const REPORT_STATE = TRAINING_STATES.report;

/** What a successful run outputs (the `Report` state). */
export interface RunReport {
  readonly trainingJobName: string;
  readonly validationAuc: number;
  /** Every evaluation metric on the validation channel, at the job's last round (see {@link EVAL_METRICS}). */
  readonly validationMetrics: EvalMetrics;
  readonly modelArtifacts: string;
  readonly billableSeconds: number;
  readonly trainingSeconds: number;
  readonly spotSavingPercent: number;
  /** The candidate against the model serving when the run started, on the same validation split. */
  readonly comparison: ModelComparison;
  /** The model package version the run registered. */
  readonly modelPackageArn: string;
  /**
   * `Approved`: the run rolled the version out. `PendingManualApproval` (registry.approval manual): the endpoint is
   * unchanged until someone approves the version, which starts its rollout.
   */
  readonly approval: 'Approved' | 'PendingManualApproval';
  readonly endpointName: string;
  /** The endpoint config the run rolled out, or null when the version awaits approval. */
  readonly endpointConfigName: string | null;
}
