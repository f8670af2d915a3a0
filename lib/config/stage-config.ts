/**
 * Stage configuration: the typed settings of one deployment (`sandbox` or `prod`), their documented defaults, and
 * the synth-time validation that turns a wrong value into a message saying which key to change and how.
 *
 * A user changes a value in `cdk.json` under `context.pipeline.<stage>`, for example
 * `"pipeline": { "sandbox": { "ingest": { "bufferIntervalSeconds": 120 } } }`, or picks the stage with
 * `-c stage=prod`. Only keys that exist below may appear there.
 */

import { BUDGETS_REGIONS, PARQUET_BUFFER_MIB, hasInstanceStore } from '../contract/service-limits';

export const STAGE_NAMES = ['sandbox', 'prod'] as const;
export type StageName = (typeof STAGE_NAMES)[number];

/** What happens to stored data (buckets, objects, the key) when a stack is deleted. */
export interface DataConfig {
  /**
   * `destroy` deletes the buckets with their objects and schedules the KMS key for deletion on `cdk destroy`;
   * `retain` keeps them. @default sandbox `destroy`, prod `retain`
   */
  readonly removalPolicy: 'destroy' | 'retain';
  /**
   * The second switch for deleting data: must be `true` together with `removalPolicy: 'destroy'`, so one stray
   * setting can never delete a data lake. @default sandbox `true`, prod `false`
   */
  readonly allowDataDeletion: boolean;
}

/** S3 lifecycle, in days since an object was written. */
export interface LifecycleConfig {
  /** Raw events move to S3 Standard-IA (30 days at the earliest). @default 30 */
  readonly rawInfrequentAccessAfterDays: number;
  /** Raw events move to Glacier Instant Retrieval, still queryable by Athena. @default sandbox 90, prod 180 */
  readonly rawGlacierInstantRetrievalAfterDays: number;
  /**
   * Records Firehose could not convert or deliver (under `errors/` in the raw bucket) are deleted: long enough to
   * find and replay them, not forever. @default sandbox 14, prod 90
   */
  readonly rawErrorsExpireAfterDays: number;
  /** Training exports are deleted (they can be re-exported from raw). @default sandbox 14, prod 90 */
  readonly curatedExpireAfterDays: number;
  /** Athena query results are deleted. @default sandbox 7, prod 30 */
  readonly athenaResultsExpireAfterDays: number;
  /** Spot-training checkpoints are deleted (only an interrupted job needs them). @default 7 */
  readonly checkpointsExpireAfterDays: number;
  /** S3 server access logs are deleted. @default sandbox 30, prod 365 */
  readonly accessLogsExpireAfterDays: number;
  /** Overwritten or deleted versions in versioned buckets are deleted. @default sandbox 7, prod 90 */
  readonly noncurrentVersionsExpireAfterDays: number;
}

/** Firehose buffering: a file is written when either limit is reached. */
export interface IngestConfig {
  /** Buffer size; Parquet conversion needs 64 to 128 MiB. @default 64 */
  readonly bufferSizeMiB: number;
  /** Longest wait before writing a file, 0 to 900 s. @default sandbox 60, prod 300 */
  readonly bufferIntervalSeconds: number;
}

export interface CrawlerConfig {
  /**
   * Glue cron expression for the partition crawler (it is also started by the training pipeline), or `null` for
   * on-demand only. Each crawl bills at least 10 minutes of a DPU, so the sandbox crawls once a day.
   * @default sandbox `cron(30 2 * * ? *)`, prod `cron(15 * * * ? *)`
   */
  readonly schedule: string | null;
}

export interface AthenaConfig {
  /** Per-query scan limit: a query that would read more is cancelled (at least 10 MiB). @default sandbox 1024, prod 10240 */
  readonly bytesScannedCutoffMiB: number;
}

