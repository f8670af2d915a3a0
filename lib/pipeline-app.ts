import { App, Environment, Tags } from 'aws-cdk-lib';
import type { StageConfig } from './config/stage-config';
import { lakeDatabaseName, stackNames } from './contract/stacks';
import { validateSchema, type FeatureSchema } from './schema/feature-schema';
import { DataLakeStack } from './lake/data-lake-stack';
import { IngestStack } from './ingest/ingest-stack';
import { MonitoringStack } from './monitoring/monitoring-stack';
import { ServingStack } from './serving/serving-stack';
import { TrainingStack } from './training/training-stack';

export interface PipelineStacks {
  readonly dataLake: DataLakeStack;
  readonly ingest: IngestStack;
  readonly training: TrainingStack;
  readonly serving: ServingStack;
  readonly monitoring: MonitoringStack;
}

/**
 * Builds the pipeline's stacks into an app, in the order data flows. Used by `bin/app.ts` and by the tests, so
 * both synthesize the same app.
 * @param env account and region; omit for environment-agnostic stacks
 */
export function buildPipeline(app: App, config: StageConfig, schema: FeatureSchema, env?: Environment): PipelineStacks {
  validateSchema(schema);
  const common = { env, terminationProtection: config.terminationProtection };
  const names = stackNames(config.namePrefix);

  const dataLake = new DataLakeStack(app, 'DataLake', {
    ...common,
    stackName: names.dataLake,
    description: 'ML pipeline: KMS key, S3 data lake zones, Glue catalog and crawler, Athena workgroup',
    config,
    schema,
  });
  const ingest = new IngestStack(app, 'Ingest', {
    ...common,
    stackName: names.ingest,
    description: 'ML pipeline: Firehose delivery stream converting JSON records to Parquet in the raw zone',
    config,
    rawBucket: dataLake.storage.raw,
    table: dataLake.catalog.table,
    encryptionKey: dataLake.key.key,
  });

  const { storage, catalog, queries, key } = dataLake;
  const training = new TrainingStack(app, 'Training', {
    ...common,
    stackName: names.training,
    description: 'ML pipeline: Step Functions training pipeline with spot training, quality gate and endpoint rollout',
    config,
    schema,
    database: catalog.database,
    table: catalog.table,
    crawlerName: catalog.crawler.ref,
    workgroupName: queries.workgroup.ref,
    rawBucket: storage.raw,
    curatedBucket: storage.curated,
    athenaResultsBucket: storage.athenaResults,
    modelsBucket: storage.models,
    checkpointsBucket: storage.checkpoints,
    encryptionKey: key.key,
  });

  const serving = new ServingStack(app, 'Serving', {
    ...common,
    stackName: names.serving,
    description: 'ML pipeline: REST API and Lambda in front of the SageMaker endpoint, and the inference log stream',
    config,
    schema,
    encryptionKey: key.key,
    rawBucket: storage.raw,
    predictionsTable: catalog.predictionsTable,
  });

  const monitoring = new MonitoringStack(app, 'Monitoring', {
    ...common,
    stackName: names.monitoring,
    description: 'ML pipeline: alarms and the pipeline dashboard',
    config,
    deliveryStream: ingest.delivery.deliveryStream,
    crawlerLogGroup: catalog.crawlerLogGroup,
    stateMachine: training.pipeline.stateMachine,
    predictFunction: serving.inference.predictFunction,
    predictServerErrors: serving.inference.metricServerErrors(),
    inferenceLog: {
      stream: serving.inferenceLog.deliveryStream,
      sentRows: serving.inference.metricInferenceLog('sent'),
      failedRows: serving.inference.metricInferenceLog('failed'),
    },
    alarmTopic: training.notifications,
    lake: {
      schema,
      databaseName: lakeDatabaseName(config.namePrefix),
      workgroupName: queries.workgroup.ref,
      rawBucket: storage.raw,
      modelsBucket: storage.models,
      curatedBucket: storage.curated,
      athenaResultsBucket: storage.athenaResults,
      encryptionKey: key.key,
    },
  });

  Tags.of(app).add('project', 'ml-pipeline');
  Tags.of(app).add('stage', config.stage);
  return { dataLake, ingest, training, serving, monitoring };
}
