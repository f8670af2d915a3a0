import { RemovalPolicy } from 'aws-cdk-lib';
import { dataRemoval } from '../../lib/config/data-removal';
import {
  ConfigError,
  STAGE_DEFAULTS,
  STAGE_DIFFS,
  loadStageConfig,
  loadStageConfigFromContext,
} from '../../lib/config/stage-config';

/** The ConfigError that loading the given stage and overrides throws. */
function configErrorOf(stage: unknown, overrides?: unknown): ConfigError {
  try {
    loadStageConfig(stage, overrides);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected loadStageConfig to throw');
}

/** The message of the ConfigError that loading the given stage and overrides throws. */
const configError = (stage: unknown, overrides?: unknown): string => configErrorOf(stage, overrides).message;

describe('loadStageConfig', () => {
  test('defaults to the sandbox stage when no stage is given', () => {
    expect(loadStageConfig(undefined)).toEqual(STAGE_DEFAULTS.sandbox);
  });

  test('returns the prod defaults for -c stage=prod', () => {
    const config = loadStageConfig('prod');
    expect(config.stage).toBe('prod');
    expect(config.terminationProtection).toBe(true);
    expect(config.data).toEqual({ removalPolicy: 'retain', allowDataDeletion: false });
  });

  test('lays overrides over the defaults and keeps the keys they do not name', () => {
    const config = loadStageConfig('sandbox', { ingest: { bufferIntervalSeconds: 120 }, crawler: { schedule: null } });
    expect(config.ingest).toEqual({ bufferSizeMiB: 64, bufferIntervalSeconds: 120 });
    expect(config.crawler.schedule).toBeNull();
    expect(config.athena).toEqual(STAGE_DEFAULTS.sandbox.athena);
  });

  test('rejects an unknown stage and names the stages it knows', () => {
    expect(configError('qa')).toContain(
      'stage is "qa", which is not a stage of this app. Pass -c stage=sandbox or -c stage=prod',
    );
  });

  test('rejects a Firehose buffer below the 64 MiB Parquet minimum', () => {
    expect(configError('sandbox', { ingest: { bufferSizeMiB: 32 } })).toContain(
      'ingest.bufferSizeMiB is 32; Firehose needs a 64 to 128 MiB buffer when it converts records to Parquet. Set a whole number from 64 to 128',
    );
  });

  test('rejects negative lifecycle days', () => {
    expect(configError('sandbox', { lifecycle: { athenaResultsExpireAfterDays: -1 } })).toContain(
      'lifecycle.athenaResultsExpireAfterDays is -1; days must be a whole number. Set a whole number from 1 to 3650',
    );
  });

  test('rejects a crawler schedule that is not a Glue cron expression', () => {
    expect(configError('sandbox', { crawler: { schedule: 'rate(1 hour)' } })).toContain(
      'crawler.schedule is "rate(1 hour)"; it must be a Glue cron expression',
    );
    expect(configError('sandbox', { crawler: { schedule: 'cron(0 * * * * *)' } })).toContain(
      'crawler.schedule is "cron(0 * * * * *)"; a Glue cron expression has six fields',
    );
  });

  test('accepts a Glue cron expression with a day-of-week', () => {
    expect(loadStageConfig('sandbox', { crawler: { schedule: 'cron(0 6 ? * MON-FRI *)' } }).crawler.schedule).toBe(
      'cron(0 6 ? * MON-FRI *)',
    );
  });

  test('rejects a key that is not a setting instead of ignoring the typo', () => {
    expect(configError('sandbox', { ingest: { bufferSizeMb: 64 } })).toContain(
      'ingest.bufferSizeMb is not a setting; known keys here: bufferSizeMiB, bufferIntervalSeconds',
    );
  });

  test('rejects a log retention that CloudWatch does not offer', () => {
    expect(configError('sandbox', { logRetentionDays: 10 })).toContain(
      'logRetentionDays is 10; CloudWatch Logs accepts only fixed retention periods. Use one of: 1, 3, 5, 7, 14',
    );
  });

  test('rejects a Glacier transition sooner than 30 days after Standard-IA', () => {
    expect(
      configError('sandbox', {
        lifecycle: { rawInfrequentAccessAfterDays: 60, rawGlacierInstantRetrievalAfterDays: 75 },
      }),
    ).toContain('raise it to 90 or more');
  });

  test('rejects an Athena scan cutoff below the 10 MiB minimum', () => {
    expect(configError('prod', { athena: { bytesScannedCutoffMiB: 1 } })).toContain(
      'athena.bytesScannedCutoffMiB is 1',
    );
  });

  test('rejects a name prefix that cannot be used in resource names', () => {
    expect(configError('sandbox', { namePrefix: 'My_Pipeline' })).toContain('namePrefix is "My_Pipeline"');
  });

  test('needs both switches to delete data', () => {
    expect(configError('prod', { data: { removalPolicy: 'destroy' } })).toContain(
      'data.removalPolicy is "destroy" but data.allowDataDeletion is false; deleting data takes both switches',
    );
    expect(configError('sandbox', { data: { removalPolicy: 'retain' } })).toContain(
      'data.removalPolicy is "retain" but data.allowDataDeletion is true',
    );
  });

  test('lists every problem in one error, with the place to fix them', () => {
    const message = configError('sandbox', { ingest: { bufferSizeMiB: 256, bufferIntervalSeconds: 1000 } });
    expect(message).toContain(
      "Invalid configuration for stage 'sandbox' (set values in cdk.json under context.pipeline.sandbox)",
    );
    expect(message).toContain('ingest.bufferSizeMiB is 256');
    expect(message).toContain('ingest.bufferIntervalSeconds is 1000');
  });

  test('rejects overrides that are not an object', () => {
    expect(configError('sandbox', 'bufferSizeMiB=64')).toContain('the stage overrides must be an object');
  });

  test('names the group when a group is given a value that is not an object', () => {
    expect(configError('sandbox', { training: 5 })).toContain('training must be an object, got 5');
    expect(configError('sandbox', { training: { hyperparameters: null } })).toContain(
      'training.hyperparameters must be an object, got null',
    );
  });

  test('names the value and the fix when a setting has the wrong type', () => {
    expect(configError('sandbox', { training: { instanceCount: '3' } })).toContain(
      'training.instanceCount is "3"; a training job runs on 1 to 20 instances. Set a whole number from 1 to 20',
    );
    expect(configError('sandbox', { training: { useSpot: 'yes' } })).toContain(
      'training.useSpot is "yes"; it turns managed spot training on or off. Use one of: true, false',
    );
  });

  test('rejects a whole number setting given a fraction', () => {
    expect(configError('sandbox', { training: { instanceCount: 1.5 } })).toContain(
      'training.instanceCount is 1.5; a training job runs on 1 to 20 instances. Set a whole number from 1 to 20',
    );
  });

  test('reports each unknown key of a group on a line of its own', () => {
    const { problems } = configErrorOf('sandbox', { ingest: { bufferSizeMb: 64, interval: 60 } });
    expect(problems).toEqual([
      'ingest.bufferSizeMb is not a setting; known keys here: bufferSizeMiB, bufferIntervalSeconds',
      'ingest.interval is not a setting; known keys here: bufferSizeMiB, bufferIntervalSeconds',
    ]);
  });

  test('reports an unknown key, a wrong value and a broken rule between settings together', () => {
    const { problems } = configErrorOf('sandbox', {
      ingest: { bufferSizeMb: 64, bufferIntervalSeconds: 1000 },
      training: { exportWindowDays: 45 },
    });
    expect(problems).toHaveLength(3);
    expect(problems).toContain(
      'ingest.bufferSizeMb is not a setting; known keys here: bufferSizeMiB, bufferIntervalSeconds',
    );
    expect(problems.some((p) => p.startsWith('ingest.bufferIntervalSeconds is 1000;'))).toBe(true);
    expect(problems.some((p) => p.startsWith('training.exportWindowDays (45) must be at most'))).toBe(true);
  });

  test('leaves out a rule between settings when one of them is already wrong', () => {
    const { problems } = configErrorOf('sandbox', { lifecycle: { rawInfrequentAccessAfterDays: 10 } });
    expect(problems).toEqual([
      'lifecycle.rawInfrequentAccessAfterDays is 10; S3 moves objects to Standard-IA after 30 days at the earliest. Set a whole number from 30 to 3650',
    ]);
  });

  test('rejects a stage set inside the overrides', () => {
    expect(configError('sandbox', { stage: 'prod' })).toContain(
      'stage is chosen with -c stage=…, not set in the overrides',
    );
  });

  test('returns a config that cannot be changed by accident', () => {
    const config = loadStageConfig('sandbox');
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.training.hyperparameters)).toBe(true);
  });
});

