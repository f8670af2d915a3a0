import { App, Validations, type IPolicyValidationPlugin } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ControlTowerGuardValidator } from './control-tower-guard';

/** The synth-time checks the app registers, by name: cdk-nag's AWS Solutions rules and the Control Tower rules. */
export const COMPLIANCE_CHECKS = {
  nag: (app: App): IPolicyValidationPlugin => new AwsSolutionsChecks(app),
  guard: (): IPolicyValidationPlugin => new ControlTowerGuardValidator(),
} as const;

/**
 * Registers the synth-time checks: cdk-nag's AWS Solutions rules and the Control Tower proactive controls as
 * cfn-guard rules (each template against the rules that name its resource types: control-tower-guard.ts). CDK's own CloudFormation schema validation runs on every synth without registration.
 * A finding fails synthesis unless it is acknowledged on its resource with a reason.
 */
export function addComplianceChecks(app: App): void {
  Validations.of(app).addPlugins(...Object.values(COMPLIANCE_CHECKS).map((check) => check(app)));
}
