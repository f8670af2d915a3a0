/**
 * Deletes the SageMaker endpoint, endpoint configs and models that the training pipeline created outside
 * CloudFormation, so that `cdk destroy` leaves nothing that bills. Resources are found by the pipeline's owner tag,
 * never by a name pattern, so nothing another team created is touched.
 */
import {
  DeleteEndpointCommand,
  DeleteEndpointConfigCommand,
  DeleteModelCommand,
  DescribeEndpointCommand,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { GetResourcesCommand, type ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';

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
}

type SageMakerResource = 'endpoint' | 'endpoint-config' | 'model';

/** Endpoints first: a model or config in use by an endpoint that is still being created should go after it. */
const DELETION_ORDER: readonly SageMakerResource[] = ['endpoint', 'endpoint-config', 'model'];

/** The name in `arn:aws:sagemaker:<region>:<account>:<type>/<name>`. */
export function resourceName(arn: string): { type: string; name: string } {
  const match = /^arn:[^:]+:sagemaker:[^:]*:[^:]*:([a-z-]+)\/(.+)$/.exec(arn);
  if (match === null) throw new Error(`Not a SageMaker resource ARN: ${arn}`);
  return { type: match[1], name: match[2] };
}

/** Every ARN of the given SageMaker resource types carrying the owner tag, across all pages. */
export async function findTagged(
  tagging: ResourceGroupsTaggingAPIClient,
  tag: OwnerTag,
): Promise<Record<SageMakerResource, string[]>> {
  const found: Record<SageMakerResource, string[]> = { endpoint: [], 'endpoint-config': [], model: [] };
  let paginationToken: string | undefined;
  do {
    const page = await tagging.send(
      new GetResourcesCommand({
        TagFilters: [{ Key: tag.key, Values: [tag.value] }],
        ResourceTypeFilters: DELETION_ORDER.map((type) => `sagemaker:${type}`),
        PaginationToken: paginationToken,
      }),
    );
    for (const mapping of page.ResourceTagMappingList ?? []) {
      if (mapping.ResourceARN === undefined) continue;
      const { type, name } = resourceName(mapping.ResourceARN);
      if ((DELETION_ORDER as readonly string[]).includes(type)) found[type as SageMakerResource].push(name);
    }
    paginationToken = page.PaginationToken === '' ? undefined : page.PaginationToken;
  } while (paginationToken !== undefined);
  return found;
}

/** SageMaker answers a delete of something already gone with a ValidationException; that is success here. */
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

/** How the clean-up waits for an endpoint to finish deleting. */
export interface WaitOptions {
  readonly pollMs: number;
  readonly sleep: (ms: number) => Promise<void>;
}

const DEFAULT_WAIT: WaitOptions = {
  pollMs: 15_000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * DeleteEndpoint returns while the endpoint is still `Deleting`. Waiting until SageMaker no longer knows it means
 * the stack's endpoint log group, deleted after this clean-up, is not written to (and re-created) by a dying endpoint.
 * The custom resource's time budget bounds the wait.
 */
async function waitUntilGone(sagemaker: SageMakerClient, name: string, wait: WaitOptions): Promise<void> {
  for (;;) {
    try {
      await sagemaker.send(new DescribeEndpointCommand({ EndpointName: name }));
    } catch (error) {
      if (isAlreadyGone(error)) return;
      throw error;
    }
    await wait.sleep(wait.pollMs);
  }
}

export async function cleanUp(
  clients: CleanupClients,
  tag: OwnerTag,
  wait: WaitOptions = DEFAULT_WAIT,
): Promise<CleanupReport> {
  const found = await findTagged(clients.tagging, tag);
  const { sagemaker } = clients;
  await deleteAll(found.endpoint, (name) => sagemaker.send(new DeleteEndpointCommand({ EndpointName: name })));
  for (const name of found.endpoint) await waitUntilGone(sagemaker, name, wait);
  await deleteAll(found['endpoint-config'], (name) =>
    sagemaker.send(new DeleteEndpointConfigCommand({ EndpointConfigName: name })),
  );
  await deleteAll(found.model, (name) => sagemaker.send(new DeleteModelCommand({ ModelName: name })));
  return { endpoints: found.endpoint, endpointConfigs: found['endpoint-config'], models: found.model };
}
