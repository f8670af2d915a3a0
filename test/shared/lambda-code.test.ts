import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BundleCache, bundledCode } from '../../lib/shared/lambda-code';
import { testApp } from '../helpers';
import { tempDir } from '../temp-dirs';

/**
 * A project of its own in a temp folder: an entry `handler/index.ts` that imports a module beside it, and a
 * package.json; the cache is in another temp folder, so the tests never touch the project's own cache.
 */
function project() {
  const root = tempDir('bundle-project');
  mkdirSync(join(root, 'handler'));
  const write = (file: string, content: string) => writeFileSync(join(root, file), content);
  write('package.json', '{"name":"bundle-project","private":true}');
  write('handler/greeting.ts', 'export const greeting = (name: string): string => `hello ${name}`;\n');
  write(
    'handler/index.ts',
    "import { greeting } from './greeting';\nexport const handler = async () => greeting('lake');\n",
  );
  const cache = new BundleCache(tempDir('bundle-cache'), root);
  return { root, write, cache, entry: join(root, 'handler', 'index.ts') };
}

/** What the bundle's handler returns, run in a new Node process as the Lambda runtime loads it. */
function run(folder: string): string {
  const script = `require(${JSON.stringify(join(folder, 'index.js'))}).handler().then((r) => process.stdout.write(r))`;
  return execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' });
}

describe('the Lambda bundle cache', () => {
  test('builds one CommonJS file with its source map, which runs as the runtime loads it', () => {
    const { cache, entry } = project();
    const folder = cache.bundle(entry);
    expect(readdirSync(folder).sort()).toEqual(['index.js', 'index.js.map']);
    expect(run(folder)).toBe('hello lake');
  });

  test('gives the same build again without rebuilding it while nothing it was built from changed', () => {
    const { cache, entry } = project();
    const folder = cache.bundle(entry);
    const builtAt = statSync(join(folder, 'index.js')).mtimeMs;
    const entries = readdirSync(cache.directory).sort();
    expect(cache.bundle(entry)).toBe(folder);
    expect(statSync(join(folder, 'index.js')).mtimeMs).toBe(builtAt);
    expect(readdirSync(cache.directory).sort()).toEqual(entries);
  });

  test('rebuilds when a module the entry imports changes, into a new folder, leaving the old one intact', () => {
    const { cache, entry, write } = project();
    const before = cache.bundle(entry);
    write('handler/greeting.ts', 'export const greeting = (name: string): string => `goodbye ${name}`;\n');
    const after = cache.bundle(entry);
    expect(after).not.toBe(before);
    expect(run(after)).toBe('goodbye lake');
    expect(run(before)).toBe('hello lake');
  });

  test('rebuilds when package.json changes, even if no source did', () => {
    const { cache, entry, write } = project();
    cache.bundle(entry);
    const records = () => readdirSync(cache.directory).filter((file) => file.endsWith('.json'));
    expect(records()).toHaveLength(1);
    write('package.json', '{"name":"bundle-project","private":true,"version":"2.0.0"}');
    cache.bundle(entry);
    expect(records()).toHaveLength(2);
  });

  test("removes an entry's other builds once they are ten minutes old, and keeps younger ones", () => {
    const { cache, entry, write } = project();
    const old = cache.bundle(entry);
    const longAgo = new Date(Date.now() - 11 * 60_000);
    utimesSync(old, longAgo, longAgo);
    write('handler/greeting.ts', 'export const greeting = (name: string): string => `hi ${name}`;\n');
    const recent = cache.bundle(entry);
    write('handler/greeting.ts', 'export const greeting = (name: string): string => `hey ${name}`;\n');
    const latest = cache.bundle(entry);
    expect(existsSync(old)).toBe(false);
    expect(existsSync(recent)).toBe(true);
    expect(run(latest)).toBe('hey lake');
  });

  test('names the entry when it does not compile, and leaves no half-built folder behind', () => {
    const { cache, entry, write } = project();
    write('handler/index.ts', "import { missing } from './nowhere';\nexport const handler = missing;\n");
    expect(() => cache.bundle(entry)).toThrow(/Bundling the Lambda entry handler\/index\.ts failed: .*nowhere/s);
    expect(readdirSync(cache.directory)).toEqual([]);
  });

  test('fails on a bundler warning too, naming the file and line', () => {
    const { cache, entry, write } = project();
    write('handler/index.ts', "export const handler = async () => ({ stage: 'a', stage: 'b' });\n");
    expect(() => cache.bundle(entry)).toThrow(
      /Bundling the Lambda entry handler\/index\.ts failed: handler\/index\.ts:1: /,
    );
  });
});

describe('bundledCode', () => {
  test('stages the entry source folder, unbuilt, for a stack CDK is told not to bundle', () => {
    const app = testApp();
    const stack = new Stack(app, 'Unbundled');
    const { entry } = project();
    new lambda.Function(stack, 'Function', {
      code: bundledCode(stack, entry),
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_24_X,
    });
    const staged = readdirSync(app.outdir).filter((file) => file.startsWith('asset.'));
    expect(staged).toHaveLength(1);
    expect(readdirSync(join(app.outdir, staged[0])).sort()).toEqual(['greeting.ts', 'index.ts']);
    Template.fromStack(stack).resourceCountIs('AWS::Lambda::Function', 1);
  });
});
