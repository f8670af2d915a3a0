import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { retryTransient } from '../shared/retries';

export interface PipelineNotificationProps {
  readonly topic: sns.ITopic;
  readonly subject: string;
  /** The message, as JSON with JSONPath values. */
  readonly message: { readonly [key: string]: unknown };
  /** Where the run goes after the publish, whether it succeeded or not. */
  readonly next: sfn.IChainable;
  /** The state's name in the definition. @default - the construct id */
  readonly stateName?: string;
}

/**
 * A state that publishes to the pipeline's topic and then goes on to `next`. SNS's transient errors are retried;
 * a publish that still fails is recorded under `$.notification` and the run goes on to `next` all the same, so a
 * broken notification can never replace the outcome it was announcing.
 */
export class PipelineNotification extends tasks.SnsPublish {
  constructor(scope: Construct, id: string, props: PipelineNotificationProps) {
    super(scope, id, {
      stateName: props.stateName,
      topic: props.topic,
      subject: props.subject,
      message: sfn.TaskInput.fromObject(props.message),
      resultPath: sfn.JsonPath.DISCARD,
    });
    retryTransient(this, 'sns').addCatch(props.next, { errors: [sfn.Errors.ALL], resultPath: '$.notification' });
    this.next(props.next);
  }
}
