import { Template } from 'aws-cdk-lib/assertions';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import * as kms from 'aws-cdk-lib/aws-kms';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { loadStageConfig } from '../../lib/config/stage-config';
import { buildPipeline } from '../../lib/pipeline-app';
import {
  EXAMPLE_TRANSACTION_FEATURES,
  TRANSACTION_SCHEMA,
  type FeatureSchema,
  type FieldSpec,
} from '../../lib/schema/feature-schema';
import { InferenceApi } from '../../lib/serving/inference-api';
import { bundleStreamingRuntime } from '../../scripts/lib/streaming-runtime-bundle';
import { bareStack, printedBy, testApp } from '../helpers';
import { DeployedApp } from '../iam/deployed-app';
import { startLocalServer, type LocalServer } from '../local-server';
import { COMPLETED_JOB } from '../training/completed-job';

/**
 * The Lambda bundles as the templates deploy them. Each bundle esbuild wrote into the cloud assembly runs in a fresh
 * Node process with exactly the environment variables its function's template sets, plus what the Lambda runtime
 * adds (region, credentials, function name) and the endpoints of local stand-ins of the AWS APIs it calls. So the
 * way each handler turns its environment into settings is exercised end to end, not only its logic.
 */
const app = testApp({ bundling: true });
const { outdir } = app;
const config = loadStageConfig('sandbox');
const printed = printedBy(() => buildPipeline(app, config, TRANSACTION_SCHEMA));
const deployed = new DeployedApp(app);
const DRIVER = join(outdir, 'invoke.js');
// What Lambda's runtime gives a streaming function (the awslambda global, the response stream), as plain JavaScript
// for the driver's process.
const RUNTIME = bundleStreamingRuntime(join(outdir, 'streaming-runtime.js'));
// Requires the bundle like the runtime does (after setting the awslambda global), invokes the named handler once,
// streaming or not, and prints what it returned: for a streaming handler, the response as API Gateway reads it.
writeFileSync(
  DRIVER,
  [
    `const runtime = require(${JSON.stringify(RUNTIME)});`,
    'runtime.installStreamingRuntime();',
    'const handler = require(process.argv[2])[process.argv[4]];',
    'const context = {',
    "  getRemainingTimeInMillis: () => 60000, logGroupName: 'group-1', logStreamName: 'stream-1', awsRequestId: 'req-1',",
    '};',
    'const event = JSON.parse(process.argv[3]);',
    'const result = handler[runtime.HANDLER_STREAMING] === undefined',
    '  ? Promise.resolve(handler(event, context))',
    '  : runtime.invokeStreaming(handler, event, context).then(({ statusCode, headers, body }) => ({ statusCode, headers, body }));',
    'result.then(',
    "  (result) => process.stdout.write('\\nRESULT ' + JSON.stringify(result ?? null) + '\\n'),",
    "  (error) => { process.stdout.write('\\nTHREW ' + error.name + ': ' + error.message + '\\n'); process.exitCode = 1; },",
    ');',
  ].join('\n'),
);

interface Invocation {
  readonly result: unknown;
  /** Every line the function wrote (stdout, then stderr): its logs and the metrics in embedded metric format. */
  readonly lines: readonly string[];
}

interface FunctionProperties {
  readonly Code: { S3Key: string };
  /** `index.<export>`: the file the runtime loads and the export it calls. */
  readonly Handler: string;
  readonly Environment?: { Variables?: { [name: string]: string } };
}

/** Runs the function deployed at `path` on one event, in a new process. */
function invoke(path: string, event: unknown, endpoints: { [variable: string]: string } = {}): Promise<Invocation> {
  const fn = deployed.at(path);
  const props = fn.properties as unknown as FunctionProperties;
  const variables = { ...props.Environment?.Variables, AWS_LAMBDA_FUNCTION_NAME: fn.ref };
  return run(bundleOf(props), props.Handler, variables, event, endpoints);
}

/** The bundle file of a function, from its code asset and its handler name. */
function bundleOf(props: FunctionProperties): string {
  const [file] = props.Handler.split('.');
  return join(outdir, `asset.${props.Code.S3Key.replace(/\.zip$/, '')}`, `${file}.js`);
}

/** Runs a bundle's handler on one event, in a new process with the function's variables and the runtime's. */
function run(
  bundle: string,
  handler: string,
  variables: { [name: string]: string | undefined },
  event: unknown,
  endpoints: { [variable: string]: string },
): Promise<Invocation> {
  const env = {
    PATH: process.env.PATH,
    ...variables,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'secret',
    ...endpoints,
  };
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [DRIVER, bundle, JSON.stringify(event), handler.split('.')[1]],
      { env, timeout: 30_000 },
      (error, stdout, stderr) => {
        const lines = stdout.split('\n');
        const last = [...lines].reverse().find((line) => line.startsWith('RESULT ') || line.startsWith('THREW '));
        if (last === undefined || last.startsWith('THREW ')) {
          reject(new Error(`${bundle} failed: ${last ?? error?.message}\n${stderr}`));
          return;
        }
        resolve({ result: JSON.parse(last.slice('RESULT '.length)), lines: [...lines, ...stderr.split('\n')] });
      },
    );
  });
}

