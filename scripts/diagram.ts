/**
 * Draws the synthesized app as docs/architecture.png with cdk-dia and Graphviz, and writes the Graphviz source next
 * to it (docs/architecture.dot). CI regenerates the source from a fresh synth and compares (`--check`), and the PNG
 * carries the SHA-256 of the source it was rendered from, so neither file can drift from the code.
 * Usage: npm run diagram [-- --check] [-- --tree cdk.out/tree.json]
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import type { RootGraphModel } from 'ts-graphviz';
import { AwsDiagramGenerator, AwsEdgeResolver, AwsIconSupplier, Tree, type Component } from 'cdk-dia';
import { ComponentIcon } from 'cdk-dia/dist/src/diagram/component/icon';
import { GraphvizGenerator } from 'cdk-dia/dist/src/render/graphviz/GraphvizGenerator';
import { runTool, stringOption, ToolError, toolMain, type ToolSpec, UsageError } from './lib/cli';
import { loadToolConfig } from './lib/stage';

const ROOT = join(__dirname, '..');
const DEFAULT_OUT = 'docs/architecture.png';
const STALE = 'run npm run diagram and commit docs/';
const TITLE = 'The CDK app: its stacks and their main resources (npm run diagram)';
const INSTALL_GRAPHVIZ = 'install Graphviz: apt-get install -y graphviz / brew install graphviz';

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

// ---------------------------------------------------------------------------------------------------------------
// The construct tree, as tree.json stores it.

export interface TreeNode {
  readonly id: string;
  readonly path: string;
  readonly children?: Readonly<Record<string, TreeNode>>;
  readonly attributes?: Readonly<Record<string, unknown>>;
  readonly constructInfo?: { readonly fqn: string; readonly version?: string };
}

export interface TreeFile {
  readonly version: string;
  readonly tree: TreeNode;
}

const CFN_TYPE = 'aws:cdk:cloudformation:type';
const CFN_PROPS = 'aws:cdk:cloudformation:props';
const PLAIN_CONSTRUCT = 'constructs.Construct';
/** The constructs cdk-dia draws even without a CloudFormation type (see its AwsDiagramGenerator.hasCfnProps). */
const DRAWN_FQNS = new Set(['aws-cdk-lib.Stack', 'aws-cdk-lib.Stage', 'aws-cdk-lib.CustomResource']);

/**
 * Supporting resources every service has. Drawn, they double the node count and hide the data flow; the code and
 * the cdk-nag tests are where least privilege and log retention are shown.
 */
const DETAIL_FQNS = new Set([
  'aws-cdk-lib.aws_iam.Role',
  'aws-cdk-lib.aws_iam.Policy',
  'aws-cdk-lib.aws_logs.LogGroup',
  'aws-cdk-lib.aws_glue.SecurityConfiguration',
  // Saved queries are SQL text in the workgroup, not infrastructure to place; five boxes would outweigh Athena.
  'aws-cdk-lib.aws_athena.CfnNamedQuery',
]);

/**
 * CDK's own helpers: the per-stack singleton providers (S3 auto-delete, bucket notifications, log retention,
 * AwsCustomResource) are addressed by a UUID without dashes or named `Custom::…Provider`.
 */
const isCdkInternal = (node: TreeNode) => /[0-9a-f]{32}$/i.test(node.id) || /^Custom::.+Provider$/.test(node.id);

const childrenOf = (node: TreeNode) => Object.entries(node.children ?? {});

/** Whether cdk-dia draws anything for this subtree. */
function isDrawn(node: TreeNode): boolean {
  if (node.attributes?.[CFN_TYPE] !== undefined) return true;
  if (isCdkCore(node)) return true;
  return childrenOf(node).some(([, child]) => isDrawn(child));
}

const isPlainConstruct = (node: TreeNode) => node.constructInfo?.fqn === PLAIN_CONSTRUCT;
const isCdkCore = (node: TreeNode) => node.constructInfo !== undefined && DRAWN_FQNS.has(node.constructInfo.fqn);

