/**
 * The SageMaker service quotas a stage needs, and their values in an account. Many accounts start with 0 for the
 * instance types this pipeline uses, and SageMaker says so only when a training job or an endpoint fails with
 * ResourceLimitExceeded; `npm run preflight` checks first.
 */
import {
  paginateListAWSDefaultServiceQuotas,
  paginateListServiceQuotas,
  type ServiceQuota,
  type ServiceQuotasClient,
} from '@aws-sdk/client-service-quotas';
import type { StageConfig } from '../../lib/config/stage-config';
import { setupProblem, ToolError } from '../lib/cli';

const SERVICE_CODE = 'sagemaker';

/** The largest page Service Quotas returns; SageMaker has well over a thousand quotas, so this saves round trips. */
const PAGE_SIZE = 100;

/** SageMaker rejects a larger serverless memory size outright; it is an API limit, not an adjustable quota. */
const SERVERLESS_MEMORY_LIMIT_MIB = 6144;

export interface RequiredQuota {
  /** The quota's name in Service Quotas, spelled exactly as SageMaker spells it. */
  readonly name: string;
  /** The smallest value the stage works with. */
  readonly needed: number;
  /** What needs the quota, naming the setting in cdk.json that drives the value. */
  readonly neededBy: string;
}

export interface FoundQuota extends RequiredQuota {
  readonly status: 'ok' | 'too-low';
  readonly code: string;
  readonly value: number;
  /** `applied`: the account's own value; `default`: the AWS default, for a quota the account never adjusted. */
  readonly source: 'applied' | 'default';
  readonly adjustable: boolean;
}

export interface MissingQuota extends RequiredQuota {
  readonly status: 'not-found';
}

export type QuotaCheck = FoundQuota | MissingQuota;

export interface QuotaReport {
  /** The region the values were read in; quotas are per account and region. */
  readonly region: string;
  readonly checks: readonly QuotaCheck[];
}

/** The quotas a stage's training job and endpoint need, derived from its config. */
export function requiredQuotas(config: StageConfig): RequiredQuota[] {
  const { training, serving } = config;
  const quotas: RequiredQuota[] = training.useSpot
    ? [
        {
          name: `${training.instanceType} for spot training job usage`,
          needed: training.instanceCount,
          neededBy: `training job: ${training.instanceCount} x ${training.instanceType} on spot (training.instanceType, training.instanceCount)`,
        },
        {
          name: 'Number of instances across all spot training jobs',
          needed: training.instanceCount,
          neededBy: 'training job: all spot training instances of the account together',
        },
      ]
    : [
        {
          name: `${training.instanceType} for training job usage`,
          needed: training.instanceCount,
          neededBy: `training job: ${training.instanceCount} x ${training.instanceType} on demand (training.instanceType, training.instanceCount)`,
        },
        {
          name: 'Number of instances across all training jobs',
          needed: training.instanceCount,
          neededBy: 'training job: all training instances of the account together',
        },
      ];
  if (serving.mode === 'instance') {
    // UpdateEndpoint is a blue/green deployment: SageMaker starts the new fleet before it stops the old one, so
    // every rollout after the first briefly runs twice the instances.
    const rollout = serving.initialInstanceCount * 2;
    quotas.push(
      {
        name: `${serving.instanceType} for endpoint usage`,
        needed: rollout,
        neededBy: `endpoint ${serving.endpointName}: ${serving.initialInstanceCount} x ${serving.instanceType}, twice that during a rollout (serving.instanceType, serving.initialInstanceCount)`,
      },
      {
        name: 'Number of instances across active endpoints',
        needed: rollout,
        neededBy: `endpoint ${serving.endpointName}: all endpoint instances of the account together, during a rollout`,
      },
    );
  } else {
    quotas.push(
      {
        name: 'Maximum total concurrency that can be allocated across all serverless endpoints',
        needed: serving.serverlessMaxConcurrency,
        neededBy: `serverless endpoint ${serving.endpointName} (serving.serverlessMaxConcurrency)`,
      },
      {
        name: 'Maximum number of serverless endpoints',
        needed: 1,
        neededBy: `serverless endpoint ${serving.endpointName}`,
      },
    );
  }
  return quotas;
}

