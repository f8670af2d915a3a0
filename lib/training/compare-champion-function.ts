import { Duration, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { challengerScoresPrefix, championScoresPrefix } from '../contract/training-run';
import { objectArnFindingId } from '../shared/nag-findings';
import { PipelineFunction } from '../shared/pipeline-function';

export interface CompareChampionFunctionProps {
  /** Where the batch transforms write the scores, `models/<run id>/{champion,challenger}-scores/`. */
  readonly modelsBucket: s3.IBucket;
  /** The lake key, which encrypts the scores and the function's log group. */
  readonly encryptionKey: kms.IKey;
  /** How far the candidate's validation AUC must be above the champion's, from -1 to 1. */
  readonly minImprovement: number;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The function that reads both models' scores of a run's validation split, computes their rank-based AUC, recall
 * and precision, and decides whether the candidate replaces the champion (lambda/compare-champion). It may list and
 * read the scores of the stage's runs and nothing else of the models bucket.
 */
export class CompareChampionFunction extends PipelineFunction {
  constructor(scope: Construct, id: string, props: CompareChampionFunctionProps) {
    const { modelsBucket, encryptionKey } = props;
    super(scope, id, {
      entry: 'compare-champion',
      description: "Scores the champion on the run's validation split and decides champion or challenger",
      environment: { MIN_IMPROVEMENT: String(props.minImprovement), MODELS_BUCKET: modelsBucket.bucketName },
      // Scores of a few million validation records (a line is about 25 bytes, a parsed record some 100) fit in memory
      // and sort in well under the timeout; the default data's split is some 2,000.
      memorySize: 1024,
      timeout: Duration.minutes(5),
      encryptionKey,
      logRetention: props.logRetention,
      logRemovalPolicy: props.removalPolicy,
    });
    const scores = [championScoresPrefix('*'), challengerScoresPrefix('*')];
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ListChampionScores',
        actions: ['s3:ListBucket'],
        resources: [modelsBucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': scores } },
      }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadChampionScores',
        actions: ['s3:GetObject'],
        resources: scores.map((prefix) => modelsBucket.arnForObjects(`${prefix}*`)),
      }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'DecryptChampionScores',
        actions: ['kms:Decrypt'],
        resources: [encryptionKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${Stack.of(this).region}.amazonaws.com` } },
      }),
    );
    Validations.of(this.role).acknowledge(
      ...scores.map((prefix) => ({
        id: objectArnFindingId(this.role, modelsBucket, `${prefix}*`),
        reason: "Each run's scores live under models/<run id>/, next to its model, named at run time.",
      })),
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'X-Ray tracing (xray:PutTraceSegments, PutTelemetryRecords) has no resource-level permissions.',
      },
    );
  }
}
