/**
 * `npm run bench:synth`: where a full `cdk synth` spends its time. Each variant is synthesized through the CDK CLI
 * as `cdk synth --quiet` does (the app started by tsx), alternating the variants round by round, and the median of
 * the rounds is printed with what each part added to the one before, and the full synth's ratio to a one-bucket app:
 * with the Lambda bundles and the guard rules' reports cached, as every synth after the first of unchanged
 * templates, and with the caches emptied, as after `npm ci`.
 *
 * The variants are bin/synth-variant.ts with parts switched on through BENCH_SYNTH_PARTS; this tool itself loads
 * nothing of the CDK.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SYNTH_CACHES } from '../../lib/contract/synth-caches';
import { GeneratedTable, markdownTable } from '../lib/generated-table';
import { integerOption, runTool, ToolError, toolMain, type ToolSpec } from '../lib/cli';

export const SPEC: ToolSpec<'rounds' | 'write-docs'> = {
  name: 'bench:synth',
  summary:
    "Measures where a full cdk synth spends its time: the app alone, bundling, CDK's CloudFormation validation, " +
    'cdk-nag and the Control Tower guard rules, each added in turn, against a one-bucket app; and the full synth ' +
    'with its caches (Lambda bundles, guard reports) warm and empty. Prints numbers, asserts nothing.',
  options: {
    rounds: { type: 'string', valueName: '<n>', description: 'alternated rounds per variant (default 5)' },
    'write-docs': { type: 'boolean', description: 'also write the table into docs/checks.md between its markers' },
  },
  examples: ['npm run bench:synth', 'npm run bench:synth -- --rounds 7 --write-docs'],
  stageless: true,
};

const ROOT = join(__dirname, '..', '..');

/** The synth table in docs/checks.md; test/readme.test.ts checks it has a row per variant. */
export const SYNTH_TABLE = new GeneratedTable('docs/checks.md', 'synth-times', 'npm run bench:synth -- --write-docs');

interface Variant {
  readonly label: string;
  /** The parts bin/synth-variant.ts switches on, or undefined for the project's own app (cdk.json's `app`). */
  readonly parts?: string;
  /** Empty the synth's caches before each run, as after `npm ci`. */
  readonly coldCaches?: boolean;
}

export const VARIANTS: readonly Variant[] = [
  { label: 'one-bucket app', parts: 'one-bucket' },
  { label: 'pipeline app alone', parts: '' },
  { label: '+ bundling (cached)', parts: 'bundling' },
  { label: '+ CloudFormation validation', parts: 'bundling,validation' },
  { label: '+ cdk-nag', parts: 'bundling,validation,nag' },
  { label: '+ guard rules (= cdk synth)', parts: 'bundling,validation,nag,guard' },
  { label: 'cdk synth (bin/app.ts)' },
  { label: 'cdk synth, caches empty', coldCaches: true },
];
/** The variants whose time is shown as what they add to the one before. */
const ADDED = new Set([2, 3, 4, 5]);

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

interface Run {
  readonly seconds: number;
  /** The lines `cdk synth --quiet` printed, on either stream. */
  readonly lines: readonly string[];
}

/** One `cdk synth --quiet` of the variant, into a fresh output folder under `dir`. */
function synth(variant: Variant, dir: string): Run {
  const out = mkdtempSync(join(dir, 'out-'));
  const args = ['cdk', 'synth', '--quiet', '--output', out];
  if (variant.parts !== undefined) args.push('--app', `npx tsx ${join('bin', 'synth-variant.ts')}`);
  const env = { ...process.env, TMPDIR: dir, BENCH_SYNTH_PARTS: variant.parts ?? '' };
  if (variant.coldCaches === true) {
    for (const cache of Object.values(SYNTH_CACHES)) rmSync(join(ROOT, cache), { recursive: true, force: true });
  }
  const start = performance.now();
  const result = spawnSync('npx', args, { cwd: ROOT, encoding: 'utf8', env });
  const seconds = (performance.now() - start) / 1000;
  rmSync(out, { recursive: true, force: true });
  if (result.status !== 0) throw new ToolError(`cdk synth of "${variant.label}" failed:\n${result.stderr}`);
  const lines = `${result.stdout}${result.stderr}`.split('\n').filter((line) => line.trim() !== '');
  return { seconds, lines };
}

export const main = toolMain(SPEC, async ({ values }) => {
  const rounds = integerOption(values.rounds, 'rounds', { min: 1, max: 20, default: 5 });
  const dir = mkdtempSync(join(tmpdir(), 'bench-synth-'));
  const samples = VARIANTS.map(() => [] as number[]);
  let printed: readonly string[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      // Alternate the order too, so no variant always runs after the same one.
      const order = VARIANTS.map((_, index) => index);
      if (round % 2 === 1) order.reverse();
      for (const index of order) {
        const run = synth(VARIANTS[index], dir);
        samples[index].push(run.seconds);
        if (VARIANTS[index].parts === undefined && VARIANTS[index].coldCaches !== true) printed = run.lines;
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const medians = samples.map(median);
  const ratio = (index: number) => `${(medians[index] / medians[0]).toFixed(2)}x`;
  const rows = VARIANTS.map((variant, index) => [
    variant.label,
    `${medians[index].toFixed(1)} s`,
    ADDED.has(index) ? `+${(medians[index] - medians[index - 1]).toFixed(1)} s` : '',
  ]);
  rows.push(['ratio: cdk synth / one-bucket app', ratio(6), '']);
  rows.push(['ratio: cdk synth with empty caches / one-bucket app', ratio(7), '']);
  const bundlingLines = printed.filter((line) => /bundling/i.test(line)).length;
  rows.push(['lines printed by cdk synth --quiet (bundling lines)', `${printed.length} (${bundlingLines})`, '']);

  const caption = `the median of ${rounds} alternated rounds, Node ${process.versions.node}, ${new Date().toISOString().slice(0, 10)}`;
  const table = markdownTable(['Synth', 'Time', 'Added'], rows);
  process.stdout.write(`cdk synth benchmark (${caption})\n\n${table}\n`);
  if (values['write-docs'] === true) SYNTH_TABLE.write(ROOT, caption, table);
  return 0;
});

if (require.main === module) runTool(main);
