import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { ENDPOINT_VARIANT_NAME } from '../contract/training-run';

export interface PipelineMonitoringProps {
  readonly namePrefix: string;
  readonly deliveryStream: firehose.IDeliveryStream;
  /** The ingest stream's longest buffering time: records older than this and a margin are late. */
  readonly deliveryBufferInterval: Duration;
  readonly crawlerLogGroup: logs.ILogGroup;
  readonly stateMachine: sfn.IStateMachine;
  readonly endpointName: string;
  /** Name and stage of the inference REST API (the dimensions of its metrics). */
  readonly apiName: string;
  readonly apiStage: string;
  readonly predictFunction: lambda.IFunction;
  /** The 5xx the predict function answers itself (InferenceApi.metricServerErrors). */
  readonly predictServerErrors: cloudwatch.Metric;
  /** The inference log: its stream, and the rows the predict function sent and failed to send. */
  readonly inferenceLog: {
    readonly stream: firehose.IDeliveryStream;
    readonly bufferInterval: Duration;
    readonly sentRows: cloudwatch.Metric;
    readonly failedRows: cloudwatch.Metric;
  };
  /** Where alarms are sent: the pipeline's notification topic. */
  readonly alarmTopic: sns.ITopic;
}

/** A metric of the endpoint's one production variant, as SageMaker publishes it under AWS/SageMaker. */
export function endpointMetric(endpointName: string, metricName: string, statistic: string, period: Duration) {
  return new cloudwatch.Metric({
    namespace: 'AWS/SageMaker',
    metricName,
    dimensionsMap: { EndpointName: endpointName, VariantName: ENDPOINT_VARIANT_NAME },
    statistic,
    period,
  });
}

/**
 * The name of one of the app's alarms. The notification topic admits CloudWatch only for alarms named this way
 * (`alarmName(namePrefix, '*')` is the pattern), so every alarm must take its name from here.
 */
export const alarmName = (namePrefix: string, id: string) => `${namePrefix}-${id}`;

/** Alarm thresholds, chosen for a fraud-scoring API; each alarm's description says what it means. */
export const ALARM_THRESHOLDS = {
  apiServerErrorRate: 0.05,
  apiP99LatencyMs: 5_000,
  modelP99LatencyMs: 2_000,
  /** How much longer than its buffering time a record may wait in a stream before delivery counts as stuck. */
  deliveryLateMarginSeconds: 900,
} as const;

/**
 * Observability for the whole pipeline: alarms on the serving path (API 5XX rate and p99 latency, the function's
 * errors and throttles, the endpoint's invocation errors and model latency, inference-log rows lost or not
 * converted), sent to the notification topic, and one dashboard that follows a record from ingest to prediction.
 */
export class PipelineMonitoring extends Construct {
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: cloudwatch.IAlarm[] = [];

  constructor(scope: Construct, id: string, props: PipelineMonitoringProps) {
    super(scope, id);
    const period = Duration.minutes(5);
    const api = (metricName: string, statistic: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/ApiGateway',
        metricName,
        dimensionsMap: { ApiName: props.apiName, Stage: props.apiStage },
        statistic,
        period,
      });
    const endpoint = (metricName: string, statistic: string) =>
      endpointMetric(props.endpointName, metricName, statistic, period);
    const apiServerErrorRate = api('5XXError', 'Average');
    const apiLatency = api('Latency', 'p99');
    // SageMaker reports ModelLatency in microseconds.
    const modelLatencyMs = new cloudwatch.MathExpression({
      expression: 'latency / 1000',
      usingMetrics: { latency: endpoint('ModelLatency', 'p99') },
      label: 'Model latency p99 (ms)',
      period,
    });
    const endpointErrors = new cloudwatch.MathExpression({
      // FILL keeps a period in which only one of the two error metrics has data.
      expression: 'FILL(e4, 0) + FILL(e5, 0)',
      usingMetrics: { e4: endpoint('Invocation4XXErrors', 'Sum'), e5: endpoint('Invocation5XXErrors', 'Sum') },
      label: 'Endpoint invocation errors',
      period,
    });

