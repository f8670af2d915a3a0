import { App, Stack, type Environment } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadStageConfig, type StageConfig } from '../lib/config/stage-config';
import { buildPipeline, type PipelineStacks } from '../lib/pipeline-app';
import { TRANSACTION_SCHEMA, type FeatureSchema } from '../lib/schema/feature-schema';
import { tempDir } from './temp-dirs';

/** The feature flags and context of cdk.json, so tests synthesize what `cdk synth` does. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(__dirname, '..', 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  return cdkJson.context;
}

export interface TestAppOptions {
  /**
   * Bundle the Lambda functions with esbuild, as `cdk synth` does. Only a test of the bundles needs them: every
   * other test reads templates, and bundling is most of a synth's time. @default false
   */
  readonly bundling?: boolean;
  /**
   * Run the CloudFormation validation that CDK runs on every synth (App's `builtinCloudFormationValidation`), as
   * `cdk synth` does. Its WebAssembly engine takes two seconds to start in every test file, and a test of templates
   * does not need it: test/app/compliance.test.ts synthesizes both stages with it and the other two plugins.
   * @default false
   */
  readonly validation?: boolean;
}

/** An app with the feature flags and context of cdk.json, writing its cloud assembly to a temp folder. */
export function testApp(options: TestAppOptions = {}): App {
  const context = { ...cdkJsonContext(), ...(options.bundling === true ? {} : { 'aws:cdk:bundling-stacks': [] }) };
  return new App({
    context,
    outdir: tempDir('cdk-test'),
    builtinCloudFormationValidation: options.validation === true,
  });
}

/**
 * What `build` wrote to stdout and stderr through Node's streams (CDK's messages, such as the "Bundling asset …"
 * lines NodejsFunction causes), held back and returned; if `build` throws, they are printed first.
 */
export function printedBy(build: () => void): string {
  const held: string[] = [];
  const streams = [process.stdout, process.stderr];
  const writes = streams.map((stream) => stream.write.bind(stream));
  for (const stream of streams) {
    stream.write = ((chunk: string | Uint8Array) => {
      held.push(String(chunk));
      return true;
    }) as typeof stream.write;
  }
  try {
    build();
  } catch (error) {
    writes[1](held.join(''));
    throw error;
  } finally {
    streams.forEach((stream, index) => (stream.write = writes[index]));
  }
  return held.join('');
}

/**
 * A bare stack for a construct test, as the CDK's own tests use, in a {@link testApp}.
 * @param env its account and region; null for an environment-agnostic stack, as the app's are by default
 */
export function bareStack(
  id = 'Test',
  env: Environment | null = { account: '123456789012', region: 'eu-west-1' },
): Stack {
  return new Stack(testApp(), id, env === null ? {} : { env });
}

export interface SynthOptions {
  readonly stage?: string;
  readonly overrides?: unknown;
  readonly schema?: FeatureSchema;
}

export interface SynthesizedPipeline {
  readonly app: App;
  readonly config: StageConfig;
  readonly stacks: PipelineStacks;
  readonly dataLake: Template;
  readonly ingest: Template;
  readonly training: Template;
  readonly serving: Template;
  readonly monitoring: Template;
}

const synthesized = new Map<string, SynthesizedPipeline>();

/**
 * Builds the pipeline app as bin/app.ts does (without the compliance plugins and without bundling) and returns its
 * templates. The same options give the same app within a test file, built once.
 */
export function synthPipeline(options: SynthOptions = {}): SynthesizedPipeline {
  const key = JSON.stringify([options.stage, options.overrides, options.schema]);
  const known = synthesized.get(key);
  if (known !== undefined) return known;
  const app = testApp();
  const config = loadStageConfig(options.stage ?? 'sandbox', options.overrides);
  const stacks = buildPipeline(app, config, options.schema ?? TRANSACTION_SCHEMA);
  const result: SynthesizedPipeline = {
    app,
    config,
    stacks,
    dataLake: Template.fromStack(stacks.dataLake),
    ingest: Template.fromStack(stacks.ingest),
    training: Template.fromStack(stacks.training),
    serving: Template.fromStack(stacks.serving),
    monitoring: Template.fromStack(stacks.monitoring),
  };
  synthesized.set(key, result);
  return result;
}

/** A template with asset hashes replaced, for a snapshot that changes only when the infrastructure does. */
export function normalizedTemplate(template: Template): unknown {
  return JSON.parse(JSON.stringify(template.toJSON()).replace(/[0-9a-f]{64}/g, '<asset-hash>'));
}

/** The single resource of a type whose logical id starts with `prefix`, failing loudly when there is not exactly one. */
export function logicalIdOf(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  if (ids.length !== 1)
    throw new Error(`expected one ${type} with logical id ${prefix}*, found ${ids.join(', ') || 'none'}`);
  return ids[0];
}

/** A template string value as text: an `Fn::Join` is joined, with each token shown as its JSON. */
export function templateText(value: unknown): string {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join === undefined) return JSON.stringify(value);
  return join[1].map((part) => (typeof part === 'string' ? part : JSON.stringify(part))).join(join[0]);
}

/** The logical id prefix of the training pipeline's state machine (the Training stack also holds a waiter). */
export const PIPELINE_STATE_MACHINE = 'PipelineStateMachine';

/**
 * The state machine definition of a template as plain ASL JSON: the `Fn::Join` of the DefinitionString is joined,
 * pseudo parameters get sample values, and every other token (an import, a Ref, a mapping lookup) becomes a readable
 * placeholder string.
 * @param logicalIdPrefix picks the state machine when the template has several
 */
export function stateMachineDefinition(template: Template, logicalIdPrefix = ''): Record<string, unknown> {
  const machines = Object.entries(template.findResources('AWS::StepFunctions::StateMachine'))
    .filter(([id]) => id.startsWith(logicalIdPrefix))
    .map(([, machine]) => machine);
  if (machines.length !== 1) {
    throw new Error(`expected one state machine with logical id ${logicalIdPrefix}*, found ${machines.length}`);
  }
  const definition = machines[0].Properties.DefinitionString as string | { 'Fn::Join': [string, unknown[]] };
  if (typeof definition === 'string') return JSON.parse(definition) as Record<string, unknown>;
  const pseudo: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::Region': 'eu-west-1',
    'AWS::AccountId': '123456789012',
    'AWS::URLSuffix': 'amazonaws.com',
  };
  const placeholder = (token: unknown) => {
    const ref = (token as { Ref?: string }).Ref;
    if (ref !== undefined && pseudo[ref] !== undefined) return pseudo[ref];
    return `TOKEN_${JSON.stringify(token).replace(/[^A-Za-z0-9]+/g, '_')}`;
  };
  const text = definition['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : placeholder(part))).join('');
  return JSON.parse(text) as Record<string, unknown>;
}
