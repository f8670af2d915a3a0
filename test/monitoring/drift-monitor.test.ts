import aslValidator from 'asl-validator';
import { Match } from 'aws-cdk-lib/assertions';
import { MONITOR_METRICS } from '../../lib/schema/monitoring-queries';
import { stateMachineDefinition, synthPipeline } from '../helpers';
import { awsError, runLocally, type Handler, type Json } from '../local-state-machine';

/**
 * The monitor and the retrain trigger, synthesized and then executed locally: every AWS call is answered by a mock,
 * while Step Functions' own semantics (paths, intrinsic functions, Choice, Map, Retry and Catch) run for real.
 */
const { monitoring: template, config } = synthPipeline({ stage: 'sandbox' });
const prefix = config.namePrefix;
const monitor = stateMachineDefinition(template, 'DriftMonitor');
const trigger = stateMachineDefinition(template, 'RetrainTrigger');

const execute = (definition: Json, input: Json, handlers: Record<string, Handler>, executionName = 'exec-1') =>
  runLocally(definition, input, handlers, {
    executionName,
    stateMachineArn: `arn:aws:states:eu-west-1:123456789012:stateMachine:${prefix}-retrain-trigger`,
  });

/** GetQueryResults' rows: the header, then one row per measure, every value as text. */
const resultRows = (rows: readonly [string, string, string, string][]) => ({
  ResultSet: {
    Rows: [['metric', 'dimension', 'value', 'records'], ...rows].map((row) => ({
      Data: row.map((value) => (value === '' ? {} : { VarCharValue: value })),
    })),
  },
});

const monitorHandlers = (rows: readonly [string, string, string, string][]): Record<string, Handler> => ({
  ReadServingModel: () => ({ EndpointName: config.serving.endpointName, EndpointConfigName: `${prefix}-run-7` }),
  Measure: () => ({ QueryExecution: { QueryExecutionId: 'q-measure', Status: { State: 'SUCCEEDED' } } }),
  ReadMeasures: () => ({ QueryExecution: { QueryExecutionId: 'q-read', Status: { State: 'SUCCEEDED' } } }),
  GetMeasures: () => resultRows(rows),
  PutMetric: () => ({}),
  PutFeatureMetric: () => ({}),
});

