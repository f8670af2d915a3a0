/**
 * `npm run readme`: rewrites the generated parts of the docs (the table of stage settings) from the code, in the
 * document that holds their markers (README.md or a page under docs/), then formats it with Prettier as `npm test`
 * checks it.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runTool, ToolError, toolMain, type ToolSpec } from '../lib/cli';
import { documentPaths } from '../lib/documents';
import { documentConfigRows, withConfigTable } from './config-table';

export const SPEC: ToolSpec<never> = {
  name: 'readme',
  summary:
    'Rewrites the table of stage settings (in docs/configuration.md, or wherever README.md and docs/ hold its ' +
    'markers) from the stage defaults in lib/config/stage-config.ts, then formats the file with Prettier. ' +
    'test/readme.test.ts fails when the table is stale.',
  options: {},
  examples: ['npm run readme'],
  stageless: true,
};

const ROOT = join(__dirname, '..', '..');

export const main = toolMain(SPEC, async () => {
  const holders = documentPaths(ROOT).filter(
    (path) => documentConfigRows(readFileSync(join(ROOT, path), 'utf8')) !== undefined,
  );
  if (holders.length !== 1) {
    throw new ToolError(
      `The table of stage settings needs its config-table markers in exactly one of README.md and docs/**/*.md; ` +
        `found ${holders.length === 0 ? 'none' : holders.join(', ')}`,
    );
  }
  const [holder] = holders;
  const path = join(ROOT, holder);
  writeFileSync(path, withConfigTable(readFileSync(path, 'utf8'), holder));
  execFileSync('npx', ['prettier', '--write', path], { stdio: 'inherit' });
  return 0;
});

if (require.main === module) runTool(main);