/** SageMaker training with the built-in XGBoost algorithm. */
export interface TrainingConfig {
  /** A SageMaker training instance type (`ml.*`). @default `ml.m5.xlarge` */
  readonly instanceType: string;
  /** Instances per job, 1 to 20. @default 1 */
  readonly instanceCount: number;
  /** Storage volume per instance, in GiB, 1 to 512. @default 10 */
  readonly volumeSizeGiB: number;
  /** Managed spot training: up to 90% cheaper; an interrupted job resumes from its last checkpoint. @default true */
  readonly useSpot: boolean;
  /** Longest training time, 60 s to 5 days. @default 3600 */
  readonly maxRuntimeSeconds: number;
  /** Longest wait for spot capacity plus training; must exceed maxRuntimeSeconds. @default 7200 */
  readonly maxWaitSeconds: number;
  /** Percent of records held out for validation, 1 to 50. @default 20 */
  readonly validationPercent: number;
  /**
   * Days of raw partitions each run exports, counted back from the day it starts (that day included): the export's
   * scan, and its cost, grow with this window, not with the lake. At most
   * lifecycle.rawInfrequentAccessAfterDays, so a run never pays retrieval fees for data S3 has tiered. @default 30
   */
  readonly exportWindowDays: number;
  /** XGBoost hyperparameters; `objective` and `eval_metric` are fixed to binary:logistic and auc. */
  readonly hyperparameters: {
    /** Boosting rounds. @default 200 */
    readonly numRound: number;
    /** Deepest tree. @default 5 */
    readonly maxDepth: number;
    /** Learning rate, above 0 up to 1. @default 0.2 */
    readonly eta: number;
    /** Share of rows sampled per tree, above 0 up to 1. @default 0.8 */
    readonly subsample: number;
    /** Weight of the positive (fraud) class, to offset the class imbalance. @default 10 */
    readonly scalePosWeight: number;
  };
}

/** The quality gate between training and rollout. */
export interface QualityGateConfig {
  /** Smallest validation AUC that may be deployed, between 0.5 (a coin toss) and 1. @default sandbox 0.75, prod 0.85 */
  readonly minValidationAuc: number;
}

/** The SageMaker endpoint the pipeline rolls models out to and the API calls. */
export interface ServingConfig {
  /** Stable endpoint name. @default `<namePrefix>-fraud` */
  readonly endpointName: string;
  /** `serverless` costs nothing while idle; `instance` keeps instances warm. @default sandbox serverless, prod instance */
  readonly mode: 'serverless' | 'instance';
  /** Serverless memory, 1024 to 6144 MiB in steps of 1024. @default 2048 */
  readonly serverlessMemoryMiB: number;
  /** Serverless concurrent invocations, 1 to 200. @default 5 */
  readonly serverlessMaxConcurrency: number;
  /** Instance type for the instance mode (`ml.*`). @default `ml.m5.large` */
  readonly instanceType: string;
  /** Instances for the instance mode, 1 to 10. @default 1 */
  readonly initialInstanceCount: number;
}

/** The inference API in front of the endpoint. */
export interface ApiConfig {
  /**
   * `iam`: callers sign requests with SigV4 and need `execute-api:Invoke` on the API; `apiKey`: the API key alone,
   * which API Gateway's documentation says not to rely on for authorization (it identifies a usage plan, and is
   * sent in clear in every request). Both send the API key, which ties them to the usage plan's throttling and quota.
   * @default iam
   */
  readonly authorization: 'apiKey' | 'iam';
  /** Steady-state requests per second per API key (usage plan) and for the stage. @default sandbox 10, prod 100 */
  readonly throttleRatePerSecond: number;
  /** Burst of requests above the rate. @default sandbox 20, prod 200 */
  readonly throttleBurst: number;
  /** Requests per API key per day. @default sandbox 10000, prod 1000000 */
  readonly quotaPerDay: number;
  /** Memory of the predict function, 128 to 10240 MiB. @default 512 */
  readonly lambdaMemoryMiB: number;
  /** Fraud probability at or above which a record is flagged as fraud. @default 0.5 */
  readonly decisionThreshold: number;
  /** Most records in one request. @default 100 */
  readonly maxBatchSize: number;
}

