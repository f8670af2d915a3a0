import { App, Stack, type IPolicyValidationPlugin } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { addComplianceChecks } from '../../lib/shared/compliance';
import { ControlTowerGuardValidator } from '../../lib/shared/control-tower-guard';
import { loadStageConfig } from '../../lib/config/stage-config';
import { buildPipeline } from '../../lib/pipeline-app';
import { TRANSACTION_SCHEMA } from '../../lib/schema/feature-schema';
import { testApp } from '../helpers';
import { tempDir } from '../temp-dirs';

interface ValidationReport {
  pluginReports: {
    pluginName: string;
    conclusion: string;
    violations: unknown[];
    suppressedViolations?: { ruleName: string; reason: string; violatingConstructs: { constructPath: string }[] }[];
  }[];
}

/** Synthesizes the app as `cdk synth` does, with every validation plugin, and returns its validation report. */
function synthWithChecks(app: App): ValidationReport {
  app.synth();
  return JSON.parse(readFileSync(join(app.outdir, 'validation-report.json'), 'utf8')) as ValidationReport;
}

// As `cdk synth` does, with CDK's own CloudFormation validation; the plugins read templates, so the Lambdas need no
// bundling (test/lambda/bundles.test.ts runs the bundles).
const newApp = () => testApp({ validation: true });

/** The guard plugin, counting how often it starts its rules. */
class CountingGuard extends ControlTowerGuardValidator {
  starts = 0;
  protected override start(templatePaths: readonly string[]) {
    this.starts++;
    return super.start(templatePaths);
  }
}

const checked = new Map<string, { app: App; report: ValidationReport }>();
/** The stage's app with every check registered, synthesized once per file. */
function checkedApp(stage: string): { app: App; report: ValidationReport } {
  const existing = checked.get(stage);
  if (existing !== undefined) return existing;
  const app = newApp();
  addComplianceChecks(app);
  buildPipeline(app, loadStageConfig(stage), TRANSACTION_SCHEMA);
  const built = { app, report: synthWithChecks(app) };
  checked.set(stage, built);
  return built;
}

describe.each(['sandbox', 'prod'])(
  'the %s app under cdk-nag, Control Tower guard rules and CloudFormation Validate',
  (stage) => {
    const { report } = checkedApp(stage);

    test("reports the guard rules and CDK's CloudFormation validation (cdk-nag fails the synth itself)", () => {
      const names = report.pluginReports.map((plugin) => plugin.pluginName);
      expect(names).toEqual(expect.arrayContaining(['cdk-validator-cfnguard', 'CloudFormation Validate']));
      // Registered explicitly, it replaces CDK's automatic instance instead of running a second time.
      expect(names.filter((name) => name === 'CloudFormation Validate')).toHaveLength(1);
    });

    test('has no unacknowledged finding', () => {
      for (const plugin of report.pluginReports) {
        expect({ plugin: plugin.pluginName, violations: plugin.violations }).toEqual({
          plugin: plugin.pluginName,
          violations: [],
        });
      }
    });

    test('gives every acknowledgement a reason specific to its resource', () => {
      const suppressed = report.pluginReports.flatMap((p) => p.suppressedViolations ?? []);
      expect(suppressed.length).toBeGreaterThan(0);
      for (const violation of suppressed) {
        expect(violation.reason.length).toBeGreaterThan(40);
        for (const construct of violation.violatingConstructs) {
          // No acknowledgement covers a whole stack except the Firehose CIDR mapping that CDK reports on the stack.
          expect(construct.constructPath.split('/').length > 1 || violation.ruleName === 'W7001').toBe(true);
        }
      }
    });
  },
);

describe('the compliance checks', () => {
  // The stock plugin takes about 7 s on one stage's templates, so the proof runs on the default stage only; the
  // selection depends on the rules (each selects by type), not on the stage.
  test('find with the Control Tower rules exactly what the stock plugin finds running every rule on every template', () => {
    const { app } = checkedApp('sandbox');
    const templatePaths = readdirSync(app.outdir)
      .filter((file) => file.endsWith('.template.json'))
      .map((file) => join(app.outdir, file));
    const context = { templatePaths, stackTemplates: [], appConstruct: app };
    const findings = (plugin: IPolicyValidationPlugin) =>
      plugin
        .validate(context)
        .violations.map((violation) => JSON.stringify(violation))
        .sort();
    const stock = findings(new CfnGuardValidator());
    // The templates carry acknowledged findings, so an empty report could not pass for an equal one.
    expect(stock.length).toBeGreaterThan(5);
    // With an empty cache every template is checked; the second time every report comes from the cache.
    const cacheDirectory = tempDir('guard-cache');
    expect(findings(new ControlTowerGuardValidator({ cacheDirectory }))).toEqual(stock);
    expect(findings(new ControlTowerGuardValidator({ cacheDirectory }))).toEqual(stock);

    // Started by the check before it, as the app registers it: the other check's report as is, the same findings,
    // and the work started early is the work collected (started once, not again).
    const guard = new CountingGuard({ cacheDirectory: tempDir('guard-cache') });
    const before = { name: 'before', validate: () => ({ success: false, violations: [] }) };
    expect(guard.startedBy(before).validate(context)).toEqual({ success: false, violations: [] });
    expect(findings(guard)).toEqual(stock);
    expect(guard.starts).toBe(1);
  });

  test('fail synthesis on a resource that breaks the rules', () => {
    const app = newApp();
    addComplianceChecks(app);
    new s3.Bucket(new Stack(app, 'Insecure'), 'PlainBucket');
    // cdk-nag (server access logs) and the Control Tower rules (KMS encryption) both report the bucket.
    expect(() => app.synth()).toThrow(/AwsSolutions-S1[\s\S]*CT\.S3\.PR\.10/);
  });
});