/** What the quota list alone does not say, for the stage at hand. */
export function quotaNotes(config: StageConfig): string[] {
  const notes = [
    'The quotas are per account and region, and other training jobs and endpoints in the account count against ' +
      'them too: a value that is just high enough may not be enough.',
  ];
  if (config.serving.mode === 'instance') {
    notes.push(
      'A retrained model reaches the endpoint by a blue/green update, which starts the new instances before it ' +
        'stops the old ones; the first deployment needs only serving.initialInstanceCount.',
    );
  } else {
    notes.push(
      `Serverless memory (serving.serverlessMemoryMiB: ${config.serving.serverlessMemoryMiB}) has no quota: ` +
        `SageMaker caps it at ${SERVERLESS_MEMORY_LIMIT_MIB} MiB, and the stage config rejects more.`,
    );
  }
  return notes;
}

/**
 * Reads the current value of each required quota: the account's applied value, else the AWS default (quotas the
 * account never adjusted can be absent from ListServiceQuotas).
 * @throws ToolError when the credentials may not read Service Quotas
 */
export async function checkQuotas(
  client: ServiceQuotasClient,
  required: readonly RequiredQuota[],
): Promise<QuotaReport> {
  const region = await client.config.region();
  const names = new Set(required.map(({ name }) => name));
  let applied: Map<string, ServiceQuota>;
  let defaults: Map<string, ServiceQuota>;
  try {
    applied = await findByName(
      paginateListServiceQuotas({ client, pageSize: PAGE_SIZE }, { ServiceCode: SERVICE_CODE }),
      names,
    );
    const unadjusted = new Set([...names].filter((name) => !applied.has(name)));
    defaults =
      unadjusted.size === 0
        ? new Map()
        : await findByName(
            paginateListAWSDefaultServiceQuotas({ client, pageSize: PAGE_SIZE }, { ServiceCode: SERVICE_CODE }),
            unadjusted,
          );
  } catch (error) {
    if (error instanceof Error && error.name === 'AccessDeniedException') {
      throw new ToolError(
        `The AWS credentials may not read Service Quotas in ${region} (${error.message}). Grant ` +
          `servicequotas:ListServiceQuotas and servicequotas:ListAWSDefaultServiceQuotas, or run with --offline ` +
          `to list the quotas without reading them`,
      );
    }
    throw error;
  }
  const checks = required.map((quota): QuotaCheck => {
    const source = applied.has(quota.name) ? 'applied' : 'default';
    const found = applied.get(quota.name) ?? defaults.get(quota.name);
    if (found?.QuotaCode === undefined || found.Value === undefined) return { ...quota, status: 'not-found' };
    return {
      ...quota,
      status: found.Value >= quota.needed ? 'ok' : 'too-low',
      code: found.QuotaCode,
      value: found.Value,
      source,
      adjustable: found.Adjustable ?? true,
    };
  });
  return { region, checks };
}

/** Collects the named quotas from a paginated listing, and stops paging once it has all of them. */
async function findByName(
  pages: AsyncIterable<{ readonly Quotas?: ServiceQuota[] }>,
  names: ReadonlySet<string>,
): Promise<Map<string, ServiceQuota>> {
  const found = new Map<string, ServiceQuota>();
  for await (const page of pages) {
    for (const quota of page.Quotas ?? []) {
      if (quota.QuotaName !== undefined && names.has(quota.QuotaName)) found.set(quota.QuotaName, quota);
    }
    if (found.size === names.size) break;
  }
  return found;
}

/** True when no quota is below what the stage needs (a quota that was not found cannot be judged). */
export const quotasSufficient = (report: QuotaReport): boolean =>
  report.checks.every(({ status }) => status !== 'too-low');

/** The AWS CLI command that asks for a quota increase to what the stage needs. */
export const increaseCommand = (check: FoundQuota, region: string): string =>
  `aws service-quotas request-service-quota-increase --service-code ${SERVICE_CODE} ` +
  `--quota-code ${check.code} --desired-value ${check.needed} --region ${region}`;

/**
 * Why the quota values could not be read when the cause is the local AWS setup rather than the account, or
 * undefined for any other error. The tool then still lists what is needed instead of failing.
 */
export function unreadableReason(error: unknown): string | undefined {
  const problem = setupProblem(error);
  // Access denied is the account's answer, not a set-up gap: checkQuotas reports it with the permissions it needs.
  if (problem === undefined || (error instanceof Error && error.name.startsWith('AccessDenied'))) return undefined;
  return `${problem}; the current values were not read.`;
}

