import { Match } from 'aws-cdk-lib/assertions';
import { FAILURE_HANDLING_STATES, REPORT_STATE, type RunReport } from '../../lib/contract/training-run';
import { XGBOOST_REGISTRY_ACCOUNTS } from '../../lib/training/xgboost-image';
import { PIPELINE_STATE_MACHINE, normalizedTemplate, stateMachineDefinition, synthPipeline } from '../helpers';

const { training: template } = synthPipeline({ stage: 'sandbox' });
const states = (
  stateMachineDefinition(template, PIPELINE_STATE_MACHINE) as { States: Record<string, Record<string, unknown>> }
).States;
const trainState = states.TrainModel;
const trainParameters = trainState.Parameters as Record<string, unknown>;

/** The statements of the IAM policy attached to the role whose logical id starts with `rolePrefix`. */
function policyStatements(
  rolePrefix: string,
): { Sid?: string; Action: string | string[]; Resource: unknown; Condition?: unknown }[] {
  const policy = Object.values(template.findResources('AWS::IAM::Policy')).find((p) =>
    JSON.stringify(p.Properties.Roles).includes(rolePrefix),
  );
  if (policy === undefined) throw new Error(`no policy for role ${rolePrefix}`);
  return policy.Properties.PolicyDocument.Statement;
}
const actionsOf = (statements: { Action: string | string[] }[]) =>
  statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));

/** Every intrinsic-function expression of the definition (the value of a field whose name ends in `.$`). */
function intrinsicExpressions(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(intrinsicExpressions);
  if (typeof node !== 'object' || node === null) return [];
  return Object.entries(node).flatMap(([key, value]) =>
    key.endsWith('.$') && typeof value === 'string' && value.startsWith('States.')
      ? [value]
      : intrinsicExpressions(value),
  );
}

/** The single-quoted string literals of an intrinsic expression, as written (escapes kept). */
function stringLiterals(expression: string): string[] {
  const literals: string[] = [];
  let current: string | undefined;
  for (let i = 0; i < expression.length; i += 1) {
    const char = expression[i];
    if (current === undefined) {
      if (char === "'") current = '';
    } else if (char === '\\') {
      current += char + expression[(i += 1)];
    } else if (char === "'") {
      literals.push(current);
      current = undefined;
    } else current += char;
  }
  return literals;
}

describe('the state machine definition', () => {
  test.each([...FAILURE_HANDLING_STATES, REPORT_STATE])(
    'has the state %s that the runner reads by name (lib/contract/training-run.ts)',
    (name) => {
      expect(Object.keys(states)).toContain(name);
    },
  );

  test('ends a successful run with the report state, whose fields are the run report', () => {
    const report = states[REPORT_STATE] as { End?: boolean; Parameters: Record<string, unknown> };
    expect(report.End).toBe(true);
    // A record over every key of RunReport: a field added to the contract fails to compile until it is listed here.
    const fields: Record<keyof RunReport, true> = {
      trainingJobName: true,
      validationAuc: true,
      validationMetrics: true,
      modelArtifacts: true,
      billableSeconds: true,
      trainingSeconds: true,
      spotSavingPercent: true,
      comparison: true,
      modelPackageArn: true,
      approval: true,
      endpointName: true,
      endpointConfigName: true,
    };
    const reported = Object.keys(report.Parameters).map((key) => key.replace(/\.\$$/, ''));
    expect(reported.sort()).toEqual(Object.keys(fields).sort());
  });

  test("escapes the characters ASL reserves in intrinsic-function literals, except States.Format's {} fields", () => {
    // Amazon States Language: ' { } and \ are reserved in an intrinsic function's string literal and must be
    // escaped with a backslash; an unescaped one fails the state at run time, which local engines do not check.
    const expressions = intrinsicExpressions(stateMachineDefinition(template, PIPELINE_STATE_MACHINE));
    expect(expressions.length).toBeGreaterThan(5);
    const unescaped = expressions.flatMap((expression) =>
      stringLiterals(expression)
        .map((literal) => literal.replace(/\\./g, '').replace(/\{\}/g, ''))
        .filter((rest) => /[{}]/.test(rest))
        .map((rest) => `${expression.slice(0, 60)}…: ${rest.slice(0, 60)}`),
    );
    expect(unescaped).toEqual([]);
  });
});