/** The metrics a function published, from its embedded-metric-format lines. */
function publishedMetrics(lines: readonly string[]) {
  return lines
    .filter((line) => line.startsWith('{') && line.includes('"_aws"'))
    .map(
      (line) =>
        JSON.parse(line) as {
          _aws: { CloudWatchMetrics: { Namespace: string; Metrics: { Name: string }[] }[] };
        } & Record<string, unknown>,
    )
    .flatMap((emf) =>
      emf._aws.CloudWatchMetrics.flatMap(({ Namespace, Metrics }) =>
        Metrics.map((m) => ({ namespace: Namespace, name: m.Name, value: emf[m.Name], service: emf.service })),
      ),
    );
}

/** What the stand-ins received and will answer. */
const sagemaker = {
  probability: '0.5',
  missing: false,
  invocations: [] as string[],
  bodies: [] as string[],
  targets: [] as string[],
};
let tagging: { filters: unknown[] } = { filters: [] };
/** What the Firehose stand-in received, and whether it is down. */
const firehoseLog = { down: false, calls: [] as { stream: string; rows: Record<string, unknown>[] }[] };

function standIn(request: IncomingMessage, response: ServerResponse, body: string): void {
  const target = String(request.headers['x-amz-target'] ?? '');
  const json = (status: number, payload: unknown, type?: string) =>
    response
      .writeHead(status, {
        'content-type': 'application/x-amz-json-1.1',
        ...(type === undefined ? {} : { 'x-amzn-errortype': type }),
      })
      .end(JSON.stringify(payload));
  if (request.url?.startsWith('/endpoints/')) {
    sagemaker.invocations.push(request.url);
    sagemaker.bodies.push(body.trim());
    if (sagemaker.missing) {
      json(
        400,
        { Message: `Endpoint ${config.serving.endpointName} of account 123456789012 not found.` },
        'ValidationError',
      );
      return;
    }
    response.writeHead(200, { 'content-type': 'text/csv' }).end(`${sagemaker.probability}\n`);
  } else if (target === 'Firehose_20150804.PutRecordBatch') {
    const { DeliveryStreamName, Records } = JSON.parse(body) as {
      DeliveryStreamName: string;
      Records: { Data: string }[];
    };
    const rows = Records.map((r) => JSON.parse(Buffer.from(r.Data, 'base64').toString('utf8')));
    firehoseLog.calls.push({ stream: DeliveryStreamName, rows });
    if (firehoseLog.down) json(500, { message: 'Service unavailable' }, 'ServiceUnavailableException');
    else json(200, { FailedPutCount: 0, RequestResponses: Records.map((_, i) => ({ RecordId: `r${i}` })) });
  } else if (target.startsWith('ResourceGroupsTaggingAPI_20170126.GetResources')) {
    tagging.filters.push((JSON.parse(body) as { TagFilters: unknown }).TagFilters);
    json(200, {
      ResourceTagMappingList: [
        { ResourceARN: `arn:aws:sagemaker:eu-west-1:123456789012:endpoint/${config.serving.endpointName}` },
      ],
    });
  } else if (target.startsWith('SageMaker.')) {
    sagemaker.targets.push(target);
    if (target === 'SageMaker.DescribeEndpoint') {
      json(400, { message: `Could not find endpoint "${config.serving.endpointName}".` }, 'ValidationException');
    } else json(200, {});
  } else {
    response.writeHead(404).end();
  }
}

let server: LocalServer;
let endpoints: { [variable: string]: string };
beforeAll(async () => {
  server = await startLocalServer(standIn);
  endpoints = {
    AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: server.url,
    AWS_ENDPOINT_URL_SAGEMAKER: server.url,
    AWS_ENDPOINT_URL_FIREHOSE: server.url,
    AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API: server.url,
  };
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  Object.assign(sagemaker, { probability: '0.5', missing: false, invocations: [], bodies: [], targets: [] });
  tagging = { filters: [] };
  Object.assign(firehoseLog, { down: false, calls: [] });
});

test('the app bundles its functions without a line of output, as `cdk synth --quiet` must', () => {
  expect(printed).toBe('');
});

