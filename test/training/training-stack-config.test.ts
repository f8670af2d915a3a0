import { Match } from 'aws-cdk-lib/assertions';
import { PIPELINE_STATE_MACHINE, stateMachineDefinition, synthPipeline } from '../helpers';

/**
 * TrainingStack is where the stage config becomes construct props: these tests build the app (as bin/app.ts does,
 * without bundling) for a stage and a few overrides, and check that each setting lands where it should.
 */
function trainingStack(stage: string, overrides?: unknown) {
  const { training: template } = synthPipeline({ stage, overrides });
  const definition = stateMachineDefinition(template, PIPELINE_STATE_MACHINE) as {
    TimeoutSeconds: number;
    States: Record<string, Record<string, unknown>>;
  };
  return { template, definition, states: definition.States };
}

const sandbox = trainingStack('sandbox');
const prod = trainingStack('prod');
// Prod approves by hand, so its rollout states live in the workflow an approval starts.
const prodRollout = {
  states: (
    stateMachineDefinition(prod.template, 'PipelineApprovedRolloutStateMachine') as {
      States: Record<string, Record<string, unknown>>;
    }
  ).States,
};
const parameters = (states: Record<string, Record<string, unknown>>, state: string) =>
  states[state].Parameters as Record<string, unknown>;

describe('serving configuration', () => {
  test('creates a serverless endpoint config by default and an instance-backed one with a key in prod', () => {
    expect(parameters(sandbox.states, 'CreateEndpointConfig')).toMatchObject({
      ProductionVariants: [{ VariantName: 'primary', ServerlessConfig: { MemorySizeInMB: 2048, MaxConcurrency: 5 } }],
    });
    const prodParameters = parameters(prodRollout.states, 'CreateEndpointConfig');
    expect(prodParameters.ProductionVariants).toEqual([
      expect.objectContaining({ InstanceType: 'ml.m5.large', InitialInstanceCount: 1 }),
    ]);
    expect(prodParameters.KmsKeyId).toBeDefined();
  });

  test('gives a serverless variant none of the fields SageMaker rejects for one', () => {
    // Serverless endpoints take no instance type or count, no volume or its key, no data capture, one variant.
    const endpointConfig = parameters(sandbox.states, 'CreateEndpointConfig');
    const variants = endpointConfig.ProductionVariants as Record<string, unknown>[];
    expect(variants).toHaveLength(1);
    expect(Object.keys(variants[0]).sort()).toEqual(['ModelName.$', 'ServerlessConfig', 'VariantName']);
    expect(Object.keys(endpointConfig).sort()).toEqual(['EndpointConfigName.$', 'ProductionVariants', 'Tags']);
  });

  test('gives an instance variant no serverless settings', () => {
    const [variant] = parameters(prodRollout.states, 'CreateEndpointConfig').ProductionVariants as Record<
      string,
      unknown
    >[];
    expect(Object.keys(variant).sort()).toEqual(['InitialInstanceCount', 'InstanceType', 'ModelName.$', 'VariantName']);
  });

  test('isolates the hosted model from the network on instance endpoints only, which alone support it', () => {
    expect(parameters(sandbox.states, 'CreateModel')).toMatchObject({ EnableNetworkIsolation: false });
    expect(parameters(prodRollout.states, 'CreateModel')).toMatchObject({ EnableNetworkIsolation: true });
  });
});

