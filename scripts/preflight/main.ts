/**
 * `npm run preflight`: lists the SageMaker service quotas the stage needs and, with AWS credentials, reads their
 * values, so a zero quota shows up before a deploy or a training run fails on it.
 */
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { runTool, stringOption, toolMain, type ToolSpec } from '../lib/cli';
import {
  checkQuotas,
  formatReport,
  formatRequired,
  increaseCommand,
  quotaNotes,
  quotasSufficient,
  requiredQuotas,
  unreadableReason,
} from './quotas';
import { clientConfig, loadToolConfig } from '../lib/stage';

export const SPEC: ToolSpec<'offline' | 'json'> = {
  name: 'preflight',
  summary: 'Checks the SageMaker service quotas that the stage needs for training and serving.',
  options: {
    offline: {
      type: 'boolean',
      description: 'only list the quotas and how to check them; never touches the network or looks for credentials',
    },
    json: { type: 'boolean', description: 'print the result as JSON' },
  },
  examples: [
    'npm run preflight',
    'npm run preflight -- --stage prod',
    'npm run preflight -- --offline',
    'npm run preflight -- --json',
  ],
  notes: [
    'The quotas follow from the stage config (training.instanceType, training.instanceCount, training.useSpot, ' +
      'serving.mode and its settings). Their values are read with ListServiceQuotas, and ListAWSDefaultServiceQuotas ' +
      'for quotas the account never adjusted; the credentials need servicequotas:ListServiceQuotas and ' +
      'servicequotas:ListAWSDefaultServiceQuotas.',
    'Without AWS credentials, or with --offline, it lists the quotas and how to check them in the console or with ' +
      'the AWS CLI. Exit code: 1 when a quota is below what the stage needs, otherwise 0.',
  ],
};

export const main = toolMain(SPEC, async ({ values }) => {
  const config = loadToolConfig(stringOption(values.stage));
  const required = requiredQuotas(config);
  const notes = quotaNotes(config);
  const json = values.json === true;

  const client = new ServiceQuotasClient(clientConfig(config));
  const listOnly = async (reason?: string): Promise<number> => {
    // The stage's pinned region, else the one the SDK resolves (AWS_REGION, the profile), so the commands it
    // prints carry --region whenever the region is known at all.
    const region = config.region ?? (await client.config.region().catch(() => null)) ?? null;
    console.log(
      json
        ? JSON.stringify({ stage: config.stage, read: false, reason, region, quotas: required, notes }, null, 2)
        : formatRequired(config.stage, region, required, notes, reason),
    );
    return 0;
  };
  if (values.offline === true) {
    try {
      return await listOnly();
    } finally {
      client.destroy();
    }
  }

  try {
    const report = await checkQuotas(client, required);
    const sufficient = quotasSufficient(report);
    console.log(
      json
        ? JSON.stringify(
            {
              stage: config.stage,
              read: true,
              region: report.region,
              sufficient,
              quotas: report.checks.map((check) =>
                check.status === 'too-low'
                  ? { ...check, increaseCommand: increaseCommand(check, report.region) }
                  : check,
              ),
              notes,
            },
            null,
            2,
          )
        : formatReport(config.stage, report, notes),
    );
    return sufficient ? 0 : 1;
  } catch (error) {
    const reason = unreadableReason(error);
    if (reason === undefined) throw error;
    return await listOnly(reason);
  } finally {
    client.destroy();
  }
});

if (require.main === module) runTool(main);
