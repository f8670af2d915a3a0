import { CustomResource, Duration, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { EncryptedLogGroup } from '../shared/encrypted-log-group';
import { resourceFindingId } from '../shared/nag-findings';
import { PipelineFunction } from '../shared/pipeline-function';
import { runResourceArn, validateEndpointName } from './run-names';

export interface SageMakerCleanupProps {
  /** The tag the pipeline puts on every model, endpoint config and endpoint it creates. */
  readonly ownerTag: { readonly key: string; readonly value: string };
  /** Prefix of the model and endpoint-config names the pipeline creates (`<namePrefix>-<uuid>`). */
  readonly namePrefix: string;
  /** The one endpoint the pipeline creates. */
  readonly endpointName: string;
  /** The registry's group, whose versions are deleted so the stack can delete the group; '' keeps the registry. */
  readonly modelPackageGroupName: string;
  /** Encrypts the log groups of the handlers and of the provider framework. */
  readonly encryptionKey: kms.IKey;
  /** How long the clean-up's logs are kept. */
  readonly logRetention: logs.RetentionDays;
  /** What happens to the clean-up's log groups when its stack is deleted. */
  readonly removalPolicy: RemovalPolicy;
  /** The endpoint's log group: deleted only after the clean-up has waited for the endpoint to be gone. */
  readonly endpointLogGroup: logs.ILogGroup;
  /**
   * Longest the clean-up may take, the endpoint's deletion included; at most an hour, a custom resource's limit.
   * @default Duration.minutes(30)
   */
  readonly timeout?: Duration;
  /** How often the clean-up asks whether the endpoint is gone; must divide `timeout`. @default Duration.seconds(15) */
  readonly pollInterval?: Duration;
  /**
   * The logical id of the function that the clean-up resource of an already deployed stack names as its
   * ServiceToken. CloudFormation refuses to change a custom resource's ServiceToken, and a resource under a new id
   * would make the update delete the old one, which runs the old clean-up against the live endpoint; so the
   * provider's entry point takes over this id, and the update changes that function in place.
   * @default - the entry point keeps the logical id CDK gives it
   */
  readonly serviceTokenFunctionLogicalId?: string;
}

/**
 * A custom resource that does nothing until its stack is deleted, then deletes the SageMaker endpoint, endpoint
 * configs and models that the training pipeline created outside CloudFormation, found by their owner tag. Without
 * it, `cdk destroy` would leave an endpoint billing. If the clean-up fails or times out, so does the stack deletion.
 *
 * It demonstrates CDK's custom resource provider framework with an asynchronous resource: `onEvent` starts the
 * endpoint's deletion, and the framework's waiter state machine calls `isComplete` every `pollInterval` until the
 * endpoint is gone and the configs and models are deleted, for up to `timeout`, beyond a Lambda invocation's 15
 * minutes. The framework, not the handlers, answers CloudFormation.
 */
export class SageMakerCleanup extends Construct {
  constructor(scope: Construct, id: string, props: SageMakerCleanupProps) {
    super(scope, id);
    validateEndpointName(`SageMakerCleanup ${this.node.path}`, props.endpointName);
    const timeout = props.timeout ?? Duration.minutes(30);
    const pollInterval = props.pollInterval ?? Duration.seconds(15);
    validateTiming(this.node.path, timeout, pollInterval);
    // Two functions from one bundle (lambda/sagemaker-cleanup), one per exported handler, each with its own role.
    const handlerProps = {
      entry: 'sagemaker-cleanup',
      environment: {
        OWNER_TAG_KEY: props.ownerTag.key,
        OWNER_TAG_VALUE: props.ownerTag.value,
        MODEL_PACKAGE_GROUP: props.modelPackageGroupName,
      },
      // Each call is a few API calls; the framework's waiter, not the function, spans the endpoint's deletion.
      timeout: Duration.minutes(5),
      encryptionKey: props.encryptionKey,
      logRetention: props.logRetention,
      logRemovalPolicy: props.removalPolicy,
    };
    const onEvent = new PipelineFunction(this, 'OnEventHandler', {
      ...handlerProps,
      handler: 'onEvent',
      description:
        'Deletes the SageMaker resources of the training pipeline when its stack is deleted (onEvent: starts deleting the endpoint)',
    });
    const isComplete = new PipelineFunction(this, 'IsCompleteHandler', {
      ...handlerProps,
      handler: 'isComplete',
      description:
        'Deletes the SageMaker resources of the training pipeline when its stack is deleted (isComplete: waits for the endpoint, deletes configs and models)',
    });
    this.grantCleanup(onEvent, isComplete, props);

    const frameworkLogs = new EncryptedLogGroup(this, 'ProviderLogs', {
      encryptionKey: props.encryptionKey,
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    const waiterLogs = new EncryptedLogGroup(this, 'WaiterLogs', {
      encryptionKey: props.encryptionKey,
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    // Roles of our own for the framework's functions: CDK's default ones carry AWSLambdaBasicExecutionRole, which
    // may create and write any log group.
    const frameworkOnEventRole = new FrameworkRole(this, 'FrameworkOnEventRole', { logGroup: frameworkLogs });
    const frameworkIsCompleteRole = new FrameworkRole(this, 'FrameworkIsCompleteRole', { logGroup: frameworkLogs });
    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: onEvent.function,
      isCompleteHandler: isComplete.function,
      queryInterval: pollInterval,
      totalTimeout: timeout,
      logGroup: frameworkLogs,
      frameworkOnEventRole,
      frameworkCompleteAndTimeoutRole: frameworkIsCompleteRole,
      frameworkLambdaLoggingLevel: lambda.ApplicationLogLevel.INFO,
      disableWaiterStateMachineLogging: false,
      // Without execution data: the waiter's input carries CloudFormation's pre-signed response URL.
      waiterStateMachineLogOptions: { destination: waiterLogs, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    if (props.serviceTokenFunctionLogicalId !== undefined) {
      this.takeOverServiceToken(provider, props.serviceTokenFunctionLogicalId);
    }
    this.acknowledgeFramework(provider, onEvent, isComplete, frameworkOnEventRole, frameworkIsCompleteRole);

    const resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::SageMakerCleanup',
      properties: { OwnerTagKey: props.ownerTag.key, OwnerTagValue: props.ownerTag.value },
    });
    // Everything that runs the delete must outlive the resource, and the endpoint's log group must outlive the wait.
    resource.node.addDependency(
      onEvent,
      isComplete,
      frameworkLogs,
      waiterLogs,
      frameworkOnEventRole,
      frameworkIsCompleteRole,
      provider,
      props.endpointLogGroup,
    );
  }

  /** onEvent deletes only the stage's endpoint; isComplete waits for it and deletes only run-named configs and models. */
  private grantCleanup(onEvent: PipelineFunction, isComplete: PipelineFunction, props: SageMakerCleanupProps): void {
    const endpointArn = Stack.of(this).formatArn({
      service: 'sagemaker',
      resource: 'endpoint',
      resourceName: props.endpointName,
    });
    const runResources = (['endpoint-config', 'model'] as const).map((resource) =>
      runResourceArn(this, resource, props.namePrefix),
    );
    for (const handler of [onEvent, isComplete]) {
      handler.role.addToPrincipalPolicy(
        new iam.PolicyStatement({ sid: 'FindTaggedResources', actions: ['tag:GetResources'], resources: ['*'] }),
      );
      Validations.of(handler.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'tag:GetResources and X-Ray tracing have no resource-level permissions; deletes are scoped by ARN.',
      });
    }
    onEvent.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'DeletePipelineEndpoint',
        actions: ['sagemaker:DeleteEndpoint'],
        resources: [endpointArn],
      }),
    );
    isComplete.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WaitForEndpointDeletion',
        actions: ['sagemaker:DescribeEndpoint'],
        resources: [endpointArn],
      }),
    );
    isComplete.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'DeletePipelineResources',
        actions: ['sagemaker:DeleteEndpointConfig', 'sagemaker:DeleteModel'],
        resources: runResources,
      }),
    );
    if (props.modelPackageGroupName !== '') this.grantVersionDeletion(isComplete.role, props.modelPackageGroupName);
    Validations.of(isComplete.role).acknowledge(
      ...runResources.map((resource) => ({
        id: resourceFindingId(isComplete.role, resource),
        reason: 'The pipeline names each model and endpoint config <namePrefix>-<uuid> at run time.',
      })),
    );
  }

  /** Listing and deleting the versions of the registry's group, so the stack can delete the group. */
  private grantVersionDeletion(role: iam.IRole, group: string): void {
    const versions = Stack.of(this).formatArn({
      service: 'sagemaker',
      resource: 'model-package',
      resourceName: `${group}/*`,
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'DeleteRegisteredVersions',
        actions: ['sagemaker:DeleteModelPackage'],
        resources: [versions],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        // ListModelPackages has no resource-level permissions; the function lists its one group.
        sid: 'ListRegisteredVersions',
        actions: ['sagemaker:ListModelPackages'],
        resources: ['*'],
      }),
    );
    Validations.of(role).acknowledge({
      id: resourceFindingId(role, versions),
      reason: 'SageMaker numbers the versions of the one model package group as they are registered.',
    });
  }

  /** Gives the provider's entry point, the function its serviceToken names, the logical id `logicalId`. */
  private takeOverServiceToken(provider: cr.Provider, logicalId: string): void {
    if (!/^[A-Za-z0-9]{1,255}$/.test(logicalId)) {
      throw new Error(
        `SageMakerCleanup ${this.node.path}: serviceTokenFunctionLogicalId '${logicalId}' is not a logical id; ` +
          'pass the alphanumeric id of the function in the deployed template',
      );
    }
    // An L1 escape hatch: the Provider has no option for its entry point's id.
    const entryPoint = provider.node
      .findAll()
      .find((c): c is lambda.Function => c instanceof lambda.Function && c.functionArn === provider.serviceToken);
    if (entryPoint === undefined) throw new Error(`SageMakerCleanup ${this.node.path}: no provider entry point found`);
    (entryPoint.node.defaultChild as lambda.CfnFunction).overrideLogicalId(logicalId);
  }

  /** The findings on the provider framework's own functions, roles and waiter, each with why it stays. */
  private acknowledgeFramework(
    provider: cr.Provider,
    onEvent: PipelineFunction,
    isComplete: PipelineFunction,
    ...frameworkRoles: iam.IRole[]
  ): void {
    for (const role of frameworkRoles) {
      Validations.of(role).acknowledge(
        ...[onEvent, isComplete].map((handler) => ({
          id: resourceFindingId(role, `${handler.function.functionArn}:*`),
          reason: "The provider framework's grantInvoke covers every version and alias of the one clean-up handler.",
        })),
      );
    }
    // The framework's own functions, found by type: the waiter invokes isComplete and onTimeout.
    const frameworkFunctions = provider.node
      .findAll()
      .filter((construct): construct is lambda.Function => construct instanceof lambda.Function);
    Validations.of(provider).acknowledge(
      ...frameworkFunctions.map((fn) => ({
        id: resourceFindingId(provider, `${fn.functionArn}:*`),
        reason: "The waiter's grantInvoke covers every version and alias of one of the framework's own functions.",
      })),
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          "The waiter state machine's log delivery actions (logs:CreateLogDelivery and the like) have no resource-level permissions.",
      },
      {
        id: 'AwsSolutions-SF2',
        reason:
          "CDK's waiter state machine has no tracing option; it only polls isComplete, and each poll is in its execution history and log group.",
      },
      {
        id: 'cdk-validator-cfnguard::step_functions_state_machine_tracing_enabled_check',
        reason:
          "CDK's waiter state machine has no tracing option; it only polls isComplete, and each poll is in its execution history and log group.",
      },
      {
        id: 'cdk-validator-cfnguard::lambda_inside_vpc_check',
        reason:
          'The provider framework functions call only Lambda, Step Functions and CloudFormation; the pipeline has no VPC.',
      },
    );
  }
}

