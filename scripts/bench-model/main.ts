/**
 * `npm run bench:model`: the default model's quality, offline. For each producer seed it generates the records
 * `npm run ingest` sends, makes the training job's two channels of them (dataset.ts), and trains XGBoost 1.7.4 on them
 * as the built-in algorithm 1.7-1 does, with the stage's hyperparameters as the job passes them
 * (train_xgboost.py). Prints the best round, the AUCs and the container's metrics at 0.5; asserts nothing. It needs a
 * Python 3 with xgboost 1.7.4 and scikit-learn (Debian: apt-get install -y python3-xgboost python3-sklearn).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadStageConfig } from '../../lib/config/stage-config';
import { xgboostHyperparameters } from '../../lib/contract/xgboost-hyperparameters';
import { TRANSACTION_SCHEMA } from '../../lib/schema/feature-schema';
import { INGEST_DEFAULTS } from '../ingest/main';
import { generateRecords } from '../ingest/transactions';
import { integerOption, runTool, stringOption, ToolError, toolMain, type ToolSpec, UsageError } from '../lib/cli';
import { GeneratedTable, markdownTable } from '../lib/generated-table';
import { channelsOf } from './dataset';

export const SPEC: ToolSpec<'seeds' | 'records' | 'stage' | 'python' | 'write-docs'> = {
  name: 'bench:model',
  summary:
    "Trains the default model offline as the built-in XGBoost 1.7-1 does, on the producer's records for each seed, " +
    "with the stage's hyperparameters, and prints the best round, the AUCs and the metrics at probability 0.5. " +
    'Needs Python 3 with xgboost 1.7.4 and scikit-learn. Prints numbers, asserts nothing.',
  options: {
    seeds: {
      type: 'string',
      valueName: '<n,n,...>',
      description: 'producer seeds (default 42,7,1,2,3; 42 is the default data)',
    },
    records: {
      type: 'string',
      valueName: '<n>',
      description: `records per seed (default ${INGEST_DEFAULTS.count}, as npm run ingest)`,
    },
    stage: {
      type: 'string',
      valueName: '<name>',
      description: 'stage whose hyperparameters to train with (default sandbox)',
    },
    python: {
      type: 'string',
      valueName: '<path>',
      description: 'the Python to run (default: the first of python3, /usr/bin/python3 with xgboost)',
    },
    'write-docs': { type: 'boolean', description: 'also write the table into docs/training.md between its markers' },
  },
  examples: [
    'npm run bench:model',
    'npm run bench:model -- --seeds 42 --records 20000',
    'npm run bench:model -- --write-docs',
  ],
  notes: [
    'The training job reads the export as Parquet; this reads the same numbers as CSV. What it repeats of the ' +
      'container, and where that is in its source, is at the top of scripts/bench-model/train_xgboost.py.',
  ],
  stageless: true,
};

/** The model-quality table in docs/training.md; test/scripts/bench-model checks the page has it. */
export const MODEL_TABLE = new GeneratedTable('docs/training.md', 'model-bench', 'npm run bench:model -- --write-docs');

/** What train_xgboost.py prints for one seed. */
export interface ModelFigures {
  readonly validationRecords: number;
  readonly validationFrauds: number;
  readonly bestRound: number;
  readonly roundsRun: number;
  readonly validationAucAtBest: number;
  readonly trainAucAtBest: number;
  readonly highestTrainAuc: number;
  readonly lastValidationAuc: number;
  readonly atBest: {
    readonly accuracy: number;
    readonly precision: number;
    readonly recall: number;
    readonly f1_binary: number;
  };
}

const TRAINER = join(__dirname, 'train_xgboost.py');
const PYTHON_SETUP = 'apt-get install -y python3-xgboost python3-sklearn (Debian 12 has xgboost 1.7.4)';

function seedsOption(value: string | boolean | undefined): number[] {
  const text = stringOption(value) ?? '42,7,1,2,3';
  const seeds = text.split(',').map((part) => (/^\d+$/.test(part.trim()) ? Number(part) : NaN));
  if (seeds.length === 0 || seeds.some((s) => !Number.isSafeInteger(s))) {
    throw new UsageError(`--seeds is ${JSON.stringify(text)}; pass whole numbers, comma-separated, e.g. 42,7`);
  }
  return [...new Set(seeds)];
}

