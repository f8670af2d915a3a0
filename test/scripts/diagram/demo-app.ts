/**
 * For the diagram tests: a small synthesized app, in temporary folders removed after the test file.
 */
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stackIdsFromManifest, type TreeFile } from '../../../scripts/diagram/tree';

/** A 1×1 PNG as Graphviz would write it, without a stamp. */
export const PIXEL = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

/** A function that makes a temporary folder; all it made are removed in afterAll. */
export function useTemporaryDirs(): () => string {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
  return () => {
    const dir = mkdtempSync(join(tmpdir(), 'diagram-test-'));
    dirs.push(dir);
    return dir;
  };
}

/**
 * A small app with the shapes the pipeline has: stacks with CloudFormation names of their own, a construct wrapping
 * one bucket (with CDK's auto-delete provider), a construct that is all its stack holds and one that is not, both
 * named like their stack, a log group, and a cross-stack reference. Synthesizes in well under a second.
 */
export function synthDemoApp(outdir: string): string {
  const app = new App({ outdir, builtinCloudFormationValidation: false });
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

export function readAssembly(dir: string): { treeFile: TreeFile; stackIds: Map<string, string> } {
  return {
    treeFile: JSON.parse(readFileSync(join(dir, 'tree.json'), 'utf8')) as TreeFile,
    stackIds: stackIdsFromManifest(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'))),
  };
}