    const alarmProps = (metric: cloudwatch.IMetric, threshold: number, description: string) => ({
      namePrefix: props.namePrefix,
      topic: props.alarmTopic,
      metric,
      threshold,
      description,
    });
    const log = props.inferenceLog;
    this.alarms.push(
      new PipelineAlarm(
        this,
        'ApiServerErrors',
        alarmProps(apiServerErrorRate, ALARM_THRESHOLDS.apiServerErrorRate, 'Over 5% of API requests end in a 5XX'),
      ),
      new PipelineAlarm(
        this,
        'ApiLatency',
        alarmProps(apiLatency, ALARM_THRESHOLDS.apiP99LatencyMs, 'API p99 latency is 5 s or more'),
      ),
      new PipelineAlarm(
        this,
        'PredictErrors',
        alarmProps(
          props.predictFunction.metricErrors({ period, statistic: 'Sum' }),
          1,
          'The predict function threw; the API answers 502 while it does',
        ),
      ),
      new PipelineAlarm(
        this,
        'PredictServerErrors',
        alarmProps(
          props.predictServerErrors.with({ period, statistic: 'Sum' }),
          1,
          'The predict function answered with a 5XX (endpoint missing or failing, model error, timeout); see its logs',
        ),
      ),
      new PipelineAlarm(
        this,
        'PredictThrottles',
        alarmProps(
          props.predictFunction.metricThrottles({ period, statistic: 'Sum' }),
          1,
          'The predict function was throttled: raise its concurrency or lower the usage-plan limits',
        ),
      ),
      new PipelineAlarm(
        this,
        'EndpointErrors',
        alarmProps(endpointErrors, 1, 'The SageMaker endpoint answered invocations with errors'),
      ),
      new PipelineAlarm(
        this,
        'ModelLatency',
        alarmProps(modelLatencyMs, ALARM_THRESHOLDS.modelP99LatencyMs, 'Model p99 latency is 2 s or more'),
      ),
      // Rows missing from the lake skew drift and quality, so one period with a lost row is enough.
      new PipelineAlarm(this, 'InferenceLogFailures', {
        ...alarmProps(
          log.failedRows.with({ period, statistic: 'Sum' }),
          1,
          'Scored records were not confirmed by the inference log stream (failing, throttled, or slower than the budget); the predictions were answered; see the predict logs',
        ),
        datapointsToAlarm: 1,
      }),
      // Firehose retries a failing S3 write (a disabled key, a changed bucket policy) for up to a day and then drops
      // the records; the error prefix receives only conversion failures. The age of the oldest undelivered record
      // is the one signal of that.
      ...[
        {
          id: 'IngestDeliveryLate',
          stream: props.deliveryStream,
          interval: props.deliveryBufferInterval,
          what: 'events',
        },
        {
          id: 'InferenceLogDeliveryLate',
          stream: log.stream,
          interval: log.bufferInterval,
          what: 'inference-log rows',
        },
      ].map(({ id, stream, interval, what }) => {
        const threshold = interval.toSeconds() + ALARM_THRESHOLDS.deliveryLateMarginSeconds;
        return new PipelineAlarm(
          this,
          id,
          alarmProps(
            stream.metric('DeliveryToS3.DataFreshness', { period, statistic: 'Maximum' }),
            threshold,
            `Firehose has held ${what} for ${threshold} s or more without delivering them to S3 (it drops them after a day of retries); see the stream's error log`,
          ),
        );
      }),
      new PipelineAlarm(this, 'InferenceLogConversionErrors', {
        ...alarmProps(
          log.stream.metric('FailedConversion.Records', { period, statistic: 'Sum' }),
          1,
          'Firehose could not convert inference-log rows to Parquet; they are under prediction-errors/ in the raw bucket',
        ),
        datapointsToAlarm: 1,
      }),
    );

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${props.namePrefix}-pipeline`,
      defaultInterval: Duration.hours(24),
    });
    const graph = (title: string, left: cloudwatch.IMetric[], right: cloudwatch.IMetric[] = []) =>
      new cloudwatch.GraphWidget({ title, left, right, width: 8, height: 6 });
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `# ${props.namePrefix}: ingest → lake → training → endpoint → API`,
        width: 24,
        height: 1,
      }),
    );
    this.dashboard.addWidgets(
      graph(
        'Ingest: records in and delivered',
        [
          props.deliveryStream.metricIncomingRecords({ period, statistic: 'Sum' }),
          props.deliveryStream.metric('DeliveryToS3.Records', { period, statistic: 'Sum' }),
        ],
        [props.deliveryStream.metric('DeliveryToS3.DataFreshness', { period, statistic: 'Maximum' })],
      ),
      new cloudwatch.LogQueryWidget({
        title: 'Crawler: latest log lines',
        logGroupNames: [props.crawlerLogGroup.logGroupName],
        queryLines: ['fields @timestamp, @message', 'sort @timestamp desc', 'limit 20'],
        width: 8,
        height: 6,
      }),
      graph('Training pipeline runs', [
        props.stateMachine.metricStarted({ period: Duration.hours(1) }),
        props.stateMachine.metricSucceeded({ period: Duration.hours(1) }),
        props.stateMachine.metricFailed({ period: Duration.hours(1) }),
      ]),
    );
    this.dashboard.addWidgets(
      graph('Endpoint: invocations and errors', [endpoint('Invocations', 'Sum'), endpointErrors], [modelLatencyMs]),
      graph(
        'API: requests and errors',
        [api('Count', 'Sum'), api('4XXError', 'Sum'), api('5XXError', 'Sum')],
        [apiLatency],
      ),
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 8, height: 6 }),
    );
    this.dashboard.addWidgets(
      graph(
        'Inference log: rows sent, failed and delivered',
        [
          log.sentRows.with({ period, statistic: 'Sum' }),
          log.failedRows.with({ period, statistic: 'Sum' }),
          log.stream.metric('DeliveryToS3.Records', { period, statistic: 'Sum' }),
        ],
        [log.stream.metric('DeliveryToS3.DataFreshness', { period, statistic: 'Maximum' })],
      ),
    );
  }
}