describe('the monitor state machine', () => {
  test('is valid Amazon States Language, and so is the retrain trigger', () => {
    for (const definition of [monitor, trigger]) {
      const { isValid, errors } = aslValidator(definition);
      expect(errors).toEqual([]);
      expect(isValid).toBe(true);
    }
  });

  test("measures the model the endpoint serves, named in the query with this run's name", async () => {
    const run = await execute(monitor, {}, monitorHandlers([]), 'monitor-42');
    expect(run.error).toBeUndefined();
    expect(run.calls.ReadServingModel).toEqual([{ EndpointName: config.serving.endpointName }]);
    const sql = String(run.calls.Measure[0].QueryString);
    expect(sql).toContain(`"model_name" = '${prefix}-run-7'`);
    expect(sql).toContain(`WHERE "run" = '${prefix}-run-7'`);
    expect(sql).toContain(`'monitor-42'`);
    expect(sql).not.toMatch(/__MODEL_NAME__|__MONITOR_RUN__/);
    expect(String(run.calls.ReadMeasures[0].QueryString)).toContain(`"monitor_run" = 'monitor-42'`);
    expect(run.calls.GetMeasures).toEqual([{ QueryExecutionId: 'q-read', MaxResults: 1000 }]);
  });

  test('publishes one metric per measure, with the feature as a dimension where there is one', async () => {
    const run = await execute(
      monitor,
      {},
      monitorHandlers([
        [MONITOR_METRICS.featurePsi, 'amount', '0.31', '500'],
        [MONITOR_METRICS.scorePsi, '', '1.0E-4', '500'],
        [MONITOR_METRICS.recall, '', '0.8', '40'],
      ]),
    );
    expect(run.error).toBeUndefined();
    const service = { Name: 'service', Value: `${prefix}-monitor` };
    expect(run.calls.PutFeatureMetric.map((c) => c.MetricData)).toEqual([
      [
        {
          MetricName: 'FeaturePsi',
          Dimensions: [service, { Name: 'feature', Value: 'amount' }],
          Value: 0.31,
          Unit: 'None',
        },
      ],
    ]);
    expect(
      run.calls.PutMetric.map((c) => (c.MetricData as Json[])[0]).sort((a, b) =>
        String(a.MetricName).localeCompare(String(b.MetricName)),
      ),
    ).toEqual([
      { MetricName: 'RealizedRecall', Dimensions: [service], Value: 0.8, Unit: 'None' },
      { MetricName: 'ScorePsi', Dimensions: [service], Value: 0.0001, Unit: 'None' },
    ]);
    expect(new Set(run.calls.PutMetric.map((c) => c.Namespace))).toEqual(new Set(['MlPipeline/Monitor']));
  });

  test('publishes nothing for a window without data: no metric, no alarm', async () => {
    const run = await execute(monitor, {}, monitorHandlers([]));
    expect(run.error).toBeUndefined();
    expect(run.calls.PutMetric).toBeUndefined();
    expect(run.calls.PutFeatureMetric).toBeUndefined();
  });

  test('ends quietly while no endpoint exists, and fails on any other error of the lookup', async () => {
    const missing = await execute(
      monitor,
      {},
      {
        ...monitorHandlers([]),
        ReadServingModel: () => {
          throw awsError('SageMaker.SageMakerException', `Could not find endpoint "${config.serving.endpointName}".`);
        },
      },
    );
    expect(missing.error).toBeUndefined();
    expect(missing.calls.Measure).toBeUndefined();
    const denied = await execute(
      monitor,
      {},
      {
        ...monitorHandlers([]),
        ReadServingModel: () => {
          throw awsError('SageMaker.AccessDeniedException', 'not authorized');
        },
      },
    );
    expect(denied.error?.message ?? String(denied.error)).toMatch(/AccessDenied|not authorized/);
  });
});

describe('the monitor resources', () => {
  test('start on the configured schedule', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Name: `${prefix}-monitor`,
      ScheduleExpression: config.monitor.schedule,
      Target: Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp('^DriftMonitorStateMachine') } }),
    });
  });

  test('alarm on the largest feature PSI, the score PSI and realized recall, one hourly period each', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    const named = (id: string) => alarms.find((a) => a.AlarmName === `${prefix}-${id}`);
    const drift = named('FeatureDrift');
    expect(drift).toMatchObject({ Threshold: 0.2, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 1 });
    const expression = (drift?.Metrics as Json[]).find((m) => m.Expression !== undefined);
    expect(expression?.Expression).toMatch(/^MAX\(\[f0, f1, .*f7\]\)$/);
    expect(named('ScoreDrift')).toMatchObject({ MetricName: 'ScorePsi', Threshold: 0.2 });
    expect(named('RealizedRecallLow')).toMatchObject({
      MetricName: 'RealizedRecall',
      Threshold: config.monitor.minRealizedRecall,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  test('start the retrain trigger when one composite of the three enters ALARM, one event for any of them', () => {
    const [composite] = Object.entries(template.findResources('AWS::CloudWatch::CompositeAlarm'));
    expect(composite[1].Properties.AlarmName).toBe(`${prefix}-DriftOrQuality`);
    const rule = JSON.stringify(composite[1].Properties.AlarmRule);
    for (const id of ['FeatureDrift', 'ScoreDrift', 'RealizedRecallLow']) expect(rule).toContain(`DriftMonitor${id}`);
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.cloudwatch'],
        'detail-type': ['CloudWatch Alarm State Change'],
        detail: { state: { value: ['ALARM'] } },
        resources: [{ 'Fn::GetAtt': [composite[0], 'Arn'] }],
      },
    });
  });

  test('leave the trigger out where retraining on alarm is switched off (prod)', () => {
    const prod = synthPipeline({ stage: 'prod' }).monitoring;
    expect(Object.keys(prod.findResources('AWS::Events::Rule'))).toEqual([]);
    expect(Object.keys(prod.findResources('AWS::StepFunctions::StateMachine'))).toEqual([
      expect.stringMatching(/^DriftMonitor/),
    ]);
  });
});