describe('the predict bundle with its template environment', () => {
  const PREDICT = 'Serving/Inference/PredictFunction/Function';
  const request = (body: unknown) => ({
    httpMethod: 'POST',
    resource: '/predict',
    body: JSON.stringify(body),
    isBase64Encoded: false,
  });
  const threshold = config.api.decisionThreshold;

  test.each([
    [threshold - 0.0001, false],
    [threshold, true],
  ])('decides %d against the configured threshold: fraud is %s', async (probability, isFraud) => {
    sagemaker.probability = String(probability);
    const { result } = await invoke(PREDICT, request(EXAMPLE_TRANSACTION_FEATURES), endpoints);
    expect(result).toMatchObject({ statusCode: 200 });
    expect(JSON.parse((result as { body: string }).body)).toEqual({
      predictions: [{ fraudProbability: probability, isFraud }],
      threshold,
    });
    expect(sagemaker.invocations).toEqual([`/endpoints/${config.serving.endpointName}/invocations`]);
  });

  test("logs the scored record to the template's stream, as a row of exactly the predictions table's columns", async () => {
    const transactionId = '0d4f6a1b-1111-4222-8333-444455556666';
    const { result } = await invoke(
      PREDICT,
      request({ ...EXAMPLE_TRANSACTION_FEATURES, transaction_id: transactionId }),
      endpoints,
    );
    expect(result).toMatchObject({ statusCode: 200 });
    // The stream the function's environment names is the one the serving stack creates, and that stream converts
    // through the predictions table, whose columns the row must match name for name.
    const [stream] = deployed
      .ofType('AWS::KinesisFirehose::DeliveryStream')
      .filter((r) => r.path.startsWith('Serving/'));
    const conversion = (
      stream.properties as unknown as {
        ExtendedS3DestinationConfiguration: {
          DataFormatConversionConfiguration: { SchemaConfiguration: { TableName: string } };
        };
      }
    ).ExtendedS3DestinationConfiguration.DataFormatConversionConfiguration.SchemaConfiguration;
    const [table] = deployed
      .ofType('AWS::Glue::Table')
      .filter((t) => (t.properties as { TableInput: { Name: string } }).TableInput.Name === conversion.TableName);
    const glueColumns = (
      table.properties as unknown as {
        TableInput: { StorageDescriptor: { Columns: { Name: string; Type: string }[] } };
      }
    ).TableInput.StorageDescriptor.Columns;
    const columns = glueColumns.map((c) => c.Name);
    expect(conversion.TableName).toBe('predictions');
    expect(firehoseLog.calls).toHaveLength(1);
    const [{ stream: streamName, rows }] = firehoseLog.calls;
    expect(streamName).toBe(stream.ref);
    expect(rows).toHaveLength(1);
    expect(Object.keys(rows[0])).toEqual(columns);
    expect(rows[0]).toMatchObject({ transaction_id: transactionId, score: 0.5, decision: true });
    // Each value in the JSON form Firehose's Hive JSON deserializer reads for the column's Glue type; a timestamp
    // as epoch milliseconds (the stream's timestamp parser), as the producer sends event_time.
    const fits: Record<string, (value: unknown) => boolean> = {
      string: (value) => typeof value === 'string' || value === null,
      int: (value) => Number.isInteger(value),
      double: (value) => typeof value === 'number',
      boolean: (value) => typeof value === 'boolean',
      timestamp: (value) => Number.isInteger(value) && Math.abs((value as number) - Date.now()) < 60_000,
    };
    for (const { Name, Type } of glueColumns) {
      expect({ column: Name, type: Type, fits: fits[Type](rows[0][Name]) }).toEqual({
        column: Name,
        type: Type,
        fits: true,
      });
    }
  });

  test('answers while the log stream is down, and counts the row it could not send', async () => {
    firehoseLog.down = true;
    const { result, lines } = await invoke(PREDICT, request(EXAMPLE_TRANSACTION_FEATURES), endpoints);
    expect(result).toMatchObject({ statusCode: 200 });
    const metrics = publishedMetrics(lines);
    expect(metrics).toContainEqual({
      namespace: 'MlPipeline',
      name: 'InferenceLogFailedRecords',
      value: 1,
      service: `${config.namePrefix}-predict`,
    });
    expect(metrics).toContainEqual(expect.objectContaining({ name: 'InferenceLogRecords', value: 0 }));
    // The warning names the error, never the record.
    const warning = lines.find((line) => line.includes('inference log records not sent'));
    expect(warning).toContain('ServiceUnavailableException');
    expect(warning).not.toContain('travel');
  });

  test('answers an event without a body key with 400', async () => {
    const { result } = await invoke(PREDICT, { httpMethod: 'POST', resource: '/predict' }, endpoints);
    expect(result).toMatchObject({ statusCode: 400 });
  });

  test("counts a 5xx it answers in the stage's own ServerErrors metric, which the alarm watches", async () => {
    sagemaker.missing = true;
    const { result, lines } = await invoke(PREDICT, request(EXAMPLE_TRANSACTION_FEATURES), endpoints);
    expect(result).toMatchObject({ statusCode: 503 });
    expect(publishedMetrics(lines)).toContainEqual({
      namespace: 'MlPipeline',
      name: 'ServerErrors',
      value: 1,
      service: `${config.namePrefix}-predict`,
    });
  });
});

