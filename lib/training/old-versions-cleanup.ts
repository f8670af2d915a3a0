import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { PipelineNotification } from './pipeline-notification';
import { retryTransient } from '../shared/retries';
import { stateMachineArnOf } from '../shared/single-run-guard';
import { runResourceArn } from './run-names';

export interface OldVersionsCleanupProps {
  /** Prefix of the models and endpoint configs the pipeline creates (`<namePrefix>-<run id>`). */
  readonly namePrefix: string;
  /**
   * The training pipeline, when the clean-up runs outside it (the approved rollout): while one of its runs is in
   * progress, the candidate models (`<run id>-c`) are spared, since that run may still be scoring its own. When
   * omitted (the pipeline's own rollout, which no other run overlaps), leftover candidates go with the rest.
   */
  readonly trainingStateMachineName?: string;
  /** Where a clean-up that failed is announced. */
  readonly notifications: sns.ITopic;
  /** Where the run goes afterwards, whether the clean-up worked or not. */
  readonly next: sfn.IChainable;
}

/**
 * Deletes this stage's models and endpoint configs except the one just deployed (`$.run.id`), the one it replaced
 * (`$.existing.EndpointConfigName`, when there was one), which an operator can roll back to, and the training runs'
 * candidate models, which each run deletes itself. Without it every run
 * adds one of each, toward the account's quotas. A failed clean-up is announced and the run goes on: the endpoint
 * already serves the new model.
 */
export class OldVersionsCleanup extends Construct {
  readonly startState: sfn.IChainable;

  constructor(scope: Construct, id: string, props: OldVersionsCleanupProps) {
    super(scope, id);
    const { namePrefix } = props;
    const previousConfig = '$.existing.EndpointConfigName';
    const keepBoth = new sfn.Pass(this, 'KeepCurrentAndPreviousVersion', {
      parameters: { 'current.$': '$.run.id', 'previous.$': previousConfig },
      resultPath: '$.keep',
    });
    const keepCurrent = new sfn.Pass(this, 'KeepCurrentVersion', {
      parameters: { 'current.$': '$.run.id', 'previous.$': '$.run.id' },
      resultPath: '$.keep',
    });
    const candidates = new CandidatePolicy(this, 'Candidates', {
      trainingStateMachineName: props.trainingStateMachineName,
    });
    const configs = new DeleteOldVersions(this, 'OldEndpointConfigs', { namePrefix, kind: 'EndpointConfig' });
    const models = new DeleteOldVersions(this, 'OldModels', { namePrefix, kind: 'Model' });
    const cleanupFailed = new PipelineNotification(this, 'NotifyCleanupFailed', {
      topic: props.notifications,
      subject: `ML pipeline ${namePrefix}: old model versions were not deleted`,
      message: {
        execution: sfn.JsonPath.executionId,
        error: sfn.JsonPath.stringAt('$.cleanup.Error'),
        cause: sfn.JsonPath.stringAt('$.cleanup.Cause'),
        note: 'The endpoint serves the new model; the next run deletes what this one left.',
      },
      next: props.next,
    });
    for (const step of [configs, models]) step.catchInto(cleanupFailed);
    candidates.catchInto(cleanupFailed);
    // Configs first: each names a model, and a config left pointing at a deleted model could not be rolled back to.
    keepBoth.next(candidates.startState);
    keepCurrent.next(candidates.startState);
    candidates.next(configs.startState);
    configs.endState.next(models.startState);
    models.endState.next(props.next);
    this.startState = new sfn.Choice(this, 'HadPreviousVersion')
      .when(sfn.Condition.isPresent(previousConfig), keepBoth)
      .otherwise(keepCurrent);
  }
}

interface DeleteOldVersionsProps {
  readonly kind: 'Model' | 'EndpointConfig';
  readonly namePrefix: string;
}

/** Lists one kind of this stage's SageMaker resources and deletes each one that `$.keep` does not name. */
class DeleteOldVersions extends Construct {
  readonly startState: tasks.CallAwsService;
  readonly endState: sfn.Map;

