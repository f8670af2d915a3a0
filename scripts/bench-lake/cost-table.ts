import { GeneratedTable } from '../lib/generated-table';

/**
 * The lake cost table in docs/costs.md: `npm run bench:lake -- --write-docs` writes it, and test/scripts/bench-lake/
 * checks the page holds a row per saved query and lake size.
 */
export const LAKE_COST_TABLE = new GeneratedTable('docs/costs.md', 'lake-costs', 'npm run bench:lake -- --write-docs');
