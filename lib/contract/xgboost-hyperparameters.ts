import { EVAL_METRICS } from './training-run';

/**
 * The XGBoost hyperparameters a stage tunes; `objective` and `eval_metric` are fixed by the pipeline. The last five
 * are XGBoost's regularization: each makes a tree harder to grow or a leaf harder to weigh, so the model cannot
 * learn the training rows by heart (training AUC 1.0 while validation falls).
 */
export interface XgboostHyperparameters {
  /** Most boosting rounds, a whole number of at least 1. */
  readonly numRound: number;
  /**
   * Stop when the validation AUC has not improved for this many rounds, and keep the best round's model; a whole
   * number of at least 1, below `numRound`.
   */
  readonly earlyStoppingRounds: number;
  /** Deepest tree, a whole number of at least 1. */
  readonly maxDepth: number;
  /** Learning rate, above 0 up to 1. */
  readonly eta: number;
  /** Share of rows sampled per tree, above 0 up to 1. */
  readonly subsample: number;
  /** Share of features sampled per tree (`colsample_bytree`), above 0 up to 1. */
  readonly colsampleByTree: number;
  /** Weight of the positive (fraud) class, above 0, to offset the class imbalance. */
  readonly scalePosWeight: number;
  /** Least summed instance weight (hessian) in a leaf (`min_child_weight`), 0 or more: higher, fewer tiny leaves. */
  readonly minChildWeight: number;
  /** Least loss reduction a split must bring (`gamma`), 0 or more. */
  readonly gamma: number;
  /** L2 penalty on leaf weights (`lambda`), 0 or more. */
  readonly lambda: number;
  /** L1 penalty on leaf weights (`alpha`), 0 or more. */
  readonly alpha: number;
}

/**
 * The built-in XGBoost algorithm's hyperparameters as SageMaker takes them (strings): a binary classifier
 * (`binary:logistic`, the container's default is regression) that reports every metric of `EVAL_METRICS` on both
 * channels each round and stops early on the last of them, AUC, the metric the quality gate reads.
 * @param owner names the construct whose prop is wrong in an error
 */
export function xgboostHyperparameters(
  owner: string,
  hyperparameters: XgboostHyperparameters,
): { [name: string]: string } {
  const h = hyperparameters;
  const fail = (message: string): never => {
    throw new Error(`${owner}: hyperparameters.${message}`);
  };
  for (const [name, value] of [
    ['numRound', h.numRound],
    ['earlyStoppingRounds', h.earlyStoppingRounds],
    ['maxDepth', h.maxDepth],
  ] as const) {
    if (!Number.isInteger(value) || value < 1) fail(`${name} ${value} must be a whole number of at least 1`);
  }
  if (h.earlyStoppingRounds >= h.numRound) {
    fail(
      `earlyStoppingRounds ${h.earlyStoppingRounds} must be below numRound ${h.numRound}, or training never stops ` +
        'early; for example a tenth of numRound',
    );
  }
  for (const [name, value] of [
    ['eta', h.eta],
    ['subsample', h.subsample],
    ['colsampleByTree', h.colsampleByTree],
  ] as const) {
    if (!(value > 0 && value <= 1)) fail(`${name} ${value} must be above 0 and at most 1, for example 0.8`);
  }
  if (!(h.scalePosWeight > 0 && Number.isFinite(h.scalePosWeight))) {
    fail(`scalePosWeight ${h.scalePosWeight} must be a number above 0, for example 10`);
  }
  for (const [name, value] of [
    ['minChildWeight', h.minChildWeight],
    ['gamma', h.gamma],
    ['lambda', h.lambda],
    ['alpha', h.alpha],
  ] as const) {
    if (!(value >= 0 && Number.isFinite(value))) fail(`${name} ${value} must be a number of 0 or more, for example 1`);
  }
  return {
    objective: 'binary:logistic',
    eval_metric: EVAL_METRICS.join(','),
    num_round: String(h.numRound),
    early_stopping_rounds: String(h.earlyStoppingRounds),
    max_depth: String(h.maxDepth),
    eta: String(h.eta),
    subsample: String(h.subsample),
    colsample_bytree: String(h.colsampleByTree),
    scale_pos_weight: String(h.scalePosWeight),
    min_child_weight: String(h.minChildWeight),
    gamma: String(h.gamma),
    lambda: String(h.lambda),
    alpha: String(h.alpha),
  };
}
