/**
 * What a synth keeps between runs, under the project root: the Lambda bundles (lib/shared/lambda-code.ts) and the
 * guard rules' report per template (lib/shared/guard-result-cache.ts). `npm run bench:synth` empties both for its
 * cold row; `npm ci` starts them afresh. No aws-cdk-lib here: the benchmark reads it.
 */
export const SYNTH_CACHES = {
  lambdaBundles: 'node_modules/.cache/lambda-bundles',
  guardReports: 'node_modules/.cache/cfn-guard',
} as const;
