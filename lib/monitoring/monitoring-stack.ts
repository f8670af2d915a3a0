import { Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { StageConfig } from '../config/stage-config';
import type { NotificationTopic } from '../shared/notification-topic';
import { CostGuards } from './cost-guards';
import { PipelineMonitoring, alarmName, type PipelineMonitoringProps } from './pipeline-monitoring';
import { API_STAGE_NAME, apiName } from '../contract/inference-api';
import { trainingStateMachineName } from '../contract/training-run';
import { dataRemoval } from '../config/data-removal';
import type { FeatureSchema } from '../schema/feature-schema';
import { DriftMonitor } from './drift-monitor';
import { RetrainTrigger } from './retrain-trigger';

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
  /** What the drift monitor reads and writes: the schema, the lake's database and workgroup, and its zones. */
  readonly lake: {
    readonly schema: FeatureSchema;
    readonly databaseName: string;
    readonly workgroupName: string;
    readonly rawBucket: s3.IBucket;
    readonly modelsBucket: s3.IBucket;
    readonly curatedBucket: s3.IBucket;
    readonly athenaResultsBucket: s3.IBucket;
    readonly encryptionKey: kms.IKey;
  };
}

/**
 * Alarms, the pipeline dashboard, the cost guards, and the MLOps loop's monitor (drift and realized quality from the
 * inference log) with its retrain trigger; stateless, so it can be redeployed at will.
 */
export class MonitoringStack extends Stack {
  readonly monitoring: PipelineMonitoring;
  readonly costGuards: CostGuards;
  readonly driftMonitor: DriftMonitor;
  readonly retrainTrigger?: RetrainTrigger;

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
    const { lake } = props;
    const retention = {
      logRetention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: dataRemoval(config.data).removalPolicy,
    };
    this.driftMonitor = new DriftMonitor(this, 'DriftMonitor', {
      namePrefix: config.namePrefix,
      schema: lake.schema,
      windows: {
        database: lake.databaseName,
        windowHours: config.monitor.windowHours,
        referenceDays: config.monitor.referenceDays,
        labelWindowDays: config.monitor.labelWindowDays,
        minRecords: config.monitor.minRecords,
        minPositives: config.monitor.minLabelledPositives,
      },
      workgroupName: lake.workgroupName,
      endpointName: config.serving.endpointName,
      rawBucket: lake.rawBucket,
      modelsBucket: lake.modelsBucket,
      curatedBucket: lake.curatedBucket,
      athenaResultsBucket: lake.athenaResultsBucket,
      encryptionKey: lake.encryptionKey,
      schedule: config.monitor.schedule,
      minRealizedRecall: config.monitor.minRealizedRecall,
      alarmTopic: props.alarmTopic,
      ...retention,
    });
    const loopAlarms = Object.values(this.driftMonitor.alarms);
    if (config.monitor.retrainOnAlarm) {
      this.retrainTrigger = new RetrainTrigger(this, 'RetrainTrigger', {
        namePrefix: config.namePrefix,
        trainingStateMachineName: trainingStateMachineName(config.namePrefix),
        alarm: this.driftMonitor.anyAlarm,
        cooldown: Duration.hours(config.monitor.retrainCooldownHours),
        encryptionKey: lake.encryptionKey,
        ...retention,
      });
    }
    this.monitoring.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: 'Cost guards',
        alarms: [this.costGuards.idleAlarm],
        width: 8,
        height: 3,
      }),
      new cloudwatch.AlarmStatusWidget({
        title: config.monitor.retrainOnAlarm ? 'Drift and quality (each starts a retrain)' : 'Drift and quality',
        alarms: loopAlarms,
        width: 8,
        height: 3,
      }),
    );
  }
}
