/**
 * `npm run diagram`: draws the synthesized app as docs/architecture.png with cdk-dia and Graphviz, and writes the
 * Graphviz source next to it (docs/architecture.dot). CI regenerates the source from a fresh synth and compares
 * (`--check`), and the PNG carries the SHA-256 of the source it was rendered from, so neither file can drift from the
 * code. The app is synthesized by the CDK CLI into a temporary cloud assembly, or read from one (`--tree`): this tool
 * never imports the app or aws-cdk-lib.
 * Usage: npm run diagram [-- --check] [-- --tree cdk.out/tree.json]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { runTool, stringOption, ToolError, toolMain, type ToolSpec, UsageError } from '../lib/cli';
import { loadToolConfig } from '../lib/stage';
import { pngStamp, renderPng, sha256, stampPng } from './png';
import { diagramSource, ROOT, STALE } from './source';
import { stackIdsFromManifest, type TreeFile } from './tree';

const DEFAULT_OUT = 'docs/architecture.png';

export const SPEC: ToolSpec<'check' | 'tree' | 'out'> = {
  name: 'diagram',
  summary:
    'Synthesizes the app offline and draws it with cdk-dia and Graphviz: docs/architecture.png, rendered from ' +
    'docs/architecture.dot (the text form CI compares).',
  options: {
    check: {
      type: 'boolean',
      description: `write nothing; fail when the committed diagram differs from the app (${STALE})`,
    },
    tree: {
      type: 'string',
      valueName: '<tree.json>',
      description: 'draw this tree.json instead of synthesizing; only for an assembly you have just synthesized',
    },
    out: { type: 'string', valueName: '<file.png>', description: `where to write the PNG (default: ${DEFAULT_OUT})` },
  },
  examples: [
    'npm run diagram',
    'npm run diagram -- --check',
    'npx cdk synth --quiet && npm run diagram -- --tree cdk.out/tree.json',
    'npm run diagram -- --stage prod --out cdk.out/architecture-prod.png',
  ],
  notes: [
    'Needs Graphviz (`dot` on PATH): apt-get install -y graphviz, or brew install graphviz.',
    'By default the app is synthesized into a temporary directory every time (about 20 s), so an old cdk.out can ' +
      'never produce an old picture. The PNG is rewritten only when the .dot changes, so running the tool with a ' +
      'different Graphviz build does not churn the committed image.',
  ],
};

/** Synthesizes the app as `cdk synth` does into a new directory, so no earlier cdk.out can be read by mistake. */
function synthesize(stage: string | undefined): { dir: string; tree: string } {
  const dir = mkdtempSync(join(tmpdir(), 'diagram-'));
  const args = ['cdk', 'synth', '--quiet', '--output', dir, ...(stage === undefined ? [] : ['-c', `stage=${stage}`])];
  console.error(`Synthesizing the app: npx ${args.join(' ')}`);
  const result = spawnSync('npx', args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new ToolError('cdk synth failed (see above); the diagram needs an app that synthesizes');
  }
  return { dir, tree: join(dir, 'tree.json') };
}

function readAssembly(treePath: string): { treeFile: TreeFile; stackIds: Map<string, string> } {
  const manifestPath = join(dirname(treePath), 'manifest.json');
  if (!existsSync(treePath) || !existsSync(manifestPath)) {
    throw new ToolError(`${treePath} and manifest.json beside it are needed; synthesize first (npx cdk synth)`);
  }
  const treeFile = JSON.parse(readFileSync(treePath, 'utf8')) as TreeFile;
  return { treeFile, stackIds: stackIdsFromManifest(JSON.parse(readFileSync(manifestPath, 'utf8'))) };
}

export const main = toolMain(SPEC, async ({ values }) => {
  const stage = stringOption(values.stage);
  const treePath = stringOption(values.tree);
  const out = resolve(ROOT, stringOption(values.out) ?? DEFAULT_OUT);
  if (!out.endsWith('.png')) throw new UsageError(`--out is ${JSON.stringify(values.out)}; pass a file ending in .png`);
  if (treePath !== undefined && stage !== undefined) {
    throw new UsageError('--tree draws an app that is already synthesized, so --stage would be ignored; pass one');
  }
  if (
    stage !== undefined &&
    values.out === undefined &&
    loadToolConfig(stage).stage !== loadToolConfig(undefined).stage
  ) {
    throw new UsageError(
      `${DEFAULT_OUT} shows the stage in cdk.json, which CI checks; pass --out <file.png> to draw stage ${stage}`,
    );
  }
  // Fail before the 20 s synth, not after it.
  renderPng('digraph {}');

  const assembly = treePath === undefined ? synthesize(stage) : { tree: resolve(treePath) };
  let source: string;
  try {
    const { treeFile, stackIds } = readAssembly(assembly.tree);
    source = diagramSource(treeFile, stackIds);
  } finally {
    if ('dir' in assembly) rmSync(assembly.dir, { recursive: true, force: true });
  }

  const dotPath = out.replace(/\.png$/, '.dot');
  const shown = (path: string) => (path.startsWith(`${ROOT}/`) ? relative(ROOT, path) : path);
  const committedSource = existsSync(dotPath) ? readFileSync(dotPath, 'utf8') : undefined;
  const committedStamp = existsSync(out) ? pngStamp(readFileSync(out)) : undefined;
  const upToDate = committedSource === source && committedStamp === sha256(source);

  if (values.check === true) {
    if (committedSource !== source) throw new ToolError(`${shown(dotPath)} differs from the app: ${STALE}`);
    if (committedStamp !== sha256(source)) {
      throw new ToolError(`${shown(out)} was not rendered from ${shown(dotPath)}: ${STALE}`);
    }
    // The pixels depend on the Graphviz build, so they are not compared; rendering proves the source still draws.
    renderPng(source);
    console.log(`${shown(out)} and ${shown(dotPath)} match the app`);
    return 0;
  }
  if (upToDate) {
    console.log(`${shown(out)} is up to date`);
    return 0;
  }
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(dotPath, source);
  writeFileSync(out, stampPng(renderPng(source), source));
  console.log(`Wrote ${shown(out)} and ${shown(dotPath)}`);
  return 0;
});

if (require.main === module) runTool(main);
