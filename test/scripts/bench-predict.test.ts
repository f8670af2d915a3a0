import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PREDICT_TABLE } from '../../scripts/bench-predict';

describe('npm run bench', () => {
  test('docs/serving.md holds the generated table with every measure', () => {
    const page = readFileSync(join(__dirname, '..', '..', PREDICT_TABLE.page), 'utf8');
    const rows = PREDICT_TABLE.rowsIn(page) ?? [];
    expect(rows.map(([label]) => label.replace(/ \(.*$/, ''))).toEqual([
      'Bundle size',
      'Cold init, bundle',
      'Cold init, bare SageMaker runtime client',
      'Cold init ratio',
      'Per request through the handler',
      'Per request, SDK InvokeEndpoint alone',
      'Per-request ratio',
    ]);
    for (const [, value] of rows) expect(value).toMatch(/^\d+(\.\d+)? (KiB|ms|x)$|^\d+\.\d+x$/);
  });
});
