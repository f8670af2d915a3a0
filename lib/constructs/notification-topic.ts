import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

export interface NotificationTopicProps {
  readonly displayName: string;
  /** Customer-managed key the topic is encrypted with (SSE-KMS). */
  readonly encryptionKey: kms.IKey;
  /** Address subscribed to every notification. @default - no subscription */
  readonly email?: string;
}

/**
 * The pipeline's notification topic: encrypted with the lake key, TLS-only, and open to exactly the publishers
 * that are granted access: the training pipeline's role (identity policy, through `grantPublish`) and the app's
 * CloudWatch alarms (topic and key policy, through `grantAlarmPublishing`). No other AWS service publishes here:
 * the budget e-mails its subscribers itself, and the schedule's EventBridge rule targets the state machine.
 */
export class NotificationTopic extends sns.Topic {
  private readonly encryptionKey: kms.IKey;

  constructor(scope: Construct, id: string, props: NotificationTopicProps) {
    super(scope, id, { displayName: props.displayName, masterKey: props.encryptionKey, enforceSSL: true });
    this.encryptionKey = props.encryptionKey;
    if (props.email !== undefined) this.addSubscription(new subscriptions.EmailSubscription(props.email));
  }

  /**
   * Lets CloudWatch alarms of this account and region whose names match `alarmNamePattern` publish to the topic.
   *
   * A service that publishes to an SSE-KMS topic needs `kms:GenerateDataKey*` and `kms:Decrypt` in the key's policy
   * (SNS developer guide, "Enable compatibility between event sources from AWS services and encrypted topics"), and
   * the topic policy that `enforceSSL` creates replaces the default one, so it must allow the publisher too. Both
   * statements are bound to this account's alarms by `aws:SourceAccount` and `aws:SourceArn` (confused-deputy
   * protection), which CloudWatch sets on both calls.
   * @param alarmNamePattern alarm names, `*` as wildcard, e.g. `mlpipe-sandbox-*`
   */
  grantAlarmPublishing(alarmNamePattern: string): void {
    const stack = Stack.of(this);
    const fromThisAppsAlarms = {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: {
        'aws:SourceArn': stack.formatArn({
          service: 'cloudwatch',
          resource: 'alarm',
          resourceName: alarmNamePattern,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      },
    };
    const cloudWatch = new iam.ServicePrincipal('cloudwatch.amazonaws.com');
    this.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowThisAppsAlarmsToPublish',
        principals: [cloudWatch],
        actions: ['sns:Publish'],
        resources: [this.topicArn],
        conditions: fromThisAppsAlarms,
      }),
    );
    const { statementAdded } = this.encryptionKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowThisAppsAlarmsToEncryptNotifications',
        principals: [cloudWatch],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: fromThisAppsAlarms,
      }),
    );
    if (!statementAdded) {
      throw new Error(
        `NotificationTopic ${this.node.path}: encryptionKey must be a key defined in this app, so its key policy ` +
          'can let CloudWatch alarms encrypt notifications; an imported key needs that statement added by its owner',
      );
    }
  }
}
