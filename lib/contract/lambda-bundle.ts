/**
 * How every Lambda function is bundled: the app's functions (lib/shared/pipeline-function.ts) and the benchmark
 * (`npm run bench`), which must measure the bundle as it is deployed. No aws-cdk-lib here: the benchmark reads it.
 */
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
