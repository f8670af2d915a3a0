import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { productionVariant, validateCapacity, type EndpointCapacity } from './endpoint-capacity';
import { MissingEndpointCatch } from './missing-endpoint-catch';
import { OldVersionsCleanup } from './old-versions-cleanup';
import { retryTransient } from '../shared/retries';
import { runResourceArn, validateEndpointName } from './run-names';
import { MODEL_PACKAGE_TAG_KEY } from '../contract/training-run';

export interface EndpointRolloutProps {
  /** Prefix of every model and endpoint config the pipeline creates (`<namePrefix>-<run id>`). */
  readonly namePrefix: string;
  /** The stable endpoint name the API calls. */
  readonly endpointName: string;
  /** How the endpoint serves. */
  readonly capacity: EndpointCapacity;
  /** The ARN pattern of the registry's versions (`model-package/<group>/*`), whose version `$.registry` names. */
  readonly modelPackagesArn: string;
  /** The role SageMaker assumes to host the model. */
  readonly sagemakerRole: iam.IRole;
  /** Encrypts an instance endpoint's storage volume. */
  readonly encryptionKey: kms.IKey;
  /** Put on every model, endpoint config and endpoint so the clean-up on stack deletion finds them. */
  readonly ownerTag: { readonly key: string; readonly value: string };
  /** Where every error goes: the pipeline's failure notification. */
  readonly onFailure: sfn.IChainable;
  /** Where a clean-up that failed is announced; the run then goes on to its report. */
  readonly notifications: sns.ITopic;
  /** What follows a rollout that serves the new model. */
  readonly onSuccess: sfn.IChainable;
  /** How long to wait between polls of the endpoint. @default 30 seconds */
  readonly pollInterval?: Duration;
  /** The training pipeline whose runs' candidate models the clean-up spares while one runs (OldVersionsCleanup). */
  readonly trainingStateMachineName?: string;
}

/** Endpoint statuses that change on their own; any other status is final until someone acts. */
const TRANSITIONAL_STATUSES = ['Creating', 'Updating', 'SystemUpdating', 'RollingBack', 'Deleting'];

/**
 * Model → endpoint config → create or update the stable endpoint → wait until it serves the new config → delete
 * the models and endpoint configs older than the previous one.
 *
 * Expects `$.run.id` (the names of this run's model and config) and `$.registry.packageArn`: the model is created
 * from that registered version (its image and artefact), so only a registered version can serve, and it carries the
 * version's ARN in a tag.
 */
export class EndpointRollout extends Construct {
  readonly startState: sfn.IChainable;
  private readonly props: EndpointRolloutProps;
  private readonly stack: Stack;

