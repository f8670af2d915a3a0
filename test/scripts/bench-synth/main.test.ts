import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SYNTH_TABLE, VARIANTS } from '../../../scripts/bench-synth/main';

describe('npm run bench:synth', () => {
  test('docs/checks.md holds the generated table: a row per variant, both ratios and the printed lines', () => {
    const page = readFileSync(join(__dirname, '..', '..', '..', SYNTH_TABLE.page), 'utf8');
    const labels = SYNTH_TABLE.rowsIn(page)?.map(([label]) => label);
    expect(labels).toEqual([
      ...VARIANTS.map((variant) => variant.label),
      'ratio: cdk synth / one-bucket app',
      'ratio: cdk synth with empty caches / one-bucket app',
      'lines printed by cdk synth --quiet (bundling lines)',
    ]);
  });

  test('the docs say no bundling line was printed', () => {
    const page = readFileSync(join(__dirname, '..', '..', '..', SYNTH_TABLE.page), 'utf8');
    const [, printed] = SYNTH_TABLE.rowsIn(page)?.find(([label]) => label.startsWith('lines printed')) ?? [];
    expect(printed).toMatch(/^\d+ \(0\)$/);
  });
});
