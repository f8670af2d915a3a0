/**
 * The construct tree as the cloud assembly stores it (tree.json, with manifest.json beside it), and the simpler tree
 * the diagram draws: CDK internals and per-service details removed, wrappers dissolved, cross-stack imports named so
 * cdk-dia can follow them.
 */

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
export function simplifyTree(node: TreeNode): TreeNode {
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
export function importsByStackId(node: TreeNode, stackIds: ReadonlyMap<string, string>): TreeNode {
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
