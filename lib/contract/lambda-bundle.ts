/**
 * How every Lambda function is bundled: the app's functions (lib/shared/lambda-code.ts) and the benchmark
 * (`npm run bench`), which must measure the bundle as it is deployed. No aws-cdk-lib here: the benchmark reads it.
 */
import type { BuildOptions } from 'esbuild';

/** The Lambda runtime's Node (nodejs24.x). */
export const LAMBDA_TARGET = 'node24';

/**
 * esbuild's options for one function: its `index.ts` into one minified CommonJS file with its source map, and every
 * dependency inside (the SDK too, so the function runs the client versions the tests ran, not the runtime's).
 * esbuild prints nothing: a caller reports warnings and errors itself (the app fails the synth on either).
 */
export function lambdaBuildOptions(
  entryFile: string,
  outfile: string,
  target: string = LAMBDA_TARGET,
): BuildOptions & { entryPoints: string[]; outfile: string } {
  return {
    entryPoints: [entryFile],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target,
    minify: true,
    sourcemap: true,
    // The AWS SDK's ES modules before its CommonJS build: esbuild can then leave out every command and schema a
    // function never uses (@aws-sdk/client-sagemaker, for one DescribeEndpoint call, from 413 to 15 KiB).
    mainFields: ['module', 'main'],
    logLevel: 'silent',
  };
}
