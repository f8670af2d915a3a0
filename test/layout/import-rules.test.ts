import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  cdkFreeViolations,
  deepImports,
  importCircles,
  isPublicEntry,
  projectImportGraph,
  projectImportSpecifiers,
  stageImportViolations,
} from './import-graph';

const graph = projectImportGraph();

describe('the import rules of the house (STYLE.md, "Layout that shows the pipeline")', () => {
  test('reads the imports of every file of the app, its Lambdas and its tools', () => {
    expect(graph.get('bin/app.ts')).toContain('lib/pipeline-app.ts');
    expect(graph.get('lambda/predict/index.ts')).toContain('lib/schema/schema-json.ts');
    expect(graph.size).toBeGreaterThan(50);
  });

  test('has no import circle', () => {
    expect(importCircles(graph)).toEqual([]);
  });

  test('lets a stage folder import only shared/, schema/, contract/, and config/ in its stack', () => {
    expect(stageImportViolations(graph)).toEqual([]);
  });

  test('keeps aws-cdk-lib and the stage folders out of the Lambdas and the tools, even through other files', () => {
    expect(cdkFreeViolations(graph, ['lambda/', 'scripts/'])).toEqual([]);
  });

  test('keeps the contracts, the schema and the config free of aws-cdk-lib, so Lambdas and tools can use them', () => {
    const config = [...graph.keys()].filter((f) => f.startsWith('lib/config/') && f !== 'lib/config/data-removal.ts');
    expect(cdkFreeViolations(graph, ['lib/contract/', 'lib/schema/', ...config])).toEqual([]);
  });
});

describe('one idea per file (STYLE.md, "Layout that shows the pipeline")', () => {
  const libFiles = [...projectImportSpecifiers(['lib']).keys()];

  test('reads every file of lib/', () => {
    expect(libFiles).toEqual(expect.arrayContaining(['lib/pipeline-app.ts', 'lib/training/training-pipeline.ts']));
  });

  test.each(libFiles)('%s stays under 350 lines', (file) => {
    expect(readFileSync(join(__dirname, '..', '..', file), 'utf8').split('\n').length).toBeLessThanOrEqual(350);
  });
});

describe('public APIs only (STYLE.md, "Constructs and props")', () => {
  test("no file of the app, its Lambdas, its tools or its tests imports a package's internals", () => {
    expect(deepImports(projectImportSpecifiers(['bin', 'lib', 'lambda', 'scripts', 'test']))).toEqual([]);
  });

  test('no construct overrides an internal CDK method', () => {
    const sources = [...projectImportSpecifiers(['lib']).keys()].map((file) => [
      file,
      readFileSync(join(__dirname, '..', '..', file), 'utf8'),
    ]);
    expect(sources.filter(([, text]) => /override\s+_[a-zA-Z]+\(/.test(text)).map(([file]) => file)).toEqual([]);
  });
});

describe('the rule checks themselves', () => {
  test('find a deep import into a package, scoped or not, and accept a subpath the package exports', () => {
    const specifiers = new Map([
      ['lib/a.ts', ['aws-cdk-lib/aws-s3', 'cdk-nag/lib/utils/x', '@scope/pkg/dist/y', './b', 'node:fs']],
    ]);
    const manifests: Record<string, unknown> = {
      'aws-cdk-lib': { exports: { './aws-s3': './aws-s3/index.js' } },
      'cdk-nag': { main: 'lib/index.js' },
      '@scope/pkg': {},
    };
    expect(deepImports(specifiers, (specifier) => isPublicEntry(specifier, (name) => manifests[name]))).toEqual([
      'lib/a.ts imports cdk-nag/lib/utils/x',
      'lib/a.ts imports @scope/pkg/dist/y',
    ]);
  });

  const made = (edges: Record<string, string[]>) => new Map(Object.entries(edges));

  test('find a circle and name its files', () => {
    const circles = importCircles(made({ 'lib/a.ts': ['lib/b.ts'], 'lib/b.ts': ['lib/a.ts'] }));
    expect(circles).toEqual([['lib/a.ts', 'lib/b.ts', 'lib/a.ts']]);
  });

  test('find a stage that imports another stage, or config outside its stack', () => {
    const violations = stageImportViolations(
      made({
        'lib/monitoring/alarms.ts': ['lib/training/pipeline.ts', 'lib/shared/log.ts', 'aws-cdk-lib'],
        'lib/lake/bucket.ts': ['lib/config/stage-config.ts'],
        'lib/lake/data-lake-stack.ts': ['lib/config/stage-config.ts', 'lib/lake/bucket.ts'],
      }),
    );
    expect(violations).toEqual([
      'lib/monitoring/alarms.ts imports lib/training/pipeline.ts',
      'lib/lake/bucket.ts imports lib/config/stage-config.ts',
    ]);
  });

  test('find aws-cdk-lib reached by a tool through a file in between', () => {
    const violations = cdkFreeViolations(
      made({
        'scripts/tool.ts': ['lib/config/stage-config.ts'],
        'lib/config/stage-config.ts': ['lib/config/removal.ts'],
        'lib/config/removal.ts': ['aws-cdk-lib'],
      }),
      ['scripts/'],
    );
    expect(violations).toEqual(['scripts/tool.ts reaches aws-cdk-lib through lib/config/removal.ts']);
  });
});