describe('the training state', () => {
  test('runs the training job synchronously (.sync)', () => {
    expect(trainState.Resource).toBe('arn:aws:states:::sagemaker:createTrainingJob.sync');
  });

  test('uses managed spot training with a max wait above the max runtime', () => {
    expect(trainParameters.EnableManagedSpotTraining).toBe(true);
    expect(trainParameters.StoppingCondition).toEqual({ MaxRuntimeInSeconds: 3600, MaxWaitTimeInSeconds: 7200 });
  });

  test('checkpoints to a prefix of the job in the checkpoints bucket', () => {
    const checkpoint = trainParameters.CheckpointConfig as Record<string, string>;
    expect(checkpoint['S3Uri.$']).toMatch(
      /^States\.Format\('s3:\/\/TOKEN_.*CheckpointsBucket.*\/\{\}\/', \$\.run\.id\)$/,
    );
  });

  test('encrypts the volume and the output with the lake key and isolates the container from the network', () => {
    expect(trainParameters.EnableNetworkIsolation).toBe(true);
    expect(JSON.stringify((trainParameters.ResourceConfig as Record<string, unknown>).VolumeKmsKeyId)).toContain(
      'EncryptionKey',
    );
    expect(JSON.stringify((trainParameters.OutputDataConfig as Record<string, unknown>).KmsKeyId)).toContain(
      'EncryptionKey',
    );
    expect(trainParameters.ResourceConfig).toMatchObject({
      InstanceType: 'ml.m5.xlarge',
      InstanceCount: 1,
      VolumeSizeInGB: 10,
    });
  });

  test('writes the model to an s3:// URI under the models prefix', () => {
    const output = trainParameters.OutputDataConfig as Record<string, unknown>;
    expect(String(output.S3OutputPath)).toMatch(/^s3:\/\/TOKEN_.*ModelsBucket.*\/models\/$/);
  });

  test('trains binary:logistic XGBoost, stopping early on AUC, with the configured hyperparameters', () => {
    expect(trainParameters.HyperParameters).toEqual({
      objective: 'binary:logistic',
      eval_metric: 'accuracy,precision,recall,f1_binary,auc',
      num_round: '200',
      early_stopping_rounds: '30',
      max_depth: '5',
      eta: '0.2',
      subsample: '0.8',
      colsample_bytree: '1',
      scale_pos_weight: '10',
      min_child_weight: '5',
      gamma: '0',
      lambda: '5',
      alpha: '0',
    });
  });

  test('pulls the pinned XGBoost image through the region map in the template', () => {
    const image = (trainParameters.AlgorithmSpecification as Record<string, string>).TrainingImage;
    expect(image).toMatch(/^TOKEN_.*FindInMap.*\.dkr\.ecr\.eu-west-1\.amazonaws\.com\/sagemaker-xgboost:1\.7-1$/);
    const mappings = template.toJSON().Mappings as Record<string, Record<string, { account: string }>>;
    const registry = Object.entries(mappings).find(([id]) => id.includes('XgboostImageRegistry'))?.[1];
    expect(registry?.['us-east-1']).toEqual({ account: XGBOOST_REGISTRY_ACCOUNTS['us-east-1'] });
    expect(Object.keys(registry ?? {})).toHaveLength(Object.keys(XGBOOST_REGISTRY_ACCOUNTS).length);
  });

  test("feeds the train and validation channels Parquet from the run's split partitions", () => {
    const channels = trainParameters.InputDataConfig as { ChannelName: string; ContentType: string }[];
    expect(channels.map((c) => [c.ChannelName, c.ContentType])).toEqual([
      ['train', 'application/x-parquet'],
      ['validation', 'application/x-parquet'],
    ]);
    expect(JSON.stringify(channels)).toContain('/training-exports/{}/split=validation/');
  });
});