describe('the stage defaults', () => {
  /** Every leaf of a config as a dotted path and its value. */
  const leaves = (node: object, prefix = ''): [string, unknown][] =>
    Object.entries(node).flatMap(([key, value]) =>
      typeof value === 'object' && value !== null
        ? leaves(value as object, `${prefix}${key}.`)
        : [[`${prefix}${key}`, value]],
    );

  test('differ between the stages exactly where the prod diff overrides the base', () => {
    const sandbox = new Map(leaves(STAGE_DEFAULTS.sandbox));
    const differing = leaves(STAGE_DEFAULTS.prod).filter(
      ([path, value]) => path !== 'stage' && sandbox.get(path) !== value,
    );
    expect(Object.fromEntries(differing)).toEqual(Object.fromEntries(leaves(STAGE_DIFFS.prod)));
  });

  test('are the base in the sandbox, which overrides nothing', () => {
    expect(STAGE_DIFFS.sandbox).toEqual({});
  });

  test('satisfy the rules between settings in both stages', () => {
    expect(loadStageConfig('sandbox')).toEqual(STAGE_DEFAULTS.sandbox);
    expect(loadStageConfig('prod')).toEqual(STAGE_DEFAULTS.prod);
  });
});

describe('loadStageConfigFromContext', () => {
  test("reads the chosen stage's overrides from the pipeline context", () => {
    const pipeline = { prod: { ingest: { bufferIntervalSeconds: 120 } }, sandbox: { ingest: { bufferSizeMiB: 1 } } };
    expect(loadStageConfigFromContext('prod', pipeline).ingest.bufferIntervalSeconds).toBe(120);
  });

  test('rejects a pipeline context that is not an object, as -c passes it', () => {
    expect(() => loadStageConfigFromContext('sandbox', '{"sandbox":{}}')).toThrow(
      'context "pipeline" must be an object of per-stage overrides, set in cdk.json (-c passes only strings)',
    );
  });
});

