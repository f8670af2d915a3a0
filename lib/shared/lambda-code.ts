import { Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';
import { buildSync, version as esbuildVersion, type BuildResult, type Message } from 'esbuild';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { lambdaBuildOptions } from '../contract/lambda-bundle';
import { SYNTH_CACHES } from '../contract/synth-caches';
import { markUsed, removeUnused, sha256, temporaryPath, writeFileAtomically } from './cache-files';

const PROJECT_ROOT = join(__dirname, '..', '..');
/** What decides a bundle besides its own inputs: the installed packages, the compiler settings. */
const CONFIGURATION_FILES = ['package.json', 'tsconfig.json', join('node_modules', '.package-lock.json')];
/** How old another build of an entry must be before a new build removes it. */
const STALE_AFTER_MS = 10 * 60_000;

/**
 * The code of a function whose handler is in `entryFile`: the file bundled by esbuild's API in this process (the
 * options are in lib/contract/lambda-bundle.ts), kept in a {@link BundleCache} under `node_modules/.cache`, and
 * staged by CDK like any asset folder.
 *
 * Why not `NodejsFunction`: it starts esbuild once per function and rebuilds on every synth, and CDK prints a
 * "Bundling asset" block for each one even under `cdk synth --quiet`.
 *
 * A stack that CDK is told not to bundle (`cdk synth --exclusively`, `cdk ls`, the tests, which set
 * `aws:cdk:bundling-stacks`) gets the entry's source folder, unbuilt, as its asset instead: its template is
 * complete, and nothing is built. (CDK's own skipped bundling does not even copy the source.)
 */
export function bundledCode(scope: IConstruct, entryFile: string): lambda.Code {
  if (!Stack.of(scope).bundlingRequired) return lambda.Code.fromAsset(dirname(entryFile));
  return lambda.Code.fromAsset(PROJECT_CACHE.bundle(entryFile));
}

/** What a cache record says about the build of one entry under one configuration. */
interface BundleRecord {
  /** Every file esbuild read, relative to the project root, with the SHA-256 of its content. */
  readonly inputs: { readonly [file: string]: string };
  /** The build's folder in the cache, named by the hash of its output. */
  readonly folder: string;
}

/**
 * Lambda bundles that are rebuilt only when something they were built from changed: a file esbuild read (by
 * content), the options, esbuild's version, or the lock file, `package.json` or `tsconfig.json`.
 *
 * The cache holds builds, `<entry>@<hash of the output>/` (no dot in the name: CDK would keep it as an extension),
 * and per entry and configuration a record of what its build was made from, `<entry>@<hash of the
 * configuration>.json`. A build is never rewritten, so a synth running alongside can always copy the one it chose;
 * and because it lives outside the cloud assembly, an assembly synthesized without staging still finds it.
 */
export class BundleCache {
  constructor(
    /** The cache's folder. */
    readonly directory: string,
    /** The folder esbuild runs in, and the one the recorded input paths are relative to. */
    private readonly root: string = PROJECT_ROOT,
  ) {}

  /** The folder with `index.js` and its source map for `entryFile`, built unless the cache has it current. */
  bundle(entryFile: string): string {
    const entry = basename(dirname(entryFile));
    const options = lambdaBuildOptions(relative(this.root, entryFile), 'index.js');
    const configuration = sha256(
      JSON.stringify({ options, esbuild: esbuildVersion }) +
        CONFIGURATION_FILES.map((file) => sha256(readIfExists(join(this.root, file)))).join(),
    );
    const recordFile = join(this.directory, `${entry}@${configuration.slice(0, 16)}.json`);
    const cached = this.currentBuild(recordFile);
    if (cached !== undefined) return cached;

    mkdirSync(this.directory, { recursive: true });
    const building = temporaryPath(join(this.directory, `${entry}@build`));
    const failed = (reason: string, cause?: unknown) => {
      rmSync(building, { recursive: true, force: true });
      return new Error(`Bundling the Lambda entry ${relative(this.root, entryFile)} failed: ${reason}`, { cause });
    };
    let result: BuildResult<{ metafile: true }>;
    try {
      // Silent, so a failure is reported once, here.
      const outfile = join(building, 'index.js');
      result = buildSync({ ...options, absWorkingDir: this.root, outfile, metafile: true });
    } catch (error) {
      throw failed((error as Error).message, error);
    }
    // A warning fails the build too, as a finding fails the synth.
    if (result.warnings.length > 0) {
      throw failed(result.warnings.map((warning) => `${where(warning)}${warning.text}`).join('\n'));
    }
    const inputs = Object.fromEntries(
      Object.keys(result.metafile.inputs).map((file) => [file, sha256(readFileSync(join(this.root, file)))]),
    );
    const output = sha256(
      readdirSync(building)
        .sort()
        .map((file) => file + sha256(readFileSync(join(building, file))))
        .join(),
    );
    const folder = join(this.directory, `${entry}@${output.slice(0, 16)}`);
    try {
      renameSync(building, folder);
    } catch (error) {
      // Another synth built the same output first; the two are the same bytes.
      if (!existsSync(join(folder, 'index.js'))) throw error;
      rmSync(building, { recursive: true, force: true });
    }
    writeFileAtomically(recordFile, JSON.stringify({ inputs, folder: basename(folder) } satisfies BundleRecord));
    this.removeStaleBuilds(entry, [basename(folder), basename(recordFile)]);
    return folder;
  }

  /** The build a record names, if it exists and every file it was built from has the same content. */
  private currentBuild(recordFile: string): string | undefined {
    if (!existsSync(recordFile)) return undefined;
    const record = JSON.parse(readFileSync(recordFile, 'utf8')) as BundleRecord;
    const folder = join(this.directory, record.folder);
    const current =
      existsSync(join(folder, 'index.js')) &&
      Object.entries(record.inputs).every(([file, hash]) => sha256(readIfExists(join(this.root, file))) === hash);
    if (!current) return undefined;
    // Marked as used, so a synth that removes stale builds spares it (removeStaleBuilds).
    markUsed(folder, recordFile);
    return folder;
  }

  /**
   * Removes the entry's other builds and records once they have gone unused for a few minutes: a synth copies the
   * build it chose within a second of choosing it, so none is still reading them by then. Another synth may be
   * writing or removing some of them meanwhile.
   */
  private removeStaleBuilds(entry: string, keep: readonly string[]): void {
    removeUnused(this.directory, STALE_AFTER_MS, (name) => name.startsWith(`${entry}@`) && !keep.includes(name));
  }
}

const PROJECT_CACHE = new BundleCache(join(PROJECT_ROOT, SYNTH_CACHES.lambdaBundles));

/** `file:line: ` of an esbuild message, when it has a location. */
function where(message: Message): string {
  return message.location === null ? '' : `${message.location.file}:${message.location.line}: `;
}

function readIfExists(file: string): Buffer | string {
  return existsSync(file) ? readFileSync(file) : '';
}
