import {
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  DescribeModelCommand,
  DescribeModelPackageCommand,
  ListModelPackagesCommand,
  ListTagsCommand,
  SageMakerClient,
  UpdateModelPackageCommand,
} from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import { main } from '../../../scripts/approve/main';
import { stdoutOf } from '../stdout';

const sagemaker = mockClient(SageMakerClient);
const GROUP = 'mlpipe-prod-models';
const arn = (version: number) => `arn:aws:sagemaker:eu-west-1:123456789012:model-package/${GROUP}/${version}`;

/** The registry of a prod stage: version 3 serves, 4 was rejected, 5 and 6 await approval. */
function registry(): void {
  const versions = [
    {
      version: 6,
      status: 'PendingManualApproval',
      auc: '0.9313',
      recall: '0.7733',
      challenge: 'challenger-wins',
      // The transform's AUC, above the job's last round.
      compared: '0.9351',
      gain: '0.0109',
    },
    {
      version: 5,
      status: 'PendingManualApproval',
      auc: '0.9012',
      recall: 'null',
      challenge: 'challenger-wins',
      compared: '0.9',
      gain: '-0.005',
    },
    {
      version: 4,
      status: 'Rejected',
      auc: '0.88',
      recall: '0.7',
      challenge: 'challenger-wins',
      compared: '0.89',
      gain: '0.001',
    },
    {
      version: 3,
      status: 'Approved',
      auc: '0.9204',
      recall: '0.7512',
      challenge: 'first-model',
      compared: '0.9204',
      gain: 'null',
    },
  ];
  const summaries = versions.map((v) => ({
    ModelPackageArn: arn(v.version),
    ModelPackageVersion: v.version,
    ModelApprovalStatus: v.status,
    ModelPackageGroupName: GROUP,
    CreationTime: new Date(Date.UTC(2026, 11, v.version, 9, 30)),
    ModelPackageStatus: 'Completed',
  }));
  // Two pages, so the listing must follow NextToken.
  sagemaker
    .on(ListModelPackagesCommand, { ModelPackageGroupName: GROUP, ModelApprovalStatus: 'PendingManualApproval' })
    .resolves({ ModelPackageSummaryList: summaries.slice(0, 2) } as never);
  sagemaker
    .on(ListModelPackagesCommand, {
      ModelPackageGroupName: GROUP,
      ModelApprovalStatus: undefined,
      NextToken: undefined,
    })
    .resolves({ ModelPackageSummaryList: summaries.slice(0, 2), NextToken: 'page-2' } as never);
  sagemaker
    .on(ListModelPackagesCommand, { ModelPackageGroupName: GROUP, NextToken: 'page-2' })
    .resolves({ ModelPackageSummaryList: summaries.slice(2) } as never);
  for (const v of versions) {
    sagemaker.on(DescribeModelPackageCommand, { ModelPackageName: arn(v.version) }).resolves({
      ModelPackageArn: arn(v.version),
      ModelPackageVersion: v.version,
      ModelApprovalStatus: v.status,
      CreationTime: new Date(Date.UTC(2026, 11, v.version, 9, 30)),
      CustomerMetadataProperties: {
        trainingJob: `mlpipe-prod-run-${v.version}`,
        validationAuc: v.auc,
        validationRecall: v.recall,
        challenge: v.challenge,
        comparedAuc: v.compared,
        improvementOverChampion: v.gain,
      },
    } as never);
  }
  sagemaker
    .on(DescribeEndpointCommand, { EndpointName: 'mlpipe-prod-fraud' })
    .resolves({ EndpointConfigName: 'mlpipe-prod-run-3' } as never);
  sagemaker
    .on(DescribeEndpointConfigCommand, { EndpointConfigName: 'mlpipe-prod-run-3' })
    .resolves({ ProductionVariants: [{ VariantName: 'primary', ModelName: 'mlpipe-prod-run-3' }] } as never);
  sagemaker
    .on(DescribeModelCommand, { ModelName: 'mlpipe-prod-run-3' })
    .resolves({ ModelArn: 'arn:aws:sagemaker:eu-west-1:123456789012:model/mlpipe-prod-run-3' } as never);
  sagemaker.on(ListTagsCommand).resolves({
    Tags: [
      { Key: 'ml-pipeline:owner', Value: 'mlpipe-prod-training-pipeline' },
      { Key: 'ml-pipeline:model-package', Value: arn(3) },
    ],
  });
  sagemaker.on(UpdateModelPackageCommand).resolves({ ModelPackageArn: arn(6) });
}

