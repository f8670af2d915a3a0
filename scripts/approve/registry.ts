/**
 * The model registry as `npm run approve` reads and changes it: the versions awaiting approval with their figures,
 * the champion (the version whose model the endpoint serves), and the approval or rejection of one version.
 */
import {
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  DescribeModelCommand,
  DescribeModelPackageCommand,
  ListTagsCommand,
  type ModelPackageSummary,
  paginateListModelPackages,
  type SageMakerClient,
  UpdateModelPackageCommand,
} from '@aws-sdk/client-sagemaker';
import { MODEL_PACKAGE_TAG_KEY, VERSION_METADATA } from '../../lib/contract/training-run';
import { ToolError } from '../lib/cli';

/** One version, with the figures the pipeline recorded when it registered it. */
export interface VersionFigures {
  readonly version: number;
  readonly arn: string;
  readonly status: string;
  readonly registered: Date | undefined;
  readonly trainingJob: string | undefined;
  readonly validationAuc: number | null;
  readonly validationRecall: number | null;
  /** first-model, challenger-wins or champion-kept; undefined for a version registered before the comparison. */
  readonly challenge: string | undefined;
  /** The candidate's AUC as the comparison measured it, beside the champion's (VERSION_METADATA.comparedAuc). */
  readonly comparedAuc: number | null;
  /** The candidate's AUC minus the champion's on the candidate's validation split. */
  readonly improvementOverChampion: number | null;
}

const figure = (value: string | undefined) => {
  const number = Number(value);
  return value === undefined || value === 'null' || value === '' || !Number.isFinite(number) ? null : number;
};

async function describeVersion(sagemaker: SageMakerClient, arn: string): Promise<VersionFigures> {
  const described = await sagemaker.send(new DescribeModelPackageCommand({ ModelPackageName: arn }));
  const metadata = described.CustomerMetadataProperties ?? {};
  return {
    version: described.ModelPackageVersion ?? Number(arn.split('/').pop()),
    arn,
    status: described.ModelApprovalStatus ?? 'unknown',
    registered: described.CreationTime,
    trainingJob: metadata[VERSION_METADATA.trainingJob],
    validationAuc: figure(metadata[VERSION_METADATA.validationAuc]),
    validationRecall: figure(metadata[VERSION_METADATA.validationRecall]),
    challenge: metadata[VERSION_METADATA.challenge],
    comparedAuc: figure(metadata[VERSION_METADATA.comparedAuc]),
    improvementOverChampion: figure(metadata[VERSION_METADATA.improvementOverChampion]),
  };
}

async function listVersions(
  sagemaker: SageMakerClient,
  group: string,
  status?: 'PendingManualApproval',
): Promise<ModelPackageSummary[]> {
  const versions: ModelPackageSummary[] = [];
  const pages = paginateListModelPackages(
    { client: sagemaker },
    {
      ModelPackageGroupName: group,
      ModelPackageType: 'Versioned',
      ...(status === undefined ? {} : { ModelApprovalStatus: status }),
      SortBy: 'CreationTime',
      SortOrder: 'Descending',
    },
  );
  for await (const page of pages) versions.push(...(page.ModelPackageSummaryList ?? []));
  return versions;
}

/** The versions awaiting approval, newest first, with their figures. */
export async function pendingVersions(sagemaker: SageMakerClient, group: string): Promise<VersionFigures[]> {
  const pending = await listVersions(sagemaker, group, 'PendingManualApproval');
  return Promise.all(pending.map((summary) => describeVersion(sagemaker, String(summary.ModelPackageArn))));
}

/** What the endpoint serves: its model, and the version that model was created from (its tag), if any. */
export interface Champion {
  readonly modelName: string;
  readonly version: VersionFigures | null;
}

