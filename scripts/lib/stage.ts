/**
 * The tools' view of a deployment: the same validated stage config that `cdk synth` builds from cdk.json (so the
 * tools and the stacks agree on names), the CloudFormation stack names, and the stacks' outputs.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadStageConfigFromContext, type StageConfig } from '../../lib/config/stage-config';
import { ToolError } from './cli';

const CDK_JSON = join(__dirname, '..', '..', 'cdk.json');

/**
 * The stage config as `cdk synth` would build it: context from cdk.json, with `--stage` in place of `-c stage=…`.
 * @throws ConfigError when cdk.json holds an invalid value (the same message `cdk synth` prints)
 */
export function loadToolConfig(stage: string | undefined, cdkJsonPath = CDK_JSON): StageConfig {
  const context = (JSON.parse(readFileSync(cdkJsonPath, 'utf8')) as { context?: Record<string, unknown> }).context;
  return loadStageConfigFromContext(stage ?? context?.stage, context?.pipeline);
}

/**
 * Reads the named outputs of a deployed stack.
 * @throws ToolError naming the stack and the command to run when the stack or an output does not exist
 */
export async function readStackOutputs<K extends string>(
  cloudFormation: CloudFormationClient,
  stackName: string,
  keys: readonly K[],
): Promise<Record<K, string>> {
  let outputs: { OutputKey?: string; OutputValue?: string }[];
  try {
    const { Stacks } = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
    outputs = Stacks?.[0]?.Outputs ?? [];
  } catch (error) {
    // CloudFormation answers a missing stack with a plain ValidationError ("Stack with id … does not exist").
    if (error instanceof Error && error.name === 'ValidationError' && /does not exist/.test(error.message)) {
      throw new ToolError(
        `Stack ${stackName} is not deployed in this account and region. Deploy it first: npx cdk deploy --all` +
          ` (or pass the stage it was deployed with: --stage <stage>)`,
      );
    }
    throw error;
  }
  const found = new Map(outputs.map(({ OutputKey, OutputValue }) => [OutputKey, OutputValue]));
  const missing = keys.filter((key) => found.get(key) === undefined);
  if (missing.length > 0) {
    throw new ToolError(
      `Stack ${stackName} has no output ${missing.join(', ')}; it was deployed from an older version of this app. ` +
        `Redeploy it: npx cdk deploy --all`,
    );
  }
  return Object.fromEntries(keys.map((key) => [key, found.get(key)])) as Record<K, string>;
}

/** SDK client settings for a stage: its pinned region, else the SDK's default chain (AWS_REGION, the profile). */
export const clientConfig = (config: StageConfig) => (config.region === null ? {} : { region: config.region });
