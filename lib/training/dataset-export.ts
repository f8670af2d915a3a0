import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import {
  exportSplitPrefix,
  scoringExportQuery,
  trainingExportQuery,
  type DatasetSplit,
} from '../schema/athena-queries';
import { baselineUnloadQuery } from '../schema/drift-queries';
import { baselineKeyPrefix } from '../contract/training-run';
import type { FeatureSchema } from '../schema/feature-schema';
import { ATHENA_RESULTS_PREFIX, RAW_EVENTS_PREFIX, TRAINING_EXPORTS_PREFIX } from '../schema/lake-layout';
import { objectArnFindingId } from '../shared/nag-findings';
import { retryOrFail } from '../shared/retries';

/** Where a query names its run: the run id, and the day the execution started. */
const RUN_ID = 'RUN_ID_OF_THIS_RUN';
const RUN_START = 'START_TIME_OF_THIS_RUN';
/**
 * When the run started, from the execution's start time (ISO 8601 with `Z`, `2026-12-02T13:00:00.123Z`, which Trino's
 * from_iso8601_timestamp reads as a UTC timestamp; its day and hour are UTC, as Firehose's partitions are).
 */
const RUN_START_TIME = `from_iso8601_timestamp('${RUN_START}')`;

/**
 * A query naming its run, as a `States.Format` over the run id and the execution's start time: each marker becomes a
 * `{}`, and its value an argument in the order the markers appear.
 */
function runQuery(query: string): string {
  // States.Format reads every `{}` as a placeholder and CDK escapes only quotes and backslashes: a brace in the SQL
  // itself would shift the arguments. CDK's tokens (`${Token[…]}`) resolve to names without braces.
  const literal = query.replace(/\$\{Token\[[^\]]+\]\}/g, '');
  if (/[{}]/.test(literal)) {
    throw new Error(`DatasetExport: a query holds a brace, which States.Format would read as a placeholder:\n${query}`);
  }
  const values: Record<string, string> = { [RUN_ID]: '$.run.id', [RUN_START]: '$$.Execution.StartTime' };
  const markers = query.match(new RegExp(`${RUN_ID}|${RUN_START}`, 'g')) ?? [];
  return sfn.JsonPath.format(
    query.replace(new RegExp(`${RUN_ID}|${RUN_START}`, 'g'), '{}'),
    ...markers.map((marker) => sfn.JsonPath.stringAt(values[marker])),
  );
}

export interface DatasetExportProps {
  /** The features, label and table the export selects. */
  readonly schema: FeatureSchema;
  /** The Glue database of the raw table. */
  readonly databaseName: string;
  /** The raw table the query reads. */
  readonly tableName: string;
  /** The Athena workgroup the query runs in; it holds the result location and the scan limit. */
  readonly workgroupName: string;
  /** The raw zone, whose `events/` partitions the query reads. */
  readonly rawBucket: s3.IBucket;
  /** Where the splits land, under `training-exports/<run id>/`. */
  readonly curatedBucket: s3.IBucket;
  /** The workgroup's result bucket, where Athena writes the query's manifest. */
  readonly athenaResultsBucket: s3.IBucket;
  /** Where the run's feature baseline lands, next to its model: `models/<run id>/baseline/`. */
  readonly modelsBucket: s3.IBucket;
  /** Where an error of the export goes: the pipeline's failure path. */
  readonly onFailure: sfn.IChainable;
  /** Percent of records held out for validation, a whole number from 1 to 99. @default 20 */
  readonly validationPercent?: number;
  /** Days of raw partitions each run exports, counted back from the day it starts. @default Duration.days(30) */
  readonly window?: Duration;
}

/**
 * The export step: one Athena UNLOAD that writes both splits of the last `window` of raw partitions as Parquet, label
 * first, under a prefix of this run (`$.run.id`): `split=train/` and `split=validation/`, the two channels of the
 * training job. A second UNLOAD writes the feature baseline of the same training records next to the run's model
 * (lib/schema/drift-queries.ts), which the drift monitor compares predictions with, and a third the validation split
 * again as CSV, which the champion and the candidate score in batch transforms (champion-challenger.ts). All three are raw `.sync` task states
 * rather than CDK's `AthenaStartQueryExecution`, whose generated policy would let the pipeline create and delete Glue
 * tables and write to any bucket; `grantExportQueries` and `grantCatalogRead` state exactly what the queries need.
 */
