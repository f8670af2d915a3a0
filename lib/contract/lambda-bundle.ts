/**
 * How every Lambda function is bundled: the app's functions (lib/shared/lambda-code.ts) and the benchmark
 * (`npm run bench`), which must measure the bundle as it is deployed. No aws-cdk-lib here: the benchmark reads it.
 */
import type { BuildOptions } from 'esbuild';

export const LAMBDA_BUNDLE = {
  /** The Lambda runtime's Node (nodejs24.x). */
  target: 'node24',
  minify: true,
  sourceMap: true,
  /**
   * The AWS SDK's ES modules before its CommonJS build: esbuild can then leave out every command and schema a
   * function never uses. For the predict function, @aws-sdk/client-sagemaker (one DescribeEndpoint call) goes from
   * 413 to 15 KiB and the bundle from 1003 to 472 KiB.
   */
  mainFields: ['module', 'main'],
} as const;

/**
 * esbuild's options for one function: its `index.ts` into one CommonJS file with its source map, every dependency
 * inside (the SDK too, so the function runs the client versions the tests ran, not the runtime's), and only
 * warnings and errors printed.
 */
export function lambdaBuildOptions(
  entryFile: string,
  outfile: string,
  target: string = LAMBDA_BUNDLE.target,
): BuildOptions & { entryPoints: string[]; outfile: string } {
  return {
    entryPoints: [entryFile],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target,
    minify: LAMBDA_BUNDLE.minify,
    sourcemap: LAMBDA_BUNDLE.sourceMap,
    mainFields: [...LAMBDA_BUNDLE.mainFields],
    logLevel: 'warning',
  };
}
