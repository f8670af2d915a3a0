/**
 * The tools' import rules (see STYLE.md): scripts import lib/contract/, lib/schema/ and the stage config, never
 * aws-cdk-lib, a stage folder, lib/shared/, the app builder or lambda/, not even through another module; and only a
 * package's public entry points, never a file deep inside it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import * as ts from 'typescript';

const ROOT = join(__dirname, '..', '..');
const CDK_PACKAGES = /^(aws-cdk-lib|constructs)(\/|$)/;
/** What a script may reach in the repository, besides scripts/ itself. */
const ALLOWED = [/^scripts\//, /^lib\/contract\//, /^lib\/schema\//, /^lib\/config\/(?!data-removal\.ts$)[^/]+\.ts$/];

const tsFilesUnder = (dir: string): string[] =>
  readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    return statSync(join(ROOT, path)).isDirectory() ? tsFilesUnder(path) : path.endsWith('.ts') ? [path] : [];
  });

/** The file a relative specifier names, as the TypeScript resolver would find it. */
function resolveRelative(from: string, specifier: string): string {
  const base = resolve(ROOT, dirname(from), specifier);
  const found = [`${base}.ts`, join(base, 'index.ts'), base].find(
    (path) => existsSync(path) && statSync(path).isFile(),
  );
  if (found === undefined) throw new Error(`${from}: cannot resolve ${specifier}`);
  return relative(ROOT, found);
}

interface ImportGraph {
  /** Every repository file reached from scripts/, with the file that first imported it. */
  readonly files: Map<string, string>;
  /** Every package specifier, with the files that import it. */
  readonly packages: Map<string, string[]>;
}

/** Follows every import, export-from, `import type` and literal require() from the scripts through the repository. */
function importGraph(): ImportGraph {
  const files = new Map<string, string>(tsFilesUnder('scripts').map((file) => [file, file]));
  const packages = new Map<string, string[]>();
  const queue = [...files.keys()];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    const { importedFiles } = ts.preProcessFile(readFileSync(join(ROOT, file), 'utf8'), true, true);
    for (const { fileName: specifier } of importedFiles) {
      if (specifier.startsWith('node:')) continue;
      if (!specifier.startsWith('.')) {
        packages.set(specifier, [...(packages.get(specifier) ?? []), file]);
        continue;
      }
      const target = resolveRelative(file, specifier);
      if (!files.has(target)) {
        files.set(target, file);
        queue.push(target);
      }
    }
  }
  return { files, packages };
}

/** Whether a package specifier names a public entry point: the package itself, or a subpath its `exports` declares. */
function isPublicEntry(specifier: string): boolean {
  const parts = specifier.split('/');
  const name = parts.slice(0, specifier.startsWith('@') ? 2 : 1).join('/');
  const subpath = parts.slice(name.split('/').length).join('/');
  if (subpath === '') return true;
  const manifest = JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as {
    exports?: unknown;
  };
  return typeof manifest.exports === 'object' && manifest.exports !== null && `./${subpath}` in manifest.exports;
}

describe('what the scripts import', () => {
  const { files, packages } = importGraph();

  test('the graph reaches the shared contracts, so the walk follows imports out of scripts/', () => {
    expect([...files.keys()]).toEqual(expect.arrayContaining(['lib/contract/stacks.ts', 'lib/config/stage-config.ts']));
  });

  test('only lib/contract/, lib/schema/ and the stage config, even through another module', () => {
    const outside = [...files].filter(([file]) => !ALLOWED.some((allowed) => allowed.test(file)));
    expect(outside.map(([file, importer]) => `${importer} imports ${file}`)).toEqual([]);
  });

  test('neither aws-cdk-lib nor constructs', () => {
    const cdk = [...packages].filter(([specifier]) => CDK_PACKAGES.test(specifier));
    expect(cdk.map(([specifier, importers]) => `${importers.join(', ')}: ${specifier}`)).toEqual([]);
  });

  test("only a package's public entry points, never a file inside its dist/ or lib/", () => {
    const deep = [...packages].filter(([specifier]) => !isPublicEntry(specifier));
    expect(deep.map(([specifier, importers]) => `${importers.join(', ')}: ${specifier}`)).toEqual([]);
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