  constructor(scope: Construct, id: string, props: DeleteOldVersionsProps) {
    super(scope, id);
    const { kind, namePrefix } = props;
    const plural = `${kind}s`;
    const list = new tasks.CallAwsService(this, 'List', {
      stateName: `List${plural}`,
      service: 'sagemaker',
      action: `list${plural}`,
      parameters: { NameContains: `${namePrefix}-`, SortBy: 'CreationTime', SortOrder: 'Descending', MaxResults: 100 },
      // List actions have no resource-level permissions.
      iamResources: ['*'],
      iamAction: `sagemaker:List${plural}`,
      resultSelector: { 'names.$': `$.${plural}[*].${kind}Name` },
      resultPath: '$.versions',
    });
    const remove = new tasks.CallAwsService(this, 'Delete', {
      stateName: `Delete${kind}`,
      service: 'sagemaker',
      action: `delete${kind}`,
      parameters: { [`${kind}Name`]: sfn.JsonPath.stringAt('$.name') },
      iamResources: [runResourceArn(this, kind === 'Model' ? 'model' : 'endpoint-config', namePrefix)],
      resultPath: sfn.JsonPath.DISCARD,
    });
    retryTransient(list, 'sagemakerSdk');
    retryTransient(remove, 'sagemakerSdk');
    const isOld = sfn.Condition.and(
      // NameContains matches anywhere in a name; only this stage's own names may go.
      sfn.Condition.stringMatches('$.name', `${namePrefix}-*`),
      sfn.Condition.not(sfn.Condition.stringEqualsJsonPath('$.name', '$.keep.current')),
      sfn.Condition.not(sfn.Condition.stringEqualsJsonPath('$.name', '$.keep.previous')),
      // A training run's candidate (`<run id>-c`, champion-challenger.ts) may still be scoring in a batch transform
      // while an approved version rolls out (CandidatePolicy). A run id, `<prefix>-<uuid>`, never ends in `-c`.
      ...(kind === 'Model'
        ? [
            sfn.Condition.not(
              sfn.Condition.and(
                sfn.Condition.stringMatches('$.name', '*-c'),
                sfn.Condition.stringEquals('$.keep.candidates', 'spare'),
              ),
            ),
          ]
        : []),
    );
    const each = new sfn.Map(this, 'Each', {
      stateName: `DeleteOld${plural}`,
      itemsPath: '$.versions.names',
      itemSelector: { 'name.$': '$$.Map.Item.Value', 'keep.$': '$.keep' },
      // One at a time: deletes are quick, and SageMaker throttles bursts.
      maxConcurrency: 1,
      resultPath: sfn.JsonPath.DISCARD,
    });
    each.itemProcessor(
      new sfn.Choice(this, 'IsOld', { stateName: `Is${kind}Old` })
        .when(isOld, remove)
        .otherwise(new sfn.Pass(this, 'Keep', { stateName: `Keep${kind}` })),
    );
    list.next(each);
    this.startState = list;
    this.endState = each;
  }

  catchInto(handler: sfn.IChainable): void {
    for (const state of [this.startState, this.endState]) {
      state.addCatch(handler, { errors: [sfn.Errors.ALL], resultPath: '$.cleanup' });
    }
  }
}

interface CandidatePolicyProps {
  readonly trainingStateMachineName?: string;
}

/**
 * Sets `$.keep.candidates`: `spare` while a run of the training pipeline is in progress, else `delete`. A run deletes
 * its own candidate on every path it controls; what a stopped or timed-out run left goes at the next clean-up.
 */
class CandidatePolicy extends Construct {
  readonly startState: sfn.State;
  private readonly lookup?: tasks.CallAwsService;
  private readonly decided: sfn.Pass[];

  constructor(scope: Construct, id: string, props: CandidatePolicyProps) {
    super(scope, id);
    const candidates = (value: 'spare' | 'delete'): sfn.PassProps => ({
      result: sfn.Result.fromString(value),
      resultPath: '$.keep.candidates',
    });
    const deleteThem = new sfn.Pass(this, 'DeleteLeftoverCandidates', candidates('delete'));
    if (props.trainingStateMachineName === undefined) {
      this.startState = deleteThem;
      this.decided = [deleteThem];
      return;
    }
    const spareThem = new sfn.Pass(this, 'SpareCandidates', candidates('spare'));
    const trainingArn = stateMachineArnOf(this, props.trainingStateMachineName);
    const lookup = new tasks.CallAwsService(this, 'FindRunningTrainingRuns', {
      service: 'sfn',
      action: 'listExecutions',
      parameters: { StateMachineArn: trainingArn, StatusFilter: 'RUNNING', MaxResults: 1 },
      iamAction: 'states:ListExecutions',
      iamResources: [trainingArn],
      resultSelector: { count: sfn.JsonPath.arrayLength(sfn.JsonPath.listAt('$.Executions')) },
      resultPath: '$.trainingRuns',
    });
    retryTransient(lookup, 'stepFunctionsSdk');
    lookup.next(
      new sfn.Choice(this, 'IsTrainingInProgress')
        .when(sfn.Condition.numberGreaterThan('$.trainingRuns.count', 0), spareThem)
        .otherwise(deleteThem),
    );
    this.lookup = lookup;
    this.startState = lookup;
    this.decided = [spareThem, deleteThem];
  }

  next(state: sfn.IChainable): void {
    for (const decided of this.decided) decided.next(state);
  }

  catchInto(handler: sfn.IChainable): void {
    this.lookup?.addCatch(handler, { errors: [sfn.Errors.ALL], resultPath: '$.cleanup' });
  }
}
