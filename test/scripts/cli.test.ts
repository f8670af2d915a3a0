import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../lib/config/stage-config';
import { stdoutOf } from './stdout';
import { integerOption, parseCli, reportError, ToolError, type ToolSpec, UsageError } from '../../scripts/lib/cli';

const awsError = (name: string, message: string) => Object.assign(new Error(message), { name });

/** The exit code and the printed text of reportError. */
function report(error: unknown): [number, string] {
  const lines: string[] = [];
  const code = reportError(error, (line) => lines.push(line));
  return [code, lines.join('\n')];
}

describe('reportError', () => {
  test('points a usage error to --help with exit code 2', () => {
    expect(report(new UsageError('--count is "x"'))).toEqual([2, '--count is "x"\nRun with --help for usage.']);
  });

  test('prints a tool or config error as its message only, with exit code 1', () => {
    expect(report(new ToolError('Stack x is not deployed'))).toEqual([1, 'Stack x is not deployed']);
    const [code, text] = report(new ConfigError('sandbox', ['ingest.bufferSizeMiB is 32']));
    expect(code).toBe(1);
    expect(text).not.toContain('    at ');
  });

  test.each([
    ['CredentialsProviderError', 'No AWS credentials were found'],
    ['ExpiredToken', 'The AWS session has expired'],
    ['ExpiredTokenException', 'The AWS session has expired'],
    ['InvalidClientTokenId', 'AWS did not recognise the credentials'],
    ['AccessDenied', 'is not allowed this call'],
  ])('turns the SDK set-up error %s into a hint instead of a stack trace', (name, hint) => {
    const [code, text] = report(awsError(name, 'details from AWS'));
    expect(code).toBe(1);
    expect(text).toMatch(/\(details from AWS\)$/);
    expect(text).not.toContain('    at ');
    expect(text).toContain(hint);
  });

  test('explains a missing region', () => {
    expect(report(new Error('Region is missing'))[1]).toMatch(/^No AWS region is set. Set AWS_REGION/);
  });

  test('keeps the stack trace of anything else: that is a bug', () => {
    expect(report(new TypeError('x is undefined'))[1]).toMatch(/TypeError: x is undefined\n\s+at /);
  });
});

describe('option parsing', () => {
  const spec: ToolSpec<'count'> = {
    name: 'demo',
    summary: 'A demo tool.',
    options: { count: { type: 'string', valueName: '<n>', description: 'how many' } },
    examples: ['npm run demo -- --count 3'],
  };

  test('rejects an unknown option and a stray positional as usage errors', () => {
    expect(() => parseCli(spec, ['--cont', '3'])).toThrow(UsageError);
    expect(() => parseCli(spec, ['extra'])).toThrow(UsageError);
  });

  test('reads a whole number in range and says what to pass otherwise', () => {
    const range = { min: 1, max: 10, default: 5 };
    expect(integerOption(undefined, 'count', range)).toBe(5);
    expect(integerOption('7', 'count', range)).toBe(7);
    for (const bad of ['0', '11', '2.5', '-1', 'x', '']) {
      expect(() => integerOption(bad, 'count', range)).toThrow(
        new UsageError(`--count is ${JSON.stringify(bad)}; pass a whole number from 1 to 10`),
      );
    }
  });
});

describe('every tool', () => {
  const packageJson = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const tools = Object.entries(packageJson.scripts).filter(([, command]) => command.startsWith('tsx scripts/'));

  test.each(tools)('npm run %s answers --help with its usage and exit code 0', async (name, command) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the module is named by package.json
    const tool = require(join(__dirname, '..', '..', command.replace(/^tsx /, ''))) as {
      main: (argv: readonly string[]) => Promise<number>;
    };
    const { result, text } = await stdoutOf(() => tool.main(['--help']));
    expect(result).toBe(0);
    expect(text).toMatch(new RegExp(`^Usage: npm run ${name} -- \\[options\\]`));
  });

  test('covers the tools the docs describe', () => {
    expect(tools.map(([name]) => name).sort()).toEqual(
      [
        'approve',
        'bench',
        'bench:lake',
        'bench:model',
        'bench:synth',
        'diagram',
        'ingest',
        'predict',
        'preflight',
        'readme',
        'train',
      ].sort(),
    );
  });
});
