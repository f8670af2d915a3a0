/**
 * `npm run bench:synth`: where a full `cdk synth` spends its time. Each variant is synthesized through the CDK CLI
 * as `cdk synth` does (the app started by tsx), alternating the variants round by round, and the median of the
 * rounds is printed with what each added to the one before, and the full synth's ratio to a one-bucket app.
 *
 * The variants are small app files written to node_modules/.cache/bench-synth (inside the project, so they resolve
 * its packages), each importing the project's own modules; this tool itself loads nothing of the CDK.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { integerOption, runTool, ToolError, toolMain, type ToolSpec } from '../lib/cli';

export const SPEC: ToolSpec<'rounds'> = {
  name: 'bench:synth',
  summary:
    "Measures where a full cdk synth spends its time: the app alone, bundling, CDK's CloudFormation validation, " +
    'cdk-nag and the Control Tower guard rules, each added in turn, against a one-bucket app. Prints numbers, ' +
    'asserts nothing.',
  options: { rounds: { type: 'string', valueName: '<n>', description: 'alternated rounds per variant (default 3)' } },
  examples: ['npm run bench:synth', 'npm run bench:synth -- --rounds 5'],
  stageless: true,
};

const ROOT = join(__dirname, '..', '..');

interface Variant {
  readonly label: string;
  /** The app file's body, or undefined for the project's own app (cdk.json's `app`). */
  readonly app?: string;
}

/** An app file that builds the pipeline with the named parts switched on. */
function pipelineApp(parts: { bundling: boolean; validation: boolean; nag: boolean; guard: boolean }): string {
  const lib = (path: string) => JSON.stringify(join(ROOT, 'lib', path));
  return [
    "import { App, Validations } from 'aws-cdk-lib';",
    "import { AwsSolutionsChecks } from 'cdk-nag';",
    "import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';",
    `import { loadStageConfigFromContext } from ${lib('config/stage-config')};`,
    `import { buildPipeline } from ${lib('pipeline-app')};`,
    `import { TRANSACTION_SCHEMA } from ${lib('schema/feature-schema')};`,
    `const app = new App({ builtinCloudFormationValidation: ${parts.validation} });`,
    parts.bundling ? '' : "app.node.setContext('aws:cdk:bundling-stacks', []);",
    'const plugins = [];',
    parts.nag ? 'plugins.push(new AwsSolutionsChecks(app));' : '',
    parts.guard ? 'plugins.push(new CfnGuardValidator());' : '',
    'if (plugins.length > 0) Validations.of(app).addPlugins(...plugins);',
    "const config = loadStageConfigFromContext(app.node.tryGetContext('stage'), app.node.tryGetContext('pipeline'));",
    'buildPipeline(app, config, TRANSACTION_SCHEMA);',
  ].join('\n');
}

const VARIANTS: readonly Variant[] = [
  {
    label: 'one-bucket app',
    app: [
      "import { App, Stack } from 'aws-cdk-lib';",
      "import * as s3 from 'aws-cdk-lib/aws-s3';",
      "new s3.Bucket(new Stack(new App(), 'One'), 'Bucket');",
    ].join('\n'),
  },
  { label: 'pipeline app alone', app: pipelineApp({ bundling: false, validation: false, nag: false, guard: false }) },
  { label: '+ bundling', app: pipelineApp({ bundling: true, validation: false, nag: false, guard: false }) },
  {
    label: '+ CloudFormation validation',
    app: pipelineApp({ bundling: true, validation: true, nag: false, guard: false }),
  },
  { label: '+ cdk-nag', app: pipelineApp({ bundling: true, validation: true, nag: true, guard: false }) },
  {
    label: '+ guard rules (= cdk synth)',
    app: pipelineApp({ bundling: true, validation: true, nag: true, guard: true }),
  },
  { label: 'cdk synth (bin/app.ts)' },
];

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const APPS = join(ROOT, 'node_modules', '.cache', 'bench-synth');

/** Seconds of one `cdk synth --quiet` of the variant, into a fresh output folder under `dir`. */
function synthSeconds(variant: Variant, dir: string): number {
  const out = mkdtempSync(join(dir, 'out-'));
  const args = ['cdk', 'synth', '--quiet', '--output', out];
  if (variant.app !== undefined) {
    const file = join(APPS, `${variant.label.replace(/[^a-z]+/gi, '-').replace(/^-|-$/g, '')}.ts`);
    writeFileSync(file, variant.app);
    args.push('--app', `npx tsx ${file}`);
  }
  const start = performance.now();
  const result = spawnSync('npx', args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, TMPDIR: dir } });
  const seconds = (performance.now() - start) / 1000;
  rmSync(out, { recursive: true, force: true });
  if (result.status !== 0) throw new ToolError(`cdk synth of "${variant.label}" failed:\n${result.stderr}`);
  return seconds;
}

export const main = toolMain(SPEC, async ({ values }) => {
  const rounds = integerOption(values.rounds, 'rounds', { min: 1, max: 20, default: 3 });
  const dir = mkdtempSync(join(tmpdir(), 'bench-synth-'));
  mkdirSync(APPS, { recursive: true });
  try {
    const samples = VARIANTS.map(() => [] as number[]);
    for (let round = 0; round < rounds; round++) {
      // Alternate the order too, so no variant always runs after the same one.
      const order = VARIANTS.map((_, index) => index);
      if (round % 2 === 1) order.reverse();
      for (const index of order) samples[index].push(synthSeconds(VARIANTS[index], dir));
    }
    const medians = samples.map(median);
    const width = Math.max(...VARIANTS.map((v) => v.label.length));
    console.log(`cdk synth benchmark (median of ${rounds} alternated rounds, Node ${process.versions.node})`);
    VARIANTS.forEach((variant, index) => {
      const added = index >= 2 && index <= 5 ? `  (+${(medians[index] - medians[index - 1]).toFixed(1)} s)` : '';
      console.log(`${variant.label.padEnd(width)}  ${medians[index].toFixed(1)} s${added}`);
    });
    const ratio = medians[VARIANTS.length - 1] / medians[0];
    console.log(`${'ratio: cdk synth / one-bucket app'.padEnd(width)}  ${ratio.toFixed(2)}x`);
    return 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

if (require.main === module) runTool(main);
