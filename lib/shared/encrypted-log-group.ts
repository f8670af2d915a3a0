import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { DataRemoval } from '../config/data-removal';

interface CommonLogGroupProps {
  readonly encryptionKey: kms.IKey;
  readonly retention: logs.RetentionDays;
}

/**
 * A group with a generated name, which outlives its stack or not as `removal` says; or a group with a fixed name,
 * only where a service writes to a name it derives itself. A fixed-name group is always deleted with its stack: kept,
 * it would make the next deploy of the stack fail with "already exists".
 */
export type EncryptedLogGroupProps = CommonLogGroupProps &
  (
    | { readonly removal: Pick<DataRemoval, 'removalPolicy'>; readonly logGroupName?: undefined }
    | { readonly logGroupName: string; readonly removal?: undefined }
  );

/**
 * A CloudWatch log group encrypted with the lake key and kept for the stage's retention period.
 *
 * Control Tower's CT.CLOUDWATCH.PR.2 asks for a year of retention. Prod keeps 365 days; a stage configured for less
 * (the sandbox keeps 14 to stay cheap) acknowledges the rule here, naming the configured period.
 */
export class EncryptedLogGroup extends logs.LogGroup {
  constructor(scope: Construct, id: string, props: EncryptedLogGroupProps) {
    super(scope, id, {
      logGroupName: props.logGroupName,
      encryptionKey: props.encryptionKey,
      retention: props.retention,
      removalPolicy: props.removal?.removalPolicy ?? RemovalPolicy.DESTROY,
    });
    if (props.retention < logs.RetentionDays.ONE_YEAR) {
      Validations.of(this).acknowledge({
        id: 'cdk-validator-cfnguard::cloudwatch_log_group_retention_period_check',
        reason: `This stage keeps logs for ${props.retention} days (logRetentionDays in the stage config) to limit cost; the prod stage keeps them for a year.`,
      });
    }
    if (Stack.of(props.encryptionKey) !== Stack.of(this)) {
      Validations.of(this).acknowledge({
        id: 'cdk-validator-cfnguard::cloudwatch_log_group_encrypted_check',
        reason:
          'The log group is encrypted with the lake key; its KmsKeyId is an import of the data lake stack export, which the rule cannot evaluate statically.',
      });
    }
  }
}
