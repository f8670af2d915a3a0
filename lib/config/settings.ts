/**
 * Every stage setting, declared once: its type and range, the reason its message gives when a value is wrong, and its
 * base default, which is the sandbox's (cheap and disposable). Prod overrides only what differs (STAGE_DIFFS).
 */
import { z } from 'zod';
import { PARQUET_BUFFER_MIB, PUT_RECORD_BATCH_LIMITS, SAGEMAKER_INSTANCE_TYPE } from '../contract/service-limits';

export const STAGE_NAMES = ['sandbox', 'prod'] as const;
export type StageName = (typeof STAGE_NAMES)[number];

/** The retention periods CloudWatch Logs accepts, in days. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const show = (value: unknown) => JSON.stringify(value) ?? String(value);
type Issue = z.core.$ZodRawIssue;
const pathOf = (issue: Issue) => (issue.path ?? []).join('.');

/** Whichever check of a setting fails, its message reads `<key path> is <value>; <why><fix>`. */
const says = (why: string, fix: string) => ({ error: (i: Issue) => `${pathOf(i)} is ${show(i.input)}; ${why}${fix}` });
const int = (min: number, max: number, why: string) =>
  z.int(says(why, `. Set a whole number from ${min} to ${max}`)).check(z.gte(min), z.lte(max));
const days = (min = 1, why = 'days must be a whole number') => int(min, 3650, why);
const num = (min: number, max: number, why: string) =>
  z.number(says(why, `. Set a number from ${min} to ${max}`)).check(z.gte(min), z.lte(max));
const above = (min: number, max: number, why: string) =>
  z.number(says(why, `. Set a number above ${min} up to ${max}`)).check(z.gt(min), z.lte(max));
const oneOf = <const T extends readonly [z.core.util.Literal, ...z.core.util.Literal[]]>(values: T, why: string) =>
  z.literal(values, says(why, `. Use one of: ${values.map(show).join(', ')}`));
const flag = (why: string) => oneOf([true, false], why);
const text = (pattern: RegExp, why: string, example: string) =>
  z.string(says(why, `, for example ${show(example)}`)).regex(pattern);
const orNull = <T extends z.ZodType>(schema: T) => schema.nullable().default(null);
const email = (why: string) => orNull(text(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, why, 'ml-team@example.com'));
const mlType = (why: string, base: string) => text(SAGEMAKER_INSTANCE_TYPE, why, base).default(base);

/** A Firehose stream's buffer when it converts records to Parquet: the ingest stream's and the inference log's. */
const parquetBuffer = () => ({
  bufferSizeMiB: int(
    PARQUET_BUFFER_MIB.min,
    PARQUET_BUFFER_MIB.max,
    'Firehose needs a 64 to 128 MiB buffer when it converts records to Parquet',
  ).default(64),
  bufferIntervalSeconds: int(0, 900, 'Firehose buffers for at most 900 seconds').default(60),
});

/** A group of settings. A key it does not know is an error, so a typo cannot silently leave a default in force. */
const group = <S extends z.core.$ZodLooseShape>(shape: S) => {
  const known = `known keys here: ${Object.keys(shape).join(', ')}`;
  const error = (issue: Issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => `${[...(issue.path ?? []), key].join('.')} is not a setting; ${known}`).join('\n')
      : `${pathOf(issue) || 'the stage overrides'} must be an object, got ${show(issue.input)}`;
  // Every setting in a group has a default, so a group left out is read as {}.
  const object = z.strictObject(shape, { error }).readonly();
  return object.prefault({} as never);
};

