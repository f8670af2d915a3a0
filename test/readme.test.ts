/**
 * The README and the pages under docs/ state names and numbers that live in the code: stack names and outputs,
 * commands and their options, defaults, limits and thresholds. These tests read them from the code and fail when a
 * document says otherwise, wherever the fact lives. They also keep the documents themselves in shape: a short README
 * that links every page, links and paths that resolve, and a page per stage that names every file of its folder.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
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
import { configRows, documentConfigRows } from '../scripts/readme/config-table';
import { documentPaths } from '../scripts/lib/documents';
import { PUT_RECORD_BATCH_LIMITS } from '../lib/contract/service-limits';
import { DRIFT_SCENARIOS, generateRecords } from '../scripts/ingest/transactions';
import { SPEC as PREDICT } from '../scripts/predict/main';
import { SPEC as PREFLIGHT } from '../scripts/preflight/main';
import { SPEC as TRAIN } from '../scripts/train/main';
import { SPEC as APPROVE } from '../scripts/approve/main';
import { SPEC as BENCH } from '../scripts/bench-predict';
import { SPEC as BENCH_LAKE } from '../scripts/bench-lake/main';
import { SPEC as BENCH_SYNTH } from '../scripts/bench-synth/main';
import { SPEC as DIAGRAM } from '../scripts/diagram/main';
import { SPEC as README_TOOL } from '../scripts/readme/main';
import { testApp } from './helpers';

const ROOT = join(__dirname, '..');
/** README.md first, then every page under docs/, decision records included. */
const DOCUMENTS = documentPaths(ROOT);
const TEXTS: ReadonlyMap<string, string> = new Map(
  DOCUMENTS.map((path) => [path, readFileSync(join(ROOT, path), 'utf8')]),
);
const textOf = (path: string): string => {
  const text = TEXTS.get(path);
  if (text === undefined) throw new Error(`${path} is not one of the documents: ${DOCUMENTS.join(', ')}`);
  return text;
};
const README = textOf('README.md');
/** All documents as one text, for facts that may live on any page. */
const DOCS = [...TEXTS.values()].join('\n\n');
/** The stage folders of lib/, each with its page docs/<stage>.md. */
const STAGES = ['lake', 'ingest', 'training', 'serving', 'monitoring'];
const MAX_README_LINES = 250;
const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
const TOOLS: Record<string, ToolSpec<string>> = {
  ingest: INGEST,
  train: TRAIN,
  predict: PREDICT,
  approve: APPROVE,
  preflight: PREFLIGHT,
  diagram: DIAGRAM,
  bench: BENCH,
  'bench:synth': BENCH_SYNTH,
  'bench:lake': BENCH_LAKE,
  readme: README_TOOL,
};

/** The text with every fenced code block blanked out, line count kept: what renders as prose, tables and headings. */
const withoutCode = (text: string) => text.replace(/^```[\s\S]*?^```/gm, (block) => block.replace(/[^\n]/g, ''));

/** The anchors GitHub gives a document's headings: lower case, punctuation dropped, spaces as -, repeats numbered. */
function headingAnchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const [, heading] of withoutCode(text).matchAll(/^#{1,6} +(.+?) *#*$/gm)) {
    const slug = heading
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const repeat = seen.get(slug) ?? 0;
    seen.set(slug, repeat + 1);
    anchors.add(repeat === 0 ? slug : `${slug}-${repeat}`);
  }
  return anchors;
}

interface Link {
  readonly from: string;
  /** The target as a repository path ('' for a web address). */
  readonly path: string;
  readonly anchor?: string;
  readonly written: string;
}

/** The links of a document outside code blocks, resolved against the document's folder. */
function linksOf(document: string): Link[] {
  return [...withoutCode(textOf(document)).matchAll(/\]\(([^)\s]*)\)/g)].map(([, written]) => {
    if (/^[a-z][a-z+.-]*:/i.test(written)) return { from: document, path: '', written };
    const [target, anchor] = written.split('#', 2);
    const path =
      target === ''
        ? document
        : relative(ROOT, resolve(ROOT, dirname(document), target))
            .split(sep)
            .join('/');
    return { from: document, path, anchor, written };
  });
}

