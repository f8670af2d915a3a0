/**
 * The project's documentation: README.md, the front door, and every Markdown page under docs/. `npm run readme`
 * writes the generated sections into whichever of them holds their markers, and test/readme.test.ts checks all of
 * them against the code.
 */
import { readdirSync } from 'node:fs';
import { join, sep } from 'node:path';

/** Every document as a path relative to `root` with forward slashes: README.md first, then docs/ in sorted order. */
export function documentPaths(root: string): string[] {
  const pages = readdirSync(join(root, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((path) => path.endsWith('.md'))
    .map((path) => `docs/${path.split(sep).join('/')}`)
    .sort();
  return ['README.md', ...pages];
}
