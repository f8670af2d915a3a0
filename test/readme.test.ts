/**
 * The README states names and numbers that live in the code: stack names and outputs, commands and their options,
 * defaults, limits and thresholds. These tests read them from the code and fail when the README says otherwise.
 */
import { App } from 'aws-cdk-lib';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { STAGE_DEFAULTS, STAGE_NAMES } from '../lib/config/stage-config';
import { PARQUET_BUFFER_MIB } from '../lib/contract/service-limits';
import { BUDGET_ALERTS } from '../lib/monitoring/cost-guards';
import { ALARM_THRESHOLDS } from '../lib/monitoring/pipeline-monitoring';
import { buildPipeline } from '../lib/pipeline-app';
import { TRANSACTION_SCHEMA } from '../lib/schema/feature-schema';
import { API_STAGE_NAME, MAX_BODY_BYTES } from '../lib/contract/inference-api';
import { STACK_OUTPUTS } from '../lib/contract/stacks';
import { XGBOOST_VERSION } from '../lib/training/xgboost-image';
import { EVENT_GAP_MS, INGEST_DEFAULTS, MAX_ATTEMPTS_PER_RECORD, SPEC as INGEST } from '../scripts/ingest/main';
import { helpText, type ToolSpec } from '../scripts/lib/cli';
import { configRows, readmeConfigRows } from '../scripts/readme/config-table';
import { PUT_RECORD_BATCH_LIMITS } from '../scripts/ingest/firehose-sender';
import { generateRecords } from '../scripts/ingest/transactions';
import { SPEC as PREDICT } from '../scripts/predict/main';
import { SPEC as PREFLIGHT } from '../scripts/preflight/main';
import { SPEC as TRAIN } from '../scripts/train/main';
import { SPEC as BENCH } from '../scripts/bench-predict';
import { SPEC as DIAGRAM } from '../scripts/diagram/main';
import { SPEC as README_TOOL } from '../scripts/readme/main';
import { cdkJsonContext } from './helpers';