  constructor(scope: Construct, id: string, props: EndpointRolloutProps) {
    super(scope, id);
    this.props = props;
    this.stack = Stack.of(this);
    const owner = `EndpointRollout ${this.node.path}`;
    validateEndpointName(owner, props.endpointName);
    const pollSeconds = (props.pollInterval ?? Duration.seconds(30)).toSeconds({ integral: false });
    if (!Number.isInteger(pollSeconds) || pollSeconds < 1) {
      throw new Error(`${owner}: pollInterval (${pollSeconds} s) must be a whole number of seconds, at least 1`);
    }
    validateCapacity(owner, props.capacity);
    const { endpointName } = props;
    const endpointArn = this.arn('endpoint', endpointName);
    const tags = [{ Key: props.ownerTag.key, Value: props.ownerTag.value }];
    const tagOnCreate = (resources: string[]) => new iam.PolicyStatement({ actions: ['sagemaker:AddTags'], resources });
    const poll = () => sfn.WaitTime.duration(props.pollInterval ?? Duration.seconds(30));
    const runName = sfn.JsonPath.stringAt('$.run.id');

    const createModel = new tasks.CallAwsService(this, 'CreateModel', {
      service: 'sagemaker',
      action: 'createModel',
      parameters: {
        ModelName: runName,
        ExecutionRoleArn: props.sagemakerRole.roleArn,
        // Serverless inference does not support network isolation; instance endpoints get it.
        EnableNetworkIsolation: 'instances' in props.capacity,
        // Deployed from the registry: SageMaker takes the image and artefact the version holds (SageMaker developer
        // guide, "Create a model (using Model Registry)", for serverless and instance endpoints alike).
        PrimaryContainer: { ModelPackageName: sfn.JsonPath.stringAt('$.registry.packageArn') },
        // What serves is traceable to its registered version.
        Tags: [...tags, { Key: MODEL_PACKAGE_TAG_KEY, Value: sfn.JsonPath.stringAt('$.registry.packageArn') }],
      },
      iamResources: [this.runArn('model')],
      additionalIamStatements: [
        tagOnCreate([this.runArn('model')]),
        // Only the stage's versions can be made into a model here.
        new iam.PolicyStatement({ actions: ['sagemaker:DescribeModelPackage'], resources: [props.modelPackagesArn] }),
        new iam.PolicyStatement({
          actions: ['iam:PassRole'],
          resources: [props.sagemakerRole.roleArn],
          conditions: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
        }),
      ],
      resultPath: sfn.JsonPath.DISCARD,
    });

    const createEndpointConfig = new tasks.CallAwsService(this, 'CreateEndpointConfig', {
      service: 'sagemaker',
      action: 'createEndpointConfig',
      parameters: {
        EndpointConfigName: runName,
        ProductionVariants: [productionVariant(props.capacity, runName)],
        // A serverless variant has no storage volume to encrypt, and SageMaker rejects a key for it.
        ...('instances' in props.capacity ? { KmsKeyId: props.encryptionKey.keyArn } : {}),
        Tags: tags,
      },
      iamResources: [this.runArn('endpoint-config')],
      additionalIamStatements: [tagOnCreate([this.runArn('endpoint-config')])],
      resultPath: sfn.JsonPath.DISCARD,
    });

    // A missing endpoint is a first rollout (missing-endpoint-catch.ts).
    const findEndpoint = new tasks.CallAwsService(this, 'FindEndpoint', {
      service: 'sagemaker',
      action: 'describeEndpoint',
      parameters: { EndpointName: endpointName },
      iamResources: [endpointArn],
      resultPath: '$.existing',
    });
    const createEndpoint = new tasks.CallAwsService(this, 'CreateEndpoint', {
      service: 'sagemaker',
      action: 'createEndpoint',
      parameters: { EndpointName: endpointName, EndpointConfigName: runName, Tags: tags },
      iamResources: [endpointArn, this.runArn('endpoint-config')],
      additionalIamStatements: [tagOnCreate([endpointArn])],
      resultPath: sfn.JsonPath.DISCARD,
    });
    const updateEndpoint = new tasks.CallAwsService(this, 'UpdateEndpoint', {
      service: 'sagemaker',
      action: 'updateEndpoint',
      parameters: { EndpointName: endpointName, EndpointConfigName: runName },
      iamResources: [endpointArn, this.runArn('endpoint-config')],
      resultPath: sfn.JsonPath.DISCARD,
    });
    const deleteFailed = new tasks.CallAwsService(this, 'DeleteFailedEndpoint', {
      service: 'sagemaker',
      action: 'deleteEndpoint',
      parameters: { EndpointName: endpointName },
      iamResources: [endpointArn],
      resultPath: sfn.JsonPath.DISCARD,
    });
    const describeEndpoint = new tasks.CallAwsService(this, 'DescribeEndpoint', {
      service: 'sagemaker',
      action: 'describeEndpoint',
      parameters: { EndpointName: endpointName },
      iamResources: [endpointArn],
      resultPath: '$.endpoint',
    });
    for (const task of [
      createModel,
      createEndpointConfig,
      createEndpoint,
      updateEndpoint,
      deleteFailed,
      describeEndpoint,
    ]) {
      retryTransient(task, 'sagemakerSdk').addCatch(props.onFailure, {
        errors: [sfn.Errors.ALL],
        resultPath: '$.failure',
      });
    }

    const waitBeforeLookup = new MissingEndpointCatch(this, 'EndpointLookup', {
      lookup: findEndpoint,
      stateNames: { choice: 'IsEndpointMissing', wait: 'WaitBeforeEndpointLookup', failed: 'EndpointLookupFailed' },
      onMissing: createEndpoint,
      onFailure: props.onFailure,
      pollInterval: props.pollInterval,
    }).lookAgain;

    // An endpoint in a status that does not change by itself fails the run with SageMaker's FailureReason, which
    // DescribeEndpoint includes only when it has one: both callers hand the description to one message builder.
    const describeUnusable = this.unusableEndpointFailure(props.onFailure);
    const unusable = (at: string, what: string): sfn.PassProps => ({
      parameters: { 'endpoint.$': at, what },
      resultPath: '$.unusable',
    });
    const isTransitional = (path: string) =>
      sfn.Condition.or(...TRANSITIONAL_STATUSES.map((status) => sfn.Condition.stringEquals(path, status)));

    // Only an InService endpoint can be updated, and a Failed one only deleted; a changing one is waited for. The
    // loops return to FindEndpoint, which sends a deleted endpoint down the first-rollout path. Any other status
    // (OutOfService, UpdateRollbackFailed) does not change without someone's help, so the run fails with it.
    deleteFailed.next(waitBeforeLookup);
    const existingStatus = '$.existing.EndpointStatus';
    findEndpoint.next(
      new sfn.Choice(this, 'IsEndpointUpdatable')
        .when(sfn.Condition.stringEquals(existingStatus, 'InService'), updateEndpoint)
        .when(sfn.Condition.stringEquals(existingStatus, 'Failed'), deleteFailed)
        .when(isTransitional(existingStatus), waitBeforeLookup)
        .otherwise(
          new sfn.Pass(
            this,
            'EndpointNotUpdatable',
            unusable('$.existing', 'cannot take a new model until it is fixed or deleted'),
          ).next(describeUnusable),
        ),
    );

    const wait = new sfn.Wait(this, 'WaitForEndpoint', { time: poll() });
    createEndpoint.next(wait);
    updateEndpoint.next(wait);
    const status = '$.endpoint.EndpointStatus';
    const rolledBack = new sfn.Pass(this, 'UpdateRolledBack', {
      parameters: {
        Error: 'EndpointUpdateRolledBack',
        Cause: sfn.JsonPath.format(
          `Endpoint ${endpointName} rolled back to config {} instead of {}`,
          sfn.JsonPath.stringAt('$.endpoint.EndpointConfigName'),
          runName,
        ),
      },
      resultPath: '$.failure',
    }).next(props.onFailure);
    wait.next(describeEndpoint).next(
      new sfn.Choice(this, 'IsEndpointInService')
        .when(
          sfn.Condition.and(
            sfn.Condition.stringEquals(status, 'InService'),
            sfn.Condition.stringEqualsJsonPath('$.endpoint.EndpointConfigName', '$.run.id'),
          ),
          new OldVersionsCleanup(this, 'OldVersions', {
            namePrefix: props.namePrefix,
            trainingStateMachineName: props.trainingStateMachineName,
            notifications: props.notifications,
            next: props.onSuccess,
          }).startState,
        )
        // A failed update rolls back to the previous config and reports InService again.
        .when(sfn.Condition.stringEquals(status, 'InService'), rolledBack)
        .when(isTransitional(status), wait)
        .otherwise(
          new sfn.Pass(this, 'EndpointFailed', unusable('$.endpoint', 'does not serve')).next(describeUnusable),
        ),
    );

    this.startState = sfn.Chain.start(createModel).next(createEndpointConfig).next(findEndpoint);
  }

