import { Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { PSI_DRIFT_THRESHOLD } from '../schema/drift-queries';
import { featureFields, type FeatureSchema } from '../schema/feature-schema';
import {
  MONITOR_METRICS,
  MONITOR_PLACEHOLDERS,
  monitoringInsertQuery,
  monitorRunQuery,
  type MonitorWindows,
} from '../schema/monitoring-queries';
import { EncryptedLogGroup } from '../shared/encrypted-log-group';
import { executionLogs } from '../shared/execution-logs';
import { retryTransient } from '../shared/retries';
import { MONITOR_METRICS_NAMESPACE, monitorServiceName } from '../contract/monitoring';
import { grantMonitorQueries, type MonitorAccessProps } from './monitor-access';
import { PipelineAlarm, alarmName, type PipelineAlarmProps } from './pipeline-monitoring';

export interface DriftMonitorProps extends MonitorAccessProps {
  /** Prefix of the state machine, the schedule, the alarms and the metrics' service dimension. */
  readonly namePrefix: string;
  readonly schema: FeatureSchema;
  /** The lake's tables and the windows measured over them. */
  readonly windows: MonitorWindows;
  /** The Athena workgroup the queries run in. */
  readonly workgroupName: string;
  /** The endpoint whose model is measured: the one the API calls. */
  readonly endpointName: string;
  readonly rawBucket: s3.IBucket;
  readonly modelsBucket: s3.IBucket;
  readonly curatedBucket: s3.IBucket;
  readonly athenaResultsBucket: s3.IBucket;
  readonly encryptionKey: kms.IKey;
  /** An EventBridge Scheduler expression, or null to run the monitor by hand only. */
  readonly schedule: string | null;
  /** Realized recall below which the quality alarm fires. */
  readonly minRealizedRecall: number;
  /** Where the alarms notify. */
  readonly alarmTopic: sns.ITopic;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The monitor: a Step Functions workflow, started on a schedule, that measures the model the endpoint serves.
 *
 * ReadServingModel (DescribeEndpoint: the endpoint config, named after the training run) → Measure (one Athena
 * INSERT: feature PSI against that run's baseline, the score against an earlier window, realized quality where
 * labels arrived; lib/schema/monitoring-queries.ts) → ReadMeasures → PublishMeasures (a CloudWatch metric per
 * measure). No endpoint, or a window without data, publishes nothing: no metric is no alarm. The alarms (feature
 * drift, score drift, realized recall) notify the topic, and may start a retrain (retrain-trigger.ts).
 */
export class DriftMonitor extends Construct {
  readonly stateMachine: sfn.IStateMachine;
  /** Fires when a feature's PSI, or the score's, is above the drift threshold, or realized recall below its floor. */
  readonly alarms: {
    readonly featureDrift: cloudwatch.Alarm;
    readonly scoreDrift: cloudwatch.Alarm;
    readonly recall: cloudwatch.Alarm;
  };
  /**
   * In ALARM while any of the three is: the one signal the retrain trigger listens to. One monitor run often trips
   * feature and score drift together, and two signals seconds apart could start two retrains before either sees
   * the other.
   */
  readonly anyAlarm: cloudwatch.IAlarm;

  constructor(scope: Construct, id: string, props: DriftMonitorProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { database } = props.windows;
    const service = monitorServiceName(props.namePrefix);
    const endpointArn = stack.formatArn({
      service: 'sagemaker',
      resource: 'endpoint',
      resourceName: props.endpointName,
    });

    const readModel = new tasks.CallAwsService(this, 'ReadServingModel', {
      service: 'sagemaker',
      action: 'describeEndpoint',
      parameters: { EndpointName: props.endpointName },
      iamResources: [endpointArn],
      resultSelector: { 'name.$': '$.EndpointConfigName' },
      resultPath: '$.model',
    });
    retryTransient(readModel, 'sagemakerSdk');
    const noModel = new sfn.Succeed(this, 'NoModelServed', {
      comment: 'No endpoint yet: nothing to measure, and no metric, so no alarm',
    });
    const failed = new sfn.Fail(this, 'MonitorFailed', { errorPath: '$.failure.Error', causePath: '$.failure.Cause' });
    readModel.addCatch(
      new sfn.Choice(this, 'IsEndpointMissing')
        .when(sfn.Condition.stringMatches('$.failure.Cause', '*Could not find endpoint*'), noModel)
        .otherwise(failed),
      { errors: [sfn.Errors.ALL], resultPath: '$.failure' },
    );

    /** An Athena task of the optimized integration, with its retries and its errors sent to the failure. */
    const athena = (task: sfn.CustomState) =>
      retryTransient(task, 'athena').addCatch(failed, { errors: [sfn.Errors.ALL], resultPath: '$.failure' });
    const startQuery = (comment: string, sql: string, resultPath: string | null) => ({
      stateJson: {
        Type: 'Task',
        Comment: comment,
        Resource: `arn:${stack.partition}:states:::athena:startQueryExecution.sync`,
        Parameters: {
          ...sfn.FieldUtils.renderObject({ QueryString: formatPlaceholders(sql) }),
          QueryExecutionContext: { Database: database },
          WorkGroup: props.workgroupName,
        },
        ...(resultPath === null ? {} : { ResultSelector: { 'id.$': '$.QueryExecution.QueryExecutionId' } }),
        ResultPath: resultPath,
      },
    });
    const { windowHours, labelWindowDays } = props.windows;
    const measure = athena(
      new sfn.CustomState(
        this,
        'Measure',
        startQuery(
          `Feature and score drift over ${windowHours} h, realized quality over ${labelWindowDays} d, into the monitoring table`,
          monitoringInsertQuery(props.schema, props.windows),
          null,
        ),
      ),
    );
    const readMeasures = athena(
      new sfn.CustomState(
        this,
        'ReadMeasures',
        startQuery("This run's measures", monitorRunQuery(database), '$.measures'),
      ),
    );
    const getMeasures = athena(
      new sfn.CustomState(this, 'GetMeasures', {
        stateJson: {
          Type: 'Task',
          Comment: 'The measures as rows: a header, then metric, dimension, value, records',
          Resource: `arn:${stack.partition}:states:::athena:getQueryResults`,
          Parameters: { 'QueryExecutionId.$': '$.measures.id', MaxResults: 1000 },
          ResultSelector: { 'rows.$': '$.ResultSet.Rows' },
          ResultPath: '$.results',
        },
      }),
    );

    const putMetric = (dimensions: object[]): sfn.CustomStateProps => ({
      stateJson: {
        Type: 'Task',
        Resource: `arn:${stack.partition}:states:::aws-sdk:cloudwatch:putMetricData`,
        Parameters: {
          Namespace: MONITOR_METRICS_NAMESPACE,
          MetricData: [
            {
              'MetricName.$': '$.row.Data[0].VarCharValue',
              Dimensions: [{ Name: 'service', Value: service }, ...dimensions],
              'Value.$': 'States.StringToJson($.row.Data[2].VarCharValue)',
              Unit: 'None',
            },
          ],
        },
        ResultPath: null,
      },
    });
    const putFeature = new sfn.CustomState(
      this,
      'PutFeatureMetric',
      putMetric([{ Name: 'feature', 'Value.$': '$.row.Data[1].VarCharValue' }]),
    );
    const putPlain = new sfn.CustomState(this, 'PutMetric', putMetric([]));
    for (const task of [putFeature, putPlain]) retryTransient(task, 'cloudwatch');
    const publishOne = new sfn.Choice(this, 'IsMeasure')
      // The first row of GetQueryResults holds the column names.
      .when(sfn.Condition.numberEquals('$.index', 0), new sfn.Pass(this, 'SkipHeader'))
      .when(
        sfn.Condition.and(
          sfn.Condition.isPresent('$.row.Data[1].VarCharValue'),
          sfn.Condition.not(sfn.Condition.stringEquals('$.row.Data[1].VarCharValue', '')),
        ),
        putFeature,
      )
      .otherwise(putPlain);
    const publish = new sfn.Map(this, 'PublishMeasures', {
      itemsPath: '$.results.rows',
      itemSelector: { 'row.$': '$$.Map.Item.Value', 'index.$': '$$.Map.Item.Index' },
      maxConcurrency: 5,
      resultPath: sfn.JsonPath.DISCARD,
    });
    publish.itemProcessor(publishOne);
    publish.addCatch(failed, { errors: [sfn.Errors.ALL], resultPath: '$.failure' });

    const stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: `${props.namePrefix}-monitor`,
      comment: 'Measures drift and realized quality of the served model from the inference log',
      definitionBody: sfn.DefinitionBody.fromChainable(
        sfn.Chain.start(readModel)
          .next(measure)
          .next(readMeasures)
          .next(getMeasures)
          .next(publish)
          .next(new sfn.Succeed(this, 'Measured')),
      ),
      stateMachineType: sfn.StateMachineType.STANDARD,
      tracingEnabled: true,
      logs: executionLogs(
        new EncryptedLogGroup(this, 'ExecutionLogs', {
          encryptionKey: props.encryptionKey,
          retention: props.logRetention,
          removalPolicy: props.removalPolicy,
        }),
      ),
      timeout: Duration.hours(1),
    });
    this.stateMachine = stateMachine;
    grantMonitorQueries(this, stateMachine.role, props);

    if (props.schedule !== null) {
      new scheduler.Schedule(this, 'Schedule', {
        scheduleName: `${props.namePrefix}-monitor`,
        description: 'Starts the drift and quality monitor',
        schedule: scheduler.ScheduleExpression.expression(props.schedule),
        target: new targets.StepFunctionsStartExecution(this.stateMachine, {}),
      });
    }
    this.alarms = this.createAlarms(props, service);
    this.anyAlarm = new cloudwatch.CompositeAlarm(this, 'DriftOrQuality', {
      compositeAlarmName: alarmName(props.namePrefix, 'DriftOrQuality'),
      alarmDescription: 'Feature drift, score drift or low realized recall: what starts a retrain',
      alarmRule: cloudwatch.AlarmRule.anyOf(...Object.values(this.alarms)),
    });
  }

  private createAlarms(props: DriftMonitorProps, service: string) {
    const period = Duration.hours(1);
    const metric = (metricName: string, dimensions: Record<string, string> = {}) =>
      new cloudwatch.Metric({
        namespace: MONITOR_METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service, ...dimensions },
        statistic: 'Maximum',
        period,
      });
    const features = featureFields(props.schema).map((f) => f.name);
    // One alarm for all features: the largest PSI among them. Metric math takes at most 10 metrics per alarm.
    if (features.length > 10) {
      throw new Error(`DriftMonitor: ${features.length} features; one alarm's metric math reads at most 10`);
    }
    const usingMetrics = Object.fromEntries(
      features.map((f, i) => [`f${i}`, metric(MONITOR_METRICS.featurePsi, { feature: f })]),
    );
    // Each monitor run gives one value per hour; the first period past a limit alarms.
    const alarm = (
      m: cloudwatch.IMetric,
      threshold: number,
      description: string,
      below = false,
    ): PipelineAlarmProps => ({
      namePrefix: props.namePrefix,
      topic: props.alarmTopic,
      metric: m,
      threshold,
      description,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      comparisonOperator: below
        ? cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD
        : cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    return {
      featureDrift: new PipelineAlarm(
        this,
        'FeatureDrift',
        alarm(
          new cloudwatch.MathExpression({
            expression: `MAX([${Object.keys(usingMetrics).join(', ')}])`,
            usingMetrics,
            label: 'Largest feature PSI',
            period,
          }),
          PSI_DRIFT_THRESHOLD,
          `A feature's PSI against the serving model's training baseline is above ${PSI_DRIFT_THRESHOLD}; see the monitoring table for which`,
        ),
      ),
      scoreDrift: new PipelineAlarm(
        this,
        'ScoreDrift',
        alarm(
          metric(MONITOR_METRICS.scorePsi),
          PSI_DRIFT_THRESHOLD,
          `The score's PSI against the model's earlier predictions is above ${PSI_DRIFT_THRESHOLD}`,
        ),
      ),
      recall: new PipelineAlarm(
        this,
        'RealizedRecallLow',
        alarm(
          metric(MONITOR_METRICS.recall).with({ statistic: 'Minimum' }),
          props.minRealizedRecall,
          `Realized recall, on the predictions whose labels have arrived, is below ${props.minRealizedRecall}`,
          true,
        ),
      ),
    };
  }
}

/**
 * A statement with `MONITOR_PLACEHOLDERS` as a `States.Format` over the state: the serving model's name
 * (`$.model.name`) and this execution's name, in the order they appear.
 */
function formatPlaceholders(sql: string): string {
  if (/[{}]/.test(sql))
    throw new Error('DriftMonitor: a monitor statement may not hold braces, which States.Format reads');
  const pattern = new RegExp(`${MONITOR_PLACEHOLDERS.model}|${MONITOR_PLACEHOLDERS.run}`, 'g');
  const args = [...sql.matchAll(pattern)].map(([found]) =>
    found === MONITOR_PLACEHOLDERS.model ? sfn.JsonPath.stringAt('$.model.name') : sfn.JsonPath.executionName,
  );
  return sfn.JsonPath.format(sql.replace(pattern, '{}'), ...args);
}