/**
 * The tree a learner should see: CDK internals and per-service details removed; a construct that only wraps one
 * resource (`Raw` around its `Bucket`) becomes that resource under the construct's name; a construct that is all its
 * parent draws is dissolved into the parent, since cdk-dia would frame it inside the parent's frame and, when both
 * share a name (stack Monitoring, construct Monitoring), its Graphviz output would drop one of them.
 * Paths are kept, so cdk-dia still resolves every Ref and GetAtt to the right node.
 */
function simplifyTree(node: TreeNode): TreeNode {
  const kept = childrenOf(node)
    .filter(([, child]) => !isCdkInternal(child) && !DETAIL_FQNS.has(child.constructInfo?.fqn ?? ''))
    .map(([key, child]): [string, TreeNode] => [key, simplifyTree(child)])
    .map(([key, child]): [string, TreeNode] => {
      const drawn = childrenOf(child).filter(([, grandchild]) => isDrawn(grandchild));
      // cdk-dia itself draws an L2 as its `Resource`, under the L2's name.
      const wrapsOne = drawn.length === 1 && (isPlainConstruct(child) || drawn[0][0] !== 'Resource');
      return wrapsOne && !isCdkCore(child) ? [key, { ...drawn[0][1], id: child.id }] : [key, child];
    });
  const drawn = kept.filter(([, child]) => isDrawn(child));
  const wrapper = drawn.length === 1 && isPlainConstruct(drawn[0][1]) ? drawn[0] : undefined;
  const children: Record<string, TreeNode> = {};
  for (const [key, child] of kept) {
    if (child !== wrapper?.[1]) children[key] = child;
    else
      for (const [innerKey, inner] of childrenOf(child)) children[innerKey in children ? inner.path : innerKey] = inner;
  }
  return node.children === undefined ? node : { ...node, children };
}

/**
 * cdk-dia finds the stack behind an `Fn::ImportValue` by construct id, but the import names the exporting stack by
 * its CloudFormation name (`mlpipe-sandbox-data-lake:…`); renaming it to the id (`DataLake:…`) restores the
 * cross-stack edges.
 */
function importsByStackId(node: TreeNode, stackIds: ReadonlyMap<string, string>): TreeNode {
  const rename = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rename);
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => {
        if (key !== 'Fn::ImportValue' || typeof inner !== 'string') return [key, rename(inner)];
        const [stackName, ...exportName] = inner.split(':');
        return [key, [stackIds.get(stackName) ?? stackName, ...exportName].join(':')];
      }),
    );
  };
  const props = node.attributes?.[CFN_PROPS];
  return {
    ...node,
    ...(props === undefined ? {} : { attributes: { ...node.attributes, [CFN_PROPS]: rename(props) } }),
    ...(node.children === undefined
      ? {}
      : {
          children: Object.fromEntries(
            childrenOf(node).map(([key, child]) => [key, importsByStackId(child, stackIds)]),
          ),
        }),
  };
}

/** CloudFormation stack name to construct id, from the assembly's manifest. */
export function stackIdsFromManifest(manifest: unknown): Map<string, string> {
  const artifacts = (manifest as { artifacts?: Record<string, ManifestArtifact> }).artifacts ?? {};
  return new Map(
    Object.entries(artifacts)
      .filter(([, artifact]) => artifact.type === 'aws:cloudformation:stack')
      .map(([id, artifact]) => [artifact.properties?.stackName ?? id, artifact.displayName ?? id]),
  );
}

interface ManifestArtifact {
  readonly type: string;
  readonly displayName?: string;
  readonly properties?: { readonly stackName?: string };
}

// ---------------------------------------------------------------------------------------------------------------
// From the tree to Graphviz source.

