import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PREDICT_MEASURES, PREDICT_TABLE } from '../../scripts/bench-predict';

describe('npm run bench', () => {
  test('docs/serving.md holds the generated table with every measure', () => {
    const page = readFileSync(join(__dirname, '..', '..', PREDICT_TABLE.page), 'utf8');
    const rows = PREDICT_TABLE.rowsIn(page) ?? [];
    expect(rows.map(([label]) => label.replace(/ \(.*$/, ''))).toEqual([...PREDICT_MEASURES]);
    for (const [, value] of rows) expect(value).toMatch(/^\d+(\.\d+)? (KiB|ms|x)$|^\d+\.\d+x$/);
  });
});
