import { synthPipeline } from '../helpers';

const { monitoring: template } = synthPipeline({ stage: 'sandbox' });
const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
const alarmNamed = (name: string) => {
  const alarm = alarms.find((a) => a.Properties.AlarmName === `mlpipe-sandbox-${name}`);
  if (alarm === undefined) throw new Error(`no alarm ${name}`);
  return alarm.Properties;
};

describe('pipeline monitoring', () => {
  test('alarms on the API, the predict function and the endpoint', () => {
    expect(alarms.map((a) => a.Properties.AlarmName).sort()).toEqual(
      [
        'ApiLatency',
        'ApiServerErrors',
        'EndpointErrors',
        'EndpointIdle',
        'FeatureDrift',
        'InferenceLogConversionErrors',
        'InferenceLogDeliveryLate',
        'InferenceLogFailures',
        'IngestDeliveryLate',
        'ModelLatency',
        'PredictErrors',
        'PredictServerErrors',
        'PredictThrottles',
        'RealizedRecallLow',
        'ScoreDrift',
      ].map((n) => `mlpipe-sandbox-${n}`),
    );
  });

  test('alarms on the first period with an inference-log row lost or not converted to Parquet', () => {
    expect(alarmNamed('InferenceLogFailures')).toMatchObject({
      Namespace: 'MlPipeline',
      MetricName: 'InferenceLogFailedRecords',
      Dimensions: [{ Name: 'service', Value: 'mlpipe-sandbox-predict' }],
      Statistic: 'Sum',
      Threshold: 1,
      DatapointsToAlarm: 1,
      TreatMissingData: 'notBreaching',
    });
    expect(alarmNamed('InferenceLogConversionErrors')).toMatchObject({
      Namespace: 'AWS/Firehose',
      MetricName: 'FailedConversion.Records',
      Dimensions: [{ Name: 'DeliveryStreamName', Value: expect.anything() }],
      DatapointsToAlarm: 1,
    });
  });

  test('alarms when either stream holds records past its buffering time and a margin, which Firehose drops after a day', () => {
    expect(alarmNamed('IngestDeliveryLate')).toMatchObject({
      Namespace: 'AWS/Firehose',
      MetricName: 'DeliveryToS3.DataFreshness',
      Statistic: 'Maximum',
      Threshold: 60 + 900,
    });
    expect(alarmNamed('InferenceLogDeliveryLate')).toMatchObject({
      MetricName: 'DeliveryToS3.DataFreshness',
      Threshold: 60 + 900,
    });
    const prod = synthPipeline({ stage: 'prod' }).monitoring;
    const late = Object.values(prod.findResources('AWS::CloudWatch::Alarm')).find(
      (a) => a.Properties.AlarmName === 'mlpipe-prod-InferenceLogDeliveryLate',
    );
    expect(late?.Properties.Threshold).toBe(300 + 900);
  });

  test("alarms on the 5XX the predict function answers itself, from the stage's own metric", () => {
    expect(alarmNamed('PredictServerErrors')).toMatchObject({
      Namespace: 'MlPipeline',
      MetricName: 'ServerErrors',
      Dimensions: [{ Name: 'service', Value: 'mlpipe-sandbox-predict' }],
      Statistic: 'Sum',
      Threshold: 1,
    });
  });

  test('sends every health alarm and its recovery to the notification topic', () => {
    for (const alarm of alarms.filter((a) => a.Properties.AlarmName !== 'mlpipe-sandbox-EndpointIdle')) {
      expect(alarm.Properties.AlarmActions).toHaveLength(1);
      expect(alarm.Properties.OKActions).toHaveLength(1);
      expect(JSON.stringify(alarm.Properties.AlarmActions)).toContain('Notifications');
      expect(alarm.Properties.TreatMissingData).toBe('notBreaching');
    }
  });

  test('watches the API 5XX rate and p99 latency of the stage', () => {
    expect(alarmNamed('ApiServerErrors')).toMatchObject({
      Namespace: 'AWS/ApiGateway',
      MetricName: '5XXError',
      Statistic: 'Average',
      Threshold: 0.05,
      Dimensions: [
        { Name: 'ApiName', Value: 'mlpipe-sandbox-inference' },
        { Name: 'Stage', Value: 'v1' },
      ],
    });
    expect(alarmNamed('ApiLatency')).toMatchObject({
      MetricName: 'Latency',
      ExtendedStatistic: 'p99',
      Threshold: 5000,
    });
  });

  test('watches the endpoint by its configured name, converting model latency to milliseconds', () => {
    const latency = alarmNamed('ModelLatency');
    expect(JSON.stringify(latency.Metrics)).toContain('latency / 1000');
    expect(JSON.stringify(latency.Metrics)).toContain('mlpipe-sandbox-fraud');
    expect(JSON.stringify(alarmNamed('EndpointErrors').Metrics)).toContain('Invocation5XXErrors');
  });

  test('draws one dashboard from ingest to the API', () => {
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'mlpipe-sandbox-pipeline' });
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const title of ['Ingest', 'Crawler', 'Training pipeline runs', 'Endpoint', 'API', 'Alarms']) {
      expect(body).toContain(title);
    }
  });

  test('notifies once when the endpoint has served nothing for cost.endpointIdleHours', () => {
    expect(alarmNamed('EndpointIdle')).toMatchObject({
      Namespace: 'AWS/SageMaker',
      MetricName: 'Invocations',
      Dimensions: [
        { Name: 'EndpointName', Value: 'mlpipe-sandbox-fraud' },
        { Name: 'VariantName', Value: 'primary' },
      ],
      Statistic: 'Sum',
      Period: 3600,
      EvaluationPeriods: 24,
      DatapointsToAlarm: 24,
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      TreatMissingData: 'breaching',
    });
    expect(alarmNamed('EndpointIdle').AlarmActions).toHaveLength(1);
    expect(alarmNamed('EndpointIdle').OKActions).toBeUndefined();
  });

  test('shows the idle alarm on the dashboard', () => {
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(JSON.stringify(dashboard.Properties.DashboardBody)).toMatch(/Cost guards.*CostGuardsEndpointIdle/);
  });

  test('creates no budget while cost.budgetEmail is not set', () => {
    template.resourceCountIs('AWS::Budgets::Budget', 0);
  });
});
