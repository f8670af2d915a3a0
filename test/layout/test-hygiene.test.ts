import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(__dirname, '..', '..');

function testFiles(folder: string): string[] {
  return readdirSync(folder).flatMap((name) => {
    const path = join(folder, name);
    if (statSync(path).isDirectory()) return testFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** The `new App(…)` calls of a source that give no `outdir`: each would leave a cloud assembly in the temp folder. */
export function appsWithoutOutdir(source: string): string[] {
  return [...source.matchAll(/new App\(([^)]*)\)/g)]
    .map(([call, args]) => (args.includes('outdir') ? '' : call))
    .filter(Boolean);
}

describe('the tests leave nothing behind (STYLE.md, "Tests")', () => {
  test('every test app writes its cloud assembly to a folder that is removed (testApp in test/helpers.ts)', () => {
    const files = testFiles(join(ROOT, 'test')).filter((file) => file !== __filename);
    const offenders = files.flatMap((file) =>
      appsWithoutOutdir(readFileSync(file, 'utf8')).map((call) => `${relative(ROOT, file)}: ${call}`),
    );
    expect(offenders).toEqual([]);
  });

  test('the check finds an app without an outdir, and passes one with it', () => {
    expect(appsWithoutOutdir("new Stack(new App(), 'Test'); new App({ context })")).toEqual([
      'new App()',
      'new App({ context })',
    ]);
    expect(appsWithoutOutdir('new App({ outdir: tempDir("x") })')).toEqual([]);
  });
});