const ROOT = join(__dirname, '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
const TOOLS: Record<string, ToolSpec<string>> = {
  ingest: INGEST,
  train: TRAIN,
  predict: PREDICT,
  preflight: PREFLIGHT,
  diagram: DIAGRAM,
  bench: BENCH,
  readme: README_TOOL,
};

describe('the README', () => {
  test('lists every setting with the default of each stage, as the code has them', () => {
    expect(readmeConfigRows(README)).toEqual(configRows());
  });

  test('names only npm scripts that exist', () => {
    const named = new Set([...README.matchAll(/npm run ([a-z][\w:-]*)/g)].map((m) => m[1]));
    expect(named.size).toBeGreaterThan(5);
    expect([...named].filter((name) => packageJson.scripts[name] === undefined)).toEqual([]);
  });

  test('starts with the two set-up commands that CI runs', () => {
    expect(README).toContain('npm ci && npx cdk synth');
    expect(readFileSync(join(ROOT, '.ci', 'run'), 'utf8')).toMatch(/^npm test$/m);
  });

  test("passes each tool only options that the tool's --help lists", () => {
    const uses: [string, string][] = [];
    for (const [, tool, args] of README.matchAll(/npm run (\w+) -- ([^`\n]*)/g)) {
      for (const [flag] of args.matchAll(/--[a-z][a-z-]*/g)) uses.push([tool, flag]);
    }
    // The tools table: | `npm run <tool>` | what | main options | tested against |
    for (const [, tool, options] of README.matchAll(/^\| `npm run (\w+)` +\|[^|]*\|([^|]*)\|/gm)) {
      for (const [flag] of options.matchAll(/--[a-z][a-z-]*/g)) uses.push([tool, flag]);
    }
    expect(uses.length).toBeGreaterThan(20);
    const unknown = uses.filter(([tool, flag]) => {
      const spec = TOOLS[tool];
      return spec !== undefined && !new RegExp(`${flag}\\b`).test(helpText(spec));
    });
    expect(unknown).toEqual([]);
  });

  test("states the producer's defaults and Firehose's batch limits as the code has them", () => {
    const { count, seed, fraudRate, recordsPerSecond } = INGEST_DEFAULTS;
    expect(README).toContain(`Records that still fail after ${MAX_ATTEMPTS_PER_RECORD} attempts`);
    expect(README).toContain(
      `\`--count\` (${count}), \`--seed\` (${seed}), \`--fraud-rate\` (${fraudRate}), \`--rate\` (${recordsPerSecond}/s)`,
    );
    expect(README).toContain(
      `at most ${PUT_RECORD_BATCH_LIMITS.records} records or\n${PUT_RECORD_BATCH_LIMITS.bytes / 1024 / 1024} MiB`,
    );
    expect(README).toContain(`Conversion needs a ${PARQUET_BUFFER_MIB.min}–${PARQUET_BUFFER_MIB.max} MiB buffer`);
  });

  test('names the stacks, their CloudFormation names and the outputs the tools read as the app builds them', () => {
    const stacks = buildPipeline(new App({ context: cdkJsonContext() }), STAGE_DEFAULTS.sandbox, TRANSACTION_SCHEMA);
    for (const stack of Object.values(stacks)) {
      expect(stack.stackName).toMatch(/^mlpipe-sandbox-/);
      const generic = stack.stackName.replace('mlpipe-sandbox-', 'mlpipe-<stage>-');
      expect(README).toMatch(new RegExp(`^\\| \`${stack.node.id}\` +\\| \`${generic}\` +\\|`, 'm'));
    }
    for (const output of Object.values(STACK_OUTPUTS)) expect(README).toContain(`\`${output}\``);
    expect(README).toContain(`Serving.${STACK_OUTPUTS.apiKeyId} = `);
    expect(README).toContain(`execute-api.eu-west-1.amazonaws.com/${API_STAGE_NAME}/`);
  });

  test('states the thresholds, limits and pinned versions the code uses', () => {
    expect(README).toContain(`API 5XX rate of ${ALARM_THRESHOLDS.apiServerErrorRate * 100}% or more`);
    expect(README).toContain(`API p99 latency of ${ALARM_THRESHOLDS.apiP99LatencyMs / 1000} s or more`);
    expect(README).toContain(`model p99 latency of ${ALARM_THRESHOLDS.modelP99LatencyMs / 1000} s or more`);
    expect(README).toContain(
      `e-mails at ${BUDGET_ALERTS.actualPercent}% of actual spend and at ${BUDGET_ALERTS.forecastPercent}% of forecast spend`,
    );
    expect(README).toContain(`A body over ${MAX_BODY_BYTES / 1024} KiB`);
    expect(README).toContain(`(pinned to ${XGBOOST_VERSION})`);
  });

  test("quotes the stages' defaults in the prose and the cost section as the config has them", () => {
    const { sandbox, prod } = STAGE_DEFAULTS;
    const pair = (path: string, a: unknown, b: unknown) => `\`${path}\` (sandbox ${a}, prod ${b})`;
    expect(README).toContain(pair('cost.monthlyBudgetUsd', sandbox.cost.monthlyBudgetUsd, prod.cost.monthlyBudgetUsd));
    expect(README).toContain(
      pair('cost.endpointIdleHours', sandbox.cost.endpointIdleHours, prod.cost.endpointIdleHours),
    );
    expect(README).toContain(
      pair('athena.bytesScannedCutoffMiB', sandbox.athena.bytesScannedCutoffMiB, prod.athena.bytesScannedCutoffMiB),
    );
    expect(README).toContain(pair('logRetentionDays', sandbox.logRetentionDays, prod.logRetentionDays));
    expect(README).toContain(`\`crawler.schedule\` = \`${sandbox.crawler.schedule}\``);
    expect(README).toContain(`(\`${sandbox.training.instanceType}\` × ${sandbox.training.instanceCount} at`);
    expect(README).toContain(`\`maxRuntimeSeconds\`\n${sandbox.training.maxRuntimeSeconds})`);
    expect(README).toContain(`one \`${prod.serving.instanceType}\` at`);
    expect(README).toContain(`within ${sandbox.ingest.bufferIntervalSeconds} s (ingest.bufferIntervalSeconds)`);
    expect(README).toContain(`(quality gate: at least ${sandbox.qualityGate.minValidationAuc})`);
    expect(README).toContain(`threshold ${sandbox.api.decisionThreshold})`);
    expect(STAGE_NAMES).toEqual(['sandbox', 'prod']);
  });

  test('links only to files that exist', () => {
    const documents = ['README.md', 'docs/decisions/README.md'];
    const broken: string[] = [];
    for (const document of documents) {
      const text = readFileSync(join(ROOT, document), 'utf8');
      for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        if (/^https?:/.test(target)) continue;
        if (!existsSync(resolve(ROOT, dirname(document), target))) broken.push(`${document} → ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  test("shows the producer's real output for the seeds and start times the walkthrough uses", () => {
    const command = '$ npm run ingest -- --dry-run --count 3 --start 2026-11-01T00:00:00Z --out -\n';
    const shown = README.slice(README.indexOf(command) + command.length).split('\n')[0];
    const fraudOf = (count: number, seed: number) =>
      [
        ...generateRecords(count, {
          seed,
          fraudRate: INGEST_DEFAULTS.fraudRate,
          startTime: 0,
          meanGapMs: EVENT_GAP_MS,
        }),
      ].filter((r) => r.is_fraud).length;
    const [first] = generateRecords(1, {
      seed: INGEST_DEFAULTS.seed,
      fraudRate: INGEST_DEFAULTS.fraudRate,
      startTime: Date.parse('2026-11-01T00:00:00Z'),
      meanGapMs: EVENT_GAP_MS,
    });
    expect(JSON.parse(shown)).toEqual(first);
    const defaults = fraudOf(INGEST_DEFAULTS.count, INGEST_DEFAULTS.seed);
    expect(README).toContain(
      `Delivered ${INGEST_DEFAULTS.count} of ${INGEST_DEFAULTS.count} records (seed ${INGEST_DEFAULTS.seed}, ` +
        `${defaults} fraudulent, ${((100 * defaults) / INGEST_DEFAULTS.count).toFixed(1)}%)`,
    );
    expect(README).toContain('npm run ingest -- --dry-run --count 200 --seed 7 --out holdout.ndjson');
    expect(README).toContain(`200 labelled (${fraudOf(200, 7)} actual fraud)`);
  });
});