/** Repository paths a document names in code: `lib/…` in backticks, and the first word of a code block's line. */
function mentionedPaths(document: string): string[] {
  const text = textOf(document);
  const inline = [...withoutCode(text).matchAll(/`([^`\s]+)`/g)].map(([, path]) => path);
  const blocks = [...text.matchAll(/^```.*\n([\s\S]*?)^```/gm)].flatMap(([, block]) =>
    block.split('\n').map((line) => line.split(/\s/)[0]),
  );
  return [...inline, ...blocks].filter(
    (path) => /^(bin|lib|lambda|scripts|test|docs|\.ci)\//.test(path) && !/[<>*{}…]/.test(path),
  );
}

describe('the README and the docs pages', () => {
  test('hold the generated table of every setting once, with the default of each stage as the code has them', () => {
    const holders = DOCUMENTS.filter((path) => documentConfigRows(textOf(path)) !== undefined);
    expect(holders.map((path) => documentConfigRows(textOf(path)))).toEqual([configRows()]);
  });

  test('name only npm scripts that exist', () => {
    const named = new Set([...DOCS.matchAll(/npm run ([a-z][\w:-]*)/g)].map((m) => m[1]));
    expect(named.size).toBeGreaterThan(5);
    expect([...named].filter((name) => packageJson.scripts[name] === undefined)).toEqual([]);
  });

  test('the README starts with the quick start, whose first commands are the two set-up commands that CI runs', () => {
    expect(README.match(/^## .*/m)?.[0]).toBe('## Quick start');
    const quickStart = README.slice(README.indexOf('## Quick start'));
    const firstBlock = /^```\w*\n([\s\S]*?)^```/m.exec(quickStart)?.[1] ?? '';
    expect(firstBlock).toMatch(/^npm ci && npx cdk synth\b/m);
    expect(firstBlock).toMatch(/^npm test\b/m);
    const ci = readFileSync(join(ROOT, '.ci', 'run'), 'utf8');
    expect(ci).toMatch(/^npm ci\b/m);
    expect(ci).toMatch(/^npx cdk synth\b/m);
    expect(ci).toMatch(/^npm test$/m);
  });

  test("pass each tool only options that the tool's --help lists", () => {
    const uses: [string, string][] = [];
    for (const [, tool, args] of DOCS.matchAll(/npm run ([\w:]+) -- ([^`\n]*)/g)) {
      for (const [flag] of args.matchAll(/--[a-z][a-z-]*/g)) uses.push([tool, flag]);
    }
    // The tools table: | `npm run <tool>` | what | main options | tested against |
    for (const [, tool, options] of DOCS.matchAll(/^\| `npm run ([\w:]+)` +\|[^|]*\|([^|]*)\|/gm)) {
      for (const [flag] of options.matchAll(/--[a-z][a-z-]*/g)) uses.push([tool, flag]);
    }
    expect(uses.length).toBeGreaterThan(20);
    // A tool the docs pass options to is one of ours (checked below) or another package.json script.
    expect(uses.filter(([tool]) => TOOLS[tool] === undefined && packageJson.scripts[tool] === undefined)).toEqual([]);
    const unknown = uses.filter(([tool, flag]) => {
      const spec = TOOLS[tool];
      return spec !== undefined && !new RegExp(`${flag}\\b`).test(helpText(spec));
    });
    expect(unknown).toEqual([]);
  });

  test("state the producer's defaults and Firehose's batch limits as the code has them", () => {
    const { count, seed, fraudRate, recordsPerSecond } = INGEST_DEFAULTS;
    expect(DOCS).toContain(`Records that still fail after ${MAX_ATTEMPTS_PER_RECORD} attempts`);
    expect(DOCS).toContain(
      `\`--count\` (${count}), \`--seed\` (${seed}), \`--fraud-rate\` (${fraudRate}), \`--rate\` (${recordsPerSecond}/s)`,
    );
    expect(DOCS).toContain(
      `at most ${PUT_RECORD_BATCH_LIMITS.records} records or\n${PUT_RECORD_BATCH_LIMITS.bytes / 1024 / 1024} MiB`,
    );
    expect(DOCS).toContain(`Conversion needs a ${PARQUET_BUFFER_MIB.min}–${PARQUET_BUFFER_MIB.max} MiB buffer`);
  });

  test('name the stacks, their CloudFormation names and the outputs the tools read as the app builds them', () => {
    const stacks = buildPipeline(testApp(), STAGE_DEFAULTS.sandbox, TRANSACTION_SCHEMA);
    for (const stack of Object.values(stacks)) {
      expect(stack.stackName).toMatch(/^mlpipe-sandbox-/);
      const generic = stack.stackName.replace('mlpipe-sandbox-', 'mlpipe-<stage>-');
      expect(DOCS).toMatch(new RegExp(`^\\| \`${stack.node.id}\` +\\| \`${generic}\` +\\|`, 'm'));
    }
    for (const output of Object.values(STACK_OUTPUTS)) expect(DOCS).toContain(`\`${output}\``);
    expect(DOCS).toContain(`Serving.${STACK_OUTPUTS.apiKeyId} = `);
    expect(DOCS).toContain(`execute-api.eu-west-1.amazonaws.com/${API_STAGE_NAME}/`);
  });

  test('state the thresholds, limits and pinned versions the code uses', () => {
    expect(DOCS).toContain(`API 5XX rate of ${ALARM_THRESHOLDS.apiServerErrorRate * 100}% or more`);
    expect(DOCS).toContain(`API p99 latency of ${ALARM_THRESHOLDS.apiP99LatencyMs / 1000} s or more`);
    expect(DOCS).toContain(`model p99 latency of ${ALARM_THRESHOLDS.modelP99LatencyMs / 1000} s or more`);
    expect(DOCS).toContain(
      `e-mails at ${BUDGET_ALERTS.actualPercent}% of actual spend and at ${BUDGET_ALERTS.forecastPercent}% of forecast spend`,
    );
    expect(DOCS).toContain(`A body over ${MAX_BODY_BYTES / 1024} KiB`);
    expect(DOCS).toContain(`(pinned to ${XGBOOST_VERSION})`);
  });

  test("quote the stages' defaults in the prose and the cost section as the config has them", () => {
    const { sandbox, prod } = STAGE_DEFAULTS;
    const pair = (path: string, a: unknown, b: unknown) => `\`${path}\` (sandbox ${a}, prod ${b})`;
    expect(DOCS).toContain(pair('cost.monthlyBudgetUsd', sandbox.cost.monthlyBudgetUsd, prod.cost.monthlyBudgetUsd));
    expect(DOCS).toContain(pair('cost.endpointIdleHours', sandbox.cost.endpointIdleHours, prod.cost.endpointIdleHours));
    expect(DOCS).toContain(
      pair('athena.bytesScannedCutoffMiB', sandbox.athena.bytesScannedCutoffMiB, prod.athena.bytesScannedCutoffMiB),
    );
    expect(DOCS).toContain(pair('logRetentionDays', sandbox.logRetentionDays, prod.logRetentionDays));
    expect(DOCS).toContain(`\`crawler.schedule\` = \`${sandbox.crawler.schedule}\``);
    expect(DOCS).toContain(`(\`${sandbox.training.instanceType}\` × ${sandbox.training.instanceCount} at`);
    expect(DOCS).toContain(`\`maxRuntimeSeconds\`\n${sandbox.training.maxRuntimeSeconds})`);
    expect(DOCS).toContain(`one \`${prod.serving.instanceType}\` at`);
    expect(DOCS).toContain(`within ${sandbox.ingest.bufferIntervalSeconds} s (ingest.bufferIntervalSeconds)`);
    expect(DOCS).toContain(`(quality gate: at least ${sandbox.qualityGate.minValidationAuc})`);
    expect(DOCS).toContain(`threshold ${sandbox.api.decisionThreshold})`);
    expect(STAGE_NAMES).toEqual(['sandbox', 'prod']);
  });

  test('link only to files that exist, and to headings that exist in them', () => {
    const links = DOCUMENTS.flatMap(linksOf).filter((link) => link.path !== '');
    expect(links.length).toBeGreaterThan(50);
    const broken = links.filter(
      ({ path, anchor }) =>
        !existsSync(join(ROOT, path)) ||
        (anchor !== undefined && !headingAnchors(readFileSync(join(ROOT, path), 'utf8')).has(anchor)),
    );
    expect(broken.map(({ from, written }) => `${from} → ${written}`)).toEqual([]);
  });

  test('name only repository paths that exist', () => {
    const named = DOCUMENTS.flatMap((document) => mentionedPaths(document).map((path) => [document, path]));
    expect(named.length).toBeGreaterThan(50);
    expect(named.filter(([, path]) => !existsSync(join(ROOT, path))).map(([from, path]) => `${from}: ${path}`)).toEqual(
      [],
    );
  });

  test(`the README stays a front door of at most ${MAX_README_LINES} lines`, () => {
    expect(README.trimEnd().split('\n').length).toBeLessThanOrEqual(MAX_README_LINES);
  });

  test('the README links every page of docs/ and the index of the decision records', () => {
    const pages = DOCUMENTS.filter((path) => /^docs\/[^/]+\.md$/.test(path) || path === 'docs/decisions/README.md');
    expect(pages).toEqual(
      expect.arrayContaining([...STAGES.map((stage) => `docs/${stage}.md`), 'docs/walkthrough.md']),
    );
    const linked = new Set(linksOf('README.md').map((link) => link.path));
    expect(pages.filter((page) => !linked.has(page))).toEqual([]);
  });

  test('every document can be reached from the README through links', () => {
    const reached = new Set(['README.md']);
    const queue = ['README.md'];
    for (let document = queue.shift(); document !== undefined; document = queue.shift()) {
      for (const { path } of linksOf(document)) {
        if (TEXTS.has(path) && !reached.has(path)) {
          reached.add(path);
          queue.push(path);
        }
      }
    }
    expect(DOCUMENTS.filter((document) => !reached.has(document))).toEqual([]);
  });

  test.each(STAGES)('the %s page names every file of its stage folder', (stage) => {
    const page = textOf(`docs/${stage}.md`);
    const files = readdirSync(join(ROOT, 'lib', stage)).map((file) => `lib/${stage}/${file}`);
    expect(files.length).toBeGreaterThan(0);
    expect(files.filter((file) => !page.includes(`\`${file}\``))).toEqual([]);
  });

  test('every decision record is linked from the page of a stage, or of the configuration or the checks', () => {
    const records = DOCUMENTS.filter((path) => /^docs\/decisions\/\d{4}-.+\.md$/.test(path));
    expect(records.length).toBeGreaterThan(5);
    const pages = [...STAGES, 'configuration', 'checks'].map((page) => `docs/${page}.md`);
    const linked = new Set(pages.flatMap((page) => linksOf(page).map((link) => link.path)));
    expect(records.filter((record) => !linked.has(record))).toEqual([]);
  });

  test("the study map gives every task statement of MLA-C01's four domains at least one concept with its file", () => {
    const map = readFileSync(join(ROOT, 'docs', 'study-map.md'), 'utf8');
    // The task statements of the exam guide: three per domain.
    const tasks = [1, 2, 3, 4].flatMap((domain) => [1, 2, 3].map((task) => `${domain}.${task}`));
    const rows = map.split('\n').filter((line) => /^\| \d\.\d /.test(line));
    for (const task of tasks) {
      const own = rows.filter((row) => row.startsWith(`| ${task} `));
      expect({ task, concepts: own.length > 0 }).toEqual({ task, concepts: true });
      // Each concept links to the file that shows it, and names the retired Specialty's domain (1 to 4).
      for (const row of own) expect(row).toMatch(/\]\(\.\.\/[^)]+\)[\s\S]*\| [1-4] +\|$/);
    }
    expect(new Set(rows.map((row) => row.slice(2, 5)))).toEqual(new Set(tasks));
  });

  test('the ingest page describes every drift scenario of the producer, and no other', () => {
    const page = readFileSync(join(ROOT, 'docs', 'ingest.md'), 'utf8');
    const described = [...page.matchAll(/^\| `([a-z-]+)` +\|/gm)].map((m) => m[1]);
    expect(described).toEqual(Object.keys(DRIFT_SCENARIOS));
  });

  test("show the producer's real output for the seeds and start times the walkthrough uses", () => {
    const command = '$ npm run ingest -- --dry-run --count 3 --start 2026-11-01T00:00:00Z --out -\n';
    expect(DOCS).toContain(command);
    const shown = DOCS.slice(DOCS.indexOf(command) + command.length).split('\n')[0];
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
    expect(DOCS).toContain(
      `Delivered ${INGEST_DEFAULTS.count} of ${INGEST_DEFAULTS.count} records (seed ${INGEST_DEFAULTS.seed}, ` +
        `${defaults} fraudulent, ${((100 * defaults) / INGEST_DEFAULTS.count).toFixed(1)}%)`,
    );
    expect(DOCS).toContain('npm run ingest -- --dry-run --count 200 --seed 7 --out holdout.ndjson');
    expect(DOCS).toContain(`200 labelled (${fraudOf(200, 7)} actual fraud)`);
  });
});
