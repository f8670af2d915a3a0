/**
 * `npm run predict`: scores records with the deployed inference API. Wiring only: parse the arguments, build the
 * clients, and hand them to the modules beside this one (input, location, http, run, format).
 */
import { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { stackNames } from '../../lib/contract/stacks';
import { EXAMPLE_TRANSACTION_FEATURES, TRANSACTION_SCHEMA } from '../../lib/schema/feature-schema';
import { integerOption, runTool, stringOption, ToolError, toolMain, type ToolSpec, UsageError } from '../lib/cli';
import { clientConfig, loadToolConfig } from '../lib/stage';
import { formatFailure, formatHealth, formatScored, formatSummary } from './format';
import { type ApiTarget, sigV4Signer } from './http';
import { type InputSource, readRecords } from './input';
import { regionFromUrl, resolveApiLocation } from './location';
import { checkHealth, predictRecords } from './run';

export const SPEC: ToolSpec<'record' | 'file' | 'example' | 'health' | 'json' | 'url' | 'api-key' | 'timeout'> = {
  name: 'predict',
  summary: 'Scores transactions with the deployed inference API and prints each fraud probability.',
  positionals: '[<record-json>]',
  options: {
    record: {
      type: 'string',
      short: 'r',
      valueName: '<json>',
      description: 'one record, or {"records": [...]}, as JSON',
    },
    file: {
      type: 'string',
      short: 'f',
      valueName: '<path>',
      description: 'a JSON record, {"records": [...]}, or NDJSON with one record per line',
    },
    example: { type: 'boolean', description: 'score the example transaction from the feature schema' },
    health: { type: 'boolean', description: 'call GET /health instead: is a model deployed and in service?' },
    json: { type: 'boolean', description: "print the API's raw JSON answers, one per request" },
    url: {
      type: 'string',
      valueName: '<url>',
      description: "the API's base URL (default: the Serving stack's ApiUrl output)",
    },
    'api-key': {
      type: 'string',
      valueName: '<key>',
      description: "the API key's value (default: read from API Gateway by the stack's ApiKeyId output)",
    },
    timeout: { type: 'string', valueName: '<seconds>', description: 'longest wait for one answer (default: 30)' },
  },
  notes: [
    "Records may be full events, as `npm run ingest -- --dry-run` writes them: the schema's id, event-time and\n" +
      'label fields are not sent. When a record has its label, the output shows it beside the prediction and a\n' +
      'summary counts how often the two agree. A file with more records than api.maxBatchSize goes in batches.',
    "The URL and API key come from the Serving stack's outputs; with api.authorization 'iam' every request is\n" +
      'also signed with SigV4 using your AWS credentials. On an error the tool prints the status, the details and\n' +
      'what to do, and exits 1.',
  ],
  examples: [
    'npm run predict -- --example',
    `npm run predict -- '${JSON.stringify(EXAMPLE_TRANSACTION_FEATURES)}'`,
    'npm run predict -- --file events.ndjson',
    'npm run predict -- --health',
    'npm run predict -- --stage prod --example --json',
  ],
};

/** The single input the arguments name. */
function inputOf(values: Readonly<Record<string, string | boolean | undefined>>, positionals: readonly string[]) {
  if (positionals.length > 1) {
    throw new UsageError(
      `Pass one record; got ${positionals.length} arguments. Quote the JSON: '{"amount": 42.5, ...}'`,
    );
  }
  const sources: InputSource[] = [];
  const record = stringOption(values.record);
  const file = stringOption(values.file);
  if (record !== undefined) sources.push({ kind: 'json', text: record, origin: '--record' });
  if (positionals.length === 1) sources.push({ kind: 'json', text: positionals[0], origin: 'The record argument' });
  if (file !== undefined) sources.push({ kind: 'file', path: file });
  if (values.example === true) sources.push({ kind: 'example', features: EXAMPLE_TRANSACTION_FEATURES });
  if (values.health === true) {
    if (sources.length > 0) throw new UsageError('--health takes no records; call it on its own.');
    return undefined;
  }
  if (sources.length !== 1) {
    throw new UsageError(
      sources.length === 0
        ? "Nothing to score: pass --example, --file <path>, or a record: --record '<json>'"
        : 'Pass only one of --record, a record argument, --file and --example.',
    );
  }
  return sources[0];
}

export const main = toolMain(SPEC, async ({ values, positionals }) => {
  const source = inputOf(values, positionals);
  const timeoutSeconds = integerOption(values.timeout, 'timeout', { min: 1, max: 300, default: 30 });
  const config = loadToolConfig(stringOption(values.stage));
  // Bad input fails here, before any AWS call.
  const records = source === undefined ? [] : readRecords(TRANSACTION_SCHEMA, source);

  const cloudFormation = new CloudFormationClient(clientConfig(config));
  const apiGateway = new APIGatewayClient(clientConfig(config));
  const location = await resolveApiLocation({ cloudFormation, apiGateway }, stackNames(config.namePrefix).serving, {
    url: stringOption(values.url),
    apiKey: stringOption(values['api-key']),
  });
  let target: ApiTarget = { ...location, timeoutMs: timeoutSeconds * 1000 };
  if (config.api.authorization === 'iam') {
    const region =
      regionFromUrl(location.baseUrl) ??
      (await cloudFormation.config.region().catch(() => {
        throw new ToolError(
          `Cannot tell the region to sign for from ${location.baseUrl.host}: set AWS_REGION, or pin the stage's region in cdk.json.`,
        );
      }));
    target = { ...target, signer: sigV4Signer({ credentials: defaultProvider(), region }) };
  }

  if (source === undefined) {
    const { answer, failure } = await checkHealth(target);
    if (values.json === true) console.log(answer.text);
    else if (failure === undefined) console.log(formatHealth(answer));
    if (failure === undefined) return 0;
    console.error(formatFailure(failure));
    return 1;
  }

  const run = await predictRecords(target, records, config.api.maxBatchSize, ({ answer, scored }) => {
    if (values.json === true) console.log(answer.text);
    else scored.forEach((s) => console.log(formatScored(s)));
  });
  if (values.json !== true && run.scored.length > 0) console.log(formatSummary(run.scored, run.threshold));
  if (run.failure === undefined) return 0;
  if (values.json === true) console.log(run.failure.answer.text);
  console.error(formatFailure(run.failure));
  return 1;
});

if (require.main === module) runTool(main);
