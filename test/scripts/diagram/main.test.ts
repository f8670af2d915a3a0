import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UsageError } from '../../../scripts/lib/cli';
import { main } from '../../../scripts/diagram/main';
import { pngStamp, sha256, stampPng } from '../../../scripts/diagram/png';
import { PIXEL, synthDemoApp, useTemporaryDirs } from './demo-app';

const ROOT = join(__dirname, '..', '..', '..');
const temporaryDir = useTemporaryDirs();
const imagePaths = (dot: string) => [...dot.matchAll(/image = "([^"]+)"/g)].map((match) => match[1]);
const hasDot = spawnSync('dot', ['-V']).error === undefined;

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

  const pngTitle = 'writes the PNG and its source, and --check fails once they drift';
  if (!hasDot) {
    // A skip alone shows only as a count; say why, and how to run it.
    console.warn(`Skipped "${pngTitle}": Graphviz's dot is not on PATH (apt-get install -y graphviz)`);
  }
  (hasDot ? test : test.skip)(
    hasDot ? pngTitle : `${pngTitle} (skipped: Graphviz's dot is not installed)`,
    async () => {
      const tree = join(synthDemoApp(temporaryDir()), 'tree.json');
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
    },
  );
});
