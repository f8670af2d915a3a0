import { Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { StageConfig } from '../config/stage-config';
import type { NotificationTopic } from '../shared/notification-topic';
import { CostGuards } from './cost-guards';
import { PipelineMonitoring, alarmName, type PipelineMonitoringProps } from './pipeline-monitoring';
import { API_STAGE_NAME, apiName } from '../contract/inference-api';

export interface MonitoringStackProps extends StackProps {
  readonly config: StageConfig;
  readonly deliveryStream: firehose.IDeliveryStream;
  readonly crawlerLogGroup: logs.ILogGroup;
  readonly stateMachine: sfn.IStateMachine;
  readonly predictFunction: lambda.IFunction;
  readonly predictServerErrors: cloudwatch.Metric;
  /** The inference log's stream and the predict function's counts of the rows it sent and failed to send. */
  readonly inferenceLog: Omit<PipelineMonitoringProps['inferenceLog'], 'bufferInterval'>;
  /** Where alarms notify; this stack lets its alarms publish there. */
  readonly alarmTopic: NotificationTopic;
}

/** Alarms, the pipeline dashboard and the cost guards; stateless, so it can be redeployed at will. */
export class MonitoringStack extends Stack {
  readonly monitoring: PipelineMonitoring;
  readonly costGuards: CostGuards;

  constructor(scope: Construct, id: string, props: MonitoringStackProps) {
    super(scope, id, props);
    const { config } = props;
    // Every alarm of this stack is named <namePrefix>-<id>, the pattern the topic and key policies admit.
    props.alarmTopic.grantAlarmPublishing(alarmName(config.namePrefix, '*'));
    this.monitoring = new PipelineMonitoring(this, 'Monitoring', {
      namePrefix: config.namePrefix,
      deliveryStream: props.deliveryStream,
      deliveryBufferInterval: Duration.seconds(config.ingest.bufferIntervalSeconds),
      crawlerLogGroup: props.crawlerLogGroup,
      stateMachine: props.stateMachine,
      endpointName: config.serving.endpointName,
      apiName: apiName(config.namePrefix),
      apiStage: API_STAGE_NAME,
      predictFunction: props.predictFunction,
      predictServerErrors: props.predictServerErrors,
      inferenceLog: {
        ...props.inferenceLog,
        bufferInterval: Duration.seconds(config.inferenceLog.bufferIntervalSeconds),
      },
      alarmTopic: props.alarmTopic,
    });
    this.costGuards = new CostGuards(this, 'CostGuards', {
      namePrefix: config.namePrefix,
      endpointName: config.serving.endpointName,
      endpointIdleAfter: Duration.hours(config.cost.endpointIdleHours),
      alarmTopic: props.alarmTopic,
      monthlyBudgetUsd: config.cost.monthlyBudgetUsd,
      budgetEmail: config.cost.budgetEmail,
    });
    this.monitoring.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: 'Cost guards',
        alarms: [this.costGuards.idleAlarm],
        width: 8,
        height: 3,
      }),
    );
  }
}
