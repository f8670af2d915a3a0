#!/usr/bin/env node
/**
 * The CDK app's entry point and the only place that reads context: `-c stage=sandbox|prod` picks
 * the stage, and `context.pipeline.<stage>` in cdk.json may override its settings (see lib/config/stage-config.ts).
 */
import { App } from 'aws-cdk-lib';
import { addComplianceChecks } from '../lib/shared/compliance';
import { ConfigError, loadStageConfigFromContext, type StageConfig } from '../lib/config/stage-config';
import { buildPipeline } from '../lib/pipeline-app';
import { TRANSACTION_SCHEMA } from '../lib/schema/feature-schema';

const app = new App();
const config = loadConfigOrExit(app);
addComplianceChecks(app);
// Environment-agnostic unless the stage pins a region: the templates then deploy to any account and region, and
// region-specific values (the XGBoost image registry) are resolved from template mappings at deploy time.
buildPipeline(app, config, TRANSACTION_SCHEMA, config.region === null ? undefined : { region: config.region });

/** The validated stage config; on a config error, prints what to change and exits without a stack trace. */
function loadConfigOrExit(scope: App): StageConfig {
  try {
    return loadStageConfigFromContext(scope.node.tryGetContext('stage'), scope.node.tryGetContext('pipeline'));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}
