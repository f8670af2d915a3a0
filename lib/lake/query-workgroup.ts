import { Duration, Size, Stack } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import {
  labelBalanceQuery,
  latestPartitionQuery,
  nullCountsQuery,
  trainingExportQuery,
} from '../schema/athena-queries';
import type { FeatureSchema } from '../schema/feature-schema';
import { ATHENA_RESULTS_PREFIX, TRAINING_EXPORTS_PREFIX } from '../schema/lake-layout';

export interface QueryWorkgroupProps {
  readonly workgroupName: string;
  readonly schema: FeatureSchema;
  readonly database: glue.IDatabase;
  readonly resultsBucket: s3.IBucket;
  /** Bucket the training export unloads into. */
  readonly curatedBucket: s3.IBucket;
  readonly encryptionKey: kms.IKey;
  /** Athena cancels a query that would scan more than this; Athena accepts 10 MiB at the least. */
  readonly bytesScannedCutoff: Size;
  /** Percent of records in the validation split. @default 20 */
  readonly validationPercent?: number;
  /** How far back the export query reads raw partitions, in whole days, today included. @default Duration.days(30) */
  readonly exportWindow?: Duration;
}

/**
 * The Athena workgroup that every query of the pipeline runs in, with the settings enforced so a client cannot
 * override them: engine v3, results encrypted with the lake key in the results bucket, a per-query scan cutoff as a
 * cost guard, and CloudWatch metrics. It also carries named queries a learner can run as they are.
 */
export class QueryWorkgroup extends Construct {
  readonly workgroup: athena.CfnWorkGroup;
  readonly workgroupName: string;
  readonly namedQueries: { readonly [name: string]: athena.CfnNamedQuery };

  constructor(scope: Construct, id: string, props: QueryWorkgroupProps) {
    super(scope, id);
    this.workgroupName = props.workgroupName;
    const cutoffBytes = props.bytesScannedCutoff.toBytes();
    if (cutoffBytes < Size.mebibytes(10).toBytes()) {
      throw new Error(
        `QueryWorkgroup: bytesScannedCutoff is ${cutoffBytes} bytes, below the 10 MiB Athena accepts; pass Size.mebibytes(10) or more`,
      );
    }
    this.workgroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: props.workgroupName,
      description: 'ML pipeline: data checks and training-set exports',
      state: 'ENABLED',
      // Deleting the workgroup removes only its saved queries and history; results stay in the results bucket.
      // Without this, CloudFormation cannot delete a workgroup that has ever run a query.
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: cutoffBytes,
        requesterPaysEnabled: false,
        resultConfiguration: {
          outputLocation: props.resultsBucket.s3UrlForObject(ATHENA_RESULTS_PREFIX),
          encryptionConfiguration: { encryptionOption: 'SSE_KMS', kmsKey: props.encryptionKey.keyArn },
          expectedBucketOwner: Stack.of(this).account,
        },
      },
    });

    const database = props.database.databaseName;
    const queries = {
      LatestPartition: {
        description: 'The most recent hour of raw events, reading only that partition',
        sql: latestPartitionQuery(props.schema, database),
      },
      NullCounts: {
        description: 'Data quality: nulls per column next to the record count',
        sql: nullCountsQuery(props.schema, database),
      },
      LabelBalance: {
        description: 'Data quality: records and share per label value',
        sql: labelBalanceQuery(props.schema, database),
      },
      ExportTrainingData: {
        description:
          'Train and validation splits as label-first Parquet for SageMaker XGBoost, one scan of the recent ' +
          'partitions, as the training pipeline runs it; empty training-exports/manual/ before a rerun',
        sql: trainingExportQuery(props.schema, {
          database,
          destination: props.curatedBucket.s3UrlForObject(`${TRAINING_EXPORTS_PREFIX}manual/`),
          validationPercent: props.validationPercent ?? 20,
          windowDays: (props.exportWindow ?? Duration.days(30)).toDays(),
        }),
      },
    };
    const namedQueries: { [name: string]: athena.CfnNamedQuery } = {};
    for (const [name, query] of Object.entries(queries)) {
      const namedQuery = new athena.CfnNamedQuery(this, name, {
        name: `${props.workgroupName}-${name}`,
        description: query.description,
        database,
        workGroup: this.workgroup.ref,
        queryString: query.sql,
      });
      namedQueries[name] = namedQuery;
    }
    this.namedQueries = namedQueries;
  }
}
