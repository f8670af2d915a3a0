import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LAKE_COST_TABLE } from '../../../scripts/bench-lake/cost-table';
import { type CostRow, main, measureLake } from '../../../scripts/bench-lake/main';
import { savedQueries } from '../../../scripts/bench-lake/saved-queries';
import { stdoutOf } from '../stdout';

describe('the lake as it grows', () => {
  let rows: CostRow[];
  const scanned = (query: string, days: number) => {
    const row = rows.find((r) => r.query.startsWith(query) && r.days === days);
    if (row === undefined) throw new Error(`no row ${query} × ${days}`);
    return row;
  };

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-lake-test-'));
    try {
      rows = await measureLake(dir, { days: [1, 30, 60], perHour: 1 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the training export scans the same bytes from 30 to 60 days of history', () => {
    expect(scanned('training export', 60).parquetScanned).toBe(scanned('training export', 30).parquetScanned);
    expect(scanned('training export', 60).jsonScanned).toBe(scanned('training export', 30).jsonScanned);
  });

  test('the training export grows with the lake until the lake is as long as its window', () => {
    expect(scanned('training export', 30).parquetScanned).toBeGreaterThan(scanned('training export', 1).parquetScanned);
  });

  test('a full scan keeps growing with the history', () => {
    expect(scanned('null counts', 60).parquetScanned).toBeGreaterThan(scanned('null counts', 30).parquetScanned);
    expect(scanned('null counts', 60).jsonScanned).toBeGreaterThan(scanned('null counts', 30).jsonScanned);
  });

  test('the latest-partition query scans the same bytes whatever the history', () => {
    expect(scanned('latest partition', 60).parquetScanned).toBe(scanned('latest partition', 1).parquetScanned);
  });

  test('a query of one column scans fewer bytes on Parquet than on JSON at every lake size', () => {
    for (const days of [1, 30, 60]) {
      expect(scanned('label balance', days).parquetScanned).toBeLessThan(scanned('label balance', days).jsonScanned);
    }
  });
});

describe('npm run bench:lake', () => {
  test('removes the temp folder it wrote the lake into', async () => {
    const root = mkdtempSync(join(tmpdir(), 'bench-lake-root-'));
    const previous = process.env.TMPDIR;
    process.env.TMPDIR = root;
    try {
      const { result, text } = await stdoutOf(() => main(['--days', '1', '--per-hour', '1']));
      expect(result).toBe(0);
      expect(text).toContain('| latest partition ');
      expect(readdirSync(root)).toEqual([]);
    } finally {
      if (previous === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = previous;
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('docs/costs.md holds the generated table with a row per saved query and lake size', () => {
    const page = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'costs.md'), 'utf8');
    const rows = LAKE_COST_TABLE.rowsIn(page);
    expect(rows).toBeDefined();
    expect([...new Set(rows?.map(([query]) => query))]).toEqual(savedQueries().map((q) => q.name));
    expect([...new Set(rows?.map(([, days]) => days))]).toEqual(['1', '7', '30', '90']);
  });
});
