import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

export interface NotificationTopicProps {
  /**
   * The topic's name. Fixed, because the key policy names the topic's ARN in its encryption-context condition, and
   * the key's stack cannot refer to a topic in a stack that depends on it.
   */
  readonly topicName: string;
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
  private readonly fixedTopicName: string;

  constructor(scope: Construct, id: string, props: NotificationTopicProps) {
    super(scope, id, {
      topicName: props.topicName,
      displayName: props.displayName,
      masterKey: props.encryptionKey,
      enforceSSL: true,
    });
    this.encryptionKey = props.encryptionKey;
    this.fixedTopicName = props.topicName;
    if (props.email !== undefined) this.addSubscription(new subscriptions.EmailSubscription(props.email));
  }

  /**
   * Lets CloudWatch alarms of this account and region whose names match `alarmNamePattern` publish to the topic.
   *
   * A service that publishes to an SSE-KMS topic needs `kms:GenerateDataKey*` and `kms:Decrypt` in the key's policy
   * (SNS developer guide, "Enable compatibility between event sources from AWS services and encrypted topics"), and
   * the topic policy that `enforceSSL` creates replaces the default one, so it must allow the publisher too. Both
   * statements are bound to this account's alarms by `aws:SourceAccount` and `aws:SourceArn` (confused-deputy
   * protection). The key statement is also bound to this topic by SNS's encryption context,
   * `kms:EncryptionContext:aws:sns:topicArn`, so CloudWatch can use the shared lake key for nothing else; AWS
   * documents the same pair of conditions for a service that publishes to an encrypted topic (GameLift developer
   * guide, "Set up an SNS topic with server-side encryption").
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
        conditions: {
          ...fromThisAppsAlarms,
          StringEquals: {
            ...fromThisAppsAlarms.StringEquals,
            'kms:EncryptionContext:aws:sns:topicArn': stack.formatArn({
              service: 'sns',
              resource: this.fixedTopicName,
            }),
          },
        },
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