  /** `$.unusable` (an endpoint description and what it cannot do) as the run's failure, with the reason if any. */
  private unusableEndpointFailure(onFailure: sfn.IChainable): sfn.IChainable {
    const { endpointName } = this.props;
    const failure = (reason: string): sfn.PassProps => ({
      parameters: {
        Error: 'EndpointUnusable',
        Cause: sfn.JsonPath.format(
          `Endpoint ${endpointName} is {} and {}: {}`,
          sfn.JsonPath.stringAt('$.unusable.endpoint.EndpointStatus'),
          sfn.JsonPath.stringAt('$.unusable.what'),
          reason,
        ),
      },
      resultPath: '$.failure',
    });
    const withReason = new sfn.Pass(
      this,
      'EndpointUnusable',
      failure(sfn.JsonPath.stringAt('$.unusable.endpoint.FailureReason')),
    );
    const withoutReason = new sfn.Pass(this, 'EndpointUnusableWithoutReason', failure('SageMaker gave no reason'));
    withReason.next(onFailure);
    withoutReason.next(onFailure);
    return new sfn.Choice(this, 'HasFailureReason')
      .when(sfn.Condition.isPresent('$.unusable.endpoint.FailureReason'), withReason)
      .otherwise(withoutReason);
  }

  private arn(resource: string, name: string): string {
    return this.stack.formatArn({ service: 'sagemaker', resource, resourceName: name });
  }

  /** Any model or endpoint config of this stage's runs. */
  private runArn(resource: 'model' | 'endpoint-config'): string {
    return runResourceArn(this, resource, this.props.namePrefix);
  }
}
