/**
 * Graphviz source of a synthesized app, through cdk-dia's public API: its AWS diagram of the simplified tree, with
 * labels a reader can take in, icons for the pipeline's services, and the layout settings of the committed picture.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import {
  AwsDiagramGenerator,
  AwsEdgeResolver,
  AwsIconSupplier,
  type Component,
  type Diagram,
  Graphviz,
  Tree,
} from 'cdk-dia';
import { importsByStackId, simplifyTree, type TreeFile } from './tree';

/** The repository: the .dot names its icons relative to it, so Graphviz must run from here. */
export const ROOT = join(__dirname, '..', '..');
export const STALE = 'run npm run diagram and commit docs/';
const TITLE = 'The CDK app: its stacks and their main resources (npm run diagram)';

/**
 * Types cdk-dia 0.12 draws without an icon although it ships one for their service: each is drawn with the icon it
 * maps for a sibling type. Asking cdk-dia for the sibling's icon, rather than building one, keeps to its public API.
 */
const ICON_OF: Readonly<Record<string, string>> = {
  'AWS::Glue::Crawler': 'AWS::Glue::Job',
  'AWS::Glue::Database': 'AWS::Glue::Job',
  'AWS::Glue::Table': 'AWS::Glue::Job',
  // Amazon Data Firehose was Kinesis Data Firehose; the set has no icon of its own for it.
  'AWS::KinesisFirehose::DeliveryStream': 'AWS::Kinesis::Stream',
};

class IconSupplier extends AwsIconSupplier {
  override matchIcon(resourceType: string, resourceProps: Record<string, string>) {
    return super.matchIcon(ICON_OF[resourceType] ?? resourceType, resourceProps);
  }
}

/** cdk-dia's Graphviz renderer wraps node labels at this many characters and cuts a longer word in the middle. */
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
  return `${withLayout(graphvizSource(diagram))}\n`;
}

/** cdk-dia's own Graphviz source of a diagram; its public renderer only writes it to a file. */
function graphvizSource(diagram: Diagram): string {
  const dir = mkdtempSync(join(tmpdir(), 'diagram-dot-'));
  try {
    const path = join(dir, 'diagram.dot');
    new Graphviz().renderToDot(diagram, path);
    return readFileSync(path, 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The source with the committed picture's settings, set in the text cdk-dia wrote (its graph model is internal). */
function withLayout(source: string): string {
  // cdk-dia renders at 200 dpi: a 9000-pixel, 1.8 MB image. At 96 dpi its 12 pt labels are 16 px high, still sharp.
  const dpi = /^ {2}dpi = 200;$/m;
  if (!dpi.test(source)) throw new Error('cdk-dia no longer sets `dpi = 200` on its graph; update withLayout');
  const comment = `Generated by \`npm run diagram\` from the synthesized app; do not edit. After a change to the app, ${STALE}.`;
  return `// ${comment}\n${source.replace(dpi, '  dpi = 96;')}`;
}
