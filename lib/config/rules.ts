/**
 * Rules between settings, which no single setting's schema can state. Each applies once the settings it reads are
 * valid, so one synth shows its problem together with all the others.
 */
import { BUDGETS_REGIONS, hasInstanceStore } from '../contract/service-limits';
import type { StageConfig } from './settings';

/** Glue cron: six fields, and exactly one of day-of-month and day-of-week must be `?`. */
const isGlueCron = (expression: string) => {
  const fields = /^cron\((\S+(?: \S+){5})\)$/.exec(expression)?.[1].split(' ');
  return fields !== undefined && (fields[2] === '?') !== (fields[4] === '?');
};

// Instance store is encrypted by the instance itself; SageMaker rejects a KMS key for it, and this pipeline
// always sets one (see contract/service-limits.ts for the list and its sources).
const instanceStore = (path: string, type: string, example: string) =>
  `${path} is "${type}", an instance type with local NVMe storage, for which SageMaker rejects the KMS volume ` +
  `key this pipeline sets; choose a type without local storage, for example "${example}"`;

/** The problems between settings; `valid` says which passed their own checks (the others may hold anything). */
export function ruleProblems(config: StageConfig, valid: (...paths: string[]) => boolean): string[] {
  const { crawler, lifecycle, training, serving, qualityGate, cost, region, data } = config;
  const ia = 'lifecycle.rawInfrequentAccessAfterDays';
  return [
    valid('crawler.schedule') &&
      crawler.schedule !== null &&
      !isGlueCron(crawler.schedule) &&
      `crawler.schedule is ${JSON.stringify(crawler.schedule)}; a Glue cron expression has six fields ` +
        `(minutes hours day-of-month month day-of-week year) with exactly one of day-of-month and day-of-week ` +
        `set to ?, for example "cron(15 * * * ? *)". Set null to crawl on demand only`,
    valid('lifecycle.rawGlacierInstantRetrievalAfterDays', ia) &&
      lifecycle.rawGlacierInstantRetrievalAfterDays < lifecycle.rawInfrequentAccessAfterDays + 30 &&
      `lifecycle.rawGlacierInstantRetrievalAfterDays (${lifecycle.rawGlacierInstantRetrievalAfterDays}) must be at ` +
        `least 30 days after ${ia} (${lifecycle.rawInfrequentAccessAfterDays}), because S3 keeps objects in ` +
        `Standard-IA for 30 days; raise it to ${lifecycle.rawInfrequentAccessAfterDays + 30} or more`,
    valid('training.exportWindowDays', ia) &&
      training.exportWindowDays > lifecycle.rawInfrequentAccessAfterDays &&
      `training.exportWindowDays (${training.exportWindowDays}) must be at most ${ia} ` +
        `(${lifecycle.rawInfrequentAccessAfterDays}): older raw events are in Standard-IA or Glacier Instant ` +
        `Retrieval, where every export would pay retrieval fees. Lower training.exportWindowDays, or raise ` +
        `${ia} to ${training.exportWindowDays}`,
    valid('training.instanceType') &&
      hasInstanceStore(training.instanceType) &&
      instanceStore('training.instanceType', training.instanceType, 'ml.m5.xlarge'),
    valid('qualityGate.transformInstanceType') &&
      hasInstanceStore(qualityGate.transformInstanceType) &&
      instanceStore('qualityGate.transformInstanceType', qualityGate.transformInstanceType, 'ml.m5.large'),
    valid('serving.mode', 'serving.instanceType') &&
      serving.mode === 'instance' &&
      hasInstanceStore(serving.instanceType) &&
      instanceStore('serving.instanceType', serving.instanceType, 'ml.m5.large'),
    valid('training.useSpot', 'training.maxWaitSeconds', 'training.maxRuntimeSeconds') &&
      training.useSpot &&
      training.maxWaitSeconds <= training.maxRuntimeSeconds &&
      `training.maxWaitSeconds (${training.maxWaitSeconds} s) must exceed training.maxRuntimeSeconds ` +
        `(${training.maxRuntimeSeconds} s): the wait covers spot capacity plus the training itself. Raise ` +
        `training.maxWaitSeconds to at least ${training.maxRuntimeSeconds + 1}, or lower training.maxRuntimeSeconds`,
    valid('training.hyperparameters.earlyStoppingRounds', 'training.hyperparameters.numRound') &&
      training.hyperparameters.earlyStoppingRounds >= training.hyperparameters.numRound &&
      `training.hyperparameters.earlyStoppingRounds (${training.hyperparameters.earlyStoppingRounds}) must be ` +
        `below training.hyperparameters.numRound (${training.hyperparameters.numRound}), or training never stops ` +
        `early; lower it, for example to ${Math.min(training.hyperparameters.numRound - 1, Math.max(1, Math.floor(training.hyperparameters.numRound / 10)))}`,
    valid('cost.budgetEmail', 'region') &&
      cost.budgetEmail !== null &&
      (region === null || !BUDGETS_REGIONS.includes(region)) &&
      `cost.budgetEmail is set, so the stage creates an AWS Budgets budget, and CloudFormation offers ` +
        `AWS::Budgets::Budget only in ${BUDGETS_REGIONS.join(', ')}. ` +
        (region === null
          ? 'region is null, so synth cannot tell where the stacks deploy: pin region to one of those'
          : `region is "${region}": deploy to one of those`) +
        ', or set cost.budgetEmail to null and create the budget in the Billing console',
    valid('data.removalPolicy', 'data.allowDataDeletion') &&
      (data.removalPolicy === 'destroy') !== data.allowDataDeletion &&
      `data.removalPolicy is "${data.removalPolicy}" but data.allowDataDeletion is ${data.allowDataDeletion}; ` +
        `deleting data takes both switches. Set both (removalPolicy "destroy", allowDataDeletion true) to let ` +
        `cdk destroy delete the buckets and their objects, or neither (removalPolicy "retain", allowDataDeletion false)`,
  ].filter((problem) => typeof problem === 'string');
}
