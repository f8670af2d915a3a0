#!/usr/bin/env node
/**
 * The CDK app's entry point and the only place that reads context: `-c stage=sandbox|prod` picks the stage, and
 * `context.pipeline.<stage>` in cdk.json may override its settings (see lib/config/stage-config.ts).
 */
import { App } from 'aws-cdk-lib';
import { addComplianceChecks } from '../lib/compliance';
import { ConfigError, loadStageConfig } from '../lib/config/stage-config';
import { buildPipeline } from '../lib/pipeline-app';
import { TRANSACTION_SCHEMA } from '../lib/schema/feature-schema';

const app = new App();
const stage: unknown = app.node.tryGetContext('stage');
const overrides: unknown = app.node.tryGetContext('pipeline');
let config;
try {
  config = loadStageConfig(stage, overrides === undefined ? undefined : pickStage(overrides, stage ?? 'sandbox'));
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}
addComplianceChecks(app);
buildPipeline(app, config, TRANSACTION_SCHEMA, {
  account: process.env.CDK_DEFAULT_ACCOUNT,
  region: config.region ?? process.env.CDK_DEFAULT_REGION,
});

function pickStage(pipeline: unknown, stageName: unknown): unknown {
  if (typeof pipeline !== 'object' || pipeline === null || Array.isArray(pipeline)) {
    throw new ConfigError(String(stageName), [`context "pipeline" must be an object of per-stage overrides`]);
  }
  return (pipeline as Record<string, unknown>)[String(stageName)];
}
