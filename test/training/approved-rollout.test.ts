import aslValidator from 'asl-validator';
import { evaluateTraining } from '../../lambda/evaluate-training/evaluate';
import { parseReport } from '../../scripts/train/pipeline-runner';
import { PIPELINE_STATE_MACHINE, stateMachineDefinition, synthPipeline } from '../helpers';
import { awsError, runLocally, type Handler, type Json } from '../local-state-machine';

/**
 * Manual approval (prod's registry.approval): the training run registers a version and stops; approving the version
 * starts the approved-rollout workflow. Both run locally with every AWS call mocked.
 */
const { training, config } = synthPipeline({ stage: 'prod' });
const prefix = config.namePrefix;
const endpointName = config.serving.endpointName;
const PACKAGE = `arn:aws:sagemaker:eu-west-1:123456789012:model-package/${prefix}-models/4`;

const execute = (definition: Json, input: Json, handlers: Record<string, Handler>) =>
  runLocally(definition, input, handlers);

const guard = {
  FindRunningRuns: () => ({
    Executions: [{ ExecutionArn: 'arn:aws:states:eu-west-1:123456789012:execution:x:run-1' }],
  }),
};

describe('a training run with manual approval', () => {
  const definition = stateMachineDefinition(training, PIPELINE_STATE_MACHINE);
  const job = (input: Json) => ({
    TrainingJobName: input.TrainingJobName,
    TrainingJobStatus: 'Completed',
    ModelArtifacts: { S3ModelArtifacts: `s3://models/models/${String(input.TrainingJobName)}/output/model.tar.gz` },
    FinalMetricDataList: [
      { MetricName: 'validation:recall', Value: 0.8 },
      { MetricName: 'validation:auc', Value: 0.93 },
    ],
    EnableManagedSpotTraining: true,
    BillableTimeInSeconds: 100,
    TrainingTimeInSeconds: 300,
  });

  test('registers the gated model PendingManualApproval and leaves the endpoint alone', async () => {
    const run = await execute(
      definition,
      {},
      {
        ...guard,
        StartCrawler: () => ({}),
        GetCrawler: () => ({ Crawler: { State: 'READY', LastCrawl: { Status: 'SUCCEEDED' } } }),
        ExportDatasets: () => ({}),
        WriteBaseline: () => ({}),
        ExportScoringSet: () => ({}),
        TrainModel: job,
        EvaluateModel: (input) => ({
          StatusCode: 200,
          Payload: evaluateTraining(input.Payload as never, 'validation:auc'),
        }),
        // The first model: nothing serves yet, so there is no champion to challenge.
        FindChampion: () => {
          throw awsError('SageMaker.SageMakerException', `Could not find endpoint "${endpointName}".`);
        },
        WriteModelMetrics: () => ({}),
        RegisterModel: () => ({ ModelPackageArn: PACKAGE }),
        DescribeVersion: () => ({ ModelPackageStatus: 'Completed' }),
      },
    );
    expect(run.error).toBeUndefined();
    expect(run.calls.RegisterModel[0].ModelApprovalStatus).toBe('PendingManualApproval');
    expect(run.calls.CreateModel).toBeUndefined();
    expect(run.output).toMatchObject({
      modelPackageArn: PACKAGE,
      approval: 'PendingManualApproval',
      endpointConfigName: null,
    });
    expect(parseReport(JSON.stringify(run.output))).toEqual(run.output);
  });
});

