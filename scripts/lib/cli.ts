/**
 * What every command-line tool shares: option parsing with generated `--help`, number options checked with a
 * message that says what to pass, and one place that turns an error into a message and an exit code.
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '../../lib/config/stage-config';

/** The user called the tool wrongly; exit code 2 and a pointer to `--help`. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The tool could not do its job for a reason the user can fix (a missing stack, a failed run); exit code 1. */
export class ToolError extends Error {
  override readonly name = 'ToolError';
}

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** Shown in `--help`, e.g. `<count>`. */
  readonly valueName?: string;
  readonly description: string;
}

export interface ToolSpec<K extends string> {
  /** The npm script that runs the tool, e.g. `ingest`. */
  readonly name: string;
  readonly summary: string;
  readonly options: { readonly [key in K]: OptionSpec };
  /** Positional arguments, for the usage line, e.g. `[record.json]`. */
  readonly positionals?: string;
  readonly examples: readonly string[];
  /** Further paragraphs for `--help`: what the tool reads, what it prints. */
  readonly notes?: readonly string[];
  /** The tool works on no stage's stacks, so it offers no `--stage`. @default false */
  readonly stageless?: boolean;
}

const COMMON_OPTIONS = {
  stage: {
    type: 'string',
    valueName: '<stage>',
    description: "stage whose stacks to use (default: cdk.json's context.stage, else sandbox)",
  },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const satisfies Record<string, OptionSpec>;

/** The tool's own options and the common ones it offers. */
const optionsOf = (spec: ToolSpec<string>): Record<string, OptionSpec> =>
  spec.stageless === true ? { ...spec.options, help: COMMON_OPTIONS.help } : { ...spec.options, ...COMMON_OPTIONS };

export interface ParsedArgs<K extends string> {
  readonly values: { readonly [key in K | keyof typeof COMMON_OPTIONS]?: string | boolean };
  readonly positionals: readonly string[];
}

/** The `--help` text, generated from the spec so it cannot disagree with what the parser accepts. */
export function helpText<K extends string>(spec: ToolSpec<K>): string {
  const options = optionsOf(spec);
  const rows = Object.entries(options).map(([key, option]) => {
    const flag = `${option.short === undefined ? '    ' : `-${option.short}, `}--${key}`;
    return [option.valueName === undefined ? flag : `${flag} ${option.valueName}`, option.description];
  });
  const width = Math.max(...rows.map(([flag]) => flag.length));
  return [
    `Usage: npm run ${spec.name} -- [options]${spec.positionals === undefined ? '' : ` ${spec.positionals}`}`,
    '',
    spec.summary,
    '',
    'Options:',
    ...rows.map(([flag, description]) => `  ${flag.padEnd(width)}  ${description}`),
    ...(spec.notes ?? []).flatMap((note) => ['', note]),
    '',
    'Examples:',
    ...spec.examples.map((example) => `  ${example}`),
    '',
  ].join('\n');
}

/** Parses argv against the spec; unknown options and stray positionals are usage errors, not ignored. */
export function parseCli<K extends string>(spec: ToolSpec<K>, argv: readonly string[]): ParsedArgs<K> {
  const options = optionsOf(spec);
  const config = Object.fromEntries(
    Object.entries(options).map(([key, { type, short }]) => [key, short === undefined ? { type } : { type, short }]),
  );
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: config,
      allowPositionals: spec.positionals !== undefined,
      strict: true,
    });
    return { values: values as ParsedArgs<K>['values'], positionals };
  } catch (error) {
    // parseArgs's messages name the option ("Unknown option '--cont'"); keep them, drop its error code.
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/**
 * A tool's entry point: parses argv against the spec, answers `--help` with the generated text, and otherwise runs
 * the tool with the parsed arguments. The result is the exit code.
 */
export function toolMain<K extends string>(
  spec: ToolSpec<K>,
  run: (args: ParsedArgs<K>) => Promise<number>,
): (argv: readonly string[]) => Promise<number> {
  return async (argv) => {
    const args = parseCli(spec, argv);
    if (args.values.help === true) {
      process.stdout.write(helpText(spec));
      return 0;
    }
    return run(args);
  };
}

/** A whole-number option in [min, max], or the default when absent. */
export function integerOption(
  value: string | boolean | undefined,
  flag: string,
  range: { readonly min: number; readonly max: number; readonly default: number },
): number {
  if (value === undefined) return range.default;
  const parsed = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isSafeInteger(parsed) || parsed < range.min || parsed > range.max) {
    throw new UsageError(
      `--${flag} is ${JSON.stringify(value)}; pass a whole number from ${range.min} to ${range.max}`,
    );
  }
  return parsed;
}

