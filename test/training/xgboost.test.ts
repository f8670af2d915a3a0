import { Stack } from 'aws-cdk-lib';
import { xgboostHyperparameters, type XgboostHyperparameters } from '../../lib/training/xgboost-hyperparameters';
import { XgboostImage } from '../../lib/training/xgboost-image';
import { testApp } from '../helpers';

const tuned: XgboostHyperparameters = { numRound: 200, maxDepth: 5, eta: 0.2, subsample: 0.8, scalePosWeight: 10 };

describe('the XGBoost hyperparameters', () => {
  test('train a binary classifier scored on AUC, as strings', () => {
    expect(xgboostHyperparameters('Owner', tuned)).toEqual({
      objective: 'binary:logistic',
      eval_metric: 'auc',
      num_round: '200',
      max_depth: '5',
      eta: '0.2',
      subsample: '0.8',
      scale_pos_weight: '10',
    });
  });

  test.each<[Partial<XgboostHyperparameters>, string]>([
    [{ numRound: 0 }, 'Owner: hyperparameters.numRound 0 must be a whole number of at least 1'],
    [{ maxDepth: 2.5 }, 'Owner: hyperparameters.maxDepth 2.5 must be a whole number of at least 1'],
    [{ eta: 0 }, 'Owner: hyperparameters.eta 0 must be above 0 and at most 1, for example 0.2'],
    [{ subsample: 1.5 }, 'Owner: hyperparameters.subsample 1.5 must be above 0 and at most 1, for example 0.2'],
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