describe('the pipeline roles', () => {
  test('lets the state machine pass only the SageMaker role, and only to SageMaker', () => {
    const passRole = policyStatements('PipelineStateMachineRole').filter((s) =>
      actionsOf([s]).includes('iam:PassRole'),
    );
    expect(passRole.length).toBeGreaterThan(0);
    for (const statement of passRole) {
      expect(JSON.stringify(statement.Resource)).toMatch(
        /^\{"Fn::GetAtt":\["PipelineSageMakerRole[0-9A-F]+","Arn"\]\}$/,
      );
    }
    expect(passRole.some((s) => JSON.stringify(s.Condition ?? {}).includes('sagemaker.amazonaws.com'))).toBe(true);
  });

  test('gives the state machine no Glue write or S3 delete permissions', () => {
    const actions = actionsOf(policyStatements('PipelineStateMachineRole'));
    expect(actions.filter((a) => /^glue:(Create|Delete|Update|BatchCreate|BatchDelete)/.test(a))).toEqual([]);
    expect(actions.filter((a) => /^s3:(Delete|CreateBucket|\*)/.test(a))).toEqual([]);
  });

  test('lets SageMaker read training exports, write models and checkpoints, and nothing broader', () => {
    const statements = policyStatements('PipelineSageMakerRole');
    const bySid = Object.fromEntries(statements.map((s) => [s.Sid, s]));
    expect(bySid.ReadTrainingExports.Action).toEqual('s3:GetObject');
    expect(JSON.stringify(bySid.ReadTrainingExports.Resource)).toContain('/training-exports/*');
    expect(JSON.stringify(bySid.WriteModelsAndCheckpoints.Resource)).toContain('/models/*');
    expect(actionsOf(statements).filter((a) => a.includes('Delete') || a === 's3:*')).toEqual([]);
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Principal: { Service: 'sagemaker.amazonaws.com' } })],
      },
      ManagedPolicyArns: Match.absent(),
    });
  });
});

describe('the state machine resource', () => {
  test('logs to an encrypted log group without execution data and traces with X-Ray', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: 'mlpipe-sandbox-training',
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: false }),
    });
  });

  test('publishes failures to a KMS-encrypted topic', () => {
    template.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::ImportValue': Match.stringLikeRegexp('EncryptionKey') },
    });
  });
});