describe('the predict bundle with the environment of an app built on another schema', () => {
  // One more category and one more feature than the running example: the API's request model would accept a record
  // that uses either, so the function must too, and must reject a record without the new feature.
  const schema: FeatureSchema = {
    ...TRANSACTION_SCHEMA,
    fields: TRANSACTION_SCHEMA.fields.flatMap((field): FieldSpec[] => {
      if (field.name === 'channel') return [{ ...field, categories: [...(field.categories ?? []), 'crypto_atm'] }];
      if (field.role !== 'label') return [field];
      const score = 'device_trust_score';
      return [{ name: score, type: 'double', role: 'feature', description: 'Trust', range: { min: 0, max: 1 } }, field];
    }),
  };
  const predict = () =>
    deployed.at('Serving/Inference/PredictFunction/Function').properties as unknown as FunctionProperties;
  /** The predict function's variables as a stack built with `schema` sets them (no bundling needed for that). */
  const variables = () => {
    const stack = bareStack('OtherSchema');
    new InferenceApi(stack, 'Inference', {
      namePrefix: 'other',
      schema,
      endpointName: config.serving.endpointName,
      inferenceLog: firehose.DeliveryStream.fromDeliveryStreamName(stack, 'Log', 'other-predictions'),
      encryptionKey: new kms.Key(stack, 'Key'),
      logRetention: 14,
    });
    const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function');
    const [predict] = Object.values(functions).filter((fn) => fn.Properties.Handler === 'index.handler');
    return (predict.Properties as FunctionProperties).Environment?.Variables ?? {};
  };
  const request = (body: unknown) => ({ httpMethod: 'POST', resource: '/predict', body: JSON.stringify(body) });
  const invokeWithOtherSchema = (record: unknown) =>
    run(bundleOf(predict()), predict().Handler, variables(), request(record), endpoints);

  test('accepts a record with the new category and feature, and sends the feature to the model', async () => {
    const record = { ...EXAMPLE_TRANSACTION_FEATURES, channel: 'crypto_atm', device_trust_score: 0.25 };
    const { result } = await invokeWithOtherSchema(record);
    expect(result).toMatchObject({ statusCode: 200 });
    expect(sagemaker.bodies).toEqual([expect.stringMatching(/,0\.25$/)]);
  });

  test('rejects a record without the new feature, as the request model does', async () => {
    const { result } = await invokeWithOtherSchema(EXAMPLE_TRANSACTION_FEATURES);
    expect(result).toMatchObject({ statusCode: 400 });
    expect((result as { body: string }).body).toContain('device_trust_score');
  });
});

describe('the evaluation bundle with its template environment', () => {
  test('reads the metric the quality gate compares from a finished job', async () => {
    const { result } = await invoke('Training/Pipeline/EvaluateTrainingFunction/Function', COMPLETED_JOB);
    expect(result).toMatchObject({ metricName: 'validation:auc', metricValue: 0.912, spotSavingPercent: 70 });
  });
});

describe('the clean-up bundles with their template environment', () => {
  test('find the pipeline resources by the owner tag the pipeline puts on them, and delete them', async () => {
    const event = {
      RequestType: 'Delete',
      ResponseURL: 'https://cloudformation-custom-resource-response.invalid/presigned',
      StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/mlpipe-sandbox-training/1',
      RequestId: 'req-1',
      LogicalResourceId: 'SageMakerCleanup',
      PhysicalResourceId: 'sagemaker-cleanup-SageMakerCleanup',
      ResourceType: 'Custom::SageMakerCleanup',
      ResourceProperties: {},
    };
    const started = await invoke('Training/SageMakerCleanup/OnEventHandler/Function', event, endpoints);
    expect(started.result).toEqual({
      PhysicalResourceId: 'sagemaker-cleanup-SageMakerCleanup',
      DeletingEndpoints: [config.serving.endpointName],
    });
    // The provider framework hands isComplete the request with onEvent's answer merged in.
    const request = { ...event, ...(started.result as object) };
    const completed = await invoke('Training/SageMakerCleanup/IsCompleteHandler/Function', request, endpoints);
    expect(completed.result).toMatchObject({ IsComplete: true });
    const ownerTag = [{ Key: 'ml-pipeline:owner', Values: [`${config.namePrefix}-training-pipeline`] }];
    expect(tagging.filters).toEqual([ownerTag, ownerTag]);
    expect(sagemaker.targets).toEqual([
      'SageMaker.DeleteEndpoint',
      'SageMaker.DescribeEndpoint',
      'SageMaker.ListModelPackages',
    ]);
  });
});
