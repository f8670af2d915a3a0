/**
 * `npm run approve`: the manual approval of the model registry. Without options it lists the versions of the stage's
 * model package group that await approval, with their validation figures next to the champion's (the version the
 * endpoint serves); `--approve <version>` approves one, which starts its rollout, and `--reject <version> --reason`
 * rejects one, which changes nothing on the endpoint.
 */
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { approvedRolloutStateMachineName, modelPackageGroupName } from '../../lib/contract/training-run';
import { runTool, stringOption, toolMain, type ToolSpec, UsageError } from '../lib/cli';
import { clientConfig, loadToolConfig } from '../lib/stage';
import { decide, describePending, findChampion, pendingVersions } from './registry';

/** SageMaker's limit on an approval description (UpdateModelPackage, ApprovalDescription). */
const MAX_REASON_LENGTH = 1024;

export const SPEC: ToolSpec<'approve' | 'reject' | 'reason'> = {
  name: 'approve',
  summary:
    'Lists the model versions awaiting approval next to the serving champion, or approves or rejects one (stages ' +
    'with registry.approval manual, such as prod).',
  options: {
    approve: { type: 'string', valueName: '<version>', description: 'approve this version: its rollout starts' },
    reject: { type: 'string', valueName: '<version>', description: 'reject this version (needs --reason)' },
    reason: { type: 'string', valueName: '<text>', description: "the decision's reason, kept with the version" },
  },
  notes: [
    "Approving a version emits SageMaker's model package state change, on which EventBridge starts the stage's " +
      'deploy-approved workflow; it rolls the version out to the endpoint in about 10 minutes.',
    'Exit codes: 0 listed or decided, 1 the version is not awaiting approval or a call failed, 2 bad usage.',
  ],
  examples: [
    'npm run approve -- --stage prod',
    'npm run approve -- --stage prod --approve 5 --reason "beats the champion on recall"',
    'npm run approve -- --stage prod --reject 5 --reason "trained on the outage week"',
  ],
};

function versionOption(value: string, option: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(value)) {
    throw new UsageError(`--${option} takes a version number such as 5 (the list shows them), not '${value}'`);
  }
  return Number(value);
}

export const main = toolMain(SPEC, async ({ values }) => {
  const approve = stringOption(values.approve);
  const reject = stringOption(values.reject);
  const reason = stringOption(values.reason);
  if (approve !== undefined && reject !== undefined) {
    throw new UsageError('--approve and --reject decide one version each; pass one of them');
  }
  if (reject !== undefined && (reason === undefined || reason.trim() === '')) {
    throw new UsageError(
      '--reject needs --reason "<why>": the reason stays with the version for whoever reads it next',
    );
  }
  if (reason !== undefined && approve === undefined && reject === undefined) {
    throw new UsageError('--reason goes with --approve or --reject');
  }
  if (reason !== undefined && reason.length > MAX_REASON_LENGTH) {
    throw new UsageError(`--reason is ${reason.length} characters; SageMaker keeps at most ${MAX_REASON_LENGTH}`);
  }
  const config = loadToolConfig(stringOption(values.stage));
  const sagemaker = new SageMakerClient(clientConfig(config));
  const group = modelPackageGroupName(config.namePrefix);
  const endpointName = config.serving.endpointName;
  const print = (line: string) => process.stdout.write(`${line}\n`);

  if (approve === undefined && reject === undefined) {
    if (config.registry.approval === 'automatic') {
      print(
        `registry.approval is automatic in the ${config.stage} stage: each run approves and rolls out its own ` +
          'version, so none waits here.',
      );
    }
    const [pending, champion] = await Promise.all([
      pendingVersions(sagemaker, group),
      findChampion(sagemaker, endpointName),
    ]);
    describePending(group, endpointName, pending, champion).forEach(print);
    return 0;
  }
  const decision = approve !== undefined ? 'Approved' : 'Rejected';
  const version = versionOption(approve ?? String(reject), approve !== undefined ? 'approve' : 'reject');
  const decided = await decide(sagemaker, group, version, decision, reason?.trim());
  print(`Version ${decided.version} of ${group} is ${decided.status}.`);
  print(
    decision === 'Approved'
      ? `EventBridge starts ${approvedRolloutStateMachineName(config.namePrefix)}, which rolls it out to ` +
          `${endpointName}; the Step Functions console shows the run.`
      : `${endpointName} keeps serving its model; the version stays in the registry, rejected, with the reason.`,
  );
  return 0;
});

if (require.main === module) runTool(main);