describe('the SageMaker clean-up on stack deletion', () => {
  test('is a custom resource that finds the pipeline resources by their owner tag', () => {
    template.hasResourceProperties('Custom::SageMakerCleanup', {
      OwnerTagKey: 'ml-pipeline:owner',
      OwnerTagValue: 'mlpipe-sandbox-training-pipeline',
    });
    // Every SageMaker resource the pipeline creates carries that same tag.
    for (const state of ['CreateModel', 'CreateEndpointConfig', 'CreateEndpoint']) {
      expect((states[state].Parameters as { Tags: unknown }).Tags).toContainEqual({
        Key: 'ml-pipeline:owner',
        Value: 'mlpipe-sandbox-training-pipeline',
      });
    }
  });

  test('registers versions without tags, which a versioned package takes from its tagged group', () => {
    expect(states.RegisterModel.Parameters).not.toHaveProperty('Tags');
    expect(states.RegisterModel.Parameters).toMatchObject({ 'ClientToken.$': '$.run.token' });
    template.hasResourceProperties('AWS::SageMaker::ModelPackageGroup', {
      ModelPackageGroupName: 'mlpipe-sandbox-models',
      Tags: Match.arrayWith([{ Key: 'ml-pipeline:owner', Value: 'mlpipe-sandbox-training-pipeline' }]),
    });
  });

  test('may delete only the stage endpoint, and only then the run-named configs and models', () => {
    const onEvent = policyStatements('SageMakerCleanupOnEventHandlerRole');
    expect(onEvent.find((s) => s.Sid === 'DeletePipelineEndpoint')).toMatchObject({
      Action: 'sagemaker:DeleteEndpoint',
      Resource: { 'Fn::Join': ['', expect.arrayContaining([':endpoint/mlpipe-sandbox-fraud'])] },
    });
    const isComplete = policyStatements('SageMakerCleanupIsCompleteHandlerRole');
    const deletes = isComplete.find((s) => s.Sid === 'DeletePipelineResources');
    expect(deletes?.Action).toEqual(['sagemaker:DeleteEndpointConfig', 'sagemaker:DeleteModel']);
    const resources = JSON.stringify(deletes?.Resource);
    expect(resources).toContain(':endpoint-config/mlpipe-sandbox-*');
    expect(resources).toContain(':model/mlpipe-sandbox-*');
    expect(actionsOf(isComplete)).not.toContain('sagemaker:DeleteEndpoint');
  });

  test.each(['onEvent', 'isComplete'])('runs its %s handler on Node.js 24 for arm64 with tracing', (handler) => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: `index.${handler}`,
      Description: Match.stringLikeRegexp('Deletes the SageMaker resources'),
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      Environment: { Variables: Match.objectLike({ OWNER_TAG_KEY: 'ml-pipeline:owner' }) },
    });
  });

  test('keeps the ServiceToken of deployed stacks: the provider framework takes over the function it names', () => {
    // CloudFormation refuses to change a custom resource's ServiceToken.
    template.hasResourceProperties('Custom::SageMakerCleanup', {
      ServiceToken: { 'Fn::GetAtt': ['SageMakerCleanupHandlerFunction697CC824', 'Arn'] },
    });
    expect(template.findResources('AWS::Lambda::Function').SageMakerCleanupHandlerFunction697CC824).toMatchObject({
      Properties: { Handler: 'framework.onEvent' },
    });
  });
});

describe('the logical ids a deployed stack has', () => {
  test.each([
    ['AWS::StepFunctions::StateMachine', 'PipelineStateMachine1814BD05'],
    ['AWS::IAM::Role', 'PipelineStateMachineRole61BEBDFF'],
    ['AWS::IAM::Role', 'PipelineSageMakerRole051BAB48'],
    ['AWS::IAM::Role', 'PipelineEvaluateTrainingFunctionRoleBC45AC2A'],
    ['AWS::Lambda::Function', 'PipelineEvaluateTrainingFunction5DEA949C'],
    ['AWS::Logs::LogGroup', 'PipelineExecutionLogsFBAC0865'],
    ['AWS::Logs::LogGroup', 'PipelineEvaluateTrainingFunctionLogs3F6040B2'],
    ['AWS::Logs::LogGroup', 'EndpointLogsC54E4891'],
    ['AWS::SNS::Topic', 'Notifications87298708'],
    ['Custom::SageMakerCleanup', 'SageMakerCleanupE3A54B10'],
  ])('include the %s %s', (type, logicalId) => {
    expect(Object.keys(template.findResources(type))).toContain(logicalId);
  });
});

describe('the Training stack', () => {
  test('matches the snapshot', () => {
    expect(normalizedTemplate(template)).toMatchSnapshot();
  });
});

describe("the endpoint's log group", () => {
  test('exists before any endpoint, with the stage retention, and outlives the clean-up on delete', () => {
    const [id] = Object.entries(template.findResources('AWS::Logs::LogGroup')).find(
      ([, g]) => g.Properties.LogGroupName === '/aws/sagemaker/Endpoints/mlpipe-sandbox-fraud',
    )!;
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: '/aws/sagemaker/Endpoints/mlpipe-sandbox-fraud',
      RetentionInDays: 14,
      KmsKeyId: Match.anyValue(),
    });
    const cleanup = Object.values(template.findResources('AWS::CloudFormation::CustomResource')).concat(
      Object.values(template.findResources('Custom::SageMakerCleanup')),
    );
    expect(cleanup).toHaveLength(1);
    expect(cleanup[0].DependsOn).toContain(id);
  });
});
