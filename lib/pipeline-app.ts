import { App, Environment, Tags } from 'aws-cdk-lib';
import type { StageConfig } from './config/stage-config';
import { validateSchema, type FeatureSchema } from './schema/feature-schema';
import { DataLakeStack } from './stacks/data-lake-stack';
import { IngestStack } from './stacks/ingest-stack';

export interface PipelineStacks {
  readonly dataLake: DataLakeStack;
  readonly ingest: IngestStack;
}

/**
 * Builds the pipeline's stacks into an app, in the order data flows. Used by `bin/app.ts` and by the tests, so
 * both synthesize the same app.
 * @param env account and region; omit for environment-agnostic stacks
 */
export function buildPipeline(app: App, config: StageConfig, schema: FeatureSchema, env?: Environment): PipelineStacks {
  validateSchema(schema);
  const common = { env, terminationProtection: config.terminationProtection };

  const dataLake = new DataLakeStack(app, 'DataLake', {
    ...common,
    stackName: `${config.namePrefix}-data-lake`,
    description: 'ML pipeline: KMS key, S3 data lake zones, Glue catalog and crawler, Athena workgroup',
    config,
    schema,
  });
  const ingest = new IngestStack(app, 'Ingest', {
    ...common,
    stackName: `${config.namePrefix}-ingest`,
    description: 'ML pipeline: Firehose delivery stream converting JSON records to Parquet in the raw zone',
    config,
    rawBucket: dataLake.storage.raw,
    table: dataLake.catalog.table,
    encryptionKey: dataLake.key.key,
  });

  Tags.of(app).add('project', 'ml-pipeline');
  Tags.of(app).add('stage', config.stage);
  return { dataLake, ingest };
}