export class DatasetExport extends Construct {
  /** ExportDatasets, WriteBaseline, then ExportScoringSet. */
  readonly startState: sfn.IChainable;
  private readonly props: DatasetExportProps;

  constructor(scope: Construct, id: string, props: DatasetExportProps) {
    super(scope, id);
    this.props = props;
    const validationPercent = props.validationPercent ?? 20;
    const window = props.window ?? Duration.days(30);
    if (!Number.isInteger(validationPercent) || validationPercent < 1 || validationPercent > 99) {
      throw new Error(
        `DatasetExport ${this.node.path}: validationPercent ${validationPercent} must be a whole number from 1 to 99, ` +
          'so that both splits get records; pass for example 20',
      );
    }
    const windowDays = window.toDays({ integral: false });
    if (!Number.isInteger(windowDays) || windowDays < 1) {
      throw new Error(
        `DatasetExport ${this.node.path}: window (${window.toHumanString()}) must be a whole number of days, at ` +
          'least 1 (the raw table is partitioned by day); pass for example Duration.days(30)',
      );
    }
    // The three queries end their window before the hour the run started, not when each one runs: they select the
    // same records, across midnight and while new records arrive.
    const selection = { database: props.databaseName, validationPercent, windowDays, runStart: RUN_START_TIME };
    const exportQuery = trainingExportQuery(props.schema, { ...selection, destination: this.exportUri(RUN_ID) });
    const baselineQuery = baselineUnloadQuery(props.schema, {
      ...selection,
      destination: props.modelsBucket.s3UrlForObject(baselineKeyPrefix(RUN_ID)),
    });
    const scoringQuery = scoringExportQuery(props.schema, { ...selection, destination: this.scoringUri(RUN_ID) });
    const athenaQuery = (comment: string, queryString: string): sfn.CustomStateProps => ({
      stateJson: {
        Type: 'Task',
        Comment: comment,
        Resource: `arn:${Stack.of(this).partition}:states:::athena:startQueryExecution.sync`,
        Parameters: {
          ...sfn.FieldUtils.renderObject({
            QueryString: runQuery(queryString),
          }),
          QueryExecutionContext: { Database: props.databaseName },
          WorkGroup: props.workgroupName,
        },
        ResultPath: null,
      },
    });
    const exportState = new sfn.CustomState(
      this,
      'ExportDatasets',
      athenaQuery(`One UNLOAD of the last ${windowDays} day(s): split=train/ and split=validation/`, exportQuery),
    );
    const baselineState = new sfn.CustomState(
      this,
      'WriteBaseline',
      athenaQuery(
        "The feature baseline of the training split, next to the run's model: models/<run id>/baseline/",
        baselineQuery,
      ),
    );
    const scoringState = new sfn.CustomState(
      this,
      'ExportScoringSet',
      athenaQuery('The validation split as CSV, label first, which the champion and the candidate score', scoringQuery),
    );
    this.startState = sfn.Chain.start(retryOrFail(exportState, 'athena', props.onFailure))
      .next(retryOrFail(baselineState, 'athena', props.onFailure))
      .next(retryOrFail(scoringState, 'athena', props.onFailure));
  }

  /** The S3 prefix of one split of this run's export, as a `States.Format` expression over `$.run.id`. */
  splitUri(split: DatasetSplit): string {
    return sfn.JsonPath.format(this.exportUri('{}') + exportSplitPrefix(split), sfn.JsonPath.stringAt('$.run.id'));
  }

