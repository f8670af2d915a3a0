/** The XGBoost hyperparameters a stage tunes; `objective` and `eval_metric` are fixed by the pipeline. */
export interface XgboostHyperparameters {
  /** Boosting rounds, a whole number of at least 1. */
  readonly numRound: number;
  /** Deepest tree, a whole number of at least 1. */
  readonly maxDepth: number;
  /** Learning rate, above 0 up to 1. */
  readonly eta: number;
  /** Share of rows sampled per tree, above 0 up to 1. */
  readonly subsample: number;
  /** Weight of the positive (fraud) class, above 0, to offset the class imbalance. */
  readonly scalePosWeight: number;
}

/**
 * The built-in XGBoost algorithm's hyperparameters as SageMaker takes them (strings): a binary classifier
 * (`binary:logistic`, the container's default is regression) scored on AUC, the metric the quality gate reads.
 * @param owner names the construct whose prop is wrong in an error
 */
export function xgboostHyperparameters(
  owner: string,
  hyperparameters: XgboostHyperparameters,
): { [name: string]: string } {
  const { numRound, maxDepth, eta, subsample, scalePosWeight } = hyperparameters;
  const fail = (message: string): never => {
    throw new Error(`${owner}: hyperparameters.${message}`);
  };
  for (const [name, value] of [
    ['numRound', numRound],
    ['maxDepth', maxDepth],
  ] as const) {
    if (!Number.isInteger(value) || value < 1) fail(`${name} ${value} must be a whole number of at least 1`);
  }
  for (const [name, value] of [
    ['eta', eta],
    ['subsample', subsample],
  ] as const) {
    if (!(value > 0 && value <= 1)) fail(`${name} ${value} must be above 0 and at most 1, for example 0.2`);
  }
  if (!(scalePosWeight > 0 && Number.isFinite(scalePosWeight))) {
    fail(`scalePosWeight ${scalePosWeight} must be a number above 0, for example 10`);
  }
  return {
    objective: 'binary:logistic',
    eval_metric: 'auc',
    num_round: String(numRound),
    max_depth: String(maxDepth),
    eta: String(eta),
    subsample: String(subsample),
    scale_pos_weight: String(scalePosWeight),
  };
}
