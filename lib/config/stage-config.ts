/**
 * The stage config as the app, its stacks and tools import it: the settings (declared in ./settings.ts) and the synth-
 * time validation that turns every wrong value in `cdk.json` (`context.pipeline.<stage>`) into a message with its fix.
 */
import { ruleProblems } from './rules';
import { STAGE_CONFIG, STAGE_DEFAULTS, STAGE_NAMES, type StageConfig, type StageName } from './settings';

export * from './settings';

const isStage = (name: unknown): name is StageName => STAGE_NAMES.some((stage) => stage === name);

/** Raised when the configuration is invalid; lists every problem at once so one synth shows all fixes. */
export class ConfigError extends Error {
  constructor(
    readonly stage: string,
    readonly problems: readonly string[],
  ) {
    const where = isStage(stage) ? ` (set values in cdk.json under context.pipeline.${stage})` : '';
    super(`Invalid configuration for stage '${stage}'${where}:\n` + problems.map((p) => `  - ${p}`).join('\n'));
    this.name = 'ConfigError';
  }
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Lays overrides over defaults key by key; where either is not an object, the override stands, to be checked. */
const merge = (base: unknown, over: unknown): unknown =>
  isPlainObject(base) && isPlainObject(over)
    ? { ...base, ...Object.fromEntries(Object.entries(over).map(([key, value]) => [key, merge(base[key], value)])) }
    : over;

/** The config of `stage` (`-c stage=…`, default sandbox) with `overrides` laid over it. @throws ConfigError */
export function loadStageConfig(stage: unknown, overrides?: unknown): StageConfig {
  const stageName = stage ?? 'sandbox';
  if (!isStage(stageName)) {
    throw new ConfigError(String(stageName), [
      `stage is ${JSON.stringify(stageName)}, which is not a stage of this app. Pass -c stage=${STAGE_NAMES.join(' or -c stage=')}`,
    ]);
  }
  const merged = overrides === undefined ? STAGE_DEFAULTS[stageName] : merge(STAGE_DEFAULTS[stageName], overrides);
  const problems: string[] = [];
  if (isPlainObject(merged) && merged.stage !== stageName)
    problems.push('stage is chosen with -c stage=…, not set in the overrides');
  const input = isPlainObject(merged) ? { ...merged, stage: stageName } : merged;
  const result = STAGE_CONFIG.safeParse(input);
  const issues = result.error?.issues ?? [];
  // A strict object reports all its unknown keys in one issue, one line per key.
  problems.push(...issues.flatMap((issue) => issue.message.split('\n')));
  // An unknown key leaves its neighbours valid; any other issue leaves its setting (or group) unfit for a rule.
  const broken = issues.filter((i) => i.code !== 'unrecognized_keys').map((i) => i.path.join('.'));
  const valid = (...paths: string[]) =>
    paths.every((path) => !broken.some((b) => b === '' || path === b || path.startsWith(`${b}.`)));
  if (isPlainObject(input)) problems.push(...ruleProblems(input as StageConfig, valid));
  if (!result.success || problems.length > 0) throw new ConfigError(stageName, problems);
  return result.data;
}

/** The stage config from CDK context: `stage`, and `pipeline` (an object in cdk.json; `-c` passes only strings). */
export function loadStageConfigFromContext(stage: unknown, pipeline: unknown): StageConfig {
  const stageName = stage ?? 'sandbox';
  if (pipeline !== undefined && !isPlainObject(pipeline)) {
    throw new ConfigError(String(stageName), [
      'context "pipeline" must be an object of per-stage overrides, set in cdk.json (-c passes only strings)',
    ]);
  }
  return loadStageConfig(stageName, pipeline?.[String(stageName)]);
}
