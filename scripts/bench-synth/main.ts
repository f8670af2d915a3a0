/**
 * `npm run bench:synth`: where a full `cdk synth` spends its time. Each variant is synthesized through the CDK CLI
 * as `cdk synth` does (the app started by tsx), alternating the variants round by round, and the median of the
 * rounds is printed with what each added to the one before, and the full synth's ratio to a one-bucket app.
 *
 * The variants are bin/synth-variant.ts with parts switched on through BENCH_SYNTH_PARTS; this tool itself loads
 * nothing of the CDK.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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
  /** The parts bin/synth-variant.ts switches on, or undefined for the project's own app (cdk.json's `app`). */
  readonly parts?: string;
}

const VARIANTS: readonly Variant[] = [
  { label: 'one-bucket app', parts: 'one-bucket' },
  { label: 'pipeline app alone', parts: '' },
  { label: '+ bundling', parts: 'bundling' },
  { label: '+ CloudFormation validation', parts: 'bundling,validation' },
  { label: '+ cdk-nag', parts: 'bundling,validation,nag' },
  { label: '+ guard rules (= cdk synth)', parts: 'bundling,validation,nag,guard' },
  { label: 'cdk synth (bin/app.ts)' },
];

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Seconds of one `cdk synth --quiet` of the variant, into a fresh output folder under `dir`. */
function synthSeconds(variant: Variant, dir: string): number {
  const out = mkdtempSync(join(dir, 'out-'));
  const args = ['cdk', 'synth', '--quiet', '--output', out];
  if (variant.parts !== undefined) args.push('--app', `npx tsx ${join('bin', 'synth-variant.ts')}`);
  const env = { ...process.env, TMPDIR: dir, BENCH_SYNTH_PARTS: variant.parts ?? '' };
  const start = performance.now();
  const result = spawnSync('npx', args, { cwd: ROOT, encoding: 'utf8', env });
  const seconds = (performance.now() - start) / 1000;
  rmSync(out, { recursive: true, force: true });
  if (result.status !== 0) throw new ToolError(`cdk synth of "${variant.label}" failed:\n${result.stderr}`);
  return seconds;
}

export const main = toolMain(SPEC, async ({ values }) => {
  const rounds = integerOption(values.rounds, 'rounds', { min: 1, max: 20, default: 3 });
  const dir = mkdtempSync(join(tmpdir(), 'bench-synth-'));
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
