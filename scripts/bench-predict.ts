/**
 * Benchmark of the predict Lambda (prints numbers; asserts nothing):
 *  1. bundle size, built with esbuild as the app builds it (lib/contract/lambda-bundle.ts);
 *  2. cold initialization of the bundle vs importing the bare SageMaker runtime client, in fresh Node processes,
 *     alternated;
 *  3. time per request through the handler, which calls InvokeEndpoint, answers, and then sends the inference log
 *     with PutRecordBatch: until the answer (the end of its response stream, when API Gateway answers the client) and
 *     until the invocation ends; vs the SDK's InvokeEndpoint alone and vs the same two SDK calls bare, against one
 *     local server that answers as SageMaker and Firehose do. The handler runs as Lambda's runtime runs a streaming
 *     function (scripts/lib/streaming-runtime.ts).
 * Usage: npm run bench [-- --requests 300 --cold-starts 7 --write-docs]
 */
import { FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { build, buildSync } from 'esbuild';
import { EXAMPLE_TRANSACTION_FEATURES, TRANSACTION_SCHEMA } from '../lib/schema/feature-schema';
import { lambdaBuildOptions } from '../lib/contract/lambda-bundle';
import { checkRecord } from '../lib/schema/record-validation';
import { schemaToJson } from '../lib/schema/schema-json';
import { integerOption, runTool, toolMain, type ToolSpec } from './lib/cli';
import { installStreamingRuntime, invokeStreaming } from './lib/streaming-runtime';
import { bundleStreamingRuntime } from './lib/streaming-runtime-bundle';
import { GeneratedTable, markdownTable } from './lib/generated-table';

/** The measures, in the order of the table's rows; test/scripts/bench-predict.test.ts checks the docs have each. */
export const PREDICT_MEASURES = [
  'Bundle size',
  'Cold init, bundle',
  'Cold init, bare SageMaker runtime client',
  'Cold init ratio',
  'Per request through the handler, to the answer',
  'Per request through the handler, to the end of the invocation',
  'Per request through the handler without the log call, to the answer',
  'Per request, SDK InvokeEndpoint alone',
  'Per request, SDK InvokeEndpoint then PutRecordBatch',
  'Answer ratio',
  'Invocation ratio to the two calls',
  'Inference log overhead on the answer',
] as const;

/** The benchmark table in docs/serving.md; test/scripts/bench-predict.test.ts checks it has every row. */
export const PREDICT_TABLE = new GeneratedTable('docs/serving.md', 'predict-bench', 'npm run bench -- --write-docs');

export const SPEC: ToolSpec<'requests' | 'cold-starts' | 'write-docs'> = {
  name: 'bench',
  summary:
    'Benchmarks the predict Lambda offline: bundle size, cold initialization against the bare SageMaker runtime ' +
    'client, and time per request through the handler against InvokeEndpoint alone. Prints numbers, asserts nothing.',
  options: {
    requests: { type: 'string', valueName: '<n>', description: 'requests through each of the four (default 2000)' },
    'cold-starts': {
      type: 'string',
      valueName: '<n>',
      description: 'fresh processes per cold-start measurement (default 7)',
    },
    'write-docs': { type: 'boolean', description: 'also write the table into docs/serving.md between its markers' },
  },
  examples: ['npm run bench', 'npm run bench -- --requests 5000 --cold-starts 11 --write-docs'],
  stageless: true,
};

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const ms = (value: number) => `${value.toFixed(2)} ms`;

export const main = toolMain(SPEC, async ({ values }) => {
  const requests = integerOption(values.requests, 'requests', { min: 1, max: 100_000, default: 2000 });
  const coldStarts = integerOption(values['cold-starts'], 'cold-starts', { min: 1, max: 100, default: 7 });
  const dir = mkdtempSync(join(tmpdir(), 'bench-predict-'));
  // The bundles and probes live here only for the run.
  try {
    const bundle = join(dir, 'index.js');
    // As the app bundles it, so the figures are the deployed function's; for the Node that runs the benchmark.
    const entry = join(__dirname, '..', 'lambda', 'predict', 'index.ts');
    const target = `node${process.versions.node.split('.')[0]}`;
    buildSync(lambdaBuildOptions(entry, bundle, target));
    // The same handler without the log's call, the baseline of the log's overhead: its sendInferenceLog counts the
    // rows as sent and sends nothing. Everything else, the answer and the rows included, is the bundle's own.
    const withoutLog = join(dir, 'index-without-log.js');
    await build({
      ...lambdaBuildOptions(entry, withoutLog, target),
      plugins: [
        {
          name: 'no-inference-log-call',
          setup(plugin) {
            plugin.onResolve({ filter: /^\.\/inference-log$/ }, (args) =>
              realpathSync(args.importer) === realpathSync(entry)
                ? { path: 'inference-log', namespace: 'bench' }
                : undefined,
            );
            plugin.onLoad({ filter: /.*/, namespace: 'bench' }, () => ({
              loader: 'js',
              contents:
                'export async function sendInferenceLog(f, s, rows) { return { sent: rows.length, failed: 0 }; }',
            }));
          },
        },
      ],
    });

    // SageMaker's runtime (CSV), DescribeEndpoint and Firehose's PutRecordBatch (JSON 1.1), each answered at once.
    const server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        const target = String(request.headers['x-amz-target'] ?? '');
        const json = (payload: unknown) =>
          response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(payload));
        if (target === 'Firehose_20150804.PutRecordBatch') {
          const { Records } = JSON.parse(body) as { Records: unknown[] };
          json({ FailedPutCount: 0, RequestResponses: Records.map((_, i) => ({ RecordId: `r${i}` })) });
        } else if (target === 'SageMaker.DescribeEndpoint') {
          json({ EndpointName: 'bench-endpoint', EndpointStatus: 'InService', EndpointConfigName: 'bench-run' });
        } else {
          const rows = body.split('\n').length;
          response.writeHead(200, { 'content-type': 'text/csv' }).end(Array(rows).fill('0.42').join('\n'));
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const env = {
      ...process.env,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
      AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: url,
      AWS_ENDPOINT_URL_SAGEMAKER: url,
      AWS_ENDPOINT_URL_FIREHOSE: url,
      INFERENCE_LOG_STREAM: 'bench-predictions',
      INFERENCE_LOG_TIMEOUT_MS: '1000',
      ENDPOINT_NAME: 'bench-endpoint',
      FEATURE_SCHEMA: schemaToJson(TRANSACTION_SCHEMA),
      DECISION_THRESHOLD: '0.5',
      MAX_BATCH_SIZE: '100',
      MAX_BODY_BYTES: '262144',
      POWERTOOLS_TRACE_ENABLED: 'false',
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1',
    };
    Object.assign(process.env, env);

    // 2. Cold initialization, each sample in a fresh process.
    // The runtime sets the awslambda global before it loads a function; so does the probe, before its clock starts.
    const runtime = bundleStreamingRuntime(join(dir, 'streaming-runtime.js'));
    const timeRequire = (code: string) => {
      const probe = join(dir, `probe-${Math.random().toString(36).slice(2)}.js`);
      writeFileSync(
        probe,
        `require(${JSON.stringify(runtime)}).installStreamingRuntime(); ` +
          `const t = performance.now(); ${code}; process.stdout.write(String(performance.now() - t));`,
      );
      return Number(execFileSync(process.execPath, [probe], { env, cwd: join(__dirname, '..') }).toString());
    };
    const sdkPath = require.resolve('@aws-sdk/client-sagemaker-runtime');
    const initBundle = () => timeRequire(`require(${JSON.stringify(bundle)})`);
    const initSdk = () =>
      timeRequire(`const m = require(${JSON.stringify(sdkPath)}); new m.SageMakerRuntimeClient({})`);
    // Alternated, each pair in turned order, and the ratio taken pair by pair, as for the requests below.
    const coldPairs = Array.from({ length: coldStarts }, (_, index) => {
      if (index % 2 === 0) {
        const bundleMs = initBundle();
        return { bundle: bundleMs, sdk: initSdk() };
      }
      const sdkMs = initSdk();
      return { bundle: initBundle(), sdk: sdkMs };
    });
    const bundleInit = median(coldPairs.map((pair) => pair.bundle));
    const sdkInit = median(coldPairs.map((pair) => pair.sdk));
    const coldRatio = median(coldPairs.map((pair) => pair.bundle / pair.sdk));

    // 3. Per-request time, handler vs the SDK alone, same server and payload.
    // As the runtime loads a function: the awslambda global first.
    installStreamingRuntime();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { handler } = require(bundle) as { handler: unknown };
    if (readFileSync(withoutLog, 'utf8').includes('PutRecordBatch')) {
      throw new Error(
        'The stub of ./inference-log did not apply: the baseline bundle still sends PutRecordBatch ' +
          '(does lambda/predict/index.ts still import it by that path?)',
      );
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { handler: handlerWithoutLog } = require(withoutLog) as { handler: unknown };
    const event = {
      httpMethod: 'POST',
      resource: '/predict',
      body: JSON.stringify(EXAMPLE_TRANSACTION_FEATURES),
      isBase64Encoded: false,
      requestContext: { requestId: '9f1c2d3e-0000-4000-8000-000000000001' },
    };
    const client = new SageMakerRuntimeClient({});
    const firehose = new FirehoseClient({});
    const encoded = checkRecord(TRANSACTION_SCHEMA, EXAMPLE_TRANSACTION_FEATURES);
    if (!encoded.ok) throw new Error(`The example record no longer matches the schema: ${encoded.problems.join('; ')}`);
    const csv = new TextEncoder().encode(encoded.row.join(','));
    // A log row of the example's size: the features and the request's metadata, as the handler sends it.
    const logRow = new TextEncoder().encode(
      `${JSON.stringify({
        request_id: '9f1c2d3e-0000-4000-8000-000000000001',
        record_index: 0,
        transaction_id: null,
        predicted_at: Date.now(),
        model_name: 'bench-run',
        ...EXAMPLE_TRANSACTION_FEATURES,
        score: 0.42,
        decision: false,
        decision_threshold: 0.5,
      })}\n`,
    );
    // The two alternate request by request, each pair in turned order, and each figure is the median of its
    // requests: a neighbour's load on a shared machine then slows both alike, and a garbage collection or a burst
    // moves a few samples, not the median. (Rounds of many requests each varied by ±20% here.)
    // Each variant records its own samples: the handler's two from the same request (the answer, and the end of the
    // invocation), the SDK calls' from the clock around them.
    const samples = { answer: [] as number[], invocation: [] as number[], answerWithoutLog: [] as number[] };
    const sdkSamples = { sdk: [] as number[], both: [] as number[] };
    const invokeOnce = async (fn: unknown) => {
      const response = await invokeStreaming(fn, event);
      if (response.statusCode !== 200) throw new Error(`handler answered ${response.statusCode}: ${response.body}`);
      return response;
    };
    const timed = (call: () => Promise<unknown>, into: number[]) => async () => {
      const start = performance.now();
      await call();
      into.push(performance.now() - start);
    };
    const sdkCall = () =>
      client.send(new InvokeEndpointCommand({ EndpointName: 'bench-endpoint', ContentType: 'text/csv', Body: csv }));
    const variants = [
      async () => {
        const { answeredMs, completedMs } = await invokeOnce(handler);
        samples.answer.push(answeredMs);
        samples.invocation.push(completedMs);
      },
      async () => samples.answerWithoutLog.push((await invokeOnce(handlerWithoutLog)).answeredMs),
      timed(sdkCall, sdkSamples.sdk),
      timed(async () => {
        await sdkCall();
        await firehose.send(
          new PutRecordBatchCommand({ DeliveryStreamName: 'bench-predictions', Records: [{ Data: logRow }] }),
        );
      }, sdkSamples.both),
    ];
    for (let i = 0; i < 20; i++) await Promise.all(variants.map((run) => run())); // warm up connections and JIT
    for (const list of [...Object.values(samples), ...Object.values(sdkSamples)]) list.length = 0;
    for (let i = 0; i < requests; i++) {
      // Each round runs the four in a turned order, so none always follows the same neighbour.
      for (let k = 0; k < variants.length; k++) await variants[(i + k) % variants.length]();
    }
    const viaSdk = median(sdkSamples.sdk);
    const viaBoth = median(sdkSamples.both);
    const answer = median(samples.answer);
    const invocation = median(samples.invocation);
    const answerWithoutLog = median(samples.answerWithoutLog);
    const answerRatio = answer / viaSdk;
    const twoCallsRatio = invocation / viaBoth;
    // What the client waits for, with the log and without its call. (The target: at most 1.2x.)
    const logOverhead = answer / answerWithoutLog;
    server.close();

    const [
      size,
      bundleCold,
      sdkCold,
      coldRatioLabel,
      handlerAnswer,
      handlerInvocation,
      handlerWithoutLogLabel,
      sdkWarm,
      bothWarm,
      answerRatioLabel,
      twoCallsLabel,
      logOverheadLabel,
    ] = PREDICT_MEASURES;
    const rows: [string, string][] = [
      [`${size} (minified, without source map)`, `${(statSync(bundle).size / 1024).toFixed(1)} KiB`],
      [`${bundleCold} (median of ${coldStarts})`, ms(bundleInit)],
      [`${sdkCold} (median of ${coldStarts})`, ms(sdkInit)],
      [
        `${coldRatioLabel} (bundle / bare client, median of ${coldStarts} alternated pairs)`,
        `${coldRatio.toFixed(2)}x`,
      ],
      [`${handlerAnswer} (median of ${requests}; the model call, then the response stream ends)`, ms(answer)],
      [`${handlerInvocation} (median of ${requests}; the inference log sent after the answer)`, ms(invocation)],
      [
        `${handlerWithoutLogLabel} (median of ${requests}; the same bundle, its log call counting rows as sent)`,
        ms(answerWithoutLog),
      ],
      [`${sdkWarm} (median of ${requests})`, ms(viaSdk)],
      [`${bothWarm} (median of ${requests}; the handler's two calls, bare)`, ms(viaBoth)],
      [
        `${answerRatioLabel} (answer / InvokeEndpoint alone: the handler's own work before the answer)`,
        `${answerRatio.toFixed(2)}x`,
      ],
      [
        `${twoCallsLabel} (invocation / the two SDK calls: the handler's own work in all)`,
        `${twoCallsRatio.toFixed(2)}x`,
      ],
      [
        `${logOverheadLabel} (answer / answer without the log call, what the client waits; target 1.2x)`,
        `${logOverhead.toFixed(2)}x`,
      ],
    ];
    const caption = `Node ${process.versions.node}, ${new Date().toISOString().slice(0, 10)}`;
    const table = markdownTable(['Measure', 'Value'], rows);
    process.stdout.write(`predict Lambda benchmark (${caption})\n\n${table}\n`);
    if (values['write-docs'] === true) PREDICT_TABLE.write(join(__dirname, '..'), caption, table);
    return 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

if (require.main === module) runTool(main);