describe('the retrain trigger', () => {
  const alarmEvent = {
    'detail-type': 'CloudWatch Alarm State Change',
    source: 'aws.cloudwatch',
    time: '2026-12-02T08:05:13Z',
    detail: { alarmName: `${prefix}-FeatureDrift`, state: { value: 'ALARM', reason: 'Threshold Crossed' } },
  };
  const self = (name: string) => `arn:aws:states:eu-west-1:123456789012:execution:x:${name}`;
  const handlers = (triggersRunning: string[], trainingRunning: number): Record<string, Handler> => ({
    FindRunningRuns: () => ({
      Executions: triggersRunning.map((name) => ({ ExecutionArn: self(name), Status: 'RUNNING' })),
    }),
    FindRunningTraining: () => ({
      Executions: Array.from({ length: trainingRunning }, (_, i) => ({ ExecutionArn: `t-${i}` })),
    }),
    StartTraining: () => ({ ExecutionArn: 'arn:training-run', StartDate: '2026-12-02T08:00:00Z' }),
  });

  test('starts one training run, with the alarm that asked for it, then waits out the cool-down', async () => {
    const run = await execute(trigger, alarmEvent, handlers(['trigger-1'], 0), 'trigger-1');
    expect(run.error).toBeUndefined();
    expect(run.calls.StartTraining).toHaveLength(1);
    expect(run.calls.StartTraining[0].StateMachineArn).toBe(
      `arn:aws:states:eu-west-1:123456789012:stateMachine:${prefix}-training`,
    );
    expect(run.calls.StartTraining[0].Name).toBe('retrain-2026-12-02T08');
    expect(JSON.parse(String(run.calls.StartTraining[0].Input))).toMatchObject({
      alarm: `${prefix}-FeatureDrift`,
      reason: 'Threshold Crossed',
    });
    const wait = (trigger.States as Record<string, Json>).CoolDown;
    expect(wait.Seconds).toBe(config.monitor.retrainCooldownHours * 3600);
  });

  test('starts nothing for a second alarm inside the cool-down: the first trigger is still waiting', async () => {
    // Newest first, as ListExecutions lists them: this trigger, then the one that retrained and waits.
    const run = await execute(trigger, alarmEvent, handlers(['trigger-2', 'trigger-1'], 0), 'trigger-2');
    expect(run.error).toBeUndefined();
    expect(run.calls.FindRunningTraining).toBeUndefined();
    expect(run.calls.StartTraining).toBeUndefined();
  });

  test('ends quietly when another trigger of the same hour started the run first', async () => {
    const run = await execute(
      trigger,
      alarmEvent,
      {
        ...handlers(['trigger-1'], 0),
        StartTraining: () => {
          throw awsError('Sfn.ExecutionAlreadyExistsException', 'Execution Already Exists: retrain-2026-12-02T08');
        },
      },
      'trigger-1',
    );
    expect(run.error).toBeUndefined();
    expect(run.calls.StartTraining).toHaveLength(1);
  });

  test('fails, without a cool-down, when the training run cannot be started', async () => {
    const run = await execute(
      trigger,
      alarmEvent,
      {
        ...handlers(['trigger-1'], 0),
        StartTraining: () => {
          throw awsError('Sfn.AccessDeniedException', 'not authorized');
        },
      },
      'trigger-1',
    );
    expect(run.calls.StartTraining).toHaveLength(1);
    expect(run.error).toBeDefined();
  });

  test('starts nothing while a training run is in progress', async () => {
    const run = await execute(trigger, alarmEvent, handlers(['trigger-1'], 1), 'trigger-1');
    expect(run.error).toBeUndefined();
    expect(run.calls.StartTraining).toBeUndefined();
  });
});
