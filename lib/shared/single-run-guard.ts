import { ArnFormat, Stack, Token } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { retryTransient } from './retries';

export interface SingleRunGuardProps {
  /** The state machine's fixed name: a reference to the state machine would make its role depend on it. */
  readonly stateMachineName: string;
  /** Where this run's execution ARN is in the state. */
  readonly executionPath: string;
  /** Where a refused run, and an error while looking, goes: the pipeline's failure path. */
  readonly onFailure: sfn.IChainable;
}

/**
 * Refuses to start while an older run of this state machine is in progress: two rollouts to one endpoint would
 * spoil each other (the first would see the second's config and report a false rollback). A schedule and a manual
 * start can overlap; the later one fails with RunAlreadyInProgress and changes nothing. Of two runs that see each
 * other, the older one goes on. ListExecutions is eventually consistent, so two runs started within moments of
 * each other may still both go on; starts that far apart are what this guards against.
 */
/** The ARN of a state machine of this stack's account and region, from its name (no reference, so no cycle). */
export function stateMachineArnOf(scope: Construct, stateMachineName: string): string {
  return Stack.of(scope).formatArn({
    service: 'states',
    resource: 'stateMachine',
    resourceName: stateMachineName,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

export class SingleRunGuard extends Construct {
  readonly chain: sfn.Chain;

  constructor(scope: Construct, id: string, props: SingleRunGuardProps) {
    super(scope, id);
    const stateMachineArn = stateMachineArnOf(this, props.stateMachineName);
    const listRunning = new tasks.CallAwsService(this, 'FindRunningRuns', {
      service: 'sfn',
      action: 'listExecutions',
      // Newest first; the last of the list is the oldest run still going.
      parameters: { StateMachineArn: sfn.JsonPath.stateMachineId, StatusFilter: 'RUNNING', MaxResults: 100 },
      iamResources: [stateMachineArn],
      iamAction: 'states:ListExecutions',
      resultSelector: {
        count: sfn.JsonPath.arrayLength(sfn.JsonPath.listAt('$.Executions')),
        'executions.$': '$.Executions',
      },
      resultPath: '$.running',
    });
    retryTransient(listRunning, 'stepFunctionsSdk').addCatch(props.onFailure, {
      errors: [sfn.Errors.ALL],
      resultPath: '$.failure',
    });
    const refused = new sfn.Pass(this, 'RunAlreadyInProgress', {
      parameters: {
        Error: 'RunAlreadyInProgress',
        Cause:
          `An older run of ${props.stateMachineName} is in progress; this one changed nothing. Wait for it to end, ` +
          `or stop it: aws stepfunctions list-executions --state-machine-arn <arn> --status-filter RUNNING`,
      },
      resultPath: '$.failure',
    }).next(props.onFailure);
    const proceed = new sfn.Pass(this, 'NoOtherRun');
    const findOldest = new sfn.Pass(this, 'FindOldestRun', {
      parameters: {
        run: sfn.JsonPath.arrayGetItem(
          sfn.JsonPath.listAt('$.running.executions'),
          Token.asNumber(sfn.JsonPath.mathAdd(sfn.JsonPath.numberAt('$.running.count'), -1)),
        ),
      },
      resultPath: '$.oldest',
    });
    findOldest.next(
      new sfn.Choice(this, 'IsAnotherRunInProgress')
        .when(sfn.Condition.stringEqualsJsonPath('$.oldest.run.ExecutionArn', props.executionPath), proceed)
        .otherwise(refused),
    );
    listRunning.next(
      new sfn.Choice(this, 'AreRunsListed')
        // A list that does not show this run yet shows no older one either.
        .when(sfn.Condition.numberEquals('$.running.count', 0), proceed)
        .otherwise(findOldest),
    );
    this.chain = sfn.Chain.custom(listRunning, [proceed], proceed);
  }
}
