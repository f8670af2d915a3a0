import { Duration, Size } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { SpotTrainingJob, type SpotTrainingJobProps } from '../../lib/training/spot-training-job';
import { bareStack, importedKey, importedRole, render } from './bare-stack';

function job(overrides: Partial<SpotTrainingJobProps> = {}) {
  const stack = bareStack();
  const state = new SpotTrainingJob(stack, 'TrainModel', {
    trainingJobName: sfn.JsonPath.stringAt('$.run.id'),
    role: importedRole(stack),
    imageUri: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/algorithm:1',
    channels: [{ name: 'train', s3Uri: 's3://exports/train/', contentType: 'application/x-parquet' }],
    outputUri: 's3://models/models/',
    encryptionKey: importedKey(stack),
    checkpointUri: sfn.JsonPath.format('s3://checkpoints/{}/', sfn.JsonPath.stringAt('$.run.id')),
    ...overrides,
  });
  return { stack, state };
}

function rendered(overrides: Partial<SpotTrainingJobProps> = {}) {
  const { stack, state } = job(overrides);
  const { states, statements } = render(stack, state);
  return { state: states.TrainModel, parameters: states.TrainModel.Parameters as Record<string, unknown>, statements };
}

describe('SpotTrainingJob', () => {
  test('runs createTrainingJob.sync on spot capacity with a max wait of twice the runtime and checkpoints', () => {
    const { state, parameters } = rendered();
    expect(state.Resource).toBe('arn:aws:states:::sagemaker:createTrainingJob.sync');
    expect(parameters.EnableManagedSpotTraining).toBe(true);
    expect(parameters.StoppingCondition).toEqual({ MaxRuntimeInSeconds: 3600, MaxWaitTimeInSeconds: 7200 });
    expect(parameters.CheckpointConfig).toEqual({ 'S3Uri.$': "States.Format('s3://checkpoints/{}/', $.run.id)" });
    expect(parameters['TrainingJobName.$']).toBe('$.run.id');
  });

  test('leaves the spot fields out when spot is off, and still checkpoints', () => {
    const { parameters } = rendered({ spot: false });
    expect(parameters.EnableManagedSpotTraining).toBeUndefined();
    expect(parameters.StoppingCondition).toEqual({ MaxRuntimeInSeconds: 3600 });
    expect(parameters.CheckpointConfig).toBeDefined();
  });

  test('encrypts the output and the volumes with the key, isolates the container and sizes the instances', () => {
    const { parameters } = rendered({
      instanceCount: 2,
      volumeSize: Size.gibibytes(30),
      instanceType: 'ml.c5.2xlarge',
    });
    expect(parameters.EnableNetworkIsolation).toBe(true);
    expect(parameters.ResourceConfig).toEqual({
      InstanceCount: 2,
      InstanceType: 'ml.c5.2xlarge',
      VolumeSizeInGB: 30,
      VolumeKmsKeyId: expect.stringContaining(':key/'),
    });
    expect(parameters.OutputDataConfig).toEqual({
      S3OutputPath: 's3://models/models/',
      KmsKeyId: expect.stringContaining(':key/'),
    });
  });

  test('renders its keys in the order of CDK task states, Retry and Catch before Type', () => {
    const { stack, state } = job({ resultPath: '$.job' });
    state.addRetry({ errors: ['SageMaker.AmazonSageMakerException'] });
    state.addCatch(new sfn.Pass(stack, 'Failed'), { errors: [sfn.Errors.ALL] });
    const { states } = render(stack, state);
    expect(Object.keys(states.TrainModel)).toEqual([
      'End',
      'Retry',
      'Catch',
      'Type',
      'ResultPath',
      'Resource',
      'Parameters',
    ]);
  });

  test("grants the state machine what the .sync integration needs, and passes only the job's role, only to SageMaker", () => {
    const { statements } = rendered();
    const actions = statements.flatMap((s) => [s.Action].flat());
    expect(actions).toEqual(
      expect.arrayContaining([
        'sagemaker:CreateTrainingJob',
        'sagemaker:DescribeTrainingJob',
        'sagemaker:StopTrainingJob',
        'sagemaker:AddTags',
        'sagemaker:ListTags',
        'events:PutTargets',
        'events:PutRule',
        'events:DescribeRule',
        'iam:PassRole',
      ]),
    );
    const passRole = statements.find((s) => s.Action === 'iam:PassRole');
    expect(passRole).toMatchObject({
      Resource: 'arn:aws:iam::123456789012:role/sagemaker',
      Condition: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
    });
    const rule = statements.find((s) => [s.Action].flat().includes('events:PutRule'));
    expect(JSON.stringify(rule?.Resource)).toContain(':rule/StepFunctionsGetEventsForSageMakerTrainingJobsRule');
  });
});

describe('SpotTrainingJob validation', () => {
  test.each<[string, Partial<SpotTrainingJobProps>, string]>([
    [
      'a max wait that does not exceed the max runtime',
      { maxRuntime: Duration.hours(2), maxWait: Duration.hours(1) },
      'SpotTrainingJob TrainModel: maxWait (3600 s) must exceed maxRuntime (7200 s), since the wait covers spot capacity plus the training; pass a maxWait of at least 7201 s',
    ],
    [
      'an instance type without the ml. prefix',
      { instanceType: 'm5.xlarge' },
      "SpotTrainingJob TrainModel: instanceType 'm5.xlarge' is not a SageMaker instance type; pass one such as 'ml.m5.xlarge'",
    ],
    [
      'no instance',
      { instanceCount: 0 },
      'SpotTrainingJob TrainModel: instanceCount 0 must be a whole number of at least 1',
    ],
    [
      'a volume that is not whole GiB',
      { volumeSize: Size.mebibytes(1536) },
      'SpotTrainingJob TrainModel: volumeSize (1.5 GiB) must be a whole number of GiB, at least 1; pass for example Size.gibibytes(10)',
    ],
    [
      'an https:// output location',
      { outputUri: 'https://models.s3.amazonaws.com/models/' },
      "SpotTrainingJob TrainModel: outputUri 'https://models.s3.amazonaws.com/models/' is not an s3:// URI (SageMaker reads an https:// URL's host as the bucket)",
    ],
    [
      'no channel',
      { channels: [] },
      'SpotTrainingJob TrainModel: channels is empty; pass at least the training channel',
    ],
  ])('rejects %s', (_, overrides, message) => {
    expect(() => job(overrides)).toThrow(message);
  });

  test('accepts a max wait at or below the runtime when spot is off', () => {
    expect(() => job({ spot: false, maxRuntime: Duration.hours(2), maxWait: Duration.hours(1) })).not.toThrow();
  });
});
