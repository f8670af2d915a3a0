import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeEndpointCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { main } from '../../../scripts/train/main';
import { startRun } from '../../../scripts/train/pipeline-runner';
import { EXECUTION, FAILED_RUN, serveHistory, sfn, STATE_MACHINE, SUCCESSFUL_RUN } from './runs';

const cloudFormation = mockClient(CloudFormationClient);
const sagemaker = mockClient(SageMakerClient);

beforeEach(() => {
  sfn.reset();
  cloudFormation.reset();
  sagemaker.reset();
});

describe('npm run train', () => {
  let stdout: jest.SpyInstance;
  beforeEach(() => {
    stdout = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  });
  afterEach(() => stdout.mockRestore());
  const printed = () => stdout.mock.calls.map(([text]) => String(text)).join('');

  test('starts the pipeline named by the stack output, follows it, and exits 0 with the endpoint status', async () => {
    cloudFormation.on(DescribeStacksCommand, { StackName: 'mlpipe-sandbox-training' }).resolves({
      Stacks: [
        {
          StackName: 'mlpipe-sandbox-training',
          CreationTime: new Date(),
          StackStatus: 'CREATE_COMPLETE',
          Outputs: [{ OutputKey: 'StateMachineArn', OutputValue: STATE_MACHINE }],
        },
      ],
    });
    sfn
      .on(StartExecutionCommand, { stateMachineArn: STATE_MACHINE, input: '{}' })
      .resolves({ executionArn: EXECUTION, startDate: new Date() });
    serveHistory(SUCCESSFUL_RUN, () => SUCCESSFUL_RUN.length);
    sagemaker
      .on(DescribeEndpointCommand, { EndpointName: 'mlpipe-sandbox-fraud' })
      .resolves({ EndpointStatus: 'InService' } as never);

    expect(await main([])).toBe(0);
    expect(printed()).toContain(`Started ${EXECUTION}`);
    expect(printed()).toContain('Endpoint         mlpipe-sandbox-fraud: InService');
    expect(printed()).toContain('Next: npm run predict -- --example');
  });

  test('exits 1 with the failed state when the run fails', async () => {
    serveHistory(FAILED_RUN, () => FAILED_RUN.length);
    expect(await main(['--follow', EXECUTION])).toBe(1);
    expect(printed()).toContain('Run FAILED after 42s in state TrainModel.');
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  test('says to deploy when the Training stack is missing', async () => {
    cloudFormation
      .on(DescribeStacksCommand)
      .rejects(
        Object.assign(new Error('Stack with id mlpipe-sandbox-training does not exist'), { name: 'ValidationError' }),
      );
    await expect(main([])).rejects.toThrow(/Stack mlpipe-sandbox-training is not deployed .* npx cdk deploy --all/);
  });

  test('explains a state machine that does not exist', async () => {
    sfn
      .on(StartExecutionCommand)
      .rejects(Object.assign(new Error('State Machine Does Not Exist'), { name: 'StateMachineDoesNotExist' }));
    await expect(startRun(new SFNClient({}), STATE_MACHINE)).rejects.toThrow(
      /does not exist in this account and region: deploy the Training stack/,
    );
  });

  test('refuses --follow together with options for starting a run', async () => {
    await expect(main(['--follow', EXECUTION, '--detach'])).rejects.toThrow(/does not combine with --detach/);
  });

  test('--help describes the options and the exit codes', async () => {
    expect(await main(['--help'])).toBe(0);
    expect(printed()).toMatch(/^Usage: npm run train -- \[options\]/);
    for (const flag of ['--follow', '--state-machine-arn', '--poll-seconds', '--detach', '--stage', 'Exit codes']) {
      expect(printed()).toContain(flag);
    }
  });
});
