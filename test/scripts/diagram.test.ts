import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { ToolError, UsageError } from '../../scripts/lib/cli';
import {
  diagramSource,
  main,
  pngStamp,
  renderPng,
  sha256,
  stackIdsFromManifest,
  stampPng,
  type TreeFile,
} from '../../scripts/diagram';

const ROOT = join(__dirname, '..', '..');
/** A 1×1 PNG as Graphviz would write it, without a stamp. */
const PIXEL = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

const temporaryDirs: string[] = [];
const temporaryDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'diagram-test-'));
  temporaryDirs.push(dir);
  return dir;
};
afterAll(() => temporaryDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/**
 * A small app with the shapes the pipeline has: stacks with CloudFormation names of their own, a construct wrapping
 * one bucket (with CDK's auto-delete provider), a construct that is all its stack holds and one that is not, both
 * named like their stack, a log group, and a cross-stack reference. Synthesizes in well under a second.
 */
function synthDemoApp(): string {
  const app = new App({ outdir: temporaryDir() });
  const producer = new Stack(app, 'Producer', { stackName: 'demo-producer' });
  const bucket = new s3.Bucket(new Construct(producer, 'Raw'), 'Bucket', {
    removalPolicy: RemovalPolicy.DESTROY,
    autoDeleteObjects: true,
  });
  const consumer = new Stack(app, 'Consumer', { stackName: 'demo-consumer' });
  const inner = new Construct(consumer, 'Consumer');
  new sqs.Queue(inner, 'Queue');
  new logs.LogGroup(inner, 'Logs');
  new ssm.StringParameter(inner, 'BucketArn', { stringValue: bucket.bucketArn });
  const watch = new Stack(app, 'Watch');
  const alarms = new Construct(watch, 'Watch');
  new sqs.Queue(alarms, 'First');
  new sqs.Queue(alarms, 'Second');
  new sqs.Queue(watch, 'Standalone');
  return app.synth().directory;
}

function readAssembly(dir: string): { treeFile: TreeFile; stackIds: Map<string, string> } {
  return {
    treeFile: JSON.parse(readFileSync(join(dir, 'tree.json'), 'utf8')) as TreeFile,
    stackIds: stackIdsFromManifest(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'))),
  };
}

const nodeIds = (dot: string) => [...dot.matchAll(/^\s*"([^"]+)" \[$/gm)].map((match) => match[1]).sort();
const clusters = (dot: string) => [...dot.matchAll(/subgraph "cluster-SubGraph\.([^"]+)"/g)].map((match) => match[1]);
const imagePaths = (dot: string) => [...dot.matchAll(/image = "([^"]+)"/g)].map((match) => match[1]);
const hasDot = spawnSync('dot', ['-V']).error === undefined;

describe('diagram source', () => {
  const assembly = synthDemoApp();
  const { treeFile, stackIds } = readAssembly(assembly);
  const dot = diagramSource(treeFile, stackIds);

  test('draws the resources but not roles, log groups or CDK singleton providers', () => {
    expect(nodeIds(dot)).toEqual([
      'Consumer/Consumer/BucketArn',
      'Consumer/Consumer/Queue',
      'Producer/Raw/Bucket',
      'Watch/Standalone',
      'Watch/Watch/First',
      'Watch/Watch/Second',
    ]);
  });

  test('a construct that wraps one resource is drawn as that resource, under the construct name', () => {
    expect(dot).toMatch(/"Producer\/Raw\/Bucket" \[\s+label = " Raw";/);
  });

  test('a construct that is all its stack holds does not get a frame of its own', () => {
    expect(clusters(dot).filter((name) => name.startsWith('Consumer'))).toEqual(['Consumer']);
  });

  test('a frame named like another keeps its path, since Graphviz drops the second cluster of a name', () => {
    expect(clusters(dot).filter((name) => name.startsWith('Watch'))).toEqual(['Watch', 'Watch/Watch']);
  });

  test('a cross-stack reference is an edge, although the import names the stack by its CloudFormation name', () => {
    const edge = '"Consumer/Consumer/BucketArn" -> "Producer/Raw/Bucket"';
    expect(dot).toContain(edge);
    expect(diagramSource(treeFile, new Map())).not.toContain(edge);
  });

  test('icon paths are relative to the repository, so the source is the same on every machine', () => {
    expect(imagePaths(dot).length).toBeGreaterThan(0);
    for (const path of imagePaths(dot)) {
      expect(path).not.toMatch(/^\//);
      expect(existsSync(join(ROOT, path))).toBe(true);
    }
  });

  test('the same app gives the same source byte for byte', () => {
    const again = readAssembly(synthDemoApp());
    expect(diagramSource(again.treeFile, again.stackIds)).toBe(dot);
  });
});

describe('PNG stamp', () => {
  test('records the hash of the source the PNG was rendered from', () => {
    expect(pngStamp(stampPng(PIXEL, 'digraph {}'))).toBe(sha256('digraph {}'));
  });

  test('is absent from an unstamped PNG, and from bytes that are not a PNG', () => {
    expect(pngStamp(PIXEL)).toBeUndefined();
    expect(pngStamp(Buffer.from('not a picture'))).toBeUndefined();
  });

  test('is a valid chunk before IEND', () => {
    const stamped = stampPng(PIXEL, 'digraph {}');
    const iend = stamped.length - 12;
    expect(stamped.toString('latin1', iend + 4, iend + 8)).toBe('IEND');
    const length = stamped.readUInt32BE(PIXEL.length - 12);
    const chunk = stamped.subarray(PIXEL.length - 12 + 4, PIXEL.length - 12 + 8 + length);
    expect(chunk.toString('latin1', 0, 4)).toBe('tEXt');
    expect(stamped.readUInt32BE(PIXEL.length - 12 + 8 + length)).toBe(crc32(chunk));
  });
});

describe('committed diagram', () => {
  const source = readFileSync(join(ROOT, 'docs', 'architecture.dot'), 'utf8');

  test('docs/architecture.png was rendered from docs/architecture.dot (else: run npm run diagram and commit docs/)', () => {
    expect(pngStamp(readFileSync(join(ROOT, 'docs', 'architecture.png')))).toBe(sha256(source));
  });

  test('docs/architecture.dot uses icons that exist in the installed cdk-dia', () => {
    expect(imagePaths(source).filter((path) => !existsSync(join(ROOT, path)))).toEqual([]);
  });
});

describe('npm run diagram', () => {
  beforeEach(() => {
    jest.spyOn(console, 'log').mockImplementation(() => undefined);
    jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  });
  afterEach(() => jest.restoreAllMocks());

  test('--help prints the usage and exits 0', async () => {
    expect(await main(['--help'])).toBe(0);
    expect(process.stdout.write).toHaveBeenCalledWith(expect.stringContaining('Usage: npm run diagram -- [options]'));
  });

  test('--tree and --stage together are a usage error', async () => {
    await expect(main(['--tree', 'cdk.out/tree.json', '--stage', 'prod'])).rejects.toThrow(UsageError);
  });

  test('another stage needs --out, so the committed picture keeps showing the stage CI checks', async () => {
    await expect(main(['--stage', 'prod'])).rejects.toThrow(/pass --out <file.png> to draw stage prod/);
  });

  test('without Graphviz it says how to install it', () => {
    expect(() => renderPng('digraph {}', { PATH: temporaryDir() })).toThrow(
      new ToolError(
        "Graphviz's `dot` is not on PATH; install Graphviz: apt-get install -y graphviz / brew install graphviz",
      ),
    );
  });

  (hasDot ? test : test.skip)('writes the PNG and its source, and --check fails once they drift', async () => {
    const tree = join(synthDemoApp(), 'tree.json');
    const out = join(temporaryDir(), 'architecture.png');
    const dotPath = join(dirname(out), 'architecture.dot');
    const check = () => main(['--check', '--tree', tree, '--out', out]);

    expect(await main(['--tree', tree, '--out', out])).toBe(0);
    const [png, source] = [readFileSync(out), readFileSync(dotPath, 'utf8')];
    expect(pngStamp(png)).toBe(sha256(source));
    expect(await check()).toBe(0);

    writeFileSync(dotPath, `${source}// edited by hand\n`);
    await expect(check()).rejects.toThrow(
      /architecture\.dot differs from the app: run npm run diagram and commit docs\//,
    );
    writeFileSync(dotPath, source);
    writeFileSync(out, stampPng(PIXEL, 'digraph {}'));
    await expect(check()).rejects.toThrow(/architecture\.png was not rendered from .*architecture\.dot: run npm run/);

    expect(await main(['--tree', tree, '--out', out])).toBe(0);
    expect(readFileSync(out).equals(png)).toBe(true);
  });
});