/** Icons cdk-dia 0.12 ships but does not map, for the services this pipeline is about. */
const EXTRA_ICONS: Readonly<Record<string, string>> = {
  'AWS::Glue::Crawler': 'icons/aws/Service/Arch_Analytics/Arch_64/Arch_AWS-Glue_64@5x.png',
  'AWS::Glue::Database': 'icons/aws/Service/Arch_Analytics/Arch_64/Arch_AWS-Glue_64@5x.png',
  'AWS::Glue::Table': 'icons/aws/Service/Arch_Analytics/Arch_64/Arch_AWS-Glue_64@5x.png',
  // Amazon Data Firehose was Kinesis Data Firehose; the set has no icon of its own for it.
  'AWS::KinesisFirehose::DeliveryStream': 'icons/aws/Service/Arch_Analytics/Arch_64/Arch_Amazon-Kinesis_64@5x.png',
};

class IconSupplier extends AwsIconSupplier {
  constructor(private readonly basePath: string) {
    super(basePath);
  }

  override matchIcon(resourceType: string, resourceProps: Record<string, string>): ComponentIcon | null {
    const extra = EXTRA_ICONS[resourceType];
    return extra === undefined
      ? super.matchIcon(resourceType, resourceProps)
      : new ComponentIcon(join(this.basePath, extra));
  }
}

/** GraphvizGenerator wraps node labels at this many characters and cuts a longer word in the middle. */
const LABEL_WIDTH = 21;

/**
 * Node labels without the repetition cdk-dia makes for a resource named after its type ("Glue Crawler Crawler"),
 * and with long construct ids split at their words instead of cut ("EvaluateTrainingFunct").
 */
function readableLabels(root: Component): void {
  root.label = [TITLE];
  root.subTreeApplyAllComponents((component: Component) => {
    if (component.subComponents().length > 0) return;
    const parts = component.label;
    const last = parts[parts.length - 1];
    const repeated = parts.length > 1 && parts.slice(0, -1).join(' ').toLowerCase().endsWith(last.toLowerCase());
    component.label = (repeated ? parts.slice(0, -1) : parts).map((part) =>
      part
        .split(' ')
        .map((word) => (word.length > LABEL_WIDTH ? word.replace(/([a-z0-9])([A-Z])/g, '$1 $2') : word))
        .join(' '),
    );
  });
}

/**
 * cdk-dia names each Graphviz cluster after its label, and Graphviz ignores a second cluster of the same name; a
 * repeated label therefore gets the construct's path, which is unique.
 */
function uniqueClusterLabels(root: Component): void {
  // Stack clusters keep their names: cdk-dia's cross-stack edges point at them by name.
  const reserved = new Set([root, ...root.subComponents()]);
  const seen = new Set([...reserved].map((component) => component.label.join(' ')));
  root.subTreeApplyAllComponents((component: Component) => {
    if (component.subComponents().length === 0 || reserved.has(component)) return;
    const label = component.label.join(' ');
    if (seen.has(label)) component.label = [component.id];
    seen.add(component.label.join(' '));
  });
}

/** The Graphviz source of a synthesized app: cdk-dia's drawing of the simplified tree, with layout settings. */
export function diagramSource(treeFile: TreeFile, stackIds: ReadonlyMap<string, string>): string {
  // Icon paths relative to the repository keep the committed .dot the same on every machine; dot runs from ROOT.
  const cdkDiaDir = dirname(require.resolve('cdk-dia/package.json'));
  const tree = Tree.fromObject({
    version: treeFile.version,
    tree: importsByStackId(simplifyTree(treeFile.tree), stackIds),
  });
  // collapse: an L2 construct is drawn as its main resource (a Bucket, not its policy and auto-delete resource).
  // collapseDoubleClusters: a frame around a single frame is dropped.
  const diagram = new AwsDiagramGenerator(new AwsEdgeResolver(), new IconSupplier(relative(ROOT, cdkDiaDir))).generate(
    tree,
    true,
    true,
  );
  readableLabels(diagram.root);
  uniqueClusterLabels(diagram.root);
  const graph = new GraphvizGenerator().generate(diagram);
  layout(graph);
  // Serialize with the ts-graphviz that built the model, the one cdk-dia depends on.
  const { toDot } = createRequire(require.resolve('cdk-dia'))('ts-graphviz') as typeof import('ts-graphviz');
  return `${toDot(graph)}\n`;
}

