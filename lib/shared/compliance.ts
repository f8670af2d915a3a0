import { App, CloudFormationValidatePlugin, Validations, type IPolicyValidationPlugin } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ControlTowerGuardValidator } from './control-tower-guard';

/**
 * The synth-time checks: cdk-nag's AWS Solutions rules, CDK's CloudFormation validation (schemas and its own rules),
 * and the Control Tower proactive controls as cfn-guard rules (control-tower-guard.ts).
 */
export type ComplianceCheck = 'nag' | 'validation' | 'guard';
export const COMPLIANCE_CHECKS: readonly ComplianceCheck[] = ['nag', 'validation', 'guard'];

/**
 * The plugins of the given checks, in the order CDK runs them. The guard rules run in processes of their own, so
 * cdk-nag starts them and they finish on the other core while cdk-nag and the CloudFormation validation run here.
 * That is why the CloudFormation validation is registered explicitly (which replaces CDK's automatic instance): CDK
 * runs its automatic one after every registered plugin, when the guard rules would have to be finished already.
 */
export function compliancePlugins(app: App, checks: readonly ComplianceCheck[] = COMPLIANCE_CHECKS) {
  const guard = checks.includes('guard') ? new ControlTowerGuardValidator() : undefined;
  const plugins: IPolicyValidationPlugin[] = [];
  if (checks.includes('nag')) {
    const nag = new AwsSolutionsChecks(app);
    plugins.push(guard === undefined ? nag : guard.startedBy(nag));
  }
  if (checks.includes('validation')) plugins.push(new CloudFormationValidatePlugin());
  if (guard !== undefined) plugins.push(guard);
  return plugins;
}

/**
 * Registers every synth-time check on the app. A finding fails synthesis unless it is acknowledged on its resource
 * with a reason.
 */
export function addComplianceChecks(app: App): void {
  Validations.of(app).addPlugins(...compliancePlugins(app));
}