export interface PipelineAlarmProps {
  readonly namePrefix: string;
  readonly topic: sns.ITopic;
  readonly metric: cloudwatch.IMetric;
  readonly threshold: number;
  readonly description: string;
  /** Periods that are evaluated. @default 3 */
  readonly evaluationPeriods?: number;
  /** Periods of those that must reach the threshold. @default 2 */
  readonly datapointsToAlarm?: number;
  /** How a period reaches the threshold. @default GREATER_THAN_OR_EQUAL_TO_THRESHOLD */
  readonly comparisonOperator?: cloudwatch.ComparisonOperator;
}

/**
 * An alarm that fires when two (or `datapointsToAlarm`) of the last three periods reach the threshold, treats
 * missing data as fine (an idle sandbox is healthy, and a window without data is no alarm), and notifies the topic
 * both when it fires and when it recovers.
 */
export class PipelineAlarm extends cloudwatch.Alarm {
  constructor(scope: Construct, id: string, props: PipelineAlarmProps) {
    super(scope, id, {
      alarmName: alarmName(props.namePrefix, id),
      alarmDescription: props.description,
      metric: props.metric,
      threshold: props.threshold,
      evaluationPeriods: props.evaluationPeriods ?? 3,
      datapointsToAlarm: props.datapointsToAlarm ?? 2,
      comparisonOperator: props.comparisonOperator ?? cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.addAlarmAction(new actions.SnsAction(props.topic));
    this.addOkAction(new actions.SnsAction(props.topic));
  }
}