/** When the training pipeline runs, and who hears about failures. */
export interface PipelineConfig {
  /** EventBridge schedule expression that starts the pipeline, or `null` for on demand only. @default null */
  readonly schedule: string | null;
  /** E-mail address subscribed to failure notifications, or `null` for none. @default null */
  readonly notificationEmail: string | null;
}

/** Cost guards: a monthly budget with e-mail alerts, and an alarm on an endpoint nobody calls. */
export interface CostConfig {
  /**
   * Monthly AWS Budgets limit for the whole account, in USD. A sandbox account should hold only this pipeline, so
   * the account's spend is the pipeline's. @default sandbox 20, prod 1000
   */
  readonly monthlyBudgetUsd: number;
  /**
   * Who AWS Budgets e-mails at 80% of actual and 100% of forecast spend, or `null` for no budget at all (a budget
   * that tells no one guards nothing). @default null
   */
  readonly budgetEmail: string | null;
  /**
   * Hours without a single invocation after which the endpoint-idle alarm notifies the pipeline's topic: an idle
   * instance endpoint bills every hour, and an idle sandbox is probably forgotten. 1 to 168. @default sandbox 24, prod 72
   */
  readonly endpointIdleHours: number;
}

export interface StageConfig {
  readonly stage: StageName;
  /**
   * Prefix of the few physical names that must be stable (Glue database, Athena workgroup, Firehose stream, crawler,
   * key alias): lower-case letters, digits and hyphens, 3 to 24 characters. @default `mlpipe-<stage>`
   */
  readonly namePrefix: string;
  /** Region to pin the stacks to, or `null` for the CLI's default region. @default null */
  readonly region: string | null;
  /** Protect the stacks against `cdk destroy`. @default sandbox false, prod true */
  readonly terminationProtection: boolean;
  /** Retention of every CloudWatch log group, a value CloudWatch accepts. @default sandbox 14, prod 365 */
  readonly logRetentionDays: number;
  readonly data: DataConfig;
  readonly lifecycle: LifecycleConfig;
  readonly ingest: IngestConfig;
  readonly crawler: CrawlerConfig;
  readonly athena: AthenaConfig;
  readonly training: TrainingConfig;
  readonly qualityGate: QualityGateConfig;
  readonly serving: ServingConfig;
  readonly pipeline: PipelineConfig;
  readonly api: ApiConfig;
  readonly cost: CostConfig;
}

const TRAINING_DEFAULTS: TrainingConfig = {
  instanceType: 'ml.m5.xlarge',
  instanceCount: 1,
  volumeSizeGiB: 10,
  useSpot: true,
  maxRuntimeSeconds: 3600,
  maxWaitSeconds: 7200,
  validationPercent: 20,
  exportWindowDays: 30,
  hyperparameters: { numRound: 200, maxDepth: 5, eta: 0.2, subsample: 0.8, scalePosWeight: 10 },
};

