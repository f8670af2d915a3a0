/**
 * `npm run readme`: rewrites the generated parts of README.md (the table of stage settings) from the code, then
 * formats the file with Prettier as `npm test` checks it.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withConfigTable } from './lib/config-table';

const README = join(__dirname, '..', 'README.md');
writeFileSync(README, withConfigTable(readFileSync(README, 'utf8')));
execFileSync('npx', ['prettier', '--write', README], { stdio: 'inherit' });
