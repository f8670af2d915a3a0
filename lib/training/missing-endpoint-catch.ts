import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

export interface MissingEndpointCatchProps {
  /** The DescribeEndpoint task whose errors this sorts out. */
  readonly lookup: sfn.IChainable & { addCatch(handler: sfn.IChainable, props?: sfn.CatchProps): unknown };
  /** The names of the three states, each workflow's own. */
  readonly stateNames: { readonly choice: string; readonly wait: string; readonly failed: string };
  /** Where a missing endpoint goes. */
  readonly onMissing: sfn.IChainable;
  /** Where any other error goes, with it at `$.failure`. */
  readonly onFailure: sfn.IChainable;
  /** How long to wait before looking again after throttling. @default Duration.seconds(30) */
  readonly pollInterval?: Duration;
}

/**
 * The catch of a DescribeEndpoint task. SageMaker answers a missing endpoint with a ValidationException, "Could not
 * find endpoint", which reaches Step Functions under the same error name as throttling (`SageMaker.SageMakerException`,
 * see lib/shared/retries.ts). So the task does not retry by name: this catch tells the three apart by the cause.
 * A missing endpoint goes to `onMissing`, throttling waits and looks again, and any other error fails the run.
 */
export class MissingEndpointCatch extends Construct {
  /** Waits, then looks again: also where a caller goes to look again after the endpoint changed. */
  readonly lookAgain: sfn.IChainable;

  constructor(scope: Construct, id: string, props: MissingEndpointCatchProps) {
    super(scope, id);
    const cause = '$.lookup.Cause';
    const failed = new sfn.Pass(this, 'LookupFailed', {
      stateName: props.stateNames.failed,
      parameters: { 'Error.$': '$.lookup.Error', 'Cause.$': cause },
      resultPath: '$.failure',
    }).next(props.onFailure);
    const wait = new sfn.Wait(this, 'WaitBeforeLookup', {
      stateName: props.stateNames.wait,
      time: sfn.WaitTime.duration(props.pollInterval ?? Duration.seconds(30)),
    });
    wait.next(props.lookup);
    this.lookAgain = wait;
    props.lookup.addCatch(
      new sfn.Choice(this, 'IsMissing', { stateName: props.stateNames.choice })
        .when(sfn.Condition.stringMatches(cause, '*Could not find endpoint*'), props.onMissing)
        .when(
          sfn.Condition.or(
            sfn.Condition.stringMatches(cause, '*Rate exceeded*'),
            sfn.Condition.stringMatches(cause, '*ThrottlingException*'),
          ),
          wait,
        )
        .otherwise(failed),
      { errors: [sfn.Errors.ALL], resultPath: '$.lookup' },
    );
  }
}