/** The defaults of each stage. Sandbox is cheap and disposable; prod keeps data and is protected. */
export const STAGE_DEFAULTS: { readonly [S in StageName]: StageConfig } = {
  sandbox: {
    stage: 'sandbox',
    namePrefix: 'mlpipe-sandbox',
    region: null,
    terminationProtection: false,
    logRetentionDays: 14,
    data: { removalPolicy: 'destroy', allowDataDeletion: true },
    lifecycle: {
      rawInfrequentAccessAfterDays: 30,
      rawGlacierInstantRetrievalAfterDays: 90,
      rawErrorsExpireAfterDays: 14,
      curatedExpireAfterDays: 14,
      athenaResultsExpireAfterDays: 7,
      checkpointsExpireAfterDays: 7,
      accessLogsExpireAfterDays: 30,
      noncurrentVersionsExpireAfterDays: 7,
    },
    ingest: { bufferSizeMiB: 64, bufferIntervalSeconds: 60 },
    crawler: { schedule: 'cron(30 2 * * ? *)' },
    athena: { bytesScannedCutoffMiB: 1024 },
    training: TRAINING_DEFAULTS,
    qualityGate: { minValidationAuc: 0.75 },
    serving: {
      endpointName: 'mlpipe-sandbox-fraud',
      mode: 'serverless',
      serverlessMemoryMiB: 2048,
      serverlessMaxConcurrency: 5,
      instanceType: 'ml.m5.large',
      initialInstanceCount: 1,
    },
    pipeline: { schedule: null, notificationEmail: null },
    api: {
      authorization: 'iam',
      throttleRatePerSecond: 10,
      throttleBurst: 20,
      quotaPerDay: 10_000,
      lambdaMemoryMiB: 512,
      decisionThreshold: 0.5,
      maxBatchSize: 100,
    },
    cost: { monthlyBudgetUsd: 20, budgetEmail: null, endpointIdleHours: 24 },
  },
  prod: {
    stage: 'prod',
    namePrefix: 'mlpipe-prod',
    region: null,
    terminationProtection: true,
    logRetentionDays: 365,
    data: { removalPolicy: 'retain', allowDataDeletion: false },
    lifecycle: {
      rawInfrequentAccessAfterDays: 30,
      rawGlacierInstantRetrievalAfterDays: 180,
      rawErrorsExpireAfterDays: 90,
      curatedExpireAfterDays: 90,
      athenaResultsExpireAfterDays: 30,
      checkpointsExpireAfterDays: 7,
      accessLogsExpireAfterDays: 365,
      noncurrentVersionsExpireAfterDays: 90,
    },
    ingest: { bufferSizeMiB: 64, bufferIntervalSeconds: 300 },
    crawler: { schedule: 'cron(15 * * * ? *)' },
    athena: { bytesScannedCutoffMiB: 10240 },
    training: TRAINING_DEFAULTS,
    qualityGate: { minValidationAuc: 0.85 },
    serving: {
      endpointName: 'mlpipe-prod-fraud',
      mode: 'instance',
      serverlessMemoryMiB: 2048,
      serverlessMaxConcurrency: 5,
      instanceType: 'ml.m5.large',
      initialInstanceCount: 1,
    },
    pipeline: { schedule: null, notificationEmail: null },
    api: {
      authorization: 'iam',
      throttleRatePerSecond: 100,
      throttleBurst: 200,
      quotaPerDay: 1_000_000,
      lambdaMemoryMiB: 512,
      decisionThreshold: 0.5,
      maxBatchSize: 100,
    },
    cost: { monthlyBudgetUsd: 1000, budgetEmail: null, endpointIdleHours: 72 },
  },
};

/** The retention periods CloudWatch Logs accepts, in days. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** Raised when the configuration is invalid; lists every problem at once so one synth shows all fixes. */
export class ConfigError extends Error {
  constructor(
    readonly stage: string,
    readonly problems: readonly string[],
  ) {
    const where = (STAGE_NAMES as readonly string[]).includes(stage)
      ? ` (set values in cdk.json under context.pipeline.${stage})`
      : '';
    super(`Invalid configuration for stage '${stage}'${where}:\n` + problems.map((p) => `  - ${p}`).join('\n'));
    this.name = 'ConfigError';
  }
}

type Plain = { [key: string]: unknown };
const isPlainObject = (value: unknown): value is Plain =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const show = (value: unknown) => JSON.stringify(value) ?? String(value);

/**
 * Lays the user's overrides over the defaults. A key the defaults do not have is reported rather than ignored:
 * a typo must not silently leave a default in force.
 */
