import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { EncryptedLogGroup } from '../shared/encrypted-log-group';
import { executionLogs } from '../shared/execution-logs';
import { retryTransient } from '../shared/retries';
import { SingleRunGuard, stateMachineArnOf } from '../shared/single-run-guard';

export interface RetrainTriggerProps {
  /** Prefix of the trigger's state machine. */
  readonly namePrefix: string;
  /** The training pipeline's fixed name: a reference would make this stack's role depend on the training stack's. */
  readonly trainingStateMachineName: string;
  /** The alarm whose ALARM state starts a retrain. */
  readonly alarm: cloudwatch.IAlarm;
  /** The least time between two retrains the trigger starts, 1 hour to 30 days. */
  readonly cooldown: Duration;
  readonly encryptionKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * Retraining on signal: an alarm that enters ALARM (EventBridge's "CloudWatch Alarm State Change") starts this
 * workflow, which starts the training pipeline unless a training run is in progress, then waits out the cool-down.
 * While it waits it is itself in progress, and a later trigger sees it and ends at once (SingleRunGuard: of two,
 * the older goes on), and the run's name, the alarm's hour, stops two triggers that saw each other too late. So at
 * most one retrain starts per cool-down, and none while the pipeline runs. An alarm that stays in ALARM sends no
 * further event: another retrain needs it to recover and fire again. Step Functions bills transitions, not waiting.
 */
export class RetrainTrigger extends Construct {
  readonly stateMachine: sfn.IStateMachine;

  constructor(scope: Construct, id: string, props: RetrainTriggerProps) {
    super(scope, id);
    const hours = props.cooldown.toHours({ integral: false });
    if (!Number.isInteger(hours) || hours < 1 || hours > 720) {
      throw new Error(`RetrainTrigger: cooldown (${props.cooldown.toHumanString()}) must be 1 to 720 whole hours`);
    }
    const stateMachineName = `${props.namePrefix}-retrain-trigger`;
    const trainingArn = stateMachineArnOf(this, props.trainingStateMachineName);

    const prepare = new sfn.Pass(this, 'ReadAlarm', {
      parameters: {
        execution: sfn.JsonPath.executionId,
        'alarm.$': '$.detail.alarmName',
        'reason.$': '$.detail.state.reason',
        // The hour the alarm fired, e.g. 2026-12-02T08: the training run's name, so two triggers of one hour that
        // both passed the guard (ListExecutions is eventually consistent) cannot start two runs.
        'hour.$': "States.ArrayGetItem(States.StringSplit($.time, ':'), 0)",
      },
      resultPath: '$.trigger',
    });
    const failed = new sfn.Fail(this, 'TriggerFailed', { errorPath: '$.failure.Error', causePath: '$.failure.Cause' });
    const guard = new SingleRunGuard(this, 'OneTrigger', {
      stateMachineName,
      executionPath: '$.trigger.execution',
      onFailure: new sfn.Choice(this, 'IsCoolingDown')
        .when(
          sfn.Condition.stringEquals('$.failure.Error', 'RunAlreadyInProgress'),
          new sfn.Succeed(this, 'InCooldown', {
            comment: 'A retrain started within the cool-down; this alarm adds none',
          }),
        )
        .otherwise(failed),
    });
    const findTraining = new tasks.CallAwsService(this, 'FindRunningTraining', {
      service: 'sfn',
      action: 'listExecutions',
      parameters: { StateMachineArn: trainingArn, StatusFilter: 'RUNNING', MaxResults: 1 },
      iamResources: [trainingArn],
      iamAction: 'states:ListExecutions',
      resultSelector: { count: sfn.JsonPath.arrayLength(sfn.JsonPath.listAt('$.Executions')) },
      resultPath: '$.training',
    });
    const startTraining = new tasks.CallAwsService(this, 'StartTraining', {
      service: 'sfn',
      action: 'startExecution',
      parameters: {
        StateMachineArn: trainingArn,
        Name: sfn.JsonPath.format('retrain-{}', sfn.JsonPath.stringAt('$.trigger.hour')),
        Input: sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt('$.trigger')),
      },
      iamResources: [trainingArn],
      iamAction: 'states:StartExecution',
      resultSelector: { 'execution.$': '$.ExecutionArn' },
      resultPath: '$.started',
    });
    const alreadyStarted = new sfn.Succeed(this, 'AlreadyStarted', {
      comment: 'Another trigger of this hour started the run',
    });
    retryTransient(findTraining, 'stepFunctionsSdk').addCatch(failed, {
      errors: [sfn.Errors.ALL],
      resultPath: '$.failure',
    });
    retryTransient(startTraining, 'stepFunctionsSdk')
      .addCatch(alreadyStarted, { errors: ['Sfn.ExecutionAlreadyExistsException'], resultPath: '$.failure' })
      .addCatch(failed, { errors: [sfn.Errors.ALL], resultPath: '$.failure' });
    const coolDown = new sfn.Wait(this, 'CoolDown', {
      comment: `Holds the trigger for ${hours} h, so later alarms end at the guard`,
      time: sfn.WaitTime.duration(props.cooldown),
    });

    const stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName,
      comment: 'Starts the training pipeline on a drift or quality alarm, at most once per cool-down',
      definitionBody: sfn.DefinitionBody.fromChainable(
        sfn.Chain.start(prepare)
          .next(guard.chain)
          .next(findTraining)
          .next(
            new sfn.Choice(this, 'IsTrainingRunning')
              .when(
                sfn.Condition.numberGreaterThan('$.training.count', 0),
                new sfn.Succeed(this, 'TrainingInProgress', { comment: 'A run is training already; none is added' }),
              )
              .otherwise(startTraining.next(coolDown).next(new sfn.Succeed(this, 'Retrained'))),
          ),
      ),
      stateMachineType: sfn.StateMachineType.STANDARD,
      tracingEnabled: true,
      logs: executionLogs(
        new EncryptedLogGroup(this, 'ExecutionLogs', {
          encryptionKey: props.encryptionKey,
          retention: props.logRetention,
          removalPolicy: props.removalPolicy,
        }),
      ),
      timeout: props.cooldown.plus(Duration.hours(1)),
    });

    this.stateMachine = stateMachine;
    Validations.of(stateMachine.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'Log delivery and X-Ray tracing of the state machine have no resource-level permissions.',
    });

    new events.Rule(this, 'OnAlarm', {
      description: 'A drift or quality alarm entered ALARM: start the retrain trigger',
      eventPattern: {
        source: ['aws.cloudwatch'],
        detailType: ['CloudWatch Alarm State Change'],
        resources: [props.alarm.alarmArn],
        detail: { state: { value: ['ALARM'] } },
      },
      targets: [new eventTargets.SfnStateMachine(this.stateMachine)],
    });
  }
}
