import { RemovalPolicy, Size } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { TRAINING_STATES } from '../../lib/contract/training-run';
import { TRANSACTION_SCHEMA } from '../../lib/schema/feature-schema';
import { TrainingPipeline, type TrainingPipelineProps } from '../../lib/training/training-pipeline';
import { PIPELINE_STATE_MACHINE, stateMachineDefinition } from '../helpers';
import { bareStack, importedBucket, importedKey, importedTopic } from './bare-stack';

/** The pipeline on a stack of its own, with the lake's resources imported by name: no app config involved. */
function pipeline(overrides: Partial<TrainingPipelineProps> = {}) {
  const stack = bareStack();
  new TrainingPipeline(stack, 'Pipeline', {
    namePrefix: 'test',
    schema: TRANSACTION_SCHEMA,
    databaseName: 'test_lake',
    tableName: 'transactions',
    crawlerName: 'test-crawler',
    workgroupName: 'test-analytics',
    rawBucket: importedBucket(stack, 'raw'),
    curatedBucket: importedBucket(stack, 'curated'),
    athenaResultsBucket: importedBucket(stack, 'results'),
    modelsBucket: importedBucket(stack, 'models'),
    checkpointsBucket: importedBucket(stack, 'checkpoints'),
    encryptionKey: importedKey(stack),
    notifications: importedTopic(stack),
    logRetention: 14,
    removalPolicy: RemovalPolicy.DESTROY,
    hyperparameters: {
      numRound: 10,
      earlyStoppingRounds: 3,
      maxDepth: 3,
      eta: 0.3,
      subsample: 0.9,
      colsampleByTree: 1,
      scalePosWeight: 5,
      minChildWeight: 1,
      gamma: 0,
      lambda: 1,
      alpha: 0,
    },
    minValidationAuc: 0.7,
    endpointName: 'test-fraud',
    endpointCapacity: { serverless: { memory: Size.gibibytes(2), maxConcurrency: 2 } },
    ...overrides,
  });
  return Template.fromStack(stack);
}

describe('TrainingPipeline on its own', () => {
  const template = pipeline();
  const states = (stateMachineDefinition(template, PIPELINE_STATE_MACHINE) as { States: Record<string, unknown> })
    .States;

  test('builds one workflow with every state the runner reads by name', () => {
    expect(Object.keys(states)).toEqual(expect.arrayContaining(Object.values(TRAINING_STATES)));
  });

  test('gates on the minimum AUC it is given', () => {
    expect(JSON.stringify(states.QualityGate)).toContain('0.7');
  });

  test('deletes its execution log group with the stack when told to', () => {
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup'));
    expect(groups.length).toBeGreaterThan(0);
    for (const group of groups) expect(group.DeletionPolicy).toBe('Delete');
  });

  test('refuses a training instance count of zero, naming the step and its prop', () => {
    expect(() => pipeline({ trainingInstanceCount: 0 })).toThrow(/SpotTrainingJob .*TrainModel: instanceCount 0/);
  });
});