interface FrameworkRoleProps {
  /** The provider framework's log group, the only thing the role may write to. */
  readonly logGroup: logs.ILogGroup;
}

/** A role for provider framework functions: write to their log group; the framework adds its invoke grants. */
class FrameworkRole extends iam.Role {
  constructor(scope: Construct, id: string, props: FrameworkRoleProps) {
    super(scope, id, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Custom resource provider framework of the SageMaker clean-up',
    });
    this.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteFrameworkLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [props.logGroup.logGroupArn],
      }),
    );
  }
}

/** The provider framework's own limits, checked here so the error names this construct's props. */
function validateTiming(path: string, timeout: Duration, pollInterval: Duration): void {
  const fail = (message: string): never => {
    throw new Error(`SageMakerCleanup ${path}: ${message}`);
  };
  const pollSeconds = pollInterval.toSeconds({ integral: false });
  const timeoutSeconds = timeout.toSeconds({ integral: false });
  if (!Number.isInteger(pollSeconds) || pollSeconds < 1) {
    fail(`pollInterval (${pollInterval.toHumanString()}) must be a whole number of seconds, at least 1`);
  }
  if (timeoutSeconds > 3600 || timeoutSeconds < pollSeconds) {
    fail(`timeout (${timeout.toHumanString()}) must be from pollInterval up to 1 hour, a custom resource's limit`);
  }
  if (timeoutSeconds % pollSeconds !== 0) {
    fail(
      `timeout (${timeoutSeconds} s) must be a whole multiple of pollInterval (${pollSeconds} s), the provider ` +
        `framework polls a whole number of times; pass a timeout of ${Math.ceil(timeoutSeconds / pollSeconds) * pollSeconds} s`,
    );
  }
}