/** A decimal option in (0, max], or undefined when absent. */
export function positiveNumberOption(
  value: string | boolean | undefined,
  flag: string,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  const parsed = typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  if (!Number.isFinite(parsed) || parsed <= 0 || parsed > max) {
    throw new UsageError(`--${flag} is ${JSON.stringify(value)}; pass a number above 0 up to ${max}`);
  }
  return parsed;
}

/** A string option, or undefined when absent (parseArgs guarantees the type from the spec). */
export const stringOption = (value: string | boolean | undefined): string | undefined =>
  typeof value === 'string' ? value : undefined;

/**
 * Errors of the local AWS set-up rather than of the tool: no credentials, an expired or unknown key. The names differ
 * by protocol (JSON services say ExpiredTokenException, query services such as CloudFormation say ExpiredToken).
 */
const SETUP_ERRORS: Readonly<Record<string, string>> = {
  CredentialsProviderError: 'No AWS credentials were found. Set AWS_PROFILE or run `aws configure`',
  ExpiredTokenException: 'The AWS session has expired. Log in again (for example `aws sso login`)',
  ExpiredToken: 'The AWS session has expired. Log in again (for example `aws sso login`)',
  UnrecognizedClientException: 'AWS did not recognise the credentials. Check AWS_PROFILE and the access key',
  InvalidClientTokenId: 'AWS did not recognise the credentials. Check AWS_PROFILE and the access key',
  AccessDenied: 'The AWS identity in use is not allowed this call. Use a role with access to the stacks',
  AccessDeniedException: 'The AWS identity in use is not allowed this call. Use a role with access to the stacks',
};

/** What is wrong with the local AWS set-up and what to do, or undefined when the error is something else. */
export function setupProblem(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  if (error.message === 'Region is missing') {
    return 'No AWS region is set. Set AWS_REGION or a region in the AWS profile, or pin one with region in the stage config';
  }
  const hint = SETUP_ERRORS[error.name];
  return hint === undefined ? undefined : `${hint} (${error.message})`;
}

/**
 * Runs a tool's main function as a process: its result is the exit code; a UsageError exits 2 with a pointer to
 * `--help`; a ToolError, a config error or a missing-credentials error exits 1 with its message only; anything else
 * is a bug and keeps its stack trace.
 */
export function runTool(main: (argv: readonly string[]) => Promise<number>): void {
  quietNodeVersionAdvisory();
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.exitCode = reportError(error);
    },
  );
}

/** Prints an error for the user and returns the exit code (exported for tests). */
export function reportError(error: unknown, write: (line: string) => void = (line) => console.error(line)): number {
  if (error instanceof UsageError) {
    write(`${error.message}\nRun with --help for usage.`);
    return 2;
  }
  if (error instanceof ToolError || error instanceof ConfigError) {
    write(error.message);
    return 1;
  }
  const problem = setupProblem(error);
  if (problem !== undefined) {
    write(problem);
    return 1;
  }
  write(error instanceof Error ? (error.stack ?? error.message) : String(error));
  return 1;
}

/**
 * The AWS SDK warns on every run under Node 20 that its releases from 2027 will need Node 22. That is news for
 * whoever upgrades the lock file, not for someone pushing data; every other warning is still printed.
 */
function quietNodeVersionAdvisory(): void {
  // --no-warnings and NODE_NO_WARNINGS=1 already silence everything; replacing Node's printer would undo that.
  if (process.env.NODE_NO_WARNINGS === '1' || process.execArgv.includes('--no-warnings')) return;
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    const advisory = `${warning.name}: ${warning.message}`;
    if (!advisory.includes('NodeVersionSupportWarning')) console.error(advisory);
  });
}