describe('training configuration', () => {
  const tuned = trainingStack('sandbox', {
    training: {
      useSpot: false,
      instanceCount: 2,
      volumeSizeGiB: 40,
      maxRuntimeSeconds: 5400,
      maxWaitSeconds: 9000,
      validationPercent: 30,
      exportWindowDays: 7,
    },
    qualityGate: { minValidationAuc: 0.9 },
    serving: { serverlessMemoryMiB: 4096, serverlessMaxConcurrency: 20 },
  });

  test('sizes the training job, and leaves spot out when the stage turns it off', () => {
    const train = parameters(tuned.states, 'TrainModel');
    expect(train.ResourceConfig).toMatchObject({ InstanceCount: 2, VolumeSizeInGB: 40 });
    expect(train.StoppingCondition).toEqual({ MaxRuntimeInSeconds: 5400 });
    expect(train.EnableManagedSpotTraining).toBeUndefined();
  });

  test('gives the state machine six hours beyond the longest spot wait', () => {
    expect(tuned.definition.TimeoutSeconds).toBe(9000 + 6 * 3600);
  });

  test('exports the configured window and split, gates on the configured AUC, serves with the configured memory', () => {
    expect(tuned.states.ExportDatasets.Comment).toBe(
      'One UNLOAD of the last 7 day(s): split=train/ and split=validation/',
    );
    expect(JSON.stringify(tuned.states.ExportDatasets.Parameters)).toContain('% 100 < 70 THEN');
    expect(tuned.states.QualityGate.Comment).toBe(
      'Deploy only when validation:auc >= 0.9 and validation:recall >= 0.5',
    );
    expect(parameters(tuned.states, 'CreateEndpointConfig')).toMatchObject({
      ProductionVariants: [{ ServerlessConfig: { MemorySizeInMB: 4096, MaxConcurrency: 20 } }],
    });
  });
});

describe('the schedule', () => {
  test('exists only when the stage config sets one', () => {
    sandbox.template.resourceCountIs('AWS::Events::Rule', 0);
    const scheduled = trainingStack('sandbox', { pipeline: { schedule: 'cron(0 3 ? * MON *)' } });
    scheduled.template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'cron(0 3 ? * MON *)' });
  });
});

describe('champion and challenger configuration', () => {
  const challenged = trainingStack('sandbox', {
    qualityGate: { minValidationRecall: 0, minImprovement: -0.02, transformInstanceType: 'ml.c5.xlarge' },
  });

  test('runs the transform on the configured instance and passes the minimum improvement to the comparison', () => {
    // Both transforms run in the branches of one Parallel state, on the same instance type.
    const branches = (
      challenged.states.ScoreBothModels as { Branches: { States: Record<string, Record<string, unknown>> }[] }
    ).Branches;
    for (const [branch, state] of [
      [0, 'ScoreChampion'],
      [1, 'ScoreChallenger'],
    ] as const) {
      expect(parameters(branches[branch].States, state).TransformResources).toMatchObject({
        InstanceType: 'ml.c5.xlarge',
        InstanceCount: 1,
      });
    }
    challenged.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ MIN_IMPROVEMENT: '-0.02' }) },
    });
    expect(parameters(challenged.states, 'NoChampion')).toMatchObject({ minImprovement: -0.02 });
  });

  test('leaves recall out of the gate at a floor of 0', () => {
    expect(challenged.states.QualityGate.Comment).toBe('Deploy only when validation:auc >= 0.75');
  });

  test.each([
    [{ minImprovement: 1.5 }, /qualityGate\.minImprovement/],
    [{ minValidationRecall: -0.1 }, /qualityGate\.minValidationRecall/],
    [{ transformInstanceType: 'm5.large' }, /qualityGate\.transformInstanceType/],
    [
      { transformInstanceType: 'ml.m5d.large' },
      /qualityGate\.transformInstanceType is "ml.m5d.large", an instance type with local NVMe storage/,
    ],
    [{ transformInstanceType: 'ml.g4dn.xlarge' }, /local NVMe storage/],
    // Instance store without a `d` in the name: the service-limits list, not a naming pattern, decides.
    [{ transformInstanceType: 'ml.g5.xlarge' }, /qualityGate\.transformInstanceType.*local NVMe storage/],
  ])('refuses %p with the setting to change', (qualityGate, message) => {
    expect(() => trainingStack('sandbox', { qualityGate })).toThrow(message);
  });
});
