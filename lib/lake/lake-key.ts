import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

export interface LakeKeyProps {
  /** Alias, without the `alias/` prefix. */
  readonly aliasName: string;
  /**
   * What happens to the key when the stack is deleted: DESTROY schedules its deletion after a 7-day waiting period.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The customer-managed KMS key that encrypts the data lake, query results, model artifacts, the delivery stream and
 * the pipeline's log groups. Rotated yearly by KMS. Every service reaches it through a grant or a scoped key
 * policy statement; nobody can create grants for anything other than AWS services acting on a user's behalf.
 */
export class LakeKey extends Construct {
  readonly key: kms.IKey;

  constructor(scope: Construct, id: string, props: LakeKeyProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.key = new kms.Key(this, 'Key', {
      description: 'Encrypts the ML pipeline data lake, query results, model artifacts and logs',
      alias: props.aliasName,
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      // A deleted key cannot decrypt anything, so the shortest waiting period still leaves a week to cancel.
      pendingWindow: Duration.days(7),
    });

    // CloudWatch Logs encrypts log groups with the key itself (no grant), limited to this account's log groups.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchLogsForThisAccountLogGroups',
        principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': stack.formatArn({
              service: 'logs',
              resource: 'log-group',
              resourceName: '*',
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );

    // Control Tower CT.KMS.PR.3: grants may only be created for AWS services working on a principal's behalf
    // (S3, Firehose, SageMaker, Glue), never handed to an arbitrary principal.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyGrantsExceptForAwsServices',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['kms:CreateGrant'],
        resources: ['*'],
        conditions: {
          BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' },
        },
      }),
    );
  }
}