  /**
   * The S3 prefix of this run's validation split as CSV (scoringExportQuery), as a `States.Format` expression over
   * `$.run.id`: a sibling of the Parquet export, `<run id>-scoring/`, so each UNLOAD writes to a
   * location of its own (Athena checks that a CTAS location holds no data, HIVE_PATH_ALREADY_EXISTS).
   */
  scoringSetUri(): string {
    return sfn.JsonPath.format(this.scoringUri('{}'), sfn.JsonPath.stringAt('$.run.id'));
  }

  /**
   * What Athena, running as the state machine, needs to run the export and the baseline: the workgroup, the buckets,
   * the raw events, and the export, baseline and result prefixes. Objects are SSE-KMS: the role also needs the key (see lake-key-statements).
   */
  grantExportQueries(role: iam.IRole): void {
    const { rawBucket, curatedBucket, athenaResultsBucket, modelsBucket, workgroupName } = this.props;
    const baselines = baselineKeyPrefix('*');
    const workgroupArn = Stack.of(this).formatArn({
      service: 'athena',
      resource: 'workgroup',
      resourceName: workgroupName,
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'RunExportQueries',
        actions: ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:StopQueryExecution'],
        resources: [workgroupArn],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ListQueryBuckets',
        actions: ['s3:ListBucket', 's3:GetBucketLocation'],
        resources: [
          rawBucket.bucketArn,
          curatedBucket.bucketArn,
          athenaResultsBucket.bucketArn,
          modelsBucket.bucketArn,
        ],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadRawEvents',
        actions: ['s3:GetObject'],
        resources: [rawBucket.arnForObjects(`${RAW_EVENTS_PREFIX}*`)],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteExportsAndResults',
        actions: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
        resources: [
          curatedBucket.arnForObjects(`${TRAINING_EXPORTS_PREFIX}*`),
          modelsBucket.arnForObjects(`${baselines}*`),
          athenaResultsBucket.arnForObjects(`${ATHENA_RESULTS_PREFIX}*`),
        ],
      }),
    );
    Validations.of(role).acknowledge(
      {
        id: objectArnFindingId(role, curatedBucket, `${TRAINING_EXPORTS_PREFIX}*`),
        reason: `Training exports live under ${TRAINING_EXPORTS_PREFIX}<run id>/, a prefix that exists only once a run starts.`,
      },
      {
        id: objectArnFindingId(role, modelsBucket, `${baselines}*`),
        reason:
          "Each run's baseline lives under models/<run id>/baseline/, a prefix that exists only once a run starts.",
      },
      {
        id: objectArnFindingId(role, rawBucket, `${RAW_EVENTS_PREFIX}*`),
        reason: 'Athena reads every partition object under the raw events prefix for the export.',
      },
      {
        id: objectArnFindingId(role, athenaResultsBucket, `${ATHENA_RESULTS_PREFIX}*`),
        reason:
          "Athena writes each query's result and UNLOAD manifest under the workgroup result prefix, named per query.",
      },
    );
  }

  /** Reading the raw table's definition and partitions from the Glue catalog, which the export's query plans with. */
  grantCatalogRead(role: iam.IRole): void {
    const { databaseName, tableName } = this.props;
    const stack = Stack.of(this);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadTrainingTable',
        actions: [
          'glue:GetDatabase',
          'glue:GetTable',
          'glue:GetPartition',
          'glue:GetPartitions',
          'glue:BatchGetPartition',
        ],
        resources: [
          stack.formatArn({ service: 'glue', resource: 'catalog' }),
          stack.formatArn({ service: 'glue', resource: 'database', resourceName: databaseName }),
          stack.formatArn({ service: 'glue', resource: 'table', resourceName: `${databaseName}/${tableName}` }),
        ],
      }),
    );
  }

  private scoringUri(runId: string): string {
    return `s3://${this.props.curatedBucket.bucketName}/${TRAINING_EXPORTS_PREFIX}${runId}-scoring/`;
  }

  /** The run's export destination; UNLOAD writes one `split=<name>/` prefix per split under it. */
  private exportUri(runId: string): string {
    return `s3://${this.props.curatedBucket.bucketName}/${TRAINING_EXPORTS_PREFIX}${runId}/`;
  }
}
