import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadStageConfig } from '../../../lib/config/stage-config';
import { xgboostHyperparameters } from '../../../lib/contract/xgboost-hyperparameters';
import { featureFields, TRANSACTION_SCHEMA } from '../../../lib/schema/feature-schema';
import { checkRecord } from '../../../lib/schema/record-validation';
import { channelsOf, splitOf } from '../../../scripts/bench-model/dataset';
import { findPython, main, MODEL_TABLE, trainSeed } from '../../../scripts/bench-model/main';
import { generateRecords } from '../../../scripts/ingest/transactions';
import { tempDir } from '../../temp-dirs';

const records = (count: number, seed = 42) => [
  ...generateRecords(count, { seed, fraudRate: 0.02, startTime: Date.UTC(2026, 10, 1), meanGapMs: 100 }),
];

describe("the model benchmark's channels", () => {
  test("split on the record id's CRC-32, the one Trino's crc32 computes (check value of '123456789': 0xCBF43926)", () => {
    // 0xCBF43926 % 100 = 62: this id is on the train side while 62 < 100 - validationPercent.
    expect(0xcbf43926 % 100).toBe(62);
    expect(splitOf('123456789', 37)).toBe('train');
    expect(splitOf('123456789', 38)).toBe('validation');
  });

  test('hold out about the configured share, the label first and the features as the model reads them', () => {
    const sample = records(2_000);
    const { train, validation } = channelsOf(TRANSACTION_SCHEMA, sample, 20);
    expect(train.length + validation.length).toBe(2_000);
    expect(validation.length / 2_000).toBeGreaterThan(0.17);
    expect(validation.length / 2_000).toBeLessThan(0.23);
    const width = 1 + featureFields(TRANSACTION_SCHEMA).length;
    for (const row of [...train, ...validation]) expect(row).toHaveLength(width);
    // The first record, wherever it landed: its label, then the row the API would send the model.
    const [first] = sample;
    const side = splitOf(String(first.transaction_id), 20) === 'train' ? train : validation;
    const encoded = checkRecord(TRANSACTION_SCHEMA, {
      transaction_id: first.transaction_id,
      ...Object.fromEntries(featureFields(TRANSACTION_SCHEMA).map((f) => [f.name, first[f.name]])),
    });
    if (!encoded.ok) throw new Error(encoded.problems.join('; '));
    expect(side[0]).toEqual([Number(first.is_fraud), ...encoded.row]);
  });

  test('refuse a record the schema does not accept, naming it', () => {
    const [record] = records(1);
    expect(() => channelsOf(TRANSACTION_SCHEMA, [{ ...record, channel: 'pigeon' }], 20)).toThrow(
      /^record 0: .*channel/,
    );
  });
});

describe('npm run bench:model', () => {
  test('docs/training.md holds the generated table, the default seed first', () => {
    const page = readFileSync(join(__dirname, '..', '..', '..', MODEL_TABLE.page), 'utf8');
    const rows = MODEL_TABLE.rowsIn(page) ?? [];
    expect(rows.length).toBeGreaterThan(0);
    expect(rows[0][0]).toBe('42 (default)');
  });

  test('says how to install what it needs when the Python named has no xgboost', () => {
    expect(() => findPython('/nonexistent/python3')).toThrow(/apt-get install -y python3-xgboost python3-sklearn/);
  });

  test('refuses seeds that are not whole numbers', async () => {
    await expect(main(['--seeds', '42,x'])).rejects.toThrow(/--seeds is "42,x"; pass whole numbers/);
  });

  // Trains for real where a Python with xgboost 1.7.4 and scikit-learn is installed (npm test does not install it).
  const python = ['python3', '/usr/bin/python3'].find(
    (p) => spawnSync(p, ['-c', 'import xgboost, sklearn; assert xgboost.__version__ == "1.7.4"']).status === 0,
  );
  (python === undefined ? test.skip : test)(
    `trains as the container does, stopping early on validation AUC${python === undefined ? ' (skipped: no python3 with xgboost 1.7.4)' : ''}`,
    () => {
      const hyperparameters = xgboostHyperparameters('test', loadStageConfig('sandbox').training.hyperparameters);
      const figures = trainSeed(python as string, tempDir('bench-model'), {
        seed: 42,
        records: 3_000,
        validationPercent: 20,
        hyperparameters,
      });
      const patience = Number(hyperparameters.early_stopping_rounds);
      expect(figures.roundsRun).toBeLessThanOrEqual(Number(hyperparameters.num_round));
      // Stopped early: the run ends the patience after its best round, whose AUC none after it beat.
      if (figures.roundsRun < Number(hyperparameters.num_round)) {
        expect(figures.roundsRun).toBe(figures.bestRound + patience);
      }
      expect(figures.validationAucAtBest).toBeGreaterThanOrEqual(figures.lastValidationAuc);
      expect(figures.validationAucAtBest).toBeGreaterThan(0.5);
      for (const value of Object.values(figures.atBest)) expect(value).toBeGreaterThanOrEqual(0);
    },
  );
});
