import { ArnFormat, Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { MODEL_OUTPUT_PREFIX } from '../contract/training-run';
import { TRAINING_EXPORTS_PREFIX } from '../schema/lake-layout';
import { objectArnFindingId, resourceFindingId } from '../shared/nag-findings';
import { createVolumeGrants, useLakeKey } from './lake-key-statements';

export interface SageMakerExecutionRoleProps {
  /** Holds the training exports the jobs read, under `training-exports/`. */
  readonly curatedBucket: s3.IBucket;
  /** Where jobs write their model artifacts, under `models/`, and endpoints read them back. */
  readonly modelsBucket: s3.IBucket;
  /** Holds only spot checkpoints, one prefix per training job. */
  readonly checkpointsBucket: s3.IBucket;
  /** The lake key: the exports, artifacts and checkpoints are SSE-KMS, and the instance volumes use it too. */
  readonly encryptionKey: kms.IKey;
  /** ARN of the ECR repository of the algorithm image (see `XgboostImage.repositoryArn`). */
  readonly imageRepositoryArn: string;
}

const ECR_REPOSITORY_ARN = /^arn:[^:]+:ecr:[^:]+:\d{12}:repository\/[^/].*$/;

/**
 * The role SageMaker assumes for the pipeline's training jobs and for hosting its models: read this pipeline's
 * training exports, write model artifacts and checkpoints, use the key, pull the algorithm image, write its own logs
 * and metrics. Nothing else, and no managed policy: it demonstrates a SageMaker execution role written out statement
 * by statement, each wildcard acknowledged with its reason.
 */
export class SageMakerExecutionRole extends iam.Role {
  constructor(scope: Construct, id: string, props: SageMakerExecutionRoleProps) {
    super(scope, id, {
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com'),
      description: 'SageMaker training jobs and endpoints of the ML pipeline',
    });
    const { curatedBucket, modelsBucket, checkpointsBucket, encryptionKey, imageRepositoryArn } = props;
    if (!Token.isUnresolved(imageRepositoryArn) && !ECR_REPOSITORY_ARN.test(imageRepositoryArn)) {
      throw new Error(
        `SageMakerExecutionRole ${this.node.path}: imageRepositoryArn '${imageRepositoryArn}' is not an ECR ` +
          'repository ARN; pass one like arn:aws:ecr:<region>:<account>:repository/<name> (XgboostImage.repositoryArn)',
      );
    }
    this.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ListTrainingInputsAndCheckpoints',
        actions: ['s3:ListBucket', 's3:GetBucketLocation'],
        resources: [curatedBucket.bucketArn, checkpointsBucket.bucketArn, modelsBucket.bucketArn],
      }),
    );
    this.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadTrainingExports',
        actions: ['s3:GetObject'],
        resources: [curatedBucket.arnForObjects(`${TRAINING_EXPORTS_PREFIX}*`)],
      }),
    );
    this.addToPolicy(
      new iam.PolicyStatement({
        sid: 'WriteModelsAndCheckpoints',
        // Endpoints read the artifact back; checkpoints are read when an interrupted spot job resumes.
        actions: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'],
        resources: [modelsBucket.arnForObjects(`${MODEL_OUTPUT_PREFIX}*`), checkpointsBucket.arnForObjects('*')],
      }),
    );
    this.addToPolicy(useLakeKey(encryptionKey));
    this.addToPolicy(createVolumeGrants(encryptionKey));
    this.addToPolicy(
      new iam.PolicyStatement({
        sid: 'PullAlgorithmImage',
        actions: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
        resources: [imageRepositoryArn],
      }),
    );
    this.addToPolicy(
      new iam.PolicyStatement({ sid: 'EcrLogin', actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }),
    );
    const sagemakerLogs = Stack.of(this).formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: '/aws/sagemaker/*',
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.addToPolicy(
      new iam.PolicyStatement({
        sid: 'WriteJobAndEndpointLogs',
        actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
        resources: [sagemakerLogs],
      }),
    );
    this.addToPolicy(
      new iam.PolicyStatement({
        sid: 'PublishMetrics',
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringLike: { 'cloudwatch:namespace': '/aws/sagemaker/*' } },
      }),
    );

    Validations.of(this).acknowledge(
      {
        id: objectArnFindingId(this, curatedBucket, `${TRAINING_EXPORTS_PREFIX}*`),
        reason: `Training exports live under ${TRAINING_EXPORTS_PREFIX}<run id>/, a prefix that exists only once a run starts.`,
      },
      {
        id: objectArnFindingId(this, modelsBucket, `${MODEL_OUTPUT_PREFIX}*`),
        reason: "SageMaker writes each job's artifact under models/<job name>/output/, named at run time.",
      },
      {
        id: objectArnFindingId(this, checkpointsBucket, '*'),
        reason: 'The checkpoints bucket holds only checkpoints, one prefix per training job named at run time.',
      },
      {
        id: resourceFindingId(this, sagemakerLogs),
        reason: 'SageMaker names its own log groups under /aws/sagemaker/ (TrainingJobs, Endpoints/<name>).',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'ecr:GetAuthorizationToken and cloudwatch:PutMetricData have no resource-level permissions; metrics are limited to the /aws/sagemaker/ namespaces by condition.',
      },
    );
  }
}