/** The first Python that has xgboost and scikit-learn, or the one named; throws saying how to install them. */
export function findPython(named?: string): string {
  const candidates = named === undefined ? ['python3', '/usr/bin/python3'] : [named];
  for (const python of candidates) {
    const probe = spawnSync(python, ['-c', 'import xgboost, sklearn'], { stdio: 'ignore' });
    if (probe.status === 0) return python;
  }
  throw new ToolError(
    `${named === undefined ? 'No python3 on PATH, nor /usr/bin/python3,' : named} imports xgboost and scikit-learn; ` +
      `install them (${PYTHON_SETUP}) or pass --python <path>`,
  );
}

/** Trains on one seed's records in `dir` and returns the figures. */
export function trainSeed(
  python: string,
  dir: string,
  options: { seed: number; records: number; validationPercent: number; hyperparameters: { [name: string]: string } },
): ModelFigures {
  const records = generateRecords(options.records, {
    seed: options.seed,
    fraudRate: INGEST_DEFAULTS.fraudRate,
    // A fixed start: event times do not reach the features, but the same inputs give the same run.
    startTime: Date.UTC(2026, 10, 1),
    meanGapMs: 100,
  });
  const channels = channelsOf(TRANSACTION_SCHEMA, records, options.validationPercent);
  const csv = (rows: readonly (readonly number[])[]) => `${rows.map((row) => row.join(',')).join('\n')}\n`;
  const spec = {
    train: join(dir, `train-${options.seed}.csv`),
    validation: join(dir, `validation-${options.seed}.csv`),
  };
  writeFileSync(spec.train, csv(channels.train));
  writeFileSync(spec.validation, csv(channels.validation));
  const specFile = join(dir, `spec-${options.seed}.json`);
  writeFileSync(specFile, JSON.stringify({ ...spec, hyperparameters: options.hyperparameters }));
  const run = spawnSync(python, [TRAINER, specFile], { encoding: 'utf8' });
  if (run.status !== 0) {
    throw new ToolError(`train_xgboost.py failed for seed ${options.seed}: ${(run.stderr || run.stdout).trim()}`);
  }
  return JSON.parse(run.stdout) as ModelFigures;
}

/** The table of figures, one row per seed. */
export function modelTable(rows: readonly { seed: number; figures: ModelFigures }[], defaultSeed: number): string {
  const auc = (value: number) => value.toFixed(3);
  return markdownTable(
    [
      'Producer seed',
      'Validation frauds (of records)',
      'Best round (of rounds run)',
      'Validation AUC at best',
      'Train AUC at best',
      'Highest train AUC',
      "Last round's validation AUC (what the gate reads)",
      'Recall at best',
      'Precision at best',
    ],
    rows.map(({ seed, figures: f }) => [
      seed === defaultSeed ? `${seed} (default)` : String(seed),
      `${f.validationFrauds} (${f.validationRecords})`,
      `${f.bestRound} (${f.roundsRun})`,
      auc(f.validationAucAtBest),
      auc(f.trainAucAtBest),
      auc(f.highestTrainAuc),
      auc(f.lastValidationAuc),
      f.atBest.recall.toFixed(2),
      f.atBest.precision.toFixed(2),
    ]),
  );
}

export const main = toolMain(SPEC, async ({ values }) => {
  const seeds = seedsOption(values.seeds);
  const records = integerOption(values.records, 'records', {
    min: 100,
    max: 1_000_000,
    default: INGEST_DEFAULTS.count,
  });
  const stage = stringOption(values.stage) ?? 'sandbox';
  const { training } = loadStageConfig(stage);
  const hyperparameters = xgboostHyperparameters('bench:model', training.hyperparameters);
  const python = findPython(stringOption(values.python));
  const dir = mkdtempSync(join(tmpdir(), 'bench-model-'));
  const rows: { seed: number; figures: ModelFigures }[] = [];
  try {
    for (const seed of seeds) {
      rows.push({
        seed,
        figures: trainSeed(python, dir, {
          seed,
          records,
          validationPercent: training.validationPercent,
          hyperparameters,
        }),
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const caption = `${records} records per seed, ${stage} hyperparameters, XGBoost 1.7.4`;
  const table = modelTable(rows, INGEST_DEFAULTS.seed);
  process.stdout.write(`Default model, trained as the built-in XGBoost 1.7-1 trains it (${caption})\n\n${table}\n`);
  if (values['write-docs'] === true) MODEL_TABLE.write(join(__dirname, '..', '..'), caption, table);
  return 0;
});

if (require.main === module) runTool(main);
