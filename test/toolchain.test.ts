import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');
const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  engines: { node: string };
  allowScripts: Record<string, boolean>;
};

describe('the toolchain', () => {
  test('asks for Node 22.13 or newer and recommends the Lambda runtime, 24, in .nvmrc', () => {
    expect(packageJson.engines.node).toBe('>=22.13');
    expect(readFileSync(join(ROOT, '.nvmrc'), 'utf8').trim()).toBe('24');
  });

  test('runs on a Node the engines field allows', () => {
    const [major, minor] = process.versions.node.split('.').map(Number);
    expect(major > 22 || (major === 22 && minor >= 13)).toBe(true);
  });

  test('runs no install script of esbuild or @parcel/watcher, and both still work from their prebuilt binaries', () => {
    expect(packageJson.allowScripts).toEqual({ esbuild: false, '@parcel/watcher': false });
    // esbuild's postinstall only checks its platform binary; the binary comes as an optional dependency.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const esbuild = require('esbuild') as typeof import('esbuild');
    expect(esbuild.transformSync('const n: number = 1', { loader: 'ts' }).code).toBe('const n = 1;\n');
    // @parcel/watcher's install script builds from source only when no prebuilt binary matches the platform.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    expect(typeof (require('@parcel/watcher') as { subscribe: unknown }).subscribe).toBe('function');
  });
});