/** The champion, or null when the endpoint does not exist yet. */
export async function findChampion(sagemaker: SageMakerClient, endpointName: string): Promise<Champion | null> {
  let configName: string | undefined;
  try {
    configName = (await sagemaker.send(new DescribeEndpointCommand({ EndpointName: endpointName }))).EndpointConfigName;
  } catch (error) {
    // SageMaker answers a missing endpoint with a ValidationException, "Could not find endpoint".
    if (error instanceof Error && error.message.includes('Could not find endpoint')) return null;
    throw error;
  }
  const config = await sagemaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: configName }));
  const modelName = config.ProductionVariants?.[0]?.ModelName;
  if (modelName === undefined) return null;
  const model = await sagemaker.send(new DescribeModelCommand({ ModelName: modelName }));
  const tags = await sagemaker.send(new ListTagsCommand({ ResourceArn: model.ModelArn }));
  const packageArn = tags.Tags?.find((tag) => tag.Key === MODEL_PACKAGE_TAG_KEY)?.Value;
  return { modelName, version: packageArn === undefined ? null : await describeVersion(sagemaker, packageArn) };
}

/**
 * Approves or rejects one version awaiting approval, with the reason as its approval description. A version that
 * is not awaiting approval is left alone: approving it again changes nothing, and rejecting an approved version
 * would not take it off the endpoint.
 */
export async function decide(
  sagemaker: SageMakerClient,
  group: string,
  version: number,
  decision: 'Approved' | 'Rejected',
  reason: string | undefined,
): Promise<VersionFigures> {
  const summary = (await listVersions(sagemaker, group)).find((v) => v.ModelPackageVersion === version);
  if (summary?.ModelPackageArn === undefined) {
    throw new ToolError(
      `${group} has no version ${version}; run npm run approve without options to list the versions awaiting approval`,
    );
  }
  if (summary.ModelApprovalStatus !== 'PendingManualApproval') {
    throw new ToolError(
      `Version ${version} of ${group} is ${summary.ModelApprovalStatus}, not awaiting approval; only a pending ` +
        'version is approved or rejected here (an approved version that serves is replaced by the next approval)',
    );
  }
  await sagemaker.send(
    new UpdateModelPackageCommand({
      ModelPackageArn: summary.ModelPackageArn,
      ModelApprovalStatus: decision,
      ...(reason === undefined ? {} : { ApprovalDescription: reason }),
    }),
  );
  return describeVersion(sagemaker, summary.ModelPackageArn);
}

const four = (value: number | null) => (value === null ? 'n/a' : value.toFixed(4));

/** The table of pending versions next to the champion, and how to decide. */
export function describePending(
  group: string,
  endpointName: string,
  pending: readonly VersionFigures[],
  champion: Champion | null,
): string[] {
  const lines = [
    champion === null
      ? `Champion: none, ${endpointName} does not serve a model yet.`
      : champion.version === null
        ? `Champion: ${champion.modelName} on ${endpointName}, not created from a registered version.`
        : `Champion: version ${champion.version.version} (${champion.modelName}) on ${endpointName}: validation AUC ` +
          `${four(champion.version.validationAuc)}, recall ${four(champion.version.validationRecall)} at its training.`,
  ];
  if (pending.length === 0) {
    lines.push(`No version of ${group} awaits approval.`);
    return lines;
  }
  lines.push(
    `${pending.length} version(s) of ${group} await approval, newest first. "Champion then" is the AUC of the model ` +
      "that served when the candidate was trained, on the candidate's validation split (batch transform):",
    '  Version  Registered (UTC)  Validation AUC  Recall  Champion then  Decision',
  );
  for (const v of pending) {
    // Both from the comparison's transforms: validationAuc, the job's last round, is not the AUC compared.
    const championAuc =
      v.comparedAuc === null || v.improvementOverChampion === null ? null : v.comparedAuc - v.improvementOverChampion;
    const registered = v.registered?.toISOString().slice(0, 16).replace('T', ' ') ?? 'unknown';
    lines.push(
      `  ${String(v.version).padEnd(7)}  ${registered.padEnd(16)}  ${four(v.validationAuc).padEnd(14)}  ` +
        `${four(v.validationRecall).padEnd(6)}  ${four(championAuc).padEnd(13)}  ${v.challenge ?? 'n/a'}`,
    );
  }
  const newest = pending[0].version;
  lines.push(
    `Approve: npm run approve -- --approve ${newest} [--reason "<why>"]`,
    `Reject:  npm run approve -- --reject ${newest} --reason "<why>"`,
  );
  return lines;
}