function mergeOverrides(defaults: Plain, overrides: unknown, path: string, problems: string[]): Plain {
  if (!isPlainObject(overrides)) {
    problems.push(`${path || 'the stage overrides'} must be an object, got ${show(overrides)}`);
    return defaults;
  }
  const merged: Plain = { ...defaults };
  for (const [key, value] of Object.entries(overrides)) {
    const keyPath = path ? `${path}.${key}` : key;
    if (!(key in defaults)) {
      problems.push(`${keyPath} is not a setting; known keys here: ${Object.keys(defaults).join(', ')}`);
    } else if (isPlainObject(defaults[key])) {
      merged[key] = mergeOverrides(defaults[key] as Plain, value, keyPath, problems);
    } else {
      merged[key] = value;
    }
  }
  return merged;
}

/** Collects problems for one key at a time; every check names the key, the value and what to do. */
class Checker {
  readonly problems: string[] = [];

  constructor(private readonly config: Plain) {}

  private get(path: string): unknown {
    return path.split('.').reduce<unknown>((node, key) => (isPlainObject(node) ? node[key] : undefined), this.config);
  }

  integer(path: string, min: number, max: number, why: string): void {
    const value = this.get(path);
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.problems.push(`${path} is ${show(value)}; ${why}. Set a whole number from ${min} to ${max}`);
    }
  }

  number(path: string, min: number, max: number, why: string, exclusiveMin = false): void {
    const value = this.get(path);
    const aboveMin = typeof value === 'number' && (exclusiveMin ? value > min : value >= min);
    if (typeof value !== 'number' || !Number.isFinite(value) || !aboveMin || value > max) {
      const range = exclusiveMin ? `above ${min} up to ${max}` : `from ${min} to ${max}`;
      this.problems.push(`${path} is ${show(value)}; ${why}. Set a number ${range}`);
    }
  }

  oneOf(path: string, allowed: readonly unknown[], why: string): void {
    const value = this.get(path);
    if (!allowed.includes(value)) {
      this.problems.push(`${path} is ${show(value)}; ${why}. Use one of: ${allowed.map(show).join(', ')}`);
    }
  }

  matches(path: string, pattern: RegExp, why: string, example: string, nullable = false): void {
    const value = this.get(path);
    if (nullable && value === null) return;
    if (typeof value !== 'string' || !pattern.test(value)) {
      this.problems.push(`${path} is ${show(value)}; ${why}, for example ${show(example)}`);
    }
  }

  rule(holds: boolean, message: string): void {
    if (!holds) this.problems.push(message);
  }
}

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/** Glue cron: six fields, and exactly one of day-of-month and day-of-week must be `?`. */
const GLUE_CRON = /^cron\(\S+ \S+ (\?|\S+) \S+ (\?|\S+) \S+\)$/;
const isGlueCron = (expression: string) => {
  if (!GLUE_CRON.test(expression)) return false;
  const fields = expression.slice('cron('.length, -1).split(' ');
  return (fields[2] === '?') !== (fields[4] === '?');
};

/**
 * Builds the validated configuration of a stage from its defaults and the user's overrides.
 * @param stage the value of `-c stage=…`; undefined means `sandbox`
 * @param overrides the value of context `pipeline.<stage>`, if any
 * @throws ConfigError listing every invalid value with its fix
 */
