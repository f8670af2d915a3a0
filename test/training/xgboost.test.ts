import { Stack } from 'aws-cdk-lib';
import { xgboostHyperparameters, type XgboostHyperparameters } from '../../lib/contract/xgboost-hyperparameters';
import { XgboostImage } from '../../lib/training/xgboost-image';
import { testApp } from '../helpers';

const tuned: XgboostHyperparameters = {
  numRound: 200,
  earlyStoppingRounds: 20,
  maxDepth: 5,
  eta: 0.2,
  subsample: 0.8,
  colsampleByTree: 0.9,
  scalePosWeight: 10,
  minChildWeight: 2,
  gamma: 0.1,
  lambda: 1.5,
  alpha: 0.5,
};

describe('the XGBoost hyperparameters', () => {
  test('train a binary classifier that reports every metric and stops early on AUC, the last, as strings', () => {
    expect(xgboostHyperparameters('Owner', tuned)).toEqual({
      objective: 'binary:logistic',
      // The container stops early on the last metric (algorithm_mode/train.py): AUC, the gate's.
      eval_metric: 'accuracy,precision,recall,f1_binary,auc',
      num_round: '200',
      early_stopping_rounds: '20',
      max_depth: '5',
      eta: '0.2',
      subsample: '0.8',
      colsample_bytree: '0.9',
      scale_pos_weight: '10',
      min_child_weight: '2',
      gamma: '0.1',
      lambda: '1.5',
      alpha: '0.5',
    });
  });

  test.each<[Partial<XgboostHyperparameters>, string]>([
    [{ numRound: 0 }, 'Owner: hyperparameters.numRound 0 must be a whole number of at least 1'],
    [{ maxDepth: 2.5 }, 'Owner: hyperparameters.maxDepth 2.5 must be a whole number of at least 1'],
    [{ earlyStoppingRounds: 0 }, 'Owner: hyperparameters.earlyStoppingRounds 0 must be a whole number of at least 1'],
    [
      { earlyStoppingRounds: 200 },
      'Owner: hyperparameters.earlyStoppingRounds 200 must be below numRound 200, or training never stops early',
    ],
    [{ eta: 0 }, 'Owner: hyperparameters.eta 0 must be above 0 and at most 1, for example 0.8'],
    [{ subsample: 1.5 }, 'Owner: hyperparameters.subsample 1.5 must be above 0 and at most 1, for example 0.8'],
    [{ colsampleByTree: 0 }, 'Owner: hyperparameters.colsampleByTree 0 must be above 0 and at most 1'],
    [{ minChildWeight: -1 }, 'Owner: hyperparameters.minChildWeight -1 must be a number of 0 or more'],
    [{ gamma: Number.NaN }, 'Owner: hyperparameters.gamma NaN must be a number of 0 or more'],
    [{ lambda: -0.5 }, 'Owner: hyperparameters.lambda -0.5 must be a number of 0 or more'],
    [{ alpha: Infinity }, 'Owner: hyperparameters.alpha Infinity must be a number of 0 or more'],
    [{ scalePosWeight: -1 }, 'Owner: hyperparameters.scalePosWeight -1 must be a number above 0, for example 10'],
  ])('reject %j', (override, message) => {
    expect(() => xgboostHyperparameters('Owner', { ...tuned, ...override })).toThrow(message);
  });
});

describe('the XGBoost image', () => {
  test('rejects a region without a published XGBoost image', () => {
    const stack = new Stack(testApp(), 'Test', { env: { region: 'mars-north-1' } });
    expect(() => new XgboostImage(stack, 'Image')).toThrow(
      "XgboostImage: SageMaker publishes no built-in XGBoost image in region 'mars-north-1'",
    );
  });
});
