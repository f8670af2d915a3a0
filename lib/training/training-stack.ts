import { CfnOutput, Duration, Size, Stack, StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { dataRemoval } from '../config/data-removal';
import { EncryptedLogGroup } from '../shared/encrypted-log-group';
import { NotificationTopic } from '../shared/notification-topic';
import type { StageConfig } from '../config/stage-config';
import { STACK_OUTPUTS } from '../contract/stacks';
import { SageMakerCleanup } from './sagemaker-cleanup';
import { OWNER_TAG_KEY } from '../contract/training-run';
import { TrainingPipeline, type TrainingPipelineProps } from './training-pipeline';

/** What the stack takes from the data lake: the pipeline's own props of that kind, and the catalog's database and table. */
export interface TrainingStackProps
  extends
    StackProps,
    Pick<
      TrainingPipelineProps,
      | 'schema'
      | 'crawlerName'
      | 'workgroupName'
      | 'rawBucket'
      | 'curatedBucket'
      | 'athenaResultsBucket'
      | 'modelsBucket'
      | 'checkpointsBucket'
      | 'encryptionKey'
    > {
  readonly config: StageConfig;
  readonly database: glue.IDatabase;
  readonly table: glue.ITable;
}

/**
 * Training and rollout: the Step Functions pipeline, its notification topic, its optional schedule, and the
 * clean-up of the SageMaker resources it creates outside CloudFormation.
 */
export class TrainingStack extends Stack {
  readonly pipeline: TrainingPipeline;
  readonly notifications: NotificationTopic;

  constructor(scope: Construct, id: string, props: TrainingStackProps) {
    super(scope, id, props);
    const { config } = props;
    const { training, serving } = config;
    const { removalPolicy } = dataRemoval(config.data);
    const logRetention = config.logRetentionDays as logs.RetentionDays;

    const topic = new NotificationTopic(this, 'Notifications', {
      topicName: `${config.namePrefix}-notifications`,
      displayName: `ML pipeline ${config.namePrefix}`,
      encryptionKey: props.encryptionKey,
      email: config.pipeline.notificationEmail ?? undefined,
    });
    this.notifications = topic;

    this.pipeline = new TrainingPipeline(this, 'Pipeline', {
      namePrefix: config.namePrefix,
      schema: props.schema,
      databaseName: props.database.databaseName,
      tableName: props.table.tableName,
      crawlerName: props.crawlerName,
      workgroupName: props.workgroupName,
      rawBucket: props.rawBucket,
      curatedBucket: props.curatedBucket,
      athenaResultsBucket: props.athenaResultsBucket,
      modelsBucket: props.modelsBucket,
      checkpointsBucket: props.checkpointsBucket,
      encryptionKey: props.encryptionKey,
      notifications: topic,
      logRetention,
      removalPolicy,
      validationPercent: training.validationPercent,
      exportWindow: Duration.days(training.exportWindowDays),
      trainingInstanceType: training.instanceType,
      trainingInstanceCount: training.instanceCount,
      trainingVolumeSize: Size.gibibytes(training.volumeSizeGiB),
      maxRuntime: Duration.seconds(training.maxRuntimeSeconds),
      spot: training.useSpot,
      maxWait: Duration.seconds(training.maxWaitSeconds),
      hyperparameters: training.hyperparameters,
      minValidationAuc: config.qualityGate.minValidationAuc,
      minValidationRecall: config.qualityGate.minValidationRecall,
      minImprovement: config.qualityGate.minImprovement,
      transformInstanceType: config.qualityGate.transformInstanceType,
      approval: config.registry.approval,
      endpointName: serving.endpointName,
      endpointCapacity:
        serving.mode === 'serverless'
          ? {
              serverless: {
                memory: Size.mebibytes(serving.serverlessMemoryMiB),
                maxConcurrency: serving.serverlessMaxConcurrency,
              },
            }
          : { instances: { instanceType: serving.instanceType, count: serving.initialInstanceCount } },
    });

    // SageMaker writes the endpoint's container logs to a group it names after the endpoint, and creates it without
    // retention when it does not exist. Creating it here gives it the stage's retention, the key and a removal policy;
    // the clean-up waits for the endpoint to be deleted, and only then is its log group.
    const endpointLogs = new EncryptedLogGroup(this, 'EndpointLogs', {
      logGroupName: `/aws/sagemaker/Endpoints/${serving.endpointName}`,
      encryptionKey: props.encryptionKey,
      retention: logRetention,
    });
    const cleanup = new SageMakerCleanup(this, 'SageMakerCleanup', {
      ownerTag: { key: OWNER_TAG_KEY, value: this.pipeline.ownerTagValue },
      namePrefix: config.namePrefix,
      endpointName: serving.endpointName,
      modelPackageGroupName: this.pipeline.registry.groupName,
      encryptionKey: props.encryptionKey,
      logRetention,
      removalPolicy,
      endpointLogGroup: endpointLogs,
      // Stacks deployed before the clean-up used the provider framework name this function as its ServiceToken.
      serviceTokenFunctionLogicalId: 'SageMakerCleanupHandlerFunction697CC824',
    });
    // Deleted before the group, so the group has no versions left when CloudFormation deletes it.
    cleanup.node.addDependency(this.pipeline.registry.group);

    if (config.pipeline.schedule !== null) {
      new events.Rule(this, 'Schedule', {
        description: 'Starts the training pipeline on the stage schedule',
        schedule: events.Schedule.expression(config.pipeline.schedule),
        targets: [
          new targets.SfnStateMachine(this.pipeline.stateMachine, { retryAttempts: 2, maxEventAge: Duration.hours(1) }),
        ],
      });
    }

    new CfnOutput(this, STACK_OUTPUTS.stateMachineArn, { value: this.pipeline.stateMachine.stateMachineArn });
    new CfnOutput(this, STACK_OUTPUTS.endpointName, { value: serving.endpointName });
    new CfnOutput(this, STACK_OUTPUTS.notificationTopicArn, { value: topic.topicArn });
  }
}
