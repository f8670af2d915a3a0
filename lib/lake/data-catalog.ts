import { ArnFormat, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { FeatureSchema, FieldType } from '../schema/feature-schema';
import { PREDICTIONS_TABLE, inferenceLogColumns, type LogColumn } from '../schema/inference-log';
import { BASELINE_COLUMNS, BASELINE_RUN_COLUMN, BASELINES_TABLE } from '../schema/drift-queries';
import { MONITORING_COLUMNS, MONITORING_TABLE } from '../schema/monitoring-queries';
import { MODEL_OUTPUT_PREFIX, baselineKeyPrefix } from '../contract/training-run';
import {
  MONITORING_PREFIX,
  PREDICTIONS_PREFIX,
  RAW_EVENTS_PREFIX,
  RAW_PARTITION_KEYS,
  projectedPartitionTemplate,
} from '../schema/lake-layout';
import { objectArnFindingId } from '../shared/nag-findings';
import { EncryptedLogGroup } from '../shared/encrypted-log-group';

export interface DataCatalogProps {
  /** Glue database name: lower case, digits and underscores, so Athena needs no quoting. */
  readonly databaseName: string;
  /** Name prefix of the crawler, its role and its security configuration. */
  readonly namePrefix: string;
  readonly schema: FeatureSchema;
  readonly rawBucket: s3.IBucket;
  /** The models bucket, where each training run writes its feature baseline next to its model. */
  readonly modelsBucket: s3.IBucket;
  /** The curated zone, where the monitor keeps its measures. */
  readonly curatedBucket: s3.IBucket;
  readonly encryptionKey: kms.IKey;
  /** Glue cron expression for the crawler, or `null` to crawl only on demand. */
  readonly crawlerSchedule: string | null;
  readonly logRetention: logs.RetentionDays;
}

const GLUE_TYPES: { readonly [T in FieldType]: glue.Type } = {
  string: glue.Schema.STRING,
  double: glue.Schema.DOUBLE,
  int: glue.Schema.INTEGER,
  boolean: glue.Schema.BOOLEAN,
  timestamp: glue.Schema.TIMESTAMP,
};

/** The Glue columns of a table, in order; Firehose writes Parquet with exactly these. */
export function glueColumns(columns: readonly LogColumn[]): glue.Column[] {
  return columns.map((f) => ({ name: f.name, type: GLUE_TYPES[f.type], comment: f.description }));
}

/**
 * The Glue Data Catalog side of the lake: a database, the raw events table defined from the feature schema, the
 * inference log's `predictions` table derived from it (lib/schema/inference-log.ts, partitions projected), the
 * runs' `baselines`, and a crawler that registers the raw table's new hourly partitions.
 *
 * The table is defined in code, not discovered: the crawler targets the existing catalog table, new partitions
 * inherit the table's columns (`InheritFromTable`), and schema changes are only logged, so a malformed file can never
 * rewrite the schema that Firehose's Parquet conversion and the training export depend on.
 */
export class DataCatalog extends Construct {
  readonly database: glue.IDatabase;
  readonly table: glue.ITable;
  /** The inference log: every record the API scored, in the raw bucket under its own prefix. */
  readonly predictionsTable: glue.ITable;
  /** The runs' feature baselines, one projected partition per run, next to each model in the models bucket. */
  readonly baselinesTable: glue.ITable;
  /** Every measure of every monitor run: drift, prediction drift and realized quality, queryable as history. */
  readonly monitoringTable: glue.ITable;
  readonly crawler: glue.CfnCrawler;
  readonly crawlerRole: iam.IRole;
  readonly crawlerLogGroup: logs.ILogGroup;

  constructor(scope: Construct, id: string, props: DataCatalogProps) {
    super(scope, id);
    if (!/^[a-z][a-z0-9_]{0,254}$/.test(props.databaseName)) {
      throw new Error(
        `DataCatalog: databaseName '${props.databaseName}' must be lower case letters, digits and underscores`,
      );
    }
    const stack = Stack.of(this);

    this.database = new glue.Database(this, 'Database', {
      databaseName: props.databaseName,
      description: 'ML pipeline data lake: raw events landed by Firehose',
    });

    // Both tables are Parquet in the raw bucket with the hourly partitions Firehose writes.
    const hourlyTable = (tableName: string, description: string, columns: readonly LogColumn[], prefix: string) => ({
      database: this.database,
      tableName,
      description,
      columns: glueColumns(columns),
      partitionKeys: RAW_PARTITION_KEYS.map((k) => ({ name: k.name, type: glue.Schema.STRING })),
      dataFormat: glue.DataFormat.PARQUET,
      storage: glue.S3TableStorage.fromBucket(props.rawBucket),
      s3Prefix: prefix,
      enablePartitionFiltering: true,
    });
    const { schema } = props;
    this.table = new glue.S3Table(
      this,
      'RawEvents',
      hourlyTable(schema.tableName, schema.description, schema.fields, RAW_EVENTS_PREFIX),
    );
    // The inference log's partitions are projected, not crawled: the monitor reads the last hours, which a daily
    // crawl would not have registered yet, and projection costs nothing per hour. A query must bound the partition
    // columns (the monitor's window does), or Athena would look in every projected hour.
    this.predictionsTable = new glue.S3Table(this, 'Predictions', {
      ...hourlyTable(
        PREDICTIONS_TABLE,
        `Inference log: every record the API scored, with its score, decision and model (features of ${schema.tableName})`,
        inferenceLogColumns(schema),
        PREDICTIONS_PREFIX,
      ),
      partitionProjection: Object.fromEntries(
        RAW_PARTITION_KEYS.map((k) => [k.name, glue.PartitionProjectionConfiguration.integer(k.values)]),
      ),
      parameters: {
        'storage.location.template': props.rawBucket.s3UrlForObject(projectedPartitionTemplate(PREDICTIONS_PREFIX)),
      },
    });
    this.baselinesTable = new glue.S3Table(this, 'Baselines', {
      database: this.database,
      tableName: BASELINES_TABLE,
      description:
        "Each training run's feature baseline: the bins of every feature and the training split's share in each",
      columns: glueColumns(BASELINE_COLUMNS),
      partitionKeys: [{ name: BASELINE_RUN_COLUMN, type: glue.Schema.STRING }],
      dataFormat: glue.DataFormat.PARQUET,
      storage: glue.S3TableStorage.fromBucket(props.modelsBucket),
      s3Prefix: MODEL_OUTPUT_PREFIX,
      // A query names its run (`WHERE run = '<run id>'`) and Athena reads that run's folder: no crawler, no partitions
      // to register, whatever the number of runs.
      partitionProjection: { [BASELINE_RUN_COLUMN]: glue.PartitionProjectionConfiguration.injected() },
      parameters: {
        'storage.location.template': props.modelsBucket.s3UrlForObject(baselineKeyPrefix(`\${${BASELINE_RUN_COLUMN}}`)),
      },
    });
    this.monitoringTable = new glue.S3Table(this, 'Monitoring', {
      database: this.database,
      tableName: MONITORING_TABLE,
      description:
        'Every measure of every monitor run: feature and score drift, and realized quality once labels arrive',
      columns: glueColumns(MONITORING_COLUMNS),
      dataFormat: glue.DataFormat.PARQUET,
      storage: glue.S3TableStorage.fromBucket(props.curatedBucket),
      s3Prefix: MONITORING_PREFIX,
    });
    for (const table of [this.baselinesTable, this.monitoringTable]) table.applyRemovalPolicy(RemovalPolicy.DESTROY);
    // Catalog entries are metadata with fixed names, re-created from code on the next deploy (the crawler registers
    // the partitions again): they go with the stack even where the data stays, since a kept one would block that
    // deploy with "already exists".
    for (const table of [this.table, this.predictionsTable]) table.applyRemovalPolicy(RemovalPolicy.DESTROY);
    this.database.applyRemovalPolicy(RemovalPolicy.DESTROY);

    const securityConfigurationName = `${props.namePrefix}-crawler`;
    const securityConfiguration = new glue.SecurityConfiguration(this, 'CrawlerSecurity', {
      securityConfigurationName,
      cloudWatchEncryption: glue.CloudWatchEncryption.kms(props.encryptionKey),
    });
    securityConfiguration.applyRemovalPolicy(RemovalPolicy.DESTROY);

    // The role name is fixed because Glue names the crawler's encrypted log group after it, and the stack creates
    // that group up front so it has a retention period and the key.
    const roleName = `${props.namePrefix}-crawler`;
    this.crawlerRole = new iam.Role(this, 'CrawlerRole', {
      roleName,
      assumedBy: new iam.ServicePrincipal('glue.amazonaws.com'),
      description:
        'Registers partitions of the events and predictions tables; reads the raw zone, writes nothing to S3',
    });
    this.crawlerLogGroup = new EncryptedLogGroup(this, 'CrawlerLogs', {
      logGroupName: `/aws-glue/crawlers-role/${roleName}-${securityConfigurationName}`,
      encryptionKey: props.encryptionKey,
      retention: props.logRetention,
    });

    const rawObjects = `${RAW_EVENTS_PREFIX}*`;
    props.rawBucket.grantRead(this.crawlerRole, rawObjects);
    const readOnlyGrant = `bucket.grantRead's read-only actions, limited to the raw events prefix (${rawObjects}) that the crawler scans for new partitions.`;
    Validations.of(this.crawlerRole).acknowledge(
      { id: 'AwsSolutions-IAM5[Action::s3:GetBucket*]', reason: readOnlyGrant },
      { id: 'AwsSolutions-IAM5[Action::s3:GetObject*]', reason: readOnlyGrant },
      { id: 'AwsSolutions-IAM5[Action::s3:List*]', reason: readOnlyGrant },
      {
        id: objectArnFindingId(this.crawlerRole, props.rawBucket, rawObjects),
        reason: 'The crawler reads every object under the raw events prefix, whose partition folders appear hourly.',
      },
    );
    const catalogArn = stack.formatArn({ service: 'glue', resource: 'catalog' });
    const databaseArn = stack.formatArn({ service: 'glue', resource: 'database', resourceName: props.databaseName });
    this.crawlerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadTheTargetTable',
        actions: ['glue:GetDatabase', 'glue:GetTable'],
        resources: [catalogArn, databaseArn, this.table.tableArn],
      }),
    );
    this.crawlerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'RegisterPartitions',
        actions: [
          'glue:GetPartition',
          'glue:GetPartitions',
          'glue:BatchGetPartition',
          'glue:CreatePartition',
          'glue:BatchCreatePartition',
          'glue:UpdatePartition',
          'glue:BatchUpdatePartition',
          // The crawler records its run in the table's parameters; its columns stay as defined (UpdateBehavior LOG).
          'glue:UpdateTable',
        ],
        resources: [catalogArn, databaseArn, this.table.tableArn],
      }),
    );
    this.crawlerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        // The security configuration encrypts the crawler's CloudWatch logs with the lake key on the role's behalf.
        sid: 'UseLakeKeyForCrawlerLogs',
        actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [props.encryptionKey.keyArn],
      }),
    );
    this.crawlerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteEncryptedCrawlerLogs',
        // CreateLogGroup: Glue may try to create the group before it associates the key; it exists already.
        // The group-level actions name the group's own ARN, which lacks the `:*` of the L2's logGroupArn (that
        // form covers its streams); Glue associates the key with the group itself.
        actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:AssociateKmsKey'],
        resources: [
          this.crawlerLogGroup.logGroupArn,
          stack.formatArn({
            service: 'logs',
            resource: 'log-group',
            resourceName: this.crawlerLogGroup.logGroupName,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      }),
    );

    this.crawler = new glue.CfnCrawler(this, 'Crawler', {
      name: `${props.namePrefix}-raw-partitions`,
      description: `Adds new hourly partitions of ${props.databaseName}.${props.schema.tableName}`,
      role: this.crawlerRole.roleArn,
      databaseName: props.databaseName,
      targets: {
        catalogTargets: [{ databaseName: props.databaseName, tables: [props.schema.tableName] }],
      },
      schemaChangePolicy: { updateBehavior: 'LOG', deleteBehavior: 'LOG' },
      recrawlPolicy: { recrawlBehavior: 'CRAWL_EVERYTHING' },
      configuration: JSON.stringify({
        Version: 1.0,
        CrawlerOutput: { Partitions: { AddOrUpdateBehavior: 'InheritFromTable' } },
      }),
      crawlerSecurityConfiguration: securityConfiguration.securityConfigurationName,
      // An empty expression, not a missing Schedule: without the property CloudFormation leaves an existing
      // crawler's old schedule in place, so switching to on-demand would never take effect.
      schedule: { scheduleExpression: props.crawlerSchedule ?? '' },
    });
    // A scheduled crawl must find its log group and its role's policy in place.
    this.crawler.node.addDependency(this.table, this.crawlerLogGroup, this.crawlerRole);
  }

  /** ARN of the crawler, for granting `glue:StartCrawler` and `glue:GetCrawler`. */
  get crawlerArn(): string {
    return Stack.of(this).formatArn({ service: 'glue', resource: 'crawler', resourceName: this.crawler.ref });
  }
}
