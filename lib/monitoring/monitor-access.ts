import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { baselineKeyPrefix } from '../contract/training-run';
import { MONITOR_METRICS_NAMESPACE } from '../contract/monitoring';
import { BASELINES_TABLE } from '../schema/drift-queries';
import { PREDICTIONS_TABLE } from '../schema/inference-log';
import { ATHENA_RESULTS_PREFIX, MONITORING_PREFIX, PREDICTIONS_PREFIX, RAW_EVENTS_PREFIX } from '../schema/lake-layout';
import { MONITORING_TABLE } from '../schema/monitoring-queries';
import { objectArnFindingId } from '../shared/nag-findings';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { FeatureSchema } from '../schema/feature-schema';

/** What the monitor's queries read and write. */
export interface MonitorAccessProps {
  readonly schema: FeatureSchema;
  readonly windows: { readonly database: string };
  readonly workgroupName: string;
  readonly rawBucket: s3.IBucket;
  readonly modelsBucket: s3.IBucket;
  readonly curatedBucket: s3.IBucket;
  readonly athenaResultsBucket: s3.IBucket;
  readonly encryptionKey: kms.IKey;
}

/** What Athena needs, running as the monitor, and the one namespace it may publish metrics in. */
export function grantMonitorQueries(scope: Construct, role: iam.IRole, props: MonitorAccessProps): void {
  const stack = Stack.of(scope);
  const { database } = props.windows;
  const glue = (resource: string, resourceName?: string) =>
    stack.formatArn({ service: 'glue', resource, resourceName });
  const objects = {
    predictions: props.rawBucket.arnForObjects(`${PREDICTIONS_PREFIX}*`),
    events: props.rawBucket.arnForObjects(`${RAW_EVENTS_PREFIX}*`),
    baselines: props.modelsBucket.arnForObjects(`${baselineKeyPrefix('*')}*`),
    monitoring: props.curatedBucket.arnForObjects(`${MONITORING_PREFIX}*`),
    results: props.athenaResultsBucket.arnForObjects(`${ATHENA_RESULTS_PREFIX}*`),
  };
  const statements = [
    new iam.PolicyStatement({
      sid: 'RunMonitorQueries',
      actions: [
        'athena:StartQueryExecution',
        'athena:GetQueryExecution',
        'athena:GetQueryResults',
        'athena:StopQueryExecution',
      ],
      resources: [stack.formatArn({ service: 'athena', resource: 'workgroup', resourceName: props.workgroupName })],
    }),
    new iam.PolicyStatement({
      sid: 'ReadTheLakeTables',
      actions: [
        'glue:GetDatabase',
        'glue:GetTable',
        'glue:GetPartitions',
        'glue:GetPartition',
        'glue:BatchGetPartition',
      ],
      resources: [
        glue('catalog'),
        glue('database', database),
        ...[props.schema.tableName, PREDICTIONS_TABLE, BASELINES_TABLE, MONITORING_TABLE].map((t) =>
          glue('table', `${database}/${t}`),
        ),
      ],
    }),
    new iam.PolicyStatement({
      sid: 'ListQueryBuckets',
      actions: ['s3:ListBucket', 's3:GetBucketLocation'],
      resources: [props.rawBucket, props.modelsBucket, props.curatedBucket, props.athenaResultsBucket].map(
        (b) => b.bucketArn,
      ),
    }),
    new iam.PolicyStatement({
      sid: 'ReadPredictionsEventsAndBaselines',
      actions: ['s3:GetObject'],
      resources: [objects.predictions, objects.events, objects.baselines],
    }),
    new iam.PolicyStatement({
      sid: 'WriteMeasuresAndResults',
      actions: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
      resources: [objects.monitoring, objects.results],
    }),
    new iam.PolicyStatement({
      sid: 'UseLakeKeyThroughS3',
      actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
      resources: [props.encryptionKey.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `s3.${stack.region}.amazonaws.com` } },
    }),
    new iam.PolicyStatement({
      sid: 'PublishMonitorMetrics',
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'],
      conditions: { StringEquals: { 'cloudwatch:namespace': MONITOR_METRICS_NAMESPACE } },
    }),
  ];
  for (const statement of statements) role.addToPrincipalPolicy(statement);
  Validations.of(role).acknowledge(
    ...(
      [
        [
          props.rawBucket,
          `${PREDICTIONS_PREFIX}*`,
          'Athena reads every hourly file of the inference log in the window.',
        ],
        [props.rawBucket, `${RAW_EVENTS_PREFIX}*`, 'Athena reads the raw events of the label window for the labels.'],
        [
          props.modelsBucket,
          `${baselineKeyPrefix('*')}*`,
          "Athena reads the serving run's baseline, next to its model; runs are named at run time.",
        ],
        [
          props.curatedBucket,
          `${MONITORING_PREFIX}*`,
          'Athena writes and reads the monitoring table, one file per monitor run.',
        ],
        [
          props.athenaResultsBucket,
          `${ATHENA_RESULTS_PREFIX}*`,
          "Athena writes each query's result under the workgroup's result prefix.",
        ],
      ] as const
    ).map(([bucket, pattern, reason]) => ({ id: objectArnFindingId(role, bucket, pattern), reason })),
    {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'cloudwatch:PutMetricData has no resource-level permissions (the statement allows one namespace by condition); log delivery and X-Ray tracing have none either.',
    },
  );
}
