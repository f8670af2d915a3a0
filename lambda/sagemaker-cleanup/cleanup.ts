/**
 * Deletes the SageMaker endpoint, endpoint configs and models that the training pipeline created outside
 * CloudFormation, so that `cdk destroy` leaves nothing that bills, and the versions it registered, so that the stack
 * can delete their model package group. Resources are found by the pipeline's owner tag,
 * never by a name pattern, so nothing another team created is touched.
 *
 * It runs behind CDK's custom resource provider framework, which answers CloudFormation: `onCleanupEvent` (the
 * provider's onEvent) starts the deletion of the endpoints, and `isCleanupComplete` (its isComplete, called every
 * poll interval until it says so or the provider's total timeout passes) waits until they are gone, then deletes
 * the configs and models. Only a stack deletion does anything.
 */
import {
  DeleteEndpointCommand,
  DeleteEndpointConfigCommand,
  DeleteModelCommand,
  DeleteModelPackageCommand,
  DescribeEndpointCommand,
  paginateListModelPackages,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { GetResourcesCommand, type ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';

export interface OwnerTag {
  readonly key: string;
  readonly value: string;
}

export interface CleanupClients {
  readonly sagemaker: SageMakerClient;
  readonly tagging: ResourceGroupsTaggingAPIClient;
}

export interface CleanupReport {
  readonly endpoints: string[];
  readonly endpointConfigs: string[];
  readonly models: string[];
  /** The registry's versions left: none, since CloudFormation cannot delete a model package group that still has versions. */
  readonly modelPackages: string[];
}

type SageMakerResource = 'endpoint' | 'endpoint-config' | 'model';

/** Every version in the model package group, with its status, across all pages. */
export async function modelPackagesOf(
  sagemaker: SageMakerClient,
  group: string,
): Promise<{ arn: string; status: string }[]> {
  const versions: { arn: string; status: string }[] = [];
  const pages = paginateListModelPackages(
    { client: sagemaker, pageSize: 100 },
    { ModelPackageGroupName: group, ModelPackageType: 'Versioned' },
  );
  for await (const page of pages) {
    for (const summary of page.ModelPackageSummaryList ?? []) {
      if (summary.ModelPackageArn)
        versions.push({ arn: summary.ModelPackageArn, status: summary.ModelPackageStatus ?? '' });
    }
  }
  return versions;
}

/** The model package group whose versions to delete, or '' to keep the registry, from the function's environment. */
export function modelPackageGroupFromEnvironment(env: { readonly [name: string]: string | undefined }): string {
  const group = env.MODEL_PACKAGE_GROUP;
  if (group === undefined)
    throw new Error('MODEL_PACKAGE_GROUP must be set on the function (empty keeps the registry)');
  return group;
}

/** The owner tag from the function's environment; a function without it must not start (the provider answers). */
export function ownerTagFromEnvironment(env: { readonly [name: string]: string | undefined }): OwnerTag {
  const key = env.OWNER_TAG_KEY;
  const value = env.OWNER_TAG_VALUE;
  if (!key || !value) throw new Error('OWNER_TAG_KEY and OWNER_TAG_VALUE must be set on the function');
  return { key, value };
}

/** The name in `arn:aws:sagemaker:<region>:<account>:<type>/<name>`. */
export function resourceName(arn: string): { type: string; name: string } {
  const match = /^arn:[^:]+:sagemaker:[^:]*:[^:]*:([a-z-]+)\/(.+)$/.exec(arn);
  if (match === null) throw new Error(`Not a SageMaker resource ARN: ${arn}`);
  return { type: match[1], name: match[2] };
}

/** Every name of the given SageMaker resource types carrying the owner tag, across all pages. */
export async function findTagged<T extends SageMakerResource>(
  tagging: ResourceGroupsTaggingAPIClient,
  tag: OwnerTag,
  types: readonly T[],
): Promise<Record<T, string[]>> {
  const found = Object.fromEntries(types.map((type) => [type, [] as string[]])) as Record<T, string[]>;
  let paginationToken: string | undefined;
  do {
    const page = await tagging.send(
      new GetResourcesCommand({
        TagFilters: [{ Key: tag.key, Values: [tag.value] }],
        ResourceTypeFilters: types.map((type) => `sagemaker:${type}`),
        PaginationToken: paginationToken,
      }),
    );
    for (const mapping of page.ResourceTagMappingList ?? []) {
      if (mapping.ResourceARN === undefined) continue;
      const { type, name } = resourceName(mapping.ResourceARN);
      if ((types as readonly string[]).includes(type)) found[type as T].push(name);
    }
    paginationToken = page.PaginationToken === '' ? undefined : page.PaginationToken;
  } while (paginationToken !== undefined);
  return found;
}

/** SageMaker answers a call on something already gone with a ValidationException; that is success here. */
function isAlreadyGone(error: unknown): boolean {
  const { name, message } = error as { name?: string; message?: string };
  return name === 'ValidationException' && /could not find/i.test(message ?? '');
}

async function deleteIgnoringMissing(send: () => Promise<unknown>): Promise<void> {
  try {
    await send();
  } catch (error) {
    if (!isAlreadyGone(error)) throw error;
  }
}

/** Deletes at most this many resources at a time: every run leaves a model and a config, so there can be many. */
export const DELETE_CONCURRENCY = 5;

async function deleteAll(names: readonly string[], remove: (name: string) => Promise<unknown>): Promise<void> {
  for (let start = 0; start < names.length; start += DELETE_CONCURRENCY) {
    await Promise.all(
      names.slice(start, start + DELETE_CONCURRENCY).map((name) => deleteIgnoringMissing(() => remove(name))),
    );
  }
}

/** Starts the deletion of every endpoint carrying the owner tag and returns their names. */
export async function startCleanUp(clients: CleanupClients, tag: OwnerTag): Promise<string[]> {
  const { endpoint } = await findTagged(clients.tagging, tag, ['endpoint']);
  await deleteAll(endpoint, (name) => clients.sagemaker.send(new DeleteEndpointCommand({ EndpointName: name })));
  return endpoint;
}

/** The endpoint's status, or `undefined` once SageMaker no longer knows it. */
async function endpointStatus(sagemaker: SageMakerClient, name: string): Promise<string | undefined> {
  try {
    return (await sagemaker.send(new DescribeEndpointCommand({ EndpointName: name }))).EndpointStatus ?? 'Unknown';
  } catch (error) {
    if (isAlreadyGone(error)) return undefined;
    throw error;
  }
}

/**
 * Once every endpoint whose deletion started is gone, deletes the tagged endpoint configs and models and says what
 * was deleted; `undefined` while an endpoint is still `Deleting`. DeleteEndpoint returns while the endpoint is still
 * being deleted: waiting until SageMaker no longer knows it means the stack's endpoint log group, deleted after this
 * clean-up, is not written to (and re-created) by a dying endpoint.
 */
export async function finishCleanUp(
  clients: CleanupClients,
  tag: OwnerTag,
  endpoints: readonly string[],
  modelPackageGroup: string,
): Promise<CleanupReport | undefined> {
  for (const name of endpoints) {
    const status = await endpointStatus(clients.sagemaker, name);
    if (status === 'Deleting') return undefined;
    if (status !== undefined) {
      // Only something outside this clean-up brings a deleted endpoint back: a run that was still rolling out.
      throw new Error(
        `endpoint ${name} is ${status} although its deletion was started; stop the training pipeline's running ` +
          'executions, then delete the stack again',
      );
    }
  }
  const { sagemaker } = clients;
  const found = await findTagged(clients.tagging, tag, ['endpoint-config', 'model']);
  await deleteAll(found['endpoint-config'], (name) =>
    sagemaker.send(new DeleteEndpointConfigCommand({ EndpointConfigName: name })),
  );
  await deleteAll(found.model, (name) => sagemaker.send(new DeleteModelCommand({ ModelName: name })));
  // Versions cost nothing, but the stack deletes the group after this clean-up, and a group with versions cannot be
  // deleted. A version is deleted by its ARN (it has no name of its own), asynchronously: the clean-up is complete
  // once none is left. An empty group name keeps the registry (a stage that retains its data).
  if (modelPackageGroup === '') {
    return {
      endpoints: [...endpoints],
      endpointConfigs: found['endpoint-config'],
      models: found.model,
      modelPackages: [],
    };
  }
  const versions = await modelPackagesOf(sagemaker, modelPackageGroup);
  const toDelete = versions.filter((v) => v.status !== 'Deleting').map((v) => v.arn);
  await deleteAll(toDelete, (arn) => sagemaker.send(new DeleteModelPackageCommand({ ModelPackageName: arn })));
  if (versions.length > 0) return undefined;
  return {
    endpoints: [...endpoints],
    endpointConfigs: found['endpoint-config'],
    models: found.model,
    modelPackages: [],
  };
}

/** What the provider framework hands isComplete: the request, with onEvent's answer merged in. */
export type CleanupRequest = CloudFormationCustomResourceEvent & { readonly DeletingEndpoints?: string[] };

/** onEvent's answer: the physical id, and on a deletion the endpoints isComplete must wait for. */
export interface CleanupEventResult {
  readonly PhysicalResourceId: string;
  readonly DeletingEndpoints?: string[];
}

/** isComplete's answer, with what was deleted once it is complete. */
export interface CleanupCompletion {
  readonly IsComplete: boolean;
  readonly deleted?: CleanupReport;
}

/** Where the function logs, for an error message that says where to read more. */
export interface LogLocation {
  readonly logGroupName: string;
  readonly logStreamName: string;
}

export async function onCleanupEvent(
  event: CloudFormationCustomResourceEvent,
  clients: CleanupClients,
  tag: OwnerTag,
  logs: LogLocation,
): Promise<CleanupEventResult> {
  const PhysicalResourceId =
    event.RequestType === 'Create' ? `sagemaker-cleanup-${event.LogicalResourceId}` : event.PhysicalResourceId;
  if (event.RequestType !== 'Delete') return { PhysicalResourceId };
  const DeletingEndpoints = await explained(startCleanUp(clients, tag), logs);
  return { PhysicalResourceId, DeletingEndpoints };
}

export async function isCleanupComplete(
  event: CleanupRequest,
  clients: CleanupClients,
  tag: OwnerTag,
  logs: LogLocation,
  modelPackageGroup: string,
): Promise<CleanupCompletion> {
  if (event.RequestType !== 'Delete') return { IsComplete: true };
  const deleted = await explained(finishCleanUp(clients, tag, event.DeletingEndpoints ?? [], modelPackageGroup), logs);
  return deleted === undefined ? { IsComplete: false } : { IsComplete: true, deleted };
}

/**
 * The provider framework fails the stack deletion with the error's message (a failed clean-up stops it, so nothing
 * that bills is silently left behind); the message says where this function's log is, which is not the
 * `/aws/lambda/<name>` group the framework assumes.
 */
async function explained<T>(work: Promise<T>, logs: LogLocation): Promise<T> {
  try {
    return await work;
  } catch (error) {
    throw new Error(
      `SageMaker clean-up failed: ${(error as Error).message} (see CloudWatch log group ${logs.logGroupName}, ` +
        `stream ${logs.logStreamName})`,
      { cause: error },
    );
  }
}
