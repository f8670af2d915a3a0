/**
 * The project's import graph, read with the TypeScript compiler's own pre-processor (which finds `import`,
 * `export … from`, `import type` and `require` alike), and the house's layout rules as functions over it, so the
 * rules are tested on small made-up graphs as well as on the real one.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import * as ts from 'typescript';

/** File (repository-relative, e.g. `lib/lake/lake-key.ts`) → its imports: other files, or package names. */
export type ImportGraph = ReadonlyMap<string, readonly string[]>;

const ROOT = resolve(__dirname, '..', '..');
const FOLDERS = ['bin', 'lib', 'lambda', 'scripts'];

function sourceFiles(folder: string): string[] {
  return readdirSync(folder).flatMap((name) => {
    const path = join(folder, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

/** A relative specifier as the repository-relative file it names; a package specifier as its package name. */
function target(fromFile: string, specifier: string): string {
  if (!specifier.startsWith('.')) {
    const parts = specifier.split('/');
    return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  }
  const base = resolve(dirname(join(ROOT, fromFile)), specifier);
  const file = [`${base}.ts`, join(base, 'index.ts'), base].find((candidate) => existsSync(candidate));
  if (file === undefined) throw new Error(`${fromFile}: cannot resolve ${specifier}`);
  return relative(ROOT, file);
}

/** Every import specifier of each file, as written. */
export function projectImportSpecifiers(folders: readonly string[] = FOLDERS): ReadonlyMap<string, readonly string[]> {
  return new Map(
    folders
      .flatMap((folder) => sourceFiles(join(ROOT, folder)))
      .map((file) => [
        relative(ROOT, file),
        ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.map((imported) => imported.fileName),
      ]),
  );
}

/** The import graph of everything the app, its Lambdas and its tools are made of (not the tests). */
export function projectImportGraph(): ImportGraph {
  return new Map(
    [...projectImportSpecifiers()].map(([file, specifiers]) => [file, specifiers.map((s) => target(file, s))]),
  );
}

/**
 * Whether a package specifier names a public entry point: the package itself, or a subpath its `exports` declares.
 * @param manifestOf the package.json of a package by name (node_modules' by default)
 */
export function isPublicEntry(
  specifier: string,
  manifestOf = (name: string) => JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')),
): boolean {
  const parts = specifier.split('/');
  const name = parts.slice(0, specifier.startsWith('@') ? 2 : 1).join('/');
  const subpath = parts.slice(name.split('/').length).join('/');
  if (subpath === '') return true;
  const { exports } = manifestOf(name) as { exports?: unknown };
  return typeof exports === 'object' && exports !== null && `./${subpath}` in exports;
}

/** Imports of a package's internals (a subpath its `exports` does not declare), which its next release may move. */
export function deepImports(
  specifiers: ReadonlyMap<string, readonly string[]>,
  isPublic: (specifier: string) => boolean = isPublicEntry,
): string[] {
  return [...specifiers].flatMap(([file, imports]) =>
    imports
      .filter((specifier) => !specifier.startsWith('.') && !specifier.startsWith('node:') && !isPublic(specifier))
      .map((specifier) => `${file} imports ${specifier}`),
  );
}

const isFile = (node: string) => node.endsWith('.ts');

/** Every import circle, each as the files along it, first file repeated at the end. */
export function importCircles(graph: ImportGraph): string[][] {
  const circles: string[][] = [];
  const done = new Set<string>();
  const visit = (file: string, path: string[]) => {
    const at = path.indexOf(file);
    if (at >= 0) {
      circles.push([...path.slice(at), file]);
      return;
    }
    if (done.has(file)) return;
    for (const next of (graph.get(file) ?? []).filter(isFile)) visit(next, [...path, file]);
    done.add(file);
  };
  for (const file of graph.keys()) visit(file, []);
  return circles;
}

export const STAGE_FOLDERS = ['lake', 'ingest', 'training', 'serving', 'monitoring'] as const;
const folderOf = (file: string) => /^lib\/([^/]+)\//.exec(file)?.[1];

/**
 * Imports a stage folder may not make: only its own folder, `shared/`, `schema/` and `contract/`, and in its stack
 * (`<stage>-stack.ts`) also `config/`. Packages are free.
 */
export function stageImportViolations(graph: ImportGraph): string[] {
  const violations: string[] = [];
  for (const [file, imports] of graph) {
    const stage = folderOf(file);
    if (stage === undefined || !(STAGE_FOLDERS as readonly string[]).includes(stage)) continue;
    const allowed = new Set([stage, 'shared', 'schema', 'contract', ...(file.endsWith('-stack.ts') ? ['config'] : [])]);
    for (const imported of imports.filter(isFile)) {
      const folder = folderOf(imported);
      if (folder === undefined || !allowed.has(folder)) violations.push(`${file} imports ${imported}`);
    }
  }
  return violations;
}

/** Files `from` reaches through its imports, itself included. */
export function reachable(graph: ImportGraph, from: string): Set<string> {
  const seen = new Set<string>();
  const stack = [from];
  while (stack.length > 0) {
    const file = stack.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    stack.push(...(graph.get(file) ?? []).filter(isFile));
  }
  return seen;
}

/**
 * What a file under one of `roots` must never reach, directly or through other files: the CDK (`aws-cdk-lib`,
 * `constructs`), the app builder, the house primitives and the stage folders. Each violation names the chain.
 */
export function cdkFreeViolations(graph: ImportGraph, roots: readonly string[]): string[] {
  const forbiddenFile = (file: string) =>
    file === 'lib/pipeline-app.ts' ||
    file.startsWith('lib/shared/') ||
    STAGE_FOLDERS.some((stage) => file.startsWith(`lib/${stage}/`));
  const forbiddenPackage = (name: string) => name === 'aws-cdk-lib' || name === 'constructs';
  const violations: string[] = [];
  for (const file of [...graph.keys()].filter((f) => roots.some((root) => f.startsWith(root)))) {
    for (const reached of reachable(graph, file)) {
      if (forbiddenFile(reached)) violations.push(`${file} reaches ${reached}`);
      const packages = (graph.get(reached) ?? []).filter((node) => !isFile(node) && forbiddenPackage(node));
      for (const name of packages) violations.push(`${file} reaches ${name} through ${reached}`);
    }
  }
  return [...new Set(violations)];
}