describe('the approved-rollout workflow', () => {
  const definition = stateMachineDefinition(training, 'PipelineApprovedRolloutStateMachine');
  const approval = {
    source: 'aws.sagemaker',
    'detail-type': 'SageMaker Model Package State Change',
    detail: { ModelPackageGroupName: `${prefix}-models`, ModelPackageArn: PACKAGE, ModelApprovalStatus: 'Approved' },
  };
  let runId = '';
  const rollout = (status: string): Record<string, Handler> => ({
    ...guard,
    ReadApprovedVersion: () => ({
      ModelApprovalStatus: status,
      InferenceSpecification: { Containers: [{ ModelDataUrl: 's3://models/models/run-4/output/model.tar.gz' }] },
    }),
    CreateModel: (input) => {
      runId = String(input.ModelName);
      return { ModelArn: 'arn:model' };
    },
    CreateEndpointConfig: () => ({ EndpointConfigArn: 'arn:config' }),
    FindEndpoint: () => {
      throw awsError('SageMaker.SageMakerException', `Could not find endpoint "${endpointName}".`);
    },
    CreateEndpoint: () => ({ EndpointArn: 'arn:endpoint' }),
    DescribeEndpoint: () => ({ EndpointName: endpointName, EndpointConfigName: runId, EndpointStatus: 'InService' }),
    ListEndpointConfigs: () => ({ EndpointConfigs: [{ EndpointConfigName: runId }] }),
    ListModels: () => ({ Models: [{ ModelName: runId }] }),
  });

  test('is valid Amazon States Language', () => {
    const { isValid, errors } = aslValidator(definition);
    expect(errors).toEqual([]);
    expect(isValid).toBe(true);
  });

  test('rolls out the approved version, the model tagged with it, as the training pipeline would', async () => {
    const run = await execute(definition, approval, rollout('Approved'));
    expect(run.error).toBeUndefined();
    expect(run.calls.ReadApprovedVersion).toEqual([{ ModelPackageName: PACKAGE }]);
    // The model is made from the approved version itself, not from an artefact path.
    expect(run.calls.CreateModel[0].PrimaryContainer).toEqual({ ModelPackageName: PACKAGE });
    expect(run.calls.CreateModel[0].Tags).toContainEqual({ Key: 'ml-pipeline:model-package', Value: PACKAGE });
    expect(String(run.calls.CreateModel[0].ModelName)).toMatch(new RegExp(`^${prefix}-[0-9a-f-]{36}$`));
    expect(run.output).toEqual({ modelPackageArn: PACKAGE, endpointName, endpointConfigName: runId });
  });

  test("spares the candidate models while a training run is in progress, and deletes a stopped run's", async () => {
    const candidate = `${prefix}-0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9-c`;
    const withCandidate = (running: number): Record<string, Handler> => ({
      ...rollout('Approved'),
      ListModels: () => ({ Models: [{ ModelName: runId }, { ModelName: candidate }, { ModelName: `${prefix}-old` }] }),
      FindRunningTrainingRuns: () => ({
        Executions: Array.from({ length: running }, (_, i) => ({
          ExecutionArn: `arn:training:${i}`,
          Status: 'RUNNING',
        })),
      }),
      DeleteModel: () => ({}),
    });
    const during = await execute(definition, approval, withCandidate(1));
    expect(during.calls.FindRunningTrainingRuns).toEqual([
      {
        StateMachineArn: expect.stringMatching(new RegExp(`:stateMachine:${prefix}-training$`)),
        StatusFilter: 'RUNNING',
        MaxResults: 1,
      },
    ]);
    expect(during.calls.DeleteModel).toEqual([{ ModelName: `${prefix}-old` }]);
    const after = await execute(definition, approval, withCandidate(0));
    expect(after.calls.DeleteModel).toEqual([{ ModelName: candidate }, { ModelName: `${prefix}-old` }]);
    expect(after.error).toBeUndefined();
  });

  test('rolls out nothing for a version rejected since it was approved', async () => {
    const run = await execute(definition, approval, rollout('Rejected'));
    expect(run.error).toBeUndefined();
    expect(run.calls.CreateModel).toBeUndefined();
  });

  test('starts on the approval of a version of this stage group only', () => {
    training.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.sagemaker'],
        'detail-type': ['SageMaker Model Package State Change'],
        detail: { ModelPackageGroupName: [`${prefix}-models`], ModelApprovalStatus: ['Approved'] },
      },
    });
  });

  test('does not exist where approval is automatic (the sandbox)', () => {
    const sandbox = synthPipeline({ stage: 'sandbox' }).training;
    const rules = Object.values(sandbox.findResources('AWS::Events::Rule')).map((r) => JSON.stringify(r.Properties));
    expect(rules.filter((r) => r.includes('Model Package State Change'))).toEqual([]);
  });
});
