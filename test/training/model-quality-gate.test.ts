import * as lambda from 'aws-cdk-lib/aws-lambda';
import { ModelQualityGate, type ModelQualityGateProps } from '../../lib/training/model-quality-gate';
import { bareStack, importedTopic, placeholder, render } from './bare-stack';

function gate(overrides: Partial<ModelQualityGateProps> = {}) {
  const stack = bareStack();
  const step = new ModelQualityGate(stack, 'Gate', {
    evaluator: lambda.Function.fromFunctionArn(stack, 'Evaluator', 'arn:aws:lambda:eu-west-1:123456789012:function:e'),
    minValidationAuc: 0.8,
    notifications: importedTopic(stack),
    namePrefix: 'mlpipe-test',
    onFailure: placeholder(stack, 'Failed'),
    ...overrides,
  });
  return { stack, step };
}

describe('ModelQualityGate', () => {
  test('rejects a missing metric first, deploys at or above the threshold, and rejects the rest', () => {
    const { stack, step } = gate();
    step.approveTo(placeholder(stack, 'Deploy'));
    const { states } = render(stack, step.startState);
    expect(states.EvaluateModel.Next).toBe('QualityGate');
    expect(states.QualityGate).toMatchObject({
      Choices: [
        { Variable: '$.training.metricValue', IsNull: true, Next: 'NotifyRejected' },
        { Variable: '$.training.metricValue', NumericGreaterThanEquals: 0.8, Next: 'Deploy' },
      ],
      Default: 'NotifyRejected',
    });
    expect(states.ModelRejected).toMatchObject({ Type: 'Fail', Error: 'ModelBelowQualityGate' });
  });
});

describe('ModelQualityGate validation', () => {
  test('refuses a second approved branch', () => {
    const { stack, step } = gate();
    step.approveTo(placeholder(stack, 'Deploy'));
    expect(() => step.approveTo(placeholder(stack, 'DeployElsewhere'))).toThrow(
      'ModelQualityGate Test/Gate: approveTo was already called',
    );
  });

  test.each([1.2, -0.1, Number.NaN])('rejects a minimum AUC of %d', (minValidationAuc) => {
    expect(() => gate({ minValidationAuc })).toThrow(
      `ModelQualityGate Test/Gate: minValidationAuc ${minValidationAuc} is not an AUC; pass a number from 0 to 1, for example 0.8`,
    );
  });
});
