/**
 * The tools' import rules (see STYLE.md): scripts reach only lib/contract/, lib/schema/ and the stage config, not even
 * through another module, and running one loads no CDK. The rules for the whole house (no aws-cdk-lib in tools and
 * Lambdas, public entry points only) are in test/layout/import-rules.test.ts, on the same import graph.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectImportGraph, reachable } from '../layout/import-graph';

const ROOT = join(__dirname, '..', '..');
/** What a script may reach in the repository, besides scripts/ itself. */
const ALLOWED = [/^scripts\//, /^lib\/contract\//, /^lib\/schema\//, /^lib\/config\/(?!data-removal\.ts$)[^/]+\.ts$/];

describe('what the scripts import', () => {
  const graph = projectImportGraph();
  // Every repository file a script reaches, with one script that reaches it.
  const files = new Map<string, string>();
  for (const script of [...graph.keys()].filter((file) => file.startsWith('scripts/'))) {
    for (const file of reachable(graph, script)) if (!files.has(file)) files.set(file, script);
  }

  test('the graph reaches the shared contracts, so the walk follows imports out of scripts/', () => {
    expect([...files.keys()]).toEqual(expect.arrayContaining(['lib/contract/stacks.ts', 'lib/config/stage-config.ts']));
  });

  test('only lib/contract/, lib/schema/ and the stage config, even through another module', () => {
    const outside = [...files].filter(([file]) => !ALLOWED.some((allowed) => allowed.test(file)));
    expect(outside.map(([file, script]) => `${script} reaches ${file}`)).toEqual([]);
  });

  test('running a tool loads no aws-cdk-lib, not even through a package (cdk-dia depends on it)', () => {
    const tools = Object.values(
      (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts,
    )
      .filter((command) => command.startsWith('tsx scripts/'))
      .map((command) => `./${command.replace(/^tsx /, '')}`);
    expect(tools.length).toBeGreaterThan(5);
    const probe =
      `for (const tool of ${JSON.stringify(tools)}) require(tool);` +
      'const loaded = Object.keys(require.cache);' +
      'process.stdout.write(JSON.stringify(loaded.filter((path) => /[\\\\/]node_modules[\\\\/](aws-cdk-lib|constructs)[\\\\/]/.test(path))));';
    const result = spawnSync(process.execPath, ['--require', 'tsx/cjs', '--eval', probe], { cwd: ROOT });
    expect(result.stderr.toString()).toBe('');
    expect(JSON.parse(result.stdout.toString())).toEqual([]);
  });
});