const consoleUrl = (region: string | null) =>
  `https://${region === null ? '' : `${region}.`}console.aws.amazon.com/servicequotas/home/services/${SERVICE_CODE}/quotas`;

/** Left-aligned columns; the last one is not padded, so a long description does not widen the others. */
function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map(
    (row) =>
      '  ' + row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]))).join('  '),
  );
}

const bulleted = (notes: readonly string[]) => ['', 'Notes:', ...notes.map((note) => `  - ${note}`)];

/**
 * The quotas a stage needs and how to look their values up by hand, for when they cannot be read here.
 * @param region the stage's pinned region, or null when it deploys to the CLI's default region
 * @param reason why the values were not read; absent for `--offline`
 */
export function formatRequired(
  stage: string,
  region: string | null,
  required: readonly RequiredQuota[],
  notes: readonly string[],
  reason?: string,
): string {
  const regionFlag = region === null ? '' : ` --region ${region}`;
  const query = required.map(({ name }) => `QuotaName=='${name}'`).join(' || ');
  const list = (operation: string) =>
    `aws service-quotas ${operation} --service-code ${SERVICE_CODE}${regionFlag} ` +
    `--query "Quotas[?${query}].[QuotaName,QuotaCode,Value]" --output table`;
  return [
    `SageMaker quotas that stage ${stage} needs (region: ${region ?? "not pinned, so AWS_REGION or your profile's region"}):`,
    '',
    ...table([['Quota', 'Needed', 'For'], ...required.map((q) => [q.name, String(q.needed), q.neededBy])]),
    ...bulleted(notes),
    '',
    reason ?? 'The current values were not read (--offline).',
    'Check them yourself:',
    `  Console: ${consoleUrl(region)}${region === null ? ' (in the region you deploy to)' : ''}`,
    `  CLI:     ${list('list-service-quotas')}`,
    '           A quota the account never adjusted may be missing there; its value is the AWS default:',
    `           ${list('list-aws-default-service-quotas')}`,
    `  Or, with AWS credentials: npm run preflight -- --stage ${stage}`,
    '',
  ].join('\n');
}

const showValue = (check: QuotaCheck) =>
  check.status === 'not-found' ? '-' : `${check.value}${check.source === 'default' ? ' (default)' : ''}`;
const STATUS_TEXT = { ok: 'ok', 'too-low': 'TOO LOW', 'not-found': 'not found' } as const;

/** The quota table with each value, its verdict, and what to do about a quota that is too low or missing. */
export function formatReport(stage: string, report: QuotaReport, notes: readonly string[]): string {
  const { region, checks } = report;
  const tooLow = checks.filter((check): check is FoundQuota => check.status === 'too-low');
  const missing = checks.filter((check) => check.status === 'not-found');
  const lines = [
    `SageMaker quotas for stage ${stage} in ${region}:`,
    '',
    ...table([
      ['Quota', 'Needed', 'Current', 'Status', 'For'],
      ...checks.map((check) => [
        check.name,
        String(check.needed),
        showValue(check),
        STATUS_TEXT[check.status],
        check.neededBy,
      ]),
    ]),
    ...bulleted(notes),
  ];
  const adjustable = tooLow.filter((check) => check.adjustable);
  if (adjustable.length > 0) {
    lines.push(
      '',
      'Request the increases (AWS reviews each request, which can take from minutes to days):',
      ...adjustable.map((check) => `  ${increaseCommand(check, region)}`),
      `or in the console: ${consoleUrl(region)}`,
    );
  }
  for (const check of tooLow.filter(({ adjustable }) => !adjustable)) {
    lines.push(
      '',
      `"${check.name}" (${check.code}) cannot be raised on request; choose another instance type in cdk.json.`,
    );
  }
  for (const check of missing) {
    lines.push(
      '',
      `Warning: Service Quotas has no quota named "${check.name}" in ${region}. SageMaker may not offer that ` +
        `instance type there for this use; check the type in cdk.json, or look the quota up in the console: ` +
        consoleUrl(region),
    );
  }
  lines.push(
    '',
    tooLow.length > 0
      ? `${tooLow.length} of ${checks.length} quotas are below what stage ${stage} needs in ${region}. Until they ` +
          `are raised, training or deploying fails with ResourceLimitExceeded. Request the increases above, then ` +
          `run npm run preflight again.`
      : `Every quota stage ${stage} needs that exists in ${region} is high enough.`,
    '',
  );
  return lines.join('\n');
}
