/**
 * `npm run train`: the pipeline runner. Starts the training pipeline the Training stack deployed, follows the run
 * state by state, and ends with the validation AUC, the spot saving and the endpoint's status, or with the state that
 * failed and why (exit code 1).
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DescribeEndpointCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SFNClient } from '@aws-sdk/client-sfn';
import { STACK_OUTPUTS } from '../../lib/contract/stacks';
import { integerOption, runTool, stringOption, toolMain, type ToolSpec, UsageError } from '../lib/cli';
import { describeOutcome, followExecution, startRun } from './pipeline-runner';
import { stackNames } from '../../lib/contract/stacks';
import { clientConfig, loadToolConfig, readStackOutputs } from '../lib/stage';

const DEFAULT_POLL_SECONDS = 10;

export const SPEC: ToolSpec<'follow' | 'state-machine-arn' | 'poll-seconds' | 'detach'> = {
  name: 'train',
  summary:
    'Starts the training pipeline (crawl, export, spot training, quality gate, rollout to the endpoint) and follows ' +
    'it state by state until it ends.',
  options: {
    follow: {
      type: 'string',
      valueName: '<execution-arn>',
      description: 'follow a run that is already going instead of starting one',
    },
    'state-machine-arn': {
      type: 'string',
      valueName: '<arn>',
      description: "pipeline to start (default: the Training stack's StateMachineArn output)",
    },
    'poll-seconds': {
      type: 'string',
      valueName: '<n>',
      description: `seconds between checks of the run (default ${DEFAULT_POLL_SECONDS})`,
    },
    detach: { type: 'boolean', description: 'start the run, print its ARN and return without following it' },
  },
  notes: [
    'A run takes roughly 10 to 25 minutes: the crawl, the Athena exports, a few minutes of training (longer while ' +
      'spot capacity is found) and the endpoint rollout. Stopping this command does not stop the run; follow it ' +
      'again with --follow <execution-arn>.',
    'Exit codes: 0 the model is live, 1 the run failed or the quality gate rejected the model, 2 bad usage.',
  ],
  examples: [
    'npm run train',
    'npm run train -- --detach',
    'npm run train -- --follow arn:aws:states:eu-west-1:123456789012:execution:mlpipe-sandbox-training:<id>',
  ],
};

export const main = toolMain(SPEC, async ({ values }) => {
  const pollSeconds = integerOption(values['poll-seconds'], 'poll-seconds', {
    min: 1,
    max: 300,
    default: DEFAULT_POLL_SECONDS,
  });
  const config = loadToolConfig(stringOption(values.stage));
  const sfn = new SFNClient(clientConfig(config));
  const print = (line: string) => process.stdout.write(`${line}\n`);

  let executionArn = stringOption(values.follow);
  if (executionArn !== undefined && (values.detach === true || values['state-machine-arn'] !== undefined)) {
    throw new UsageError(
      '--follow follows a run that is already going; it does not combine with --detach or --state-machine-arn',
    );
  }
  if (executionArn === undefined) {
    const stateMachineArn =
      stringOption(values['state-machine-arn']) ??
      (
        await readStackOutputs(new CloudFormationClient(clientConfig(config)), stackNames(config.namePrefix).training, [
          STACK_OUTPUTS.stateMachineArn,
        ])
      ).StateMachineArn;
    executionArn = await startRun(sfn, stateMachineArn);
    print(`Started ${executionArn}`);
    if (values.detach === true) return 0;
  }
  print(`Following the run (Ctrl-C stops following, not the run; resume with --follow ${executionArn})`);

  const result = await followExecution(sfn, executionArn, {
    pollMs: pollSeconds * 1000,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    write: print,
  });
  const endpointStatus =
    result.status === 'SUCCEEDED' && result.report.approval === 'Approved'
      ? await readEndpointStatus(new SageMakerClient(clientConfig(config)), result.report.endpointName)
      : '';
  describeOutcome(result, endpointStatus, config.qualityGate.minValidationAuc, config.training.useSpot).forEach(print);
  if (result.status !== 'SUCCEEDED') return 1;
  if (result.report.approval === 'PendingManualApproval') return 0;
  print(`Next: npm run predict -- --example${config.stage === 'sandbox' ? '' : ` --stage ${config.stage}`}`);
  return 0;
});

/** The endpoint's status as SageMaker reports it now; a failure to read it does not fail a successful run. */
async function readEndpointStatus(sagemaker: SageMakerClient, endpointName: string): Promise<string> {
  try {
    return (
      (await sagemaker.send(new DescribeEndpointCommand({ EndpointName: endpointName }))).EndpointStatus ?? 'unknown'
    );
  } catch (error) {
    return `unknown (${error instanceof Error ? error.message : String(error)})`;
  }
}

if (require.main === module) runTool(main);
