/**
 * `npm run readme`: rewrites the generated parts of README.md (the table of stage settings) from the code, then
 * formats the file with Prettier as `npm test` checks it.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runTool, toolMain, type ToolSpec } from '../lib/cli';
import { withConfigTable } from './config-table';

export const SPEC: ToolSpec<never> = {
  name: 'readme',
  summary:
    "Rewrites README.md's table of stage settings from the stage defaults in lib/config/stage-config.ts, then " +
    'formats the file with Prettier. test/readme.test.ts fails when the table is stale.',
  options: {},
  examples: ['npm run readme'],
  stageless: true,
};

const README = join(__dirname, '..', '..', 'README.md');

export const main = toolMain(SPEC, async () => {
  writeFileSync(README, withConfigTable(readFileSync(README, 'utf8')));
  execFileSync('npx', ['prettier', '--write', README], { stdio: 'inherit' });
  return 0;
});

if (require.main === module) runTool(main);