export const STAGE_CONFIG = group({
  stage: z.enum(STAGE_NAMES),
  /** Prefix of the few physical names that must be stable (Glue database, Athena workgroup, Firehose stream, …). */
  namePrefix: text(
    /^[a-z][a-z0-9-]{1,22}[a-z0-9]$/,
    'it must be 3 to 24 lower-case letters, digits or hyphens, starting with a letter',
    'mlpipe-sandbox',
  ).default('mlpipe-sandbox'),
  region: orNull(text(/^[a-z]{2}(-[a-z]+)+-\d$/, 'it must be an AWS region code or null', 'eu-west-1')),
  terminationProtection: flag('it turns stack termination protection on or off').default(false),
  logRetentionDays: oneOf(LOG_RETENTION_DAYS, 'CloudWatch Logs accepts only fixed retention periods').default(14),
  data: group({
    removalPolicy: oneOf(['destroy', 'retain'], 'it decides whether cdk destroy deletes stored data').default(
      'destroy',
    ),
    allowDataDeletion: flag('it is the second switch for deleting data').default(true),
  }),
  /** S3 lifecycle, in days since an object was written. */
  lifecycle: group({
    rawInfrequentAccessAfterDays: days(30, 'S3 moves objects to Standard-IA after 30 days at the earliest').default(30),
    rawGlacierInstantRetrievalAfterDays: days(60).default(90),
    /** Records Firehose could not convert: long enough to find and replay them, not forever. */
    rawErrorsExpireAfterDays: days().default(14),
    curatedExpireAfterDays: days().default(14),
    athenaResultsExpireAfterDays: days().default(7),
    checkpointsExpireAfterDays: days().default(7),
    accessLogsExpireAfterDays: days().default(30),
    noncurrentVersionsExpireAfterDays: days().default(7),
  }),
  ingest: group(parquetBuffer()),
  crawler: group({
    /** Each crawl bills at least 10 minutes of a DPU, so the sandbox crawls once a day; null: on demand only. */
    schedule: text(
      /^cron\(/,
      'it must be a Glue cron expression with six fields and exactly one of day-of-month and day-of-week set to ?, or null',
      'cron(15 * * * ? *)',
    )
      .nullable()
      .default('cron(30 2 * * ? *)'),
  }),
  athena: group({
    bytesScannedCutoffMiB: int(
      10,
      1_048_576,
      'Athena cancels queries above this scan size and accepts at least 10 MiB',
    ).default(1024),
  }),
  training: group({
    instanceType: mlType('SageMaker trains only on ml.* instance types', 'ml.m5.xlarge'),
    instanceCount: int(1, 20, 'a training job runs on 1 to 20 instances').default(1),
    volumeSizeGiB: int(1, 512, 'the training volume holds the data set and the model').default(10),
    useSpot: flag('it turns managed spot training on or off').default(true),
    maxRuntimeSeconds: int(60, 432_000, 'SageMaker stops a job after at most 5 days').default(3600),
    maxWaitSeconds: int(60, 432_000, 'SageMaker waits at most 5 days for spot capacity and training').default(7200),
    validationPercent: int(1, 50, 'it is the share of records held out for validation').default(20),
    /** Counted back from the day a run starts: the export's scan, and its cost, grow with this window. */
    exportWindowDays: int(1, 3650, 'it is the number of days of raw partitions a run exports').default(30),
    /**
     * XGBoost's (lib/contract/xgboost-hyperparameters.ts); `objective` is binary:logistic and `eval_metric` the
     * metrics of lib/contract/training-run.ts, AUC last. The last five are regularization; minChildWeight and lambda
     * are above XGBoost's defaults (1 and 1), which let the trees learn the producer's data by heart (training AUC
     * 1.0 by round 200, measured offline with XGBoost 1.7) and stop a noisy validation AUC at round 4.
     */
    hyperparameters: group({
      numRound: int(2, 10_000, 'early stopping needs at least one round after the first').default(200),
      /** Rounds without a better validation AUC before training stops, keeping the best round's model. */
      earlyStoppingRounds: int(1, 1_000, 'it is how many rounds without a better validation AUC end training').default(
        30,
      ),
      maxDepth: int(1, 20, 'deeper trees overfit and train slowly').default(5),
      eta: above(0, 1, 'the learning rate must be positive').default(0.2),
      subsample: above(0, 1, 'it is the share of rows each tree samples').default(0.8),
      colsampleByTree: above(0, 1, 'it is the share of features each tree samples').default(1),
      scalePosWeight: above(0, 10_000, 'it weights the positive class').default(10),
      minChildWeight: num(0, 1_000, 'it is the least hessian weight in a leaf; higher grows fewer tiny leaves').default(
        5,
      ),
      gamma: num(0, 1_000, 'it is the least loss reduction a split must bring').default(0),
      lambda: num(0, 1_000, 'it is the L2 penalty on leaf weights').default(5),
      alpha: num(0, 1_000, 'it is the L1 penalty on leaf weights').default(0),
    }),
  }),
  /** The model registry (lib/training/model-registry.ts). */
  registry: group({
    /**
     * `automatic`: a version the gate passes is Approved and rolled out in the same run. `manual`: it is registered
     * PendingManualApproval, and approving it (Studio, the CLI) starts its rollout; rejecting it changes nothing.
     */
    approval: oneOf(
      ['automatic', 'manual'],
      'it decides whether a gated model is deployed at once or on approval',
    ).default('automatic'),
  }),
  /** The floors and the champion/challenger comparison (lib/training/model-quality-gate.ts, champion-challenger.ts). */
  qualityGate: group({
    minValidationAuc: num(0, 1, 'AUC is between 0 and 1 (0.5 is a coin toss)').default(0.75),
    /** The share of validation frauds the model flags at the container's cut of 0.5; 0 leaves recall out. */
    minValidationRecall: num(0, 1, 'recall is the share of frauds flagged, between 0 and 1').default(0.5),
    /**
     * How far the candidate's validation AUC must be above the serving model's, scored on the same split by a batch
     * transform. Negative is a tolerance: a slightly worse model on fresher data still replaces the champion.
     */
    minImprovement: num(-1, 1, 'it is a difference of two AUCs, between -1 and 1').default(0),
    /** The instance of the two batch transform jobs (champion and candidate), which run for minutes per training run. */
    transformInstanceType: mlType('SageMaker runs batch transform jobs only on ml.* instance types', 'ml.m5.large'),
  }),
  serving: group({
    endpointName: text(
      /^[a-z0-9](-*[a-z0-9]){0,62}$/,
      'it must be 1 to 63 lower-case letters, digits and hyphens (SageMaker ARNs are lower case, and the clean-up finds the endpoint by ARN)',
      'mlpipe-sandbox-fraud',
    ).default('mlpipe-sandbox-fraud'),
    mode: oneOf(['serverless', 'instance'], 'it picks serverless or instance-backed inference').default('serverless'),
    serverlessMemoryMiB: oneOf(
      [1024, 2048, 3072, 4096, 5120, 6144],
      'serverless endpoints offer fixed memory sizes',
    ).default(2048),
    serverlessMaxConcurrency: int(1, 200, 'a serverless endpoint serves 1 to 200 concurrent invocations').default(5),
    instanceType: mlType('SageMaker hosts models only on ml.* instance types', 'ml.m5.large'),
    initialInstanceCount: int(1, 10, 'an instance endpoint starts with 1 to 10 instances').default(1),
  }),
  pipeline: group({
    schedule: orNull(
      text(/^(cron|rate)\(.+\)$/, 'it must be an EventBridge schedule expression or null', 'cron(0 3 ? * MON *)'),
    ),
    notificationEmail: email('it must be an e-mail address or null'),
  }),
  api: group({
    /** `iam` (SigV4) or `apiKey` alone, which API Gateway says not to rely on: the key travels in clear. */
    authorization: oneOf(['apiKey', 'iam'], 'it picks how callers authenticate').default('iam'),
    throttleRatePerSecond: int(1, 10_000, 'API Gateway throttles each key to this steady rate').default(10),
    throttleBurst: int(1, 5_000, 'it is the burst above the steady rate').default(20),
    quotaPerDay: int(1, 100_000_000, 'it is the daily request quota per API key').default(10_000),
    lambdaMemoryMiB: int(128, 10_240, 'Lambda offers 128 to 10240 MiB').default(512),
    decisionThreshold: above(0, 1, 'it is the fraud probability that flags a record').default(0.5),
    maxBatchSize: int(
      1,
      PUT_RECORD_BATCH_LIMITS.records,
      'it bounds the records in one request, whose log rows go to Firehose in one PutRecordBatch call',
    ).default(100),
  }),
  /** The predict function's log of every scored record (lib/schema/inference-log.ts), delivered as Parquet. */
  inferenceLog: group({
    // The interval is also the longest a prediction waits in the stream before the monitor can see it.
    ...parquetBuffer(),
    /**
     * How long the invocation, after its answer, may spend sending the log rows; they are counted as failed after
     * that. With two 10 s model attempts it stays inside the function's 25 s timeout.
     */
    sendTimeoutMs: int(
      100,
      3_000,
      'it is how long an invocation spends, after its answer, sending the inference log',
    ).default(1_000),
  }),
  /** The drift and quality monitor over the inference log (lib/monitoring/drift-monitor.ts). */
  monitor: group({
    /** Each run is a few small Athena queries over its windows; null: run it by hand only. */
    schedule: orNull(
      text(/^(cron|rate)\(.+\)$/, 'it must be an EventBridge Scheduler expression or null', 'rate(1 hour)'),
    ).default('rate(1 hour)'),
    windowHours: int(1, 744, 'it is the hours of predictions that drift is measured over').default(24),
    referenceDays: int(1, 90, "it is the days before the window the score's distribution is compared with").default(7),
    labelWindowDays: int(1, 90, 'it is the days of predictions joined to their labels for realized quality').default(7),
    /** A PSI over a few records is noise: about 0.7 for every empty bin. Fewer records give no measure, no alarm. */
    minRecords: int(1, 1_000_000, 'it is the fewest predictions in a window before its drift is measured').default(500),
    /** A single missed fraud is no recall of 0: fewer labelled frauds give no quality measure, no alarm. */
    minLabelledPositives: int(
      1,
      1_000_000,
      'it is the fewest labelled frauds before realized recall, precision and AUC are measured',
    ).default(20),
    minRealizedRecall: num(0, 1, 'it is the realized recall below which the quality alarm fires').default(0.5),
    /** A drift or quality alarm starts the training pipeline, unless a run is in progress or one started lately. */
    retrainOnAlarm: flag('it lets a drift or quality alarm start the training pipeline').default(true),
    retrainCooldownHours: int(1, 720, 'it is the least time between two retrains an alarm starts').default(24),
  }),
  cost: group({
    /** For the whole account, so a sandbox account should hold only this pipeline. */
    monthlyBudgetUsd: int(1, 1_000_000, 'it is the monthly budget in whole US dollars').default(20),
    budgetEmail: email('it must be an e-mail address, or null for no budget'),
    /** An idle instance endpoint bills every hour, and an idle sandbox is probably forgotten. */
    endpointIdleHours: int(1, 168, 'CloudWatch evaluates an hourly alarm over at most 7 days (168 hours)').default(24),
  }),
});

export type StageConfig = z.infer<typeof STAGE_CONFIG>;

/** What each stage changes from the base. Prod keeps data and logs longer, is protected, and serves from instances. */
export const STAGE_DIFFS: { readonly [S in StageName]: Omit<z.input<typeof STAGE_CONFIG>, 'stage'> } = {
  sandbox: {},
  prod: {
    namePrefix: 'mlpipe-prod',
    terminationProtection: true,
    logRetentionDays: 365,
    data: { removalPolicy: 'retain', allowDataDeletion: false },
    lifecycle: {
      rawGlacierInstantRetrievalAfterDays: 180,
      rawErrorsExpireAfterDays: 90,
      curatedExpireAfterDays: 90,
      athenaResultsExpireAfterDays: 30,
      accessLogsExpireAfterDays: 365,
      noncurrentVersionsExpireAfterDays: 90,
    },
    ingest: { bufferIntervalSeconds: 300 },
    inferenceLog: { bufferIntervalSeconds: 300 },
    crawler: { schedule: 'cron(15 * * * ? *)' },
    athena: { bytesScannedCutoffMiB: 10240 },
    qualityGate: { minValidationAuc: 0.85 },
    registry: { approval: 'manual' },
    serving: { endpointName: 'mlpipe-prod-fraud', mode: 'instance' },
    api: { throttleRatePerSecond: 100, throttleBurst: 200, quotaPerDay: 1_000_000 },
    cost: { monthlyBudgetUsd: 1000, endpointIdleHours: 72 },
    // Prod retrains when people decide; its alarms still notify.
    monitor: { retrainOnAlarm: false, minRealizedRecall: 0.7 },
  },
};

/** The fully resolved defaults of each stage: the base with the stage's diff laid over it. */
export const STAGE_DEFAULTS = Object.fromEntries(
  STAGE_NAMES.map((stage) => [stage, STAGE_CONFIG.parse({ ...STAGE_DIFFS[stage], stage })]),
) as { readonly [S in StageName]: StageConfig };

export type DataConfig = StageConfig['data'];
export type LifecycleConfig = StageConfig['lifecycle'];
export type IngestConfig = StageConfig['ingest'];
export type CrawlerConfig = StageConfig['crawler'];
export type AthenaConfig = StageConfig['athena'];
export type TrainingConfig = StageConfig['training'];
export type QualityGateConfig = StageConfig['qualityGate'];
export type RegistryConfig = StageConfig['registry'];
export type ServingConfig = StageConfig['serving'];
export type PipelineConfig = StageConfig['pipeline'];
export type ApiConfig = StageConfig['api'];
export type InferenceLogConfig = StageConfig['inferenceLog'];
export type CostConfig = StageConfig['cost'];
export type MonitorConfig = StageConfig['monitor'];
