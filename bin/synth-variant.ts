#!/usr/bin/env node
/**
 * The app `npm run bench:synth` times, with parts of a real synth switched on one by one. BENCH_SYNTH_PARTS lists
 * them (comma-separated: bundling and the checks of lib/shared/compliance.ts); BENCH_SYNTH_PARTS=one-bucket builds a one-bucket app
 * instead, the baseline. Not for deploying: bin/app.ts is the app.
 */
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { loadStageConfigFromContext } from '../lib/config/stage-config';
import { buildPipeline } from '../lib/pipeline-app';
import { TRANSACTION_SCHEMA } from '../lib/schema/feature-schema';
import { COMPLIANCE_CHECKS, compliancePlugins } from '../lib/shared/compliance';

const PARTS = ['bundling', ...COMPLIANCE_CHECKS] as const;
const requested = (process.env.BENCH_SYNTH_PARTS ?? '').split(',').filter((part) => part !== '');

if (requested.includes('one-bucket')) {
  new s3.Bucket(new Stack(new App(), 'One'), 'Bucket');
} else {
  const unknown = requested.filter((part) => !(PARTS as readonly string[]).includes(part));
  if (unknown.length > 0) throw new Error(`BENCH_SYNTH_PARTS: unknown ${unknown.join(', ')}; use ${PARTS.join(', ')}`);
  const on = (part: (typeof PARTS)[number]) => requested.includes(part);
  // The checks as bin/app.ts registers them (lib/shared/compliance.ts), or none of them.
  const app = new App({ builtinCloudFormationValidation: false });
  if (!on('bundling')) app.node.setContext('aws:cdk:bundling-stacks', []);
  const checks = compliancePlugins(app, COMPLIANCE_CHECKS.filter(on));
  if (checks.length > 0) Validations.of(app).addPlugins(...checks);
  const config = loadStageConfigFromContext(app.node.tryGetContext('stage'), app.node.tryGetContext('pipeline'));
  buildPipeline(app, config, TRANSACTION_SCHEMA);
}
