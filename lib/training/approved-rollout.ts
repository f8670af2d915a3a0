import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { approvedRolloutStateMachineName, trainingStateMachineName } from '../contract/training-run';
import { EncryptedLogGroup } from '../shared/encrypted-log-group';
import { executionLogs } from '../shared/execution-logs';
import { resourceFindingId } from '../shared/nag-findings';
import { retryOrFail } from '../shared/retries';
import { SingleRunGuard } from '../shared/single-run-guard';
import type { EndpointCapacity } from './endpoint-capacity';
import { EndpointRollout } from './endpoint-rollout';
import { createVolumeGrants, useLakeKey } from './lake-key-statements';
import { PipelineNotification } from './pipeline-notification';
import { runResourceArn } from './run-names';

export interface ApprovedRolloutProps {
  /** Prefix of the state machine and of the model and config it creates (`<namePrefix>-<uuid>`). */
  readonly namePrefix: string;
  /** The registry's group: only its versions' approvals start a rollout. */
  readonly registry: {
    readonly groupName: string;
    /** Every version of the group, `model-package/<group>/*` (ModelRegistry.packagesArn). */
    readonly packagesArn: string;
  };
  readonly endpointName: string;
  readonly capacity: EndpointCapacity;
  readonly sagemakerRole: iam.IRole;
  readonly encryptionKey: kms.IKey;
  readonly ownerTag: { readonly key: string; readonly value: string };
  /** Where a failed rollout is announced. */
  readonly notifications: sns.ITopic;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** How long to wait between polls of the endpoint. @default 30 seconds */
  readonly pollInterval?: Duration;
}

/**
 * Rollout on approval, for a stage whose registry waits for people (`registry.approval: manual`): a version set to
 * Approved (in SageMaker Studio, or `aws sagemaker update-model-package`) sends EventBridge a "SageMaker Model
 * Package State Change", which starts this workflow. It checks the version is still Approved, then rolls it out as
 * the training pipeline would (endpoint-rollout.ts), one rollout at a time. A rejected version starts nothing. So
 * only approved versions ever serve.
 */
export class ApprovedRollout extends Construct {
  readonly stateMachine: sfn.IStateMachine;

  constructor(scope: Construct, id: string, props: ApprovedRolloutProps) {
    super(scope, id);
    const stateMachineName = approvedRolloutStateMachineName(props.namePrefix);
    const failure = new PipelineNotification(this, 'NotifyDeployFailure', {
      topic: props.notifications,
      subject: `ML pipeline ${props.namePrefix}: rollout of an approved model failed`,
      message: {
        execution: sfn.JsonPath.executionId,
        modelPackage: sfn.JsonPath.stringAt('$.detail.ModelPackageArn'),
        error: sfn.JsonPath.stringAt('$.failure.Error'),
        cause: sfn.JsonPath.stringAt('$.failure.Cause'),
      },
      next: new sfn.Fail(this, 'DeployFailed', { errorPath: '$.failure.Error', causePath: '$.failure.Cause' }),
    });
    const prepare = new sfn.Pass(this, 'PrepareDeploy', {
      comment: 'Names the model and endpoint config of this rollout after one id',
      parameters: {
        id: sfn.JsonPath.format(`${props.namePrefix}-{}`, sfn.JsonPath.uuid()),
        execution: sfn.JsonPath.executionId,
      },
      resultPath: '$.run',
    });
    const guard = new SingleRunGuard(this, 'OneRollout', {
      stateMachineName,
      executionPath: '$.run.execution',
      onFailure: failure,
    });
    const packages = props.registry.packagesArn;
    const describe = new tasks.CallAwsService(this, 'ReadApprovedVersion', {
      service: 'sagemaker',
      action: 'describeModelPackage',
      parameters: { ModelPackageName: sfn.JsonPath.stringAt('$.detail.ModelPackageArn') },
      iamResources: [packages],
      resultSelector: { 'status.$': '$.ModelApprovalStatus' },
      resultPath: '$.version',
    });
    retryOrFail(describe, 'sagemakerSdk', failure);
    const registry = new sfn.Pass(this, 'UseVersion', {
      parameters: { 'packageArn.$': '$.detail.ModelPackageArn' },
      resultPath: '$.registry',
    });
    const rollout = new EndpointRollout(this, 'Rollout', {
      namePrefix: props.namePrefix,
      endpointName: props.endpointName,
      capacity: props.capacity,
      modelPackagesArn: packages,
      sagemakerRole: props.sagemakerRole,
      encryptionKey: props.encryptionKey,
      ownerTag: props.ownerTag,
      onFailure: failure,
      notifications: props.notifications,
      onSuccess: new sfn.Pass(this, 'Deployed', {
        comment: 'The execution output: the version that now serves',
        parameters: {
          modelPackageArn: sfn.JsonPath.stringAt('$.registry.packageArn'),
          endpointName: props.endpointName,
          endpointConfigName: sfn.JsonPath.stringAt('$.endpoint.EndpointConfigName'),
        },
      }),
      pollInterval: props.pollInterval,
      // A training run may be scoring its candidate model while this rolls out: the clean-up spares candidates then.
      trainingStateMachineName: trainingStateMachineName(props.namePrefix),
    });
    // Approved when the event was sent, and still: a version rejected since is not rolled out.
    const stillApproved = new sfn.Choice(this, 'IsStillApproved')
      .when(sfn.Condition.stringEquals('$.version.status', 'Approved'), registry.next(rollout.startState))
      .otherwise(
        new sfn.Succeed(this, 'NoLongerApproved', { comment: 'The version was rejected since; nothing changes' }),
      );

    const stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName,
      comment: 'Rolls out a model package version when it is approved',
      definitionBody: sfn.DefinitionBody.fromChainable(
        sfn.Chain.start(prepare).next(guard.chain).next(describe).next(stillApproved),
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
      timeout: Duration.hours(2),
    });
    this.stateMachine = stateMachine;
    // SageMaker encrypts an instance endpoint's volume through a grant made with the caller's credentials.
    stateMachine.role.addToPrincipalPolicy(useLakeKey(props.encryptionKey));
    stateMachine.role.addToPrincipalPolicy(createVolumeGrants(props.encryptionKey));
    Validations.of(stateMachine.role).acknowledge(
      {
        id: resourceFindingId(stateMachine.role, packages),
        reason: 'SageMaker numbers the versions of the one model package group as they are registered.',
      },
      ...(['model', 'endpoint-config'] as const).map((resource) => ({
        id: resourceFindingId(stateMachine.role, runResourceArn(this, resource, props.namePrefix)),
        reason: `Each rollout creates a ${resource} named <namePrefix>-<uuid>; the wildcard covers only this stage's.`,
      })),
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Log delivery, X-Ray tracing and sagemaker:ListModels / ListEndpointConfigs (the clean-up of old versions) have no resource-level permissions.',
      },
    );

    new events.Rule(this, 'OnApproval', {
      description: `A version of ${props.registry.groupName} was approved: roll it out`,
      eventPattern: {
        source: ['aws.sagemaker'],
        detailType: ['SageMaker Model Package State Change'],
        detail: { ModelPackageGroupName: [props.registry.groupName], ModelApprovalStatus: ['Approved'] },
      },
      targets: [new eventTargets.SfnStateMachine(stateMachine)],
    });
  }
}