beforeEach(() => {
  sagemaker.reset();
  registry();
});

describe('npm run approve', () => {
  test('lists the pending versions, newest first, with the champion it would replace', async () => {
    const { result, text } = await stdoutOf(() => main(['--stage', 'prod']));
    expect(result).toBe(0);
    const lines = text.split('\n');
    expect(lines[0]).toBe(
      'Champion: version 3 (mlpipe-prod-run-3) on mlpipe-prod-fraud: validation AUC 0.9204, recall 0.7512 at its training.',
    );
    expect(text).toContain(`2 version(s) of ${GROUP} await approval`);
    // The champion's AUC on each candidate's split is the candidate's AUC minus its improvement.
    expect(lines.find((line) => line.startsWith('  6 '))).toBe(
      '  6        2026-12-06 09:30  0.9313          0.7733  0.9242         challenger-wins',
    );
    expect(lines.find((line) => line.startsWith('  5 '))).toBe(
      '  5        2026-12-05 09:30  0.9012          n/a     0.9050         challenger-wins',
    );
    expect(text).toContain('Approve: npm run approve -- --approve 6');
    expect(sagemaker.commandCalls(UpdateModelPackageCommand)).toHaveLength(0);
  });

  test('says when nothing serves yet and nothing waits', async () => {
    sagemaker.reset();
    sagemaker.on(ListModelPackagesCommand).resolves({ ModelPackageSummaryList: [] });
    sagemaker.on(DescribeEndpointCommand).rejects(new Error('Could not find endpoint "mlpipe-prod-fraud".'));
    const { result, text } = await stdoutOf(() => main(['--stage', 'prod']));
    expect(result).toBe(0);
    expect(text).toContain('Champion: none, mlpipe-prod-fraud does not serve a model yet.');
    expect(text).toContain(`No version of ${GROUP} awaits approval.`);
  });

  test('approves a pending version with the reason and names the rollout it starts', async () => {
    const { result, text } = await stdoutOf(() =>
      main(['--stage', 'prod', '--approve', '6', '--reason', 'beats the champion']),
    );
    expect(result).toBe(0);
    expect(sagemaker.commandCalls(UpdateModelPackageCommand).map((call) => call.args[0].input)).toEqual([
      { ModelPackageArn: arn(6), ModelApprovalStatus: 'Approved', ApprovalDescription: 'beats the champion' },
    ]);
    expect(text).toContain('EventBridge starts mlpipe-prod-deploy-approved, which rolls it out to mlpipe-prod-fraud');
  });

  test('rejects a pending version with its reason and leaves the endpoint alone', async () => {
    const { result, text } = await stdoutOf(() =>
      main(['--stage', 'prod', '--reject', '5', '--reason', 'trained on the outage week']),
    );
    expect(result).toBe(0);
    expect(sagemaker.commandCalls(UpdateModelPackageCommand)[0].args[0].input).toEqual({
      ModelPackageArn: arn(5),
      ModelApprovalStatus: 'Rejected',
      ApprovalDescription: 'trained on the outage week',
    });
    expect(text).toContain('mlpipe-prod-fraud keeps serving its model');
  });

  test.each([
    [['--approve', '3'], /Version 3 of mlpipe-prod-models is Approved, not awaiting approval/],
    [['--reject', '4', '--reason', 'x'], /is Rejected, not awaiting approval/],
    [['--approve', '9'], /has no version 9/],
  ])('refuses %p and changes nothing', async (args, message) => {
    await expect(stdoutOf(() => main(['--stage', 'prod', ...args]))).rejects.toThrow(message);
    expect(sagemaker.commandCalls(UpdateModelPackageCommand)).toHaveLength(0);
  });

  test.each([
    [['--reject', '5'], /--reject needs --reason/],
    [['--approve', '5', '--reject', '6'], /pass one of them/],
    [['--approve', 'latest'], /--approve takes a version number/],
    [['--reason', 'why'], /--reason goes with --approve or --reject/],
  ])('refuses the usage %p with what to pass', async (args, message) => {
    await expect(stdoutOf(() => main(['--stage', 'prod', ...args]))).rejects.toThrow(message);
    expect(sagemaker.calls()).toHaveLength(0);
  });
});