export function loadStageConfig(stage: unknown, overrides?: unknown): StageConfig {
  const stageName = stage ?? 'sandbox';
  if (typeof stageName !== 'string' || !(STAGE_NAMES as readonly string[]).includes(stageName)) {
    throw new ConfigError(String(stageName), [
      `stage is ${show(stageName)}, which is not a stage of this app. Pass -c stage=${STAGE_NAMES.join(' or -c stage=')}`,
    ]);
  }
  const defaults = STAGE_DEFAULTS[stageName as StageName] as unknown as Plain;
  const problems: string[] = [];
  const merged = overrides === undefined ? defaults : mergeOverrides(defaults, overrides, '', problems);
  if (merged.stage !== stageName) problems.push(`stage is chosen with -c stage=…, not set in the overrides`);

  const check = new Checker(merged);
  check.matches(
    'namePrefix',
    /^[a-z][a-z0-9-]{1,22}[a-z0-9]$/,
    'it must be 3 to 24 lower-case letters, digits or hyphens, starting with a letter',
    'mlpipe-sandbox',
  );
  check.matches('region', /^[a-z]{2}(-[a-z]+)+-\d$/, 'it must be an AWS region code or null', 'eu-west-1', true);
  check.oneOf('terminationProtection', [true, false], 'it turns stack termination protection on or off');
  check.oneOf('logRetentionDays', LOG_RETENTION_DAYS, 'CloudWatch Logs accepts only fixed retention periods');
  check.oneOf('data.removalPolicy', ['destroy', 'retain'], 'it decides whether cdk destroy deletes stored data');
  check.oneOf('data.allowDataDeletion', [true, false], 'it is the second switch for deleting data');

  const days = 'days must be a whole number';
  check.integer(
    'lifecycle.rawInfrequentAccessAfterDays',
    30,
    3650,
    'S3 moves objects to Standard-IA after 30 days at the earliest',
  );
  check.integer('lifecycle.rawGlacierInstantRetrievalAfterDays', 60, 3650, days);
  check.integer('lifecycle.rawErrorsExpireAfterDays', 1, 3650, days);
  check.integer('lifecycle.curatedExpireAfterDays', 1, 3650, days);
  check.integer('lifecycle.athenaResultsExpireAfterDays', 1, 3650, days);
  check.integer('lifecycle.checkpointsExpireAfterDays', 1, 3650, days);
  check.integer('lifecycle.accessLogsExpireAfterDays', 1, 3650, days);
  check.integer('lifecycle.noncurrentVersionsExpireAfterDays', 1, 3650, days);
  check.integer(
    'ingest.bufferSizeMiB',
    PARQUET_BUFFER_MIB.min,
    PARQUET_BUFFER_MIB.max,
    'Firehose needs a 64 to 128 MiB buffer when it converts records to Parquet',
  );
  check.integer('ingest.bufferIntervalSeconds', 0, 900, 'Firehose buffers for at most 900 seconds');
  check.matches(
    'crawler.schedule',
    /^cron\(/,
    'it must be a Glue cron expression with six fields and exactly one of day-of-month and day-of-week set to ?, or null',
    'cron(15 * * * ? *)',
    true,
  );
  check.integer(
    'athena.bytesScannedCutoffMiB',
    10,
    1_048_576,
    'Athena cancels queries above this scan size and accepts at least 10 MiB',
  );
  const mlInstance = /^ml\.[a-z0-9-]+\.[a-z0-9]+$/;
  check.matches('training.instanceType', mlInstance, 'SageMaker trains only on ml.* instance types', 'ml.m5.xlarge');
  check.integer('training.instanceCount', 1, 20, 'a training job runs on 1 to 20 instances');
  check.integer('training.volumeSizeGiB', 1, 512, 'the training volume holds the data set and the model');
  check.oneOf('training.useSpot', [true, false], 'it turns managed spot training on or off');
  check.integer('training.maxRuntimeSeconds', 60, 432_000, 'SageMaker stops a job after at most 5 days');
  check.integer(
    'training.maxWaitSeconds',
    60,
    432_000,
    'SageMaker waits at most 5 days for spot capacity and training',
  );
  check.integer('training.validationPercent', 1, 50, 'it is the share of records held out for validation');
  check.integer('training.exportWindowDays', 1, 3650, 'it is the number of days of raw partitions a run exports');
  check.integer('training.hyperparameters.numRound', 1, 10_000, 'XGBoost needs at least one boosting round');
  check.integer('training.hyperparameters.maxDepth', 1, 20, 'deeper trees overfit and train slowly');
  check.number('training.hyperparameters.eta', 0, 1, 'the learning rate must be positive', true);
  check.number('training.hyperparameters.subsample', 0, 1, 'it is the share of rows each tree samples', true);
  check.number('training.hyperparameters.scalePosWeight', 0, 10_000, 'it weights the positive class', true);
  check.number('qualityGate.minValidationAuc', 0, 1, 'AUC is between 0 and 1 (0.5 is a coin toss)');
  check.matches(
    'serving.endpointName',
    /^[a-z0-9](-*[a-z0-9]){0,62}$/,
    'it must be 1 to 63 lower-case letters, digits and hyphens (SageMaker ARNs are lower case, and the clean-up finds the endpoint by ARN)',
    'mlpipe-sandbox-fraud',
  );
  check.oneOf('serving.mode', ['serverless', 'instance'], 'it picks serverless or instance-backed inference');
  check.oneOf(
    'serving.serverlessMemoryMiB',
    [1024, 2048, 3072, 4096, 5120, 6144],
    'serverless endpoints offer fixed memory sizes',
  );
  check.integer(
    'serving.serverlessMaxConcurrency',
    1,
    200,
    'a serverless endpoint serves 1 to 200 concurrent invocations',
  );
  check.matches(
    'serving.instanceType',
    mlInstance,
    'SageMaker hosts models only on ml.* instance types',
    'ml.m5.large',
  );
  check.integer('serving.initialInstanceCount', 1, 10, 'an instance endpoint starts with 1 to 10 instances');
  check.matches(
    'pipeline.schedule',
    /^(cron|rate)\(.+\)$/,
    'it must be an EventBridge schedule expression or null',
    'cron(0 3 ? * MON *)',
    true,
  );
  check.matches(
    'pipeline.notificationEmail',
    EMAIL,
    'it must be an e-mail address or null',
    'ml-team@example.com',
    true,
  );
  check.oneOf('api.authorization', ['apiKey', 'iam'], 'it picks how callers authenticate');
  check.integer('api.throttleRatePerSecond', 1, 10_000, 'API Gateway throttles each key to this steady rate');
  check.integer('api.throttleBurst', 1, 5_000, 'it is the burst above the steady rate');
  check.integer('api.quotaPerDay', 1, 100_000_000, 'it is the daily request quota per API key');
  check.integer('api.lambdaMemoryMiB', 128, 10_240, 'Lambda offers 128 to 10240 MiB');
  check.number('api.decisionThreshold', 0, 1, 'it is the fraud probability that flags a record', true);
  check.integer('api.maxBatchSize', 1, 1_000, 'it bounds the records in one request');
  check.integer('cost.monthlyBudgetUsd', 1, 1_000_000, 'it is the monthly budget in whole US dollars');
  check.matches(
    'cost.budgetEmail',
    EMAIL,
    'it must be an e-mail address, or null for no budget',
    'ml-team@example.com',
    true,
  );
  check.integer(
    'cost.endpointIdleHours',
    1,
    168,
    'CloudWatch evaluates an hourly alarm over at most 7 days (168 hours)',
  );
  if (check.problems.length === 0) {
    const config = merged as unknown as StageConfig;
    const { lifecycle, data, crawler } = config;
    check.rule(
      crawler.schedule === null || isGlueCron(crawler.schedule),
      `crawler.schedule is ${show(crawler.schedule)}; a Glue cron expression has six fields ` +
        `(minutes hours day-of-month month day-of-week year) with exactly one of day-of-month and day-of-week ` +
        `set to ?, for example "cron(15 * * * ? *)". Set null to crawl on demand only`,
    );
    check.rule(
      lifecycle.rawGlacierInstantRetrievalAfterDays >= lifecycle.rawInfrequentAccessAfterDays + 30,
      `lifecycle.rawGlacierInstantRetrievalAfterDays (${lifecycle.rawGlacierInstantRetrievalAfterDays}) must be at ` +
        `least 30 days after lifecycle.rawInfrequentAccessAfterDays (${lifecycle.rawInfrequentAccessAfterDays}), ` +
        `because S3 keeps objects in Standard-IA for 30 days; raise it to ` +
        `${lifecycle.rawInfrequentAccessAfterDays + 30} or more`,
    );
    const { training, serving } = config;
    check.rule(
      training.exportWindowDays <= lifecycle.rawInfrequentAccessAfterDays,
      `training.exportWindowDays (${training.exportWindowDays}) must be at most ` +
        `lifecycle.rawInfrequentAccessAfterDays (${lifecycle.rawInfrequentAccessAfterDays}): older raw events are in ` +
        `Standard-IA or Glacier Instant Retrieval, where every export would pay retrieval fees. Lower ` +
        `training.exportWindowDays, or raise lifecycle.rawInfrequentAccessAfterDays to ${training.exportWindowDays}`,
    );
    // Instance store is encrypted by the instance itself; SageMaker rejects a KMS key for it, and this pipeline
    // always sets one (see contract/service-limits.ts for the list and its sources).
    const localStorageRule = (path: string, type: string, example: string) =>
      check.rule(
        !hasInstanceStore(type),
        `${path} is "${type}", an instance type with local NVMe storage, for which SageMaker rejects the KMS volume ` +
          `key this pipeline sets; choose a type without local storage, for example "${example}"`,
      );
    localStorageRule('training.instanceType', training.instanceType, 'ml.m5.xlarge');
    if (serving.mode === 'instance') localStorageRule('serving.instanceType', serving.instanceType, 'ml.m5.large');
    check.rule(
      !training.useSpot || training.maxWaitSeconds > training.maxRuntimeSeconds,
      `training.maxWaitSeconds (${training.maxWaitSeconds} s) must exceed training.maxRuntimeSeconds ` +
        `(${training.maxRuntimeSeconds} s): the wait covers spot capacity plus the training itself. Raise ` +
        `training.maxWaitSeconds to at least ${training.maxRuntimeSeconds + 1}, or lower training.maxRuntimeSeconds`,
    );
    const { cost, region } = config;
    if (cost.budgetEmail !== null && (region === null || !BUDGETS_REGIONS.includes(region))) {
      check.rule(
        false,
        `cost.budgetEmail is set, so the stage creates an AWS Budgets budget, and CloudFormation offers ` +
          `AWS::Budgets::Budget only in ${BUDGETS_REGIONS.join(', ')}. ` +
          (region === null
            ? 'region is null, so synth cannot tell where the stacks deploy: pin region to one of those'
            : `region is "${region}": deploy to one of those`) +
          ', or set cost.budgetEmail to null and create the budget in the Billing console',
      );
    }
    check.rule(
      (data.removalPolicy === 'destroy') === data.allowDataDeletion,
      `data.removalPolicy is "${data.removalPolicy}" but data.allowDataDeletion is ${data.allowDataDeletion}; ` +
        `deleting data takes both switches. Set both (removalPolicy "destroy", allowDataDeletion true) to let ` +
        `cdk destroy delete the buckets and their objects, or neither (removalPolicy "retain", allowDataDeletion false)`,
    );
  }
  if (problems.length + check.problems.length > 0) {
    throw new ConfigError(stageName, [...problems, ...check.problems]);
  }
  return merged as unknown as StageConfig;
}

/**
 * The stage config from CDK context, as `bin/app.ts` and the command-line tools read it: `stage` picks the stage
 * and `pipeline.<stage>` (an object in cdk.json; `-c` passes only strings) overrides its settings.
 * @throws ConfigError listing every invalid value with its fix
 */
export function loadStageConfigFromContext(stage: unknown, pipeline: unknown): StageConfig {
  const stageName = stage ?? 'sandbox';
  if (pipeline !== undefined && !isPlainObject(pipeline)) {
    throw new ConfigError(String(stageName), [
      'context "pipeline" must be an object of per-stage overrides, set in cdk.json (-c passes only strings)',
    ]);
  }
  return loadStageConfig(stageName, pipeline === undefined ? undefined : (pipeline as Plain)[String(stageName)]);
}