describe('dataRemoval', () => {
  test('destroys data and empties buckets only when both switches are set', () => {
    expect(dataRemoval({ removalPolicy: 'destroy', allowDataDeletion: true })).toEqual({
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: true,
    });
    expect(dataRemoval({ removalPolicy: 'destroy', allowDataDeletion: false })).toEqual({
      removalPolicy: RemovalPolicy.RETAIN,
      autoDeleteObjects: false,
    });
  });
});

describe('training and serving settings', () => {
  test('rejects a spot wait that does not exceed the runtime', () => {
    expect(configError('sandbox', { training: { maxRuntimeSeconds: 3600, maxWaitSeconds: 1800 } })).toContain(
      'training.maxWaitSeconds (1800 s) must exceed training.maxRuntimeSeconds (3600 s): the wait covers spot capacity plus the training itself. Raise training.maxWaitSeconds to at least 3601',
    );
  });

  test('rejects early stopping that can never stop training early', () => {
    const hyperparameters = { numRound: 50, earlyStoppingRounds: 50 };
    expect(configError('sandbox', { training: { hyperparameters } })).toContain(
      'training.hyperparameters.earlyStoppingRounds (50) must be below training.hyperparameters.numRound (50), or training never stops early; lower it, for example to 5',
    );
  });

  test('rejects a single boosting round, after which early stopping has nothing to stop', () => {
    expect(configError('sandbox', { training: { hyperparameters: { numRound: 1 } } })).toContain(
      'training.hyperparameters.numRound is 1; early stopping needs at least one round after the first. Set a whole number from 2 to 10000',
    );
  });

  test('rejects a negative regularization penalty, naming the setting', () => {
    expect(configError('sandbox', { training: { hyperparameters: { lambda: -1 } } })).toContain(
      'training.hyperparameters.lambda is -1; it is the L2 penalty on leaf weights. Set a number from 0 to 1000',
    );
  });

  test('ignores the spot wait when spot training is off', () => {
    expect(
      loadStageConfig('sandbox', { training: { useSpot: false, maxRuntimeSeconds: 3600, maxWaitSeconds: 1800 } })
        .training.useSpot,
    ).toBe(false);
  });

  test('rejects an instance type that is not a SageMaker ml.* type', () => {
    expect(configError('sandbox', { training: { instanceType: 'm5.xlarge' } })).toContain(
      'training.instanceType is "m5.xlarge"; SageMaker trains only on ml.* instance types, for example "ml.m5.xlarge"',
    );
    expect(configError('prod', { serving: { instanceType: 't3.medium' } })).toContain(
      'serving.instanceType is "t3.medium"',
    );
  });

  test('rejects an AUC threshold outside 0 to 1', () => {
    expect(configError('sandbox', { qualityGate: { minValidationAuc: 1.2 } })).toContain(
      'qualityGate.minValidationAuc is 1.2; AUC is between 0 and 1 (0.5 is a coin toss). Set a number from 0 to 1',
    );
  });

  test('rejects a serverless memory size SageMaker does not offer', () => {
    expect(configError('sandbox', { serving: { serverlessMemoryMiB: 1500 } })).toContain(
      'serving.serverlessMemoryMiB is 1500',
    );
  });

  test('rejects an endpoint name SageMaker would refuse', () => {
    expect(configError('sandbox', { serving: { endpointName: 'fraud_model' } })).toContain(
      'serving.endpointName is "fraud_model"',
    );
  });

  test('rejects an instance type with local storage, which cannot take the KMS volume key', () => {
    expect(configError('sandbox', { training: { instanceType: 'ml.m5d.xlarge' } })).toContain(
      'training.instanceType is "ml.m5d.xlarge", an instance type with local NVMe storage, for which SageMaker rejects the KMS volume key this pipeline sets; choose a type without local storage, for example "ml.m5.xlarge"',
    );
    expect(configError('prod', { serving: { instanceType: 'ml.g4dn.xlarge' } })).toContain(
      'serving.instanceType is "ml.g4dn.xlarge"',
    );
    expect(loadStageConfig('sandbox', { training: { instanceType: 'ml.c5.2xlarge' } }).training.instanceType).toBe(
      'ml.c5.2xlarge',
    );
  });

  test.each(['ml.g5.xlarge', 'ml.g6.2xlarge', 'ml.g6e.xlarge', 'ml.p5.48xlarge', 'ml.trn1.2xlarge', 'ml.dl1.24xlarge'])(
    'rejects %s, whose NVMe instance store has no "d" in its name',
    (instanceType) => {
      expect(configError('sandbox', { training: { instanceType } })).toContain(
        `training.instanceType is "${instanceType}", an instance type with local NVMe storage`,
      );
    },
  );

  test.each(['ml.p3.2xlarge', 'ml.g4ad.xlarge', 'ml.inf2.xlarge', 'ml.m7i.large'])(
    'accepts %s, which has EBS storage only',
    (instanceType) => {
      expect(loadStageConfig('prod', { serving: { instanceType } }).serving.instanceType).toBe(instanceType);
    },
  );

  test('bounds the export window and keeps it out of tiered storage', () => {
    expect(configError('sandbox', { training: { exportWindowDays: 0 } })).toContain(
      'training.exportWindowDays is 0; it is the number of days of raw partitions a run exports. Set a whole number from 1 to 3650',
    );
    expect(configError('sandbox', { training: { exportWindowDays: 45 } })).toContain(
      'training.exportWindowDays (45) must be at most lifecycle.rawInfrequentAccessAfterDays (30): older raw events are in Standard-IA or Glacier Instant Retrieval, where every export would pay retrieval fees. Lower training.exportWindowDays, or raise lifecycle.rawInfrequentAccessAfterDays to 45',
    );
    const longer = { training: { exportWindowDays: 45 }, lifecycle: { rawInfrequentAccessAfterDays: 45 } };
    expect(loadStageConfig('sandbox', longer).training.exportWindowDays).toBe(45);
  });

  test('rejects a budget e-mail that is not an address, and an idle time beyond 7 days', () => {
    const message = configError('sandbox', { cost: { budgetEmail: 'ml-team', endpointIdleHours: 200 } });
    expect(message).toContain(
      'cost.budgetEmail is "ml-team"; it must be an e-mail address, or null for no budget, for example "ml-team@example.com"',
    );
    expect(message).toContain(
      'cost.endpointIdleHours is 200; CloudWatch evaluates an hourly alarm over at most 7 days (168 hours). Set a whole number from 1 to 168',
    );
  });

  test('creates a budget only where CloudFormation offers one, and only with a region to check', () => {
    const withBudget = (region: string | null) => ({ region, cost: { budgetEmail: 'ml-team@example.com' } });
    expect(configError('sandbox', withBudget('eu-central-2'))).toContain(
      'cost.budgetEmail is set, so the stage creates an AWS Budgets budget, and CloudFormation offers AWS::Budgets::Budget only in ap-northeast-1,',
    );
    expect(configError('sandbox', withBudget('eu-central-2'))).toContain(
      'region is "eu-central-2": deploy to one of those, or set cost.budgetEmail to null and create the budget in the Billing console',
    );
    expect(configError('sandbox', withBudget(null))).toContain(
      'region is null, so synth cannot tell where the stacks deploy: pin region to one of those',
    );
    expect(loadStageConfig('sandbox', withBudget('eu-west-1')).cost.budgetEmail).toBe('ml-team@example.com');
  });
});
