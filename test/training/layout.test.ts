import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** House style for lib/training: one idea per file, and only the stack reads the app config. */
const DIR = join(__dirname, '..', '..', 'lib', 'training');
const files = readdirSync(DIR).filter((name) => name.endsWith('.ts'));
const source = (name: string) => readFileSync(join(DIR, name), 'utf8');

test('has the training files to check', () => {
  expect(files).toEqual(expect.arrayContaining(['training-stack.ts', 'training-pipeline.ts']));
});

test.each(files)('%s stays under 350 lines', (name) => {
  expect(source(name).split('\n').length).toBeLessThanOrEqual(350);
});

test.each(files.filter((name) => name !== 'training-stack.ts'))(
  '%s takes CDK props and imports nothing from lib/config',
  (name) => {
    expect(source(name)).not.toMatch(/from '\.\.\/config\//);
  },
);
