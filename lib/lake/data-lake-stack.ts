import { CfnOutput, Duration, Size, Stack, StackProps } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { dataRemoval } from '../config/data-removal';
import type { StageConfig } from '../config/stage-config';
import { lakeDatabaseName } from '../contract/stacks';
import { DataCatalog } from './data-catalog';
import { DataLakeStorage } from './data-lake-storage';
import { LakeKey } from './lake-key';
import { QueryWorkgroup } from './query-workgroup';
import type { FeatureSchema } from '../schema/feature-schema';

export interface DataLakeStackProps extends StackProps {
  readonly config: StageConfig;
  readonly schema: FeatureSchema;
}

/**
 * Stateful storage of the pipeline: the KMS key, the S3 zones, the Glue catalog with its crawler, and the Athena
 * workgroup. It outlives the compute stacks, which can be destroyed and redeployed without touching the data.
 */
export class DataLakeStack extends Stack {
  readonly key: LakeKey;
  readonly storage: DataLakeStorage;
  readonly catalog: DataCatalog;
  readonly queries: QueryWorkgroup;

  constructor(scope: Construct, id: string, props: DataLakeStackProps) {
    super(scope, id, props);
    const { config } = props;
    const { removalPolicy, autoDeleteObjects } = dataRemoval(config.data);
    const { lifecycle } = config;
    const days = Duration.days;

    this.key = new LakeKey(this, 'Encryption', { aliasName: `${config.namePrefix}-data`, removalPolicy });
    this.storage = new DataLakeStorage(this, 'Storage', {
      encryptionKey: this.key.key,
      removalPolicy,
      autoDeleteObjects,
      lifecycle: {
        rawInfrequentAccessAfter: days(lifecycle.rawInfrequentAccessAfterDays),
        rawGlacierInstantRetrievalAfter: days(lifecycle.rawGlacierInstantRetrievalAfterDays),
        rawErrorsExpireAfter: days(lifecycle.rawErrorsExpireAfterDays),
        curatedExpireAfter: days(lifecycle.curatedExpireAfterDays),
        athenaResultsExpireAfter: days(lifecycle.athenaResultsExpireAfterDays),
        checkpointsExpireAfter: days(lifecycle.checkpointsExpireAfterDays),
        accessLogsExpireAfter: days(lifecycle.accessLogsExpireAfterDays),
        noncurrentVersionsExpireAfter: days(lifecycle.noncurrentVersionsExpireAfterDays),
      },
    });
    this.catalog = new DataCatalog(this, 'Catalog', {
      databaseName: lakeDatabaseName(config.namePrefix),
      namePrefix: config.namePrefix,
      schema: props.schema,
      rawBucket: this.storage.raw,
      modelsBucket: this.storage.models,
      curatedBucket: this.storage.curated,
      encryptionKey: this.key.key,
      crawlerSchedule: config.crawler.schedule,
      logRetention: config.logRetentionDays as logs.RetentionDays,
    });
    this.queries = new QueryWorkgroup(this, 'Queries', {
      workgroupName: `${config.namePrefix}-analytics`,
      schema: props.schema,
      database: this.catalog.database,
      resultsBucket: this.storage.athenaResults,
      curatedBucket: this.storage.curated,
      encryptionKey: this.key.key,
      bytesScannedCutoff: Size.mebibytes(config.athena.bytesScannedCutoffMiB),
      // The named export query is the one the training pipeline runs, with the same split and window.
      validationPercent: config.training.validationPercent,
      exportWindow: days(config.training.exportWindowDays),
    });

    new CfnOutput(this, 'RawBucketName', { value: this.storage.raw.bucketName });
    new CfnOutput(this, 'GlueDatabaseName', { value: this.catalog.database.databaseName });
    new CfnOutput(this, 'CrawlerName', { value: this.catalog.crawler.ref });
    new CfnOutput(this, 'AthenaWorkgroupName', { value: this.queries.workgroupName });
  }
}