function layout(graph: RootGraphModel): void {
  graph.comment = `Generated by \`npm run diagram\` from the synthesized app; do not edit. After a change to the app, ${STALE}.`;
  // cdk-dia renders at 200 dpi: a 9000-pixel, 1.8 MB image. At 96 dpi its 12 pt labels are 16 px high, still sharp.
  graph.set('dpi', 96);
}

// ---------------------------------------------------------------------------------------------------------------
// Graphviz and the PNG stamp.

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const STAMP_KEYWORD = 'dot-sha256';

export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

interface PngChunk {
  readonly type: string;
  readonly data: Buffer;
  readonly start: number;
}

/** The chunks of a PNG; none when the bytes are not a PNG (a damaged file is then simply redrawn). */
function pngChunks(png: Buffer): PngChunk[] {
  if (!png.subarray(0, 8).equals(PNG_SIGNATURE)) return [];
  const chunks: PngChunk[] = [];
  for (let offset = 8; offset + 12 <= png.length;) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('latin1', offset + 4, offset + 8);
    chunks.push({ type, data: png.subarray(offset + 8, offset + 8 + length), start: offset });
    offset += 12 + length;
  }
  return chunks;
}

/** The PNG with a tEXt chunk recording the SHA-256 of its Graphviz source, so CI can tell which source drew it. */
export function stampPng(png: Buffer, source: string): Buffer {
  const end = pngChunks(png).find((chunk) => chunk.type === 'IEND');
  if (end === undefined) throw new ToolError('dot wrote something that is not a complete PNG');
  const body = Buffer.concat([Buffer.from('tEXt', 'latin1'), Buffer.from(`${STAMP_KEYWORD}\0${sha256(source)}`)]);
  const chunk = Buffer.alloc(body.length + 8);
  chunk.writeUInt32BE(body.length - 4, 0);
  body.copy(chunk, 4);
  chunk.writeUInt32BE(crc32(body), body.length + 4);
  return Buffer.concat([png.subarray(0, end.start), chunk, png.subarray(end.start)]);
}

/** The source hash stamped into a PNG, or undefined when it carries none. */
export function pngStamp(png: Buffer): string | undefined {
  const prefix = `${STAMP_KEYWORD}\0`;
  const text = pngChunks(png)
    .filter((chunk) => chunk.type === 'tEXt')
    .map((chunk) => chunk.data.toString('latin1'))
    .find((value) => value.startsWith(prefix));
  return text?.slice(prefix.length);
}

/**
 * Renders Graphviz source to PNG bytes.
 * @throws ToolError with the install command when `dot` is not on PATH
 */
export function renderPng(source: string, env: NodeJS.ProcessEnv = process.env): Buffer {
  // -q: dot warns about cdk-dia's fixed node sizes and its `shape=node`, nothing a reader of this app can fix.
  const result = spawnSync('dot', ['-q', '-Tpng'], { cwd: ROOT, input: source, env, maxBuffer: 256 * 1024 * 1024 });
  if (result.error !== undefined) {
    throw new ToolError(
      (result.error as NodeJS.ErrnoException).code === 'ENOENT'
        ? `Graphviz's \`dot\` is not on PATH; ${INSTALL_GRAPHVIZ}`
        : `dot failed to start: ${result.error.message}`,
    );
  }
  if (result.status !== 0) throw new ToolError(`dot failed (exit ${result.status}):\n${result.stderr.toString()}`);
  return result.stdout;
}

// ---------------------------------------------------------------------------------------------------------------
// The tool.

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
