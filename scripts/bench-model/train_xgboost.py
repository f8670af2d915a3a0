"""Trains XGBoost as the built-in SageMaker algorithm 1.7-1 trains it, for `npm run bench:model`.

Reads one JSON file (the path is the only argument): {"train": csv, "validation": csv, "hyperparameters": {...}},
where each CSV has the label in the first column and no header, and the hyperparameters are the strings the training
job passes (lib/contract/xgboost-hyperparameters.ts). Prints one JSON object with the figures.

What it repeats of the container (aws/sagemaker-xgboost-container, branch 1.7-1), read from its source, not copied:
- XGBoost 1.7.4, the version docker/1.7-1/base/Dockerfile.cpu installs; the script refuses another.
- eval_metric is a comma-separated list. The metrics XGBoost knows (here auc) go to XGBoost; the container computes
  accuracy, precision, recall and f1_binary itself with scikit-learn, a record counted as fraud where its margin is
  above 0, that is, its probability above 0.5 (metrics/custom_metrics.py).
- Early stopping watches the validation channel and the last metric of eval_metric, maximizing AUC, and keeps the best
  round's model (algorithm_mode/train.py, callback.py: EarlyStopping(save_best=True)).
- No hyperparameter it is not given: XGBoost's own defaults otherwise, as the container adds none.
"""

import json
import sys

import numpy as np
import xgboost as xgb
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

CONTAINER_XGBOOST = "1.7.4"
INTEGERS = {"max_depth", "num_round", "early_stopping_rounds"}
# The metrics the container computes itself rather than XGBoost (metrics/custom_metrics.py).
CONTAINER_METRICS = {
    "accuracy": accuracy_score,
    "precision": lambda y, p: precision_score(y, p, zero_division=0),
    "recall": lambda y, p: recall_score(y, p, zero_division=0),
    "f1_binary": lambda y, p: f1_score(y, p, average="binary", zero_division=0),
}


def load(path):
    data = np.loadtxt(path, delimiter=",", ndmin=2)
    return xgb.DMatrix(data[:, 1:], label=data[:, 0])


def main(spec_path):
    if xgb.__version__ != CONTAINER_XGBOOST:
        sys.exit(f"XGBoost {xgb.__version__} is installed; the container 1.7-1 runs {CONTAINER_XGBOOST}")
    with open(spec_path) as f:
        spec = json.load(f)
    params = {}
    for name, value in spec["hyperparameters"].items():
        if name == "eval_metric":
            params[name] = value.split(",")
        elif name == "objective":
            params[name] = value
        else:
            params[name] = int(value) if name in INTEGERS else float(value)
    metrics = params.pop("eval_metric")
    unknown = [m for m in metrics if m not in CONTAINER_METRICS and m != "auc"]
    if unknown:
        sys.exit(f"eval_metric names {unknown}, which this script does not compute; add them beside auc")
    if metrics[-1] != "auc":
        sys.exit(f"eval_metric ends in {metrics[-1]}; early stopping watches the last one, which must be auc")
    num_round = params.pop("num_round")
    rounds = params.pop("early_stopping_rounds")
    params["eval_metric"] = ["auc"]
    train, validation = load(spec["train"]), load(spec["validation"])
    history = {}
    booster = xgb.train(
        params,
        train,
        num_boost_round=num_round,
        evals=[(train, "train"), (validation, "validation")],
        evals_result=history,
        verbose_eval=False,
        callbacks=[
            xgb.callback.EarlyStopping(
                rounds=rounds, data_name="validation", metric_name=metrics[-1], maximize=True, save_best=True
            )
        ],
    )
    best = booster.best_iteration
    labels = validation.get_label()
    flagged = (booster.predict(validation, output_margin=True) > 0.0).astype(int)
    val_auc, train_auc = history["validation"]["auc"], history["train"]["auc"]
    json.dump(
        {
            "validationRecords": int(labels.size),
            "validationFrauds": int(labels.sum()),
            "bestRound": best + 1,
            "roundsRun": len(val_auc),
            "validationAucAtBest": val_auc[best],
            "trainAucAtBest": train_auc[best],
            "highestTrainAuc": max(train_auc),
            "lastValidationAuc": val_auc[-1],
            "atBest": {name: float(fn(labels, flagged)) for name, fn in CONTAINER_METRICS.items()},
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main(sys.argv[1])
